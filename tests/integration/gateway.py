"""A running gateway for device tests: a real server process with short leases, an account
with an API key, a pairing code, simulated phones, and a raw protocol client for the cases a
well-behaved phone never produces (late, duplicate and out-of-order reports)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from simrelay.agent.simulator import Fleet, Ledger, SimulatedPhone, SimulatorOptions
from tests.integration.server import Server, auth, cli_concurrently, cli_json, reset_postgres2, server_env

FAST = {
    "lease_seconds": "1",
    "lease_hard_seconds": "3",
    "heartbeat_seconds": "1.5",
    "dispatch_tick_seconds": "0.2",
    "send_interval_min": "0",
    "send_interval_max": "0",
    "limit_per_minute": "0",
    "limit_per_hour": "0",
    "limit_per_day": "0",
}
"""Leases of seconds, not minutes, and pacing off unless a test turns it on."""

QUICK = SimulatorOptions(send_ms=(10, 30), delivery_delay_ms=(5, 15), reconnect_min=0.1, reconnect_max=0.5)


def gateway_env(tmp_path: Path, backend: str, **settings: str) -> dict[str, str]:
    url = reset_postgres2() if backend == "postgres" else ""
    return server_env(tmp_path / "data", database_url=url, **{**FAST, **settings})


@dataclass
class Gateway:
    server: Server
    email: str
    token: str
    http: httpx.AsyncClient
    ledger: Ledger = field(default_factory=Ledger)
    phones: list[SimulatedPhone] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)

    def pairing_code(self, uses: int = 1) -> str:
        return str(
            cli_json(self.server.env, "device", "pair", self.email, "--uses", str(uses), "--json")["code"]
        )

    async def phone(self, *, start: bool = True, **options: Any) -> SimulatedPhone:
        opts = SimulatorOptions(**{**QUICK.__dict__, **options})
        phone = await SimulatedPhone.pair(
            self.server.base_url, self.pairing_code(), options=opts, ledger=self.ledger
        )
        self.phones.append(phone)
        if start:
            phone.start()
            await self.ledger.wait_for(lambda: phone.connected, timeout=10)
        return phone

    async def fleet(self, count: int, **options: Any) -> Fleet:
        opts = SimulatorOptions(**{**QUICK.__dict__, **options})
        fleet = await Fleet.pair(
            self.server.base_url, self.pairing_code(count), count=count, options=opts, ledger=self.ledger
        )
        self.phones.extend(fleet.phones)
        fleet.start()
        await self.ledger.wait_for(lambda: all(p.connected for p in fleet.phones), timeout=20)
        return fleet

    async def send(self, **body: Any) -> str:
        body.setdefault("message", "Hello from a test")
        body.setdefault("phone_number", "79990001122")
        response = await self.http.post("/v1/sms/send", headers=self.headers, json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def get(self, message_id: str) -> dict[str, Any]:
        response = await self.http.post("/v1/sms/get", headers=self.headers, json={"id": message_id})
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def history(self, message_id: str) -> list[dict[str, Any]]:
        response = await self.http.post("/v1/sms/history", headers=self.headers, json={"id": message_id})
        assert response.status_code == 200, response.text
        changes: list[dict[str, Any]] = response.json()["history"]
        return changes

    async def statuses(self, message_id: str) -> list[int]:
        return [change["status"] for change in await self.history(message_id)]

    async def wait_status(
        self, message_id: str, status: int | set[int], timeout: float = 10.0
    ) -> dict[str, Any]:
        wanted = {status} if isinstance(status, int) else status
        deadline = time.monotonic() + timeout
        while True:
            sms = await self.get(message_id)
            if sms["status"] in wanted:
                return sms
            if time.monotonic() > deadline:
                raise AssertionError(f"{message_id} still in status {sms['status']}, wanted {wanted}")
            await asyncio.sleep(0.05)

    async def edit_device(self, device_id: str, **fields: Any) -> None:
        response = await self.http.post(
            "/v1/devices/edit", headers=self.headers, json={"device_id": device_id, **fields}
        )
        assert response.status_code == 204, response.text

    async def close(self) -> None:
        for phone in self.phones:
            await phone.stop()
        await self.http.aclose()


async def open_gateway(server: Server, email: str = "phones@example.com") -> Gateway:
    cli_concurrently(server.env, ("account", "create", email))
    token = cli_json(server.env, "key", "create", email, "--json")["token"]
    http = httpx.AsyncClient(base_url=server.base_url, timeout=30)
    return Gateway(server, email, str(token), http)


class RawDevice:
    """A hand-driven device: sends exactly the frames a test writes, records what comes back."""

    def __init__(self, base_url: str, device_id: str, token: str) -> None:
        self.base_url = base_url
        self.device_id = device_id
        self.token = token
        self.ws: ClientConnection | None = None
        self.frames: list[dict[str, Any]] = []
        self._seq = 0
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @classmethod
    async def pair(cls, gateway: Gateway) -> RawDevice:
        response = await gateway.http.post(
            "/device/v1/pair", json={"code": gateway.pairing_code(), "name": "raw", "model": "test"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return cls(gateway.server.base_url, body["device_id"], body["token"])

    async def connect(
        self, *, held: list[str] | None = None, sims: list[dict[str, Any]] | None = None
    ) -> None:
        url = "ws" + self.base_url.removeprefix("http") + "/device/v1/ws"
        self.ws = await connect(url, additional_headers={"Authorization": f"Bearer {self.token}"})
        await self.ws.send(
            json.dumps({"type": "hello", "protocol": 1, "held": held or [], "sims": sims or []})
        )
        self._reader = asyncio.create_task(self._read())
        await self.next("welcome")

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for text in self.ws:
                self.frames.append(json.loads(text))
                self._changed.set()
        except Exception:
            pass

    async def report(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Sends a report and returns the server's answer to it (ack or error)."""
        assert self.ws is not None
        self._seq += 1
        seq = self._seq
        await self.ws.send(json.dumps({**frame, "seq": seq}))
        return await self.next(lambda f: f.get("type") in ("ack", "error") and f.get("seq") == seq)

    async def next(
        self, match: str | Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first frame (received so far or later) matching, removed from `frames`."""
        test = (lambda f: f.get("type") == match) if isinstance(match, str) else match
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames:
                if test(frame):
                    self.frames.remove(frame)
                    return frame
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no frame matching {match!r} within {timeout} s; got {self.frames}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def offers(self) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame.get("type") == "offer"]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    def abort(self) -> None:
        """Vanishes: the TCP connection drops without a close frame."""
        if self.ws is not None:
            self.ws.transport.abort()
        if self._reader is not None:
            self._reader.cancel()


@asynccontextmanager
async def running_gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Gateway]:
    """A server of `env` and a Gateway on it; both stopped after."""
    server = Server(env, tmp_path / "logs").start()
    gw = await open_gateway(server)
    try:
        yield gw
    finally:
        await gw.close()
        server.kill()
