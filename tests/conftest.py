"""Shared fixtures: a migrated database per back end, the app, an HTTP client, factories.

Integration tests take the `backend` fixture, parametrized over SQLite and PostgreSQL, so
the same HTTP suite runs on both. PostgreSQL comes from SIMRELAY_TEST_DATABASE_URL (default:
the local `simrelay_test` database); when it is unreachable those cases skip, unless
SIMRELAY_TEST_REQUIRE_SERVICES=1 (CI), where they fail.

Under pytest-xdist (`pytest -n N`, as `make test` runs it) the workers run at the same time and
each wipes its databases, so each takes its own: worker gwK uses the database named in the URL
plus `_gwK` (simrelay_test_gw0, ...), created on first use, and the Redis index 2K below the
one in the URL (see `worker_redis_url`). Without xdist the URLs are used as they are.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.app import create_app
from simrelay.config import Settings
from simrelay.storage.all_models import Base
from simrelay.storage.database import Database
from simrelay.storage.db import create_engine
from simrelay.storage.migrate import upgrade_database

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
"""gw0, gw1, ... in a pytest-xdist worker; empty without xdist."""
WORKER_COUNT = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def worker_database_url(url: str) -> str:
    """This worker's own PostgreSQL database: simrelay_test -> simrelay_test_gw0 (as is without xdist)."""
    if not WORKER:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


def _redis_index(url: str, worker: int) -> tuple[str, int]:
    """`url` with its database index (the path, 0 if none) lowered by 2 * worker, and that index."""
    parts = urlsplit(url)
    index = int(parts.path.strip("/") or 0) - 2 * worker
    return urlunsplit(parts._replace(path=f"/{index}")), index


def worker_redis_url(url: str) -> str:
    """This worker's own Redis database: worker gwK takes the index 2K below the one in `url`.

    The tests use two Redis databases (SIMRELAY_TEST_REDIS_URL, default 15, and
    SIMRELAY_TEST_REDIS_URL2, default 14): with the defaults the workers take 15 and 14, 13 and
    12, 11 and 10, ... (`redis_clash` checks the worker count). Without xdist `url` as it is.
    """
    return _redis_index(url, int(WORKER.removeprefix("gw")))[0] if WORKER else url


def redis_clash(url: str, other: str) -> str:
    """Why the xdist workers cannot each have their own two Redis databases; empty if they can."""
    if not WORKER:
        return ""
    taken: set[str] = set()
    for one in (url, other):
        for worker in range(WORKER_COUNT):
            derived, index = _redis_index(one, worker)
            if index < 0 or derived in taken:
                return (
                    f"{WORKER_COUNT} xdist workers cannot each have two Redis databases of their own "
                    f"going down from {url} and {other}: use fewer workers or higher indices"
                )
            taken.add(derived)
    return ""


PG_URL = worker_database_url(
    os.environ.get("SIMRELAY_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/simrelay_test")
)
PG2_URL = worker_database_url(
    os.environ.get(
        "SIMRELAY_TEST_DATABASE_URL2", "postgresql+asyncpg://postgres@127.0.0.1:5432/simrelay_test2"
    )
)
"""The database of the server processes that tests/integration/server.py starts."""
_REDIS = os.environ.get("SIMRELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_REDIS2 = os.environ.get("SIMRELAY_TEST_REDIS_URL2", "redis://127.0.0.1:6379/14")
REDIS_URL = worker_redis_url(_REDIS)
REDIS2_URL = worker_redis_url(_REDIS2)
"""The Redis database of the server processes that tests/integration/server.py starts."""
REQUIRE_SERVICES = os.environ.get("SIMRELAY_TEST_REQUIRE_SERVICES") == "1"
SECRET = "test-secret-key-that-is-long-enough-for-hs256"


def unavailable(what: str, error: BaseException) -> None:
    reason = f"{what} not reachable ({type(error).__name__}: {error})"
    if REQUIRE_SERVICES:
        pytest.fail(reason + " and SIMRELAY_TEST_REQUIRE_SERVICES=1")
    pytest.skip(reason + "; set SIMRELAY_TEST_DATABASE_URL / SIMRELAY_TEST_REDIS_URL")


async def create_worker_database(url: str) -> None:
    """Creates this xdist worker's database if it is missing (.ci/run makes them beforehand)."""
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    server = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    try:
        if not await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database):
            await server.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await server.close()


async def reset_postgres(url: str) -> None:
    if WORKER:
        await create_worker_database(url)
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

    if clash := redis_clash(_REDIS, _REDIS2):
        pytest.fail(clash)
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
async def db(settings: Settings) -> AsyncIterator[Database]:
    """The app's Database on the test's backend."""
    database = Database(settings.resolved_database_url())
    yield database
    await database.dispose()


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
