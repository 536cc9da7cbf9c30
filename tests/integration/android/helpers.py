"""Helpers of the Android app's tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from simrelay.sms.models import Message
from simrelay.storage.db import create_engine
from tests.integration.rig import Rig
from tests.integration.smsgate import LATEST, Options, Profile, SmsGateApp

EMAIL = "android@example.com"
PRIVATE_TOKEN = "private-token-for-the-tests"
WAITING, TAKEN, SENT, SEND_FAILED, DELIVERED, NOT_DELIVERED = range(6)


async def start_app(
    gateway: Rig, apps: list[SmsGateApp], *, profile: Profile = LATEST, **options: Any
) -> SmsGateApp:
    """An app of `profile`'s version, signed in as a new user would: by code where the app has
    it (typed into a digits-only field), else with the private token."""
    app = SmsGateApp(
        gateway.server.base_url, options=Options(**options), profile=profile, ledger=gateway.ledger
    )
    apps.append(app)
    code = gateway.code.replace(" ", "")
    await app.start(register_with=f"Code {code}" if profile.signs_in_with_code else f"Bearer {PRIVATE_TOKEN}")
    return app


async def until(check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def holds(app: SmsGateApp, message_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return message_id in app.messages

    return check


async def stored(gateway: Rig, message_id: str) -> Any:
    """The SMS's row, read from the database: a deleted SMS is gone from the API (1008)."""
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(Message).where(Message.id == message_id))).one()
    finally:
        await engine.dispose()


async def stored_status(gateway: Rig, message_id: str) -> tuple[int, str]:
    row = await stored(gateway, message_id)
    return int(row.status), str(row.reason)


async def lease_holder(gateway: Rig, message_id: str) -> str:
    """The device holding the SMS's lease ("" for none)."""
    return str((await stored(gateway, message_id)).lease_device_id)
