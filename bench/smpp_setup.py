"""What the modes of bench/smpp.py share: a fresh database with what an SMPP client needs, and
the runs of the load generator."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import benchlib as bl
from smpp_load import Load, Result, run_load

PG_DATABASE = "simrelay_bench_smpp"
EMAIL = "bench-smpp@simrelay.localhost"
SYSTEM_ID, PASSWORD = "bench", "bench"


def prepare(
    db: str, args: argparse.Namespace, tmp: Path, *, device: bool = True, extra: dict[str, str] | None = None
) -> tuple[dict[str, str], Callable[[], int]]:
    """A fresh database (SQLite: a file under `tmp`/`db`; PostgreSQL: PG_DATABASE, dropped and
    created again) with an account, API key, SMPP user and, with `device`, an active device;
    (the server's environment, a count of the rows in messages)."""
    data_dir = tmp / db
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    settings = {
        **(extra or {}),
        "SIMRELAY_SECRET_KEY": secrets.token_urlsafe(48),
        "SIMRELAY_SMPP_PORT": str(args.smpp_port),
        "SIMRELAY_SMPP_WINDOW": str(args.server_window),
    }
    if db == "sqlite":
        path = data_dir / "simrelay.db"
        url = f"sqlite+aiosqlite:///{path}"
        if args.sqlite_synchronous:
            settings["SIMRELAY_SQLITE_SYNCHRONOUS"] = args.sqlite_synchronous

        def count() -> int:
            return int(bl.sqlite_fetchval(path, "SELECT count(*) FROM messages"))
    else:
        server = args.pg_server.rstrip("/")
        bl.pg_recreate(PG_DATABASE, dsn=f"{server}/postgres")
        url = f"{server.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{PG_DATABASE}"

        def count() -> int:
            return int(bl.pg_fetchval(f"{server}/{PG_DATABASE}", "SELECT count(*) FROM messages"))

    env = bl.simrelay_env(data_dir, url, **settings)
    bl.cli(env, data_dir, "account", "create", EMAIL)
    key = bl.last_json(bl.cli(env, data_dir, "key", "create", EMAIL, "--json"))
    if device:
        bl.cli(env, data_dir, "device", "add", EMAIL, "--active", "--json")
    bl.cli(env, data_dir, "smpp", "user", "create", EMAIL, "--system-id", SYSTEM_ID, "--password", PASSWORD)
    env["BENCH_TOKEN"] = key["token"]
    return env, count


def load_of(port: int, window: int, args: argparse.Namespace, duration: float | None = None) -> Load:
    return Load(
        host="127.0.0.1",
        port=port,
        system_id=SYSTEM_ID,
        password=PASSWORD,
        sessions=args.sessions,
        window=window,
        duration=args.duration if duration is None else duration,
        transceiver=args.bind == "transceiver",
    )


def smpp_runs(label: str, port: int, window: int, args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    for i in range(args.runs):
        result = asyncio.run(run_load(load_of(port, window, args)))
        bl.log(
            f"{label} W={window} run {i + 1}: {result.rate:.0f} submit_sm/s {dict(result.statuses)} "
            f"unanswered={result.unanswered} errors={result.errors}"
        )
        results.append(result)
    return results


def warm_up(label: str, port: int, args: argparse.Namespace) -> Result | None:
    if args.warmup <= 0:
        return None
    result = asyncio.run(run_load(load_of(port, min(args.windows), args, duration=args.warmup)))
    bl.log(f"{label} warm-up: {result.rate:.0f} submit_sm/s errors={result.errors}")
    return result
