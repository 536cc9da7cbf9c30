"""`simrelay db upgrade` on a running cluster: one process migrates, the others wait for it."""

from __future__ import annotations

import asyncio
import fcntl
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from simrelay.storage.db import create_engine
from simrelay.storage.migrate import MIGRATION_LOCK_KEY, migration_lock_path
from simrelay.storage.readiness import code_heads
from tests.integration.server import cli_concurrently, reset_postgres2, server_env

pytestmark = pytest.mark.integration


async def table_count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            else:
                query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            return int((await conn.execute(text(query))).scalar_one())
    finally:
        await engine.dispose()


async def versions_and_tables(url: str) -> tuple[list[str], int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            versions = list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    finally:
        await engine.dispose()
    return versions, await table_count(url)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a node on an empty database."""
    if request.param == "postgres":
        yield server_env(tmp_path / "data", database_url=reset_postgres2())
    else:
        yield server_env(tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'c.db'}")


def test_concurrent_upgrades_all_succeed_and_migrate_once(fresh: dict[str, str]) -> None:
    outputs = cli_concurrently(fresh, *[("db", "upgrade")] * 3)
    assert [out.strip() for out in outputs] == ["database is up to date"] * 3
    versions, tables = asyncio.run(versions_and_tables(fresh["SIMRELAY_DATABASE_URL"]))
    assert versions == sorted(code_heads())
    assert tables > 10


def upgrade_process(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "simrelay", "db", "upgrade"],
        env=env,
        cwd=env["SIMRELAY_DATA_DIR"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def assert_waits_then_migrates(env: dict[str, str], release: Callable[[], Awaitable[None]]) -> None:
    """Starts `db upgrade` while the test holds the migration lock: it must not touch the schema
    until `release()` lets go, then finish."""
    url = env["SIMRELAY_DATABASE_URL"]
    upgrade = upgrade_process(env)
    try:
        await asyncio.sleep(4)  # the CLI starts in ~1 s: time enough to migrate if it did not wait
        assert upgrade.poll() is None, upgrade.communicate()
        assert await table_count(url) == 0
        await release()
        stdout, stderr = await asyncio.to_thread(upgrade.communicate, timeout=60)
    finally:
        if upgrade.poll() is None:
            upgrade.kill()
            upgrade.communicate(timeout=10)
    assert upgrade.returncode == 0, stderr
    assert stdout.strip() == "database is up to date"
    versions, _ = await versions_and_tables(url)
    assert versions == sorted(code_heads())


@pytest.fixture
def postgres_env(tmp_path: Path) -> dict[str, str]:
    return server_env(tmp_path / "data", database_url=reset_postgres2())


async def test_postgresql_upgrade_waits_for_the_advisory_lock(postgres_env: dict[str, str]) -> None:
    env = postgres_env
    engine = create_engine(env["SIMRELAY_DATABASE_URL"])
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await holder.commit()

            async def release() -> None:
                await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                await holder.commit()

            await assert_waits_then_migrates(env, release)
    finally:
        await engine.dispose()


async def test_sqlite_upgrade_waits_for_the_lock_file(tmp_path: Path) -> None:
    database = tmp_path / "data" / "c.db"
    env = server_env(tmp_path / "data", database_url=f"sqlite+aiosqlite:///{database}")
    lock = migration_lock_path(str(database))
    assert lock is not None
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)

        async def release() -> None:
            fcntl.flock(held, fcntl.LOCK_UN)

        await assert_waits_then_migrates(env, release)
