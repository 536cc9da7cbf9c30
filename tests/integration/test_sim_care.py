"""What keeps a SIM unbanned, through the API on both databases: sticky recipients, the daily cap
on new recipients, SIMs paused after carrier refusals (device.sim_paused, their offers moved to
another SIM), and the reason an SMS waits in its history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from simrelay.agent._handset import LIMIT_EXCEEDED
from simrelay.devices.models import Device
from simrelay.storage.db import create_engine
from simrelay.webhooks.models import WebhookEvent
from tests.factories import make_webhook
from tests.integration.gateway import RawDevice, gateway_env
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

WAITING, TAKEN, SENT, SEND_FAILED = range(4)
QUIET = 1.5
"""How long a test watches for an offer that must not come."""
THREE_SIMS = [{"slot": 0}, {"slot": 1}, {"slot": 2}]


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param, lease_seconds="60", lease_hard_seconds="120")


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email="simcare@example.com") as rig:
        yield rig


async def send_all(device: RawDevice, offer: dict[str, Any]) -> None:
    for kind in ("taken", "sent"):
        assert (await device.report({"type": kind, "id": offer["id"], "parts": 1}))["type"] == "ack"


async def test_a_sticky_device_keeps_each_number_on_the_sim_that_first_sent_to_it(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await gateway.edit_device(device.device_id, sim_strategy="sticky", sticky_days=7, to_sim=-1)
    await device.connect(sims=THREE_SIMS)
    numbers = ["79990000001", "79990000002", "79990000003"]
    first: dict[str, int] = {}
    for number in numbers:
        message_id = await gateway.send(phone_number=number)
        offer = await device.next("offer", timeout=3)
        assert offer["id"] == message_id
        first[number] = offer["sim"]
        await send_all(device, offer)
    assert sorted(first.values()) == [0, 1, 2], "numbers new to every SIM spread as least_used does"
    for _ in range(3):
        for number in reversed(numbers):
            await gateway.send(phone_number=number)
            offer = await device.next("offer", timeout=3)
            assert offer["sim"] == first[number], (number, offer)
            await send_all(device, offer)


async def test_a_sim_out_of_new_recipients_still_sends_to_numbers_it_knows(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await gateway.edit_device(device.device_id, sim_new_recipients_per_day=2, timezone="Europe/Moscow")
    await device.connect()
    for number in ("79990000001", "79990000002"):
        await gateway.send(phone_number=number)
        await send_all(device, await device.next("offer", timeout=3))
    third = await gateway.send(phone_number="79990000003")
    await asyncio.sleep(QUIET)
    assert device.offers() == [], "a third new recipient on a day capped at two"
    known = await gateway.send(phone_number="79990000001")
    assert (await device.next("offer", timeout=3))["id"] == known
    assert (await gateway.get(third))["status"] == WAITING
    reasons = [change["reason"] for change in await gateway.history(third) if change["status"] == WAITING]
    assert any("daily limit of new recipients reached" in reason for reason in reasons), reasons
    await gateway.edit_device(device.device_id, sim_new_recipients_per_day=3)
    assert (await device.next("offer", timeout=3))["id"] == third


async def test_a_daily_cap_shows_in_the_waiting_sms_history(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await gateway.edit_device(device.device_id, sim_limit_per_day=1, timezone="Asia/Tokyo")
    await device.connect()
    await gateway.send()
    await send_all(device, await device.next("offer", timeout=3))
    held = await gateway.send()
    await asyncio.sleep(QUIET)
    history = await gateway.history(held)
    notes = [change for change in history if change["status"] == WAITING and change["reason"]]
    assert len(notes) == 1, history
    assert (
        notes[0]["reason"].startswith("waiting: ")
        and "daily limit of 1 SMS per SIM reached" in notes[0]["reason"]
    )
    assert notes[0]["reason"].endswith("00:00 Asia/Tokyo")
    assert (await gateway.get(held))["status"] == WAITING


async def webhook(gateway: Rig, device_id: str, events: list[str]) -> str:
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            account_id = (
                await conn.execute(select(Device.account_id).where(Device.id == device_id))
            ).scalar_one()
        return await make_webhook(engine, SimpleNamespace(account_id=account_id), events=events)
    finally:
        await engine.dispose()


async def queued(gateway: Rig, event: str) -> list[dict[str, Any]]:
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(WebhookEvent).where(WebhookEvent.event == event))).all()
    finally:
        await engine.dispose()
    return [json.loads(row.payload)["data"] for row in rows]


async def test_carrier_refusals_in_a_row_pause_the_sim_and_its_offers_move(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await webhook(gateway, device.device_id, ["device.sim_paused"])
    await gateway.edit_device(
        device.device_id, sim_strategy="round_robin", to_sim=-1, pause_after_failures=2, pause_minutes=30
    )
    await device.connect(sims=[{"slot": 0}, {"slot": 1}])
    for _ in range(6):
        await gateway.send()
    offers = [await device.next("offer", timeout=3) for _ in range(6)]
    assert [offer["sim"] for offer in offers] == [0, 1, 0, 1, 0, 1]
    refused = [offers[0], offers[2]]
    for offer in refused:
        assert (await device.report({"type": "failed", "id": offer["id"], "reason": LIMIT_EXCEEDED}))[
            "type"
        ] == "ack"
    # The SIM's last offer, not yet taken, is asked back; let go, it goes out on SIM 1.
    drop = await device.next("drop", timeout=3)
    assert (drop["id"], drop["reason"]) == (offers[4]["id"], "sim_paused")
    assert (await device.report({"type": "dropped", "id": drop["id"], "attempt": drop["attempt"]}))[
        "type"
    ] == "ack"
    again = await device.next(lambda f: f.get("type") == "offer" and f["id"] == drop["id"], timeout=3)
    assert again["sim"] == 1
    for offer in (offers[1], offers[3], offers[5], again):
        await send_all(device, offer)
    later = [await gateway.send() for _ in range(3)]
    assert [(await device.next("offer", timeout=3))["sim"] for _ in later] == [1, 1, 1]

    for offer in refused:
        sms = await gateway.get(offer["id"])
        assert sms["status"] == SEND_FAILED
    reasons = {change["reason"] for offer in refused for change in await gateway.history(offer["id"])}
    assert "carrier refused: sending limit reached (RESULT_ERROR_LIMIT_EXCEEDED)" in reasons
    events = await queued(gateway, "device.sim_paused")
    assert len(events) == 1 and events[0]["device_id"] == device.device_id
    paused = events[0]["paused_sim"]
    assert paused["sim"] == 0 and paused["reason"].startswith(
        "carrier refusals in a row: 2; last: carrier refused"
    )
