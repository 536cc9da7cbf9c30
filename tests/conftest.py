"""Shared fixtures: a migrated database per back end, the app, an HTTP client, factories.

Integration tests take the `backend` fixture, parametrized over SQLite and PostgreSQL, so
the same HTTP suite runs on both. PostgreSQL comes from SIMRELAY_TEST_DATABASE_URL (default:
the local `simrelay_test` database); when it is unreachable those cases skip, unless
SIMRELAY_TEST_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.app import create_app
from simrelay.config import Settings
from simrelay.storage.all_models import Base
from simrelay.storage.db import create_engine
from simrelay.storage.migrate import upgrade_database

PG_URL = os.environ.get(
    "SIMRELAY_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/simrelay_test"
)
REDIS_URL = os.environ.get("SIMRELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("SIMRELAY_TEST_REQUIRE_SERVICES") == "1"
SECRET = "test-secret-key-that-is-long-enough-for-hs256"


def unavailable(what: str, error: BaseException) -> None:
    reason = f"{what} not reachable ({type(error).__name__}: {error})"
    if REQUIRE_SERVICES:
        pytest.fail(reason + " and SIMRELAY_TEST_REQUIRE_SERVICES=1")
    pytest.skip(reason + "; set SIMRELAY_TEST_DATABASE_URL / SIMRELAY_TEST_REDIS_URL")


async def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade_database(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    try:
        asyncio.run(asyncio.wait_for(reset_postgres(PG_URL), 10))
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    upgrade_database(PG_URL)
    return PG_URL


def reset_redis(url: str, label: str = "Redis") -> str:
    """Empties the Redis database at `url`; skips (or fails in CI) when it is unreachable."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.flushdb()
        client.close()
    except Exception as exc:
        unavailable(label, exc)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    return reset_redis(REDIS_URL)


@dataclass
class Backend:
    name: str
    url: str


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> Backend:
    url = request.getfixturevalue(f"{request.param}_url")
    asyncio.run(_clean(url))
    return Backend(request.param, url)


async def _clean(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await engine.dispose()


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return Settings(
        database_url=backend.url,
        data_dir=tmp_path,
        secret_key=SECRET,  # type: ignore[arg-type]
        rate_limit=0,
        access_log=False,
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.resolved_database_url())
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings) as http:
        yield http


class running_client:
    """An httpx client on the ASGI app with its lifespan running."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self._lifespan = self.app.router.lifespan_context(self.app)

    async def __aenter__(self) -> httpx.AsyncClient:
        await self._lifespan.__aenter__()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://simrelay.test"
        )
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        await self._lifespan.__aexit__(None, None, None)


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
