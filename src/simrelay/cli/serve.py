"""`simrelay serve` and `simrelay quickstart` (what `make run` starts)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts import service as accounts
from simrelay.api.connection import EdgeProtocol, EdgeWebSocketProtocol
from simrelay.cli.runtime import run_in_session
from simrelay.config import Settings
from simrelay.devices import service as devices
from simrelay.storage.database import Database
from simrelay.storage.migrate import upgrade_database

QUICKSTART_EMAIL = "local@simrelay.localhost"
QUICKSTART_FILE = "quickstart.json"


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    tls_cert: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="PEM certificate (chain): serve HTTPS.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="PEM private key.")
    ] = None,
    smpp_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Also serve SMPP 3.4 clients on this port (docs/smpp.md)."),
    ] = None,
) -> None:
    """Migrates the database, then serves the API until SIGINT/SIGTERM (in-flight requests finish)."""
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    # The workers read their settings from the environment: options reach them through it.
    if smpp_port is not None:
        os.environ["SIMRELAY_SMPP_PORT"] = str(smpp_port)
    settings = Settings()
    if "smpp_host" not in settings.model_fields_set:  # not in the environment nor in .env
        os.environ["SIMRELAY_SMPP_HOST"] = host
    upgrade_database(settings.resolved_database_url())
    # Resolve once here so that workers never race to create the key file.
    os.environ["SIMRELAY_SECRET_KEY"] = settings.resolved_secret_key()
    if workers > 1:
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    uvicorn.run(
        "simrelay.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=30,
        timeout_keep_alive=settings.keepalive_seconds,
        # httptools with the edge's rules: raw UTF-8 targets, bounded heads, slow clients, and
        # connections per address (api/connection.py).
        http=EdgeProtocol,
        ws=EdgeWebSocketProtocol,
        # Device frames are small JSON; compression would cost each connection its own zlib
        # state (most of a connection's memory) to save a few bytes.
        ws_per_message_deflate=False,
        # The Android app's release builds speak only HTTPS (docs/android.md): either here,
        # or behind a reverse proxy that terminates TLS.
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )


def quickstart(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """First run: a local account and API key; every run: a fresh pairing code, the commands
    to connect a simulated phone and send a first SMS; then serves."""
    settings = Settings()
    saved = settings.data_dir / QUICKSTART_FILE
    if not saved.exists():
        _bootstrap(settings, saved)
    first_run = json.loads(saved.read_text())
    token = first_run["token"]
    base = f"http://{host}:{port}"
    code = _pairing_code(settings, base)
    panel = (
        f"\nThe panel: {base}/panel  (sign in as {QUICKSTART_EMAIL}, password {first_run['password']})\n"
        if first_run.get("password")
        else ""
    )
    typer.echo(
        f"""
simrelay is starting on {base}  (data in {settings.data_dir.resolve()})
Account {QUICKSTART_EMAIL}, API token:

  export SIMRELAY_TOKEN={token}

Connect a phone. A simulated one, in another terminal (pairing code {code}, valid 10 minutes):
  .venv/bin/simrelay device simulate --url {base} --code {code.replace(" ", "")}
(a real phone: see docs/device-protocol.md; `simrelay device pair {QUICKSTART_EMAIL}` makes new codes)

Send an SMS:
  curl -s {base}/v1/sms/send -H "Authorization: Bearer $SIMRELAY_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"message": "Hello from simrelay", "phone_number": "79990001122"}}'
List SMS (watch its status go 0 -> 1 -> 2 -> 4):
  curl -s "{base}/v1/sms?limit=10" -H "Authorization: Bearer $SIMRELAY_TOKEN"
{panel}"""
    )
    serve(host=host, port=port, workers=1)


def _bootstrap(settings: Settings, saved: Path) -> None:
    upgrade_database(settings.resolved_database_url())
    secret = settings.resolved_secret_key()

    # A local, first-run password for the panel, kept with the token (mode 600) and printed
    # on every start, as the token is.
    password = secrets.token_urlsafe(12)

    async def work(session: AsyncSession) -> dict[str, str]:
        account = await accounts.create_account(session, QUICKSTART_EMAIL, password=password)
        issued = await accounts.create_key(session, account, secret_key=secret, name="quickstart")
        return {"email": account.email, "token": issued.token, "password": password}

    created = run_in_session(settings, work)
    saved.touch(mode=0o600)
    saved.write_text(json.dumps(created))


def _pairing_code(settings: Settings, server_url: str) -> str:
    async def work(session: AsyncSession) -> str:
        account = await accounts.require_account(session, QUICKSTART_EMAIL)
        db = Database.in_transaction(await session.connection())
        issued = await devices.issue_pairing_code(db, account_id=account.id, uses=1, server_url=server_url)
        return issued.code

    return run_in_session(settings, work)
