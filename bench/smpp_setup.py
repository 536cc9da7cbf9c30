"""What the modes of bench/smpp.py share: a fresh database with what an SMPP client needs, and
the runs of the load generator."""

from __future__ import annotations

import argparse
import asyncio
import secrets
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
    url, store_settings, count = bl.fresh_store(
        db,
        data_dir,
        pg_server=args.pg_server,
        pg_database=PG_DATABASE,
        sqlite_synchronous=args.sqlite_synchronous,
    )
    settings = {
        **(extra or {}),
        **store_settings,
        "SIMRELAY_SECRET_KEY": secrets.token_urlsafe(48),
        "SIMRELAY_SMPP_PORT": str(args.smpp_port),
        "SIMRELAY_SMPP_WINDOW": str(args.server_window),
    }
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
