"""storage/readiness.py: a check that hangs gives up after its time and says so."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from redis.asyncio import Redis

from simrelay.storage.database import Database
from simrelay.storage.readiness import check_readiness, code_heads


class Hanging:
    """Answers nothing, like a database or Redis behind a dropped connection."""

    async def read(self, work: Any) -> Any:
        await asyncio.sleep(60)

    async def ping(self) -> bool:
        await asyncio.sleep(60)
        return True


class AtHead:
    async def read(self, work: Any) -> Any:
        return code_heads()


async def test_a_hanging_database_check_gives_up_in_time() -> None:
    started = time.monotonic()
    readiness = await check_readiness(cast(Database, Hanging()), None, seconds=0.05)
    assert time.monotonic() - started < 1
    assert readiness.database == "no answer in 0.05s"
    assert readiness.migrations == "unknown"
    assert not readiness.ready


async def test_a_hanging_redis_check_gives_up_in_time() -> None:
    started = time.monotonic()
    readiness = await check_readiness(cast(Database, AtHead()), cast(Redis, Hanging()), seconds=0.05)
    assert time.monotonic() - started < 1
    assert (readiness.database, readiness.migrations) == ("ok", "ok")
    assert readiness.redis == "no answer in 0.05s"
    assert not readiness.ready


async def test_ready_without_redis_configured() -> None:
    readiness = await check_readiness(cast(Database, AtHead()), None, seconds=0.05)
    assert readiness.redis == "not configured"
    assert readiness.ready
