"""Two server nodes (A, B) on one fresh PostgreSQL database, an account on them, and phones
paired with either node: for scale-out and rolling-restart tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from simrelay.agent.simulator import Fleet, SimulatorOptions
from tests.integration.gateway import FAST, QUICK, Gateway, open_gateway
from tests.integration.server import Server, reset_postgres2, reset_redis14, server_env

PAGE = 100
DELIVERED = 4


@dataclass
class Cluster:
    a: Server
    b: Server
    gateway: Gateway
    """The account, its key and the HTTP client of node A; the ledger of every phone."""
    http_b: httpx.AsyncClient
    log_dir: Path
    fleets: list[Fleet] = field(default_factory=list)
    stopped: list[Server] = field(default_factory=list)
    """Nodes restarted: their processes have ended, their logs remain."""

    async def fleet(self, server: Server, count: int, **options: object) -> Fleet:
        """`count` phones paired with and connected to `server` only."""
        fleet = await Fleet.pair(
            server.base_url,
            self.gateway.pairing_code(count),
            count=count,
            options=SimulatorOptions(**{**QUICK.__dict__, **options}),
            ledger=self.gateway.ledger,
            name_prefix=f"node-{server.port}",
        )
        self.fleets.append(fleet)
        self.gateway.phones.extend(fleet.phones)
        fleet.start()
        await self.gateway.ledger.wait_for(lambda: all(p.connected for p in fleet.phones), timeout=20)
        return fleet

    async def send(self, http: httpx.AsyncClient, number: int) -> str:
        body = {"message": f"scale-out {number}", "phone_number": f"7999{number:07d}"}
        response = await http.post("/v1/sms/send", headers=self.gateway.headers, json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def restart(self, node: str) -> tuple[int, float]:
        """SIGTERM to node "a" or "b", then a new process on its port once it has exited: (its
        exit status, seconds from the signal to the exit)."""
        old = self.a if node == "a" else self.b
        signalled = time.monotonic()
        status = await asyncio.to_thread(old.stop)
        stopped = time.monotonic() - signalled
        self.stopped.append(old)
        new = Server(old.env, self.log_dir, port=old.port, name=f"node-{node}-{len(self.stopped) + 1}")
        await asyncio.to_thread(new.start)
        if node == "a":
            self.a = new
        else:
            self.b = new
        return status, stopped

    async def statuses(self) -> dict[str, int]:
        http, headers = self.gateway.http, self.gateway.headers
        found: dict[str, int] = {}
        number = 1
        while True:
            params = {"limit": PAGE, "offset": number}
            response = await http.get("/v1/sms", headers=headers, params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found.update({sms["id"]: int(sms["status"]) for sms in page["sms_list"]})
            if number * PAGE >= page["pagination"]["total_records"]:
                return found
            number += 1

    async def wait_delivered(self, ids: set[str], timeout: float) -> dict[str, int]:
        """Every SMS's status once all of `ids` are delivered (4), or at the timeout."""
        deadline = time.monotonic() + timeout
        statuses: dict[str, int] = {}
        while time.monotonic() < deadline:
            statuses = await self.statuses()
            if all(statuses.get(message_id) == DELIVERED for message_id in ids):
                break
            await asyncio.sleep(0.5)
        return statuses

    async def close(self) -> None:
        await self.gateway.close()
        await self.http_b.aclose()
        self.a.kill()
        self.b.kill()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Cluster]]]:
    """Starts two nodes (A, B) on one fresh PostgreSQL database with FAST settings plus these."""
    made: list[Cluster] = []

    async def start(*, redis: bool = False, **settings: str) -> Cluster:
        extra = {"redis_url": reset_redis14()} if redis else {}
        env = server_env(
            tmp_path / "data",
            database_url=await asyncio.to_thread(reset_postgres2),  # asyncio.run inside
            **{**FAST, "access_log": "false", **extra, **settings},
        )
        logs = tmp_path / "logs"
        a = Server(env, logs, name="node-a").start()
        b = Server(env, logs, name="node-b")
        try:
            b.start()  # after A: A has migrated the database
            gateway = await open_gateway(a, "nodes@example.com")
        except BaseException:
            a.kill()
            b.kill()
            raise
        made.append(Cluster(a, b, gateway, httpx.AsyncClient(base_url=b.base_url, timeout=30), logs))
        return made[-1]

    try:
        yield start
    finally:
        for one in made:
            await one.close()
