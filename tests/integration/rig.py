"""A Gateway for tests that need many devices and direct database access: the account, key and
pairing code are made straight in the server's database (a CLI call costs a second)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from simrelay.accounts.models import Account
from simrelay.agent.simulator import SimulatedPhone, SimulatorOptions
from simrelay.devices import service as devices
from simrelay.storage.database import Database
from simrelay.storage.db import create_engine
from tests.factories import Caller, make_caller, make_device
from tests.integration.gateway import QUICK, Gateway, RawDevice
from tests.integration.server import Server


@dataclass
class Rig(Gateway):
    """A Gateway whose account, key and pairing code are made straight in the server's database
    (a CLI call costs a second) and that keeps track of its raw devices."""

    code: str = ""
    database_url: str = ""
    raws: list[RawDevice] = field(default_factory=list)

    async def raw(self, *, connect: bool = True) -> RawDevice:
        response = await self.http.post(
            "/device/v1/pair", json={"code": self.code, "name": "raw", "model": "test"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        device = RawDevice(self.server.base_url, body["device_id"], body["token"])
        self.raws.append(device)
        if connect:
            await device.connect()
        return device

    async def sim(self, *, start: bool = True, **options: Any) -> SimulatedPhone:
        opts = SimulatorOptions(**{**QUICK.__dict__, **options})
        phone = await SimulatedPhone.pair(self.server.base_url, self.code, options=opts, ledger=self.ledger)
        self.phones.append(phone)
        if start:
            await self.start(phone)
        return phone

    async def start(self, phone: SimulatedPhone) -> None:
        phone.start()
        await self.ledger.wait_for(lambda: phone.connected, timeout=10)

    async def other_account(self) -> tuple[Caller, str]:
        """Another account with a key and one device: (the caller, the device id)."""
        engine = create_engine(self.database_url)
        try:
            caller = await make_caller(engine, email="other@example.com", with_device=False)
            return caller, await make_device(engine, caller)
        finally:
            await engine.dispose()

    async def update_account(self, **values: Any) -> None:
        """Sets columns of this rig's account straight in the database (a password, a setting)."""
        engine = create_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(Account).where(Account.email == self.email).values(**values))
        finally:
            await engine.dispose()

    async def call(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post(path, headers=headers or self.headers, json=body)

    async def close(self) -> None:
        for device in self.raws:
            await device.close()
        await super().close()


def database_url(env: dict[str, str]) -> str:
    url = env.get("SIMRELAY_DATABASE_URL")
    return url or f"sqlite+aiosqlite:///{(Path(env['SIMRELAY_DATA_DIR']) / 'simrelay.db').resolve()}"


@contextlib.asynccontextmanager
async def open_rig(
    env: dict[str, str], tmp_path: Path, *, email: str, port: int | None = None
) -> AsyncIterator[Rig]:
    """Starts the server of `env`, makes the account and a 100-use pairing code; kills it after."""
    server = Server(env, tmp_path / "logs", port=port).start()
    url = database_url(env)
    engine = create_engine(url)
    try:
        caller = await make_caller(engine, email=email, with_device=False)
        issued = await devices.issue_pairing_code(
            Database.on_engine(engine), account_id=caller.account_id, uses=100, server_url=server.base_url
        )
    finally:
        await engine.dispose()
    http = httpx.AsyncClient(base_url=server.base_url, timeout=30)
    rig = Rig(server, email, caller.token, http, code=issued.code, database_url=url)
    try:
        yield rig
    finally:
        await rig.close()
        server.kill()
        rig.server.kill()  # a test may have restarted it
