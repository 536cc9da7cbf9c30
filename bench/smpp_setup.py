"""The simrelay side of bench/smpp.py: a fresh database with what an SMPP client needs."""

from __future__ import annotations

import argparse
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import benchlib as bl

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
