"""Readiness: whether this process can serve, checked against what it depends on.

Each check answers within CHECK_SECONDS: a load balancer polling /readyz every few seconds
must not pile up probes behind a database that hangs. Answers name the failure (a timeout,
the error's type, the revisions) and never carry an error's text, which may hold a URL with
its password."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy import Connection, text

from simrelay.storage.database import Database
from simrelay.storage.migrate import alembic_config

CHECK_SECONDS = 2.0
OK = "ok"


@dataclass(frozen=True)
class Readiness:
    """One answer per check: "ok", "not configured", or what is wrong."""

    database: str
    migrations: str
    redis: str

    @property
    def ready(self) -> bool:
        return self.database == OK and self.migrations == OK and self.redis in (OK, "not configured")


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))  # reading scripts needs no URL


def code_heads() -> frozenset[str]:
    """The newest revisions this code ships."""
    return frozenset(_scripts().get_heads())


@functools.cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def _database_heads(conn: Connection) -> frozenset[str]:
    conn.execute(text("SELECT 1"))
    return frozenset(MigrationContext.configure(conn).get_current_heads())


async def check_readiness(db: Database, redis: Redis | None, *, seconds: float = CHECK_SECONDS) -> Readiness:
    database, migrations = await _check_database(db, seconds)
    redis_state = "not configured" if redis is None else await _check(redis.ping, seconds)
    return Readiness(database=database, migrations=migrations, redis=redis_state)


async def _check_database(db: Database, seconds: float) -> tuple[str, str]:
    heads: frozenset[str] = frozenset()

    async def read() -> None:
        nonlocal heads
        heads = await db.read(_database_heads)

    answer = await _check(read, seconds)
    if answer != OK:
        return answer, "unknown"
    expected = code_heads()
    if heads == expected:
        return OK, OK
    have = ",".join(sorted(heads)) or "none"
    code = ",".join(sorted(expected))
    if heads - _known_revisions():
        # A newer node migrated during a rolling upgrade: this one's code is the old part.
        return OK, f"database at {have}, newer than this code ({code}): upgrade simrelay on this node"
    return OK, f"database at {have}, code at {code}: run `simrelay db upgrade`"


async def _check(probe: Callable[[], Awaitable[object]], seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await probe()
    except TimeoutError:
        return f"no answer in {seconds:g}s"
    except Exception as exc:
        return f"failed: {type(exc).__name__}"
    return OK
