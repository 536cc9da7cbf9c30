"""An acknowledged SMS survives the server being killed right after the acknowledgement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.integration.server import Server, auth, make_account, reset_postgres2, server_env

pytestmark = pytest.mark.integration

N = 200
IN_FLIGHT = 20


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    url = reset_postgres2() if request.param == "postgres" else ""
    return server_env(tmp_path / "data", database_url=url)


Call = Callable[[], Awaitable[httpx.Response]]


async def _bounded(calls: list[Call], limit: int) -> list[httpx.Response]:
    """Runs the calls with at most `limit` in flight; the responses in call order."""
    gate = asyncio.Semaphore(limit)

    async def run(call: Call) -> httpx.Response:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(run(call) for call in calls)))


async def test_acknowledged_sms_survive_sigkill(env: dict[str, str], tmp_path: Path) -> None:
    caller = make_account(env, "durable@example.com")
    headers = auth(caller["token"])
    limits = httpx.Limits(max_connections=IN_FLIGHT)

    server = Server(env, tmp_path / "logs", name="first").start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:

            def send(i: int) -> Call:
                body = {"message": f"durable {i}", "phone_number": f"7999{i:07d}"}
                return lambda: http.post("/v1/sms/send", headers=headers, json=body)

            responses = await _bounded([send(i) for i in range(N)], IN_FLIGHT)
            # No graceful anything: the process dies the moment the last answer is in.
            server.kill()
    finally:
        server.kill()

    assert [r.status_code for r in responses] == [200] * N, [
        r.text for r in responses if r.status_code != 200
    ]
    acknowledged = {r.json()["id"]: i for i, r in enumerate(responses)}
    assert len(acknowledged) == N

    with Server(env, tmp_path / "logs", name="restarted") as again:
        async with httpx.AsyncClient(base_url=again.base_url, limits=limits, timeout=30) as http:

            def get(message_id: str) -> Call:
                return lambda: http.post("/v1/sms/get", headers=headers, json={"id": message_id})

            found = await _bounded([get(message_id) for message_id in acknowledged], IN_FLIGHT)
            listed = await http.get("/v1/sms", headers=headers, params={"limit": 1})

    missing = [r.request.content for r in found if r.status_code != 200]
    assert missing == [], f"{len(missing)} acknowledged SMS lost after SIGKILL"
    for got in found:
        assert got.json()["message"] == f"durable {acknowledged[got.json()['id']]}"
        assert got.json()["status"] == 0
    assert listed.status_code == 200
    assert listed.json()["pagination"]["total_records"] == len(acknowledged)
