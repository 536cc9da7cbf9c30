"""Running the Alembic migrations from code (`simrelay db upgrade`, `simrelay serve`, tests).

Every node of a cluster migrates on start (and every CLI command before it runs), so several
may try at once; `one_migrator` lets one migrate while the others wait, then find the schema
at head and do nothing."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed 64-bit number will do ("SimRelay" in ASCII): the processes that migrate one
# PostgreSQL database agree on it, and nothing else on that server is likely to take it.
MIGRATION_LOCK_KEY = 0x53696D52656C6179


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade_database(database_url: str) -> None:
    """Brings the schema to the newest revision; safe to call on every start, from every node."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), "head")


@contextlib.asynccontextmanager
async def one_migrator(connection: AsyncConnection) -> AsyncIterator[None]:
    """Holds the database's migration lock (migrations/env.py takes it around every run).

    PostgreSQL: a session-level advisory lock, kept across the migration's commits and let go
    with the connection if the process dies. SQLite: an flock on a file beside the database,
    which the kernel lets go of likewise; only processes on this host share a SQLite file."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await connection.commit()
        try:
            yield
        finally:
            await connection.rollback()
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await connection.commit()
        return
    lock = migration_lock_path(connection.engine.url.database)
    if lock is None:
        yield
        return
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # this event loop runs nothing else meanwhile
        yield


def migration_lock_path(database: str | None) -> Path | None:
    """The lock file of a SQLite database file; None for in-memory databases."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(f"{database}-migratelock")
