"""`simrelay device add | pair | simulate`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts import service as accounts
from simrelay.cli.runtime import run_in_session
from simrelay.cli.simulate import simulate
from simrelay.config import Settings
from simrelay.devices import service
from simrelay.devices.pairing import IssuedCode
from simrelay.storage.database import Database

app = typer.Typer(no_args_is_help=True)


@app.command()
def add(
    email: str,
    name: Annotated[str, typer.Option(help="Device name.")] = "",
    active: Annotated[bool, typer.Option("--active", help="Activate it now.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"device_id"}.')] = False,
) -> None:
    """Adds a device record to the account and prints its id."""

    async def work(session: AsyncSession) -> str:
        account = await accounts.require_account(session, email)
        db = Database.in_transaction(await session.connection())
        return await service.add_device(db, account_id=account.id, name=name, active=active)

    device_id = run_in_session(Settings(), work)
    typer.echo(json.dumps({"device_id": device_id}) if as_json else device_id)


@app.command()
def pair(
    email: str,
    uses: Annotated[int, typer.Option(min=1, help="How many devices the code may pair.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"code", "qr_payload"}.')] = False,
) -> None:
    """Makes a one-time pairing code (valid 10 minutes) and the QR payload a device scans."""
    settings = Settings()

    async def work(session: AsyncSession) -> IssuedCode:
        account = await accounts.require_account(session, email)
        db = Database.in_transaction(await session.connection())
        return await service.issue_pairing_code(
            db, account_id=account.id, uses=uses, server_url=settings.public_url
        )

    issued = run_in_session(settings, work)
    if as_json:
        typer.echo(json.dumps({"code": issued.code, "qr_payload": issued.qr_payload}))
        return
    typer.echo(f"Pairing code: {issued.code}  (pairs {uses} device(s), valid 10 minutes)")
    typer.echo(f"QR payload:   {issued.qr_payload}")
    typer.echo(f"Try it:       simrelay device simulate --url {settings.public_url} --code {issued.digits}")


app.command("simulate")(simulate)
