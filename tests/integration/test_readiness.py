"""GET /readyz: ready only when the database and Redis answer and the schema is the code's head."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy import text

from simrelay.config import Settings
from simrelay.storage.db import create_engine
from simrelay.storage.migrate import alembic_config
from simrelay.storage.readiness import code_heads
from tests.conftest import SECRET, Backend, running_client

pytestmark = pytest.mark.integration


def settings_for(url: str, data_dir: Path, *, redis_url: str | None = None) -> Settings:
    return Settings(
        database_url=url,
        redis_url=redis_url,
        data_dir=data_dir,
        secret_key=SecretStr(SECRET),
        rate_limit=0,
        access_log=False,
    )


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def stamped_behind(backend: Backend) -> Iterator[tuple[str, str]]:
    """The backend's database marked one migration behind the code, put back at head after:
    (the revision it claims, the code's head)."""
    config = alembic_config(backend.url)
    (head,) = code_heads()
    previous = ScriptDirectory.from_config(config).get_revision(head).down_revision
    assert isinstance(previous, str)
    command.stamp(config, previous)
    try:
        yield previous, head
    finally:
        command.stamp(config, "head")


async def test_ready_when_database_answers_at_head(backend: Backend, tmp_path: Path) -> None:
    async with running_client(settings_for(backend.url, tmp_path)) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "redis": "not configured"},
    }


async def test_ready_with_redis(backend: Backend, redis_url: str, tmp_path: Path) -> None:
    async with running_client(settings_for(backend.url, tmp_path, redis_url=redis_url)) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["redis"] == "ok"


async def test_503_when_a_migration_is_missing(
    backend: Backend, stamped_behind: tuple[str, str], tmp_path: Path
) -> None:
    async with running_client(settings_for(backend.url, tmp_path)) as http:
        response = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert response.status_code == 503, response.text
    checks = response.json()["checks"]
    assert response.json()["status"] == "unavailable"
    assert checks["database"] == "ok"
    previous, head = stamped_behind
    assert checks["migrations"] == f"database at {previous}, code at {head}: run `simrelay db upgrade`"
    assert alive.status_code == 200  # alive, just not ready


async def test_503_when_the_database_is_newer_than_the_code(backend: Backend, tmp_path: Path) -> None:
    """A node left on the old code after another node migrated (a rolling upgrade)."""
    (head,) = code_heads()
    engine = create_engine(backend.url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        async with running_client(settings_for(backend.url, tmp_path)) as http:
            response = await http.get("/readyz")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        await engine.dispose()
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == (
        f"database at 9999, newer than this code ({head}): upgrade simrelay on this node"
    )


async def test_503_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    async with running_client(settings_for(url, tmp_path)) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"].startswith("database at none, code at ")


async def test_503_when_redis_is_unreachable(backend: Backend, closed_port: int, tmp_path: Path) -> None:
    redis_url = f"redis://:hunter2@127.0.0.1:{closed_port}/0"
    async with running_client(settings_for(backend.url, tmp_path, redis_url=redis_url)) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("failed: ")
    assert "hunter2" not in response.text and str(closed_port) not in response.text
