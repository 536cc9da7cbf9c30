"""The per-account rate limit is shared by server processes through Redis, and per process without."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.server import Server, auth, make_account, reset_redis14, server_env

pytestmark = pytest.mark.integration

LIMIT = 5
PER_SERVER = 6
ATTEMPTS = 3


@dataclass
class Cluster:
    servers: list[Server]
    headers: dict[str, str]


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One SQLite database with one account, shared by the clusters of this module."""
    data_dir = tmp_path_factory.mktemp("ratelimit") / "data"
    return data_dir, make_account(server_env(data_dir), "limited@example.com", device=False)


def _cluster(
    tmp_path: Path, account: tuple[Path, dict[str, str]], redis_url: str | None
) -> Iterator[Cluster]:
    data_dir, caller = account
    env = server_env(data_dir, rate_limit=str(LIMIT), redis_url=redis_url)
    # Two processes on one database file, as two nodes behind a load balancer.
    servers = [Server(env, tmp_path, name=f"node{i}") for i in range(2)]
    try:
        for server in servers:
            server.start(wait=False)
        for server in servers:
            server.wait_ready()
        yield Cluster(servers, auth(caller["token"]))
    finally:
        for server in servers:
            server.kill()


@pytest.fixture
def shared(tmp_path: Path, account: tuple[Path, dict[str, str]]) -> Iterator[Cluster]:
    yield from _cluster(tmp_path, account, reset_redis14())


@pytest.fixture
def local(tmp_path: Path, account: tuple[Path, dict[str, str]]) -> Iterator[Cluster]:
    yield from _cluster(tmp_path, account, None)


def _sleep_past_second_boundary() -> None:
    """Returns when time.time() is 0.01-0.1 s into a second, so a short burst stays in one window."""
    for _ in range(5):  # A loaded machine may oversleep past the 0.1 s mark; try the next second.
        fraction = time.time() % 1
        if 0.01 <= fraction < 0.1:
            return
        time.sleep((1.01 - fraction) % 1)
    raise AssertionError("could not align to a second boundary")


async def _burst(cluster: Cluster) -> list[httpx.Response]:
    """PER_SERVER list requests to each node, for one account, all within one one-second window."""
    clients = [
        httpx.AsyncClient(base_url=s.base_url, timeout=10, limits=httpx.Limits(max_connections=PER_SERVER))
        for s in cluster.servers
    ]
    try:
        for _ in range(ATTEMPTS):
            # Warm up connections on another endpoint (its own budget), then wait for a fresh window.
            await asyncio.gather(
                *(
                    c.get("/v1/devices", params={"limit": 1}, headers=cluster.headers)
                    for c in clients
                    for _ in range(2)
                )
            )
            _sleep_past_second_boundary()
            started = time.time()
            responses = await asyncio.gather(
                *(
                    c.get("/v1/sms", params={"limit": 1}, headers=cluster.headers)
                    for _ in range(PER_SERVER)
                    for c in clients
                )
            )
            if int(started) == int(time.time()):
                return list(responses)
            await asyncio.sleep(1)  # The burst crossed a window boundary: try again in a new one.
        raise AssertionError(f"no burst fitted in one second in {ATTEMPTS} attempts")
    finally:
        for c in clients:
            await c.aclose()


def _check_rejections(responses: list[httpx.Response]) -> None:
    for response in responses:
        assert response.status_code in (200, 429), response.text
        assert response.headers["ratelimit-policy"] == f'"sms-list";q={LIMIT};w=1'
        if response.status_code == 429:
            assert response.json()["errors"]["code"] == 1011
            assert response.headers["retry-after"] == "1"


async def test_redis_limit_is_shared_by_two_processes(shared: Cluster) -> None:
    responses = await _burst(shared)
    _check_rejections(responses)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 2 * PER_SERVER - LIMIT
    # Every node turned requests down although none saw more than LIMIT + 1 of them.
    for node in range(2):
        assert 429 in statuses[node::2]


async def test_without_redis_each_process_has_its_own_budget(local: Cluster) -> None:
    responses = await _burst(local)
    _check_rejections(responses)
    statuses = [r.status_code for r in responses]
    # Twice the shared total: every process allows LIMIT on its own.
    assert statuses.count(200) == 2 * LIMIT, statuses
    for node in range(2):
        assert statuses[node::2].count(200) == LIMIT
        assert statuses[node::2].count(429) == PER_SERVER - LIMIT
