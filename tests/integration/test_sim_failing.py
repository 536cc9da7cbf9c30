"""Failing SIMs against a real server process (docs/device-protocol.md, 2.4c): a device that marks
a SIM failing is offered nothing on it until it says the SIM recovered, and offers it declines
for a failing SIM cost their SMS no attempt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway import RawDevice, gateway_env
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

WAITING, TAKEN, SENT, SEND_FAILED, DELIVERED = range(5)
QUIET = 1.5
"""How long a test watches for something that must not happen."""


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    # Leases of a minute: the hand-driven device must not lose one while a slow machine runs.
    return gateway_env(tmp_path, request.param, lease_seconds="60", lease_hard_seconds="120")


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email="failing@example.com") as rig:
        yield rig


async def watch(device: RawDevice) -> None:
    """Lets QUIET pass, the device's link kept alive (silent for 3 heartbeats, it is closed)."""
    await device.report({"type": "heartbeat"})
    await asyncio.sleep(QUIET)


def sims(*failing: int) -> list[dict[str, Any]]:
    return [
        {"slot": slot, "name": name, **({"failing": True} if slot in failing else {})}
        for slot, name in ((0, "MTS"), (1, "Beeline"))
    ]


async def test_a_device_with_sim_1_failing_is_offered_sim_0_only_until_sim_1_recovers(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await device.connect(sims=sims(1))
    pinned = await gateway.send(device_id=device.device_id, to_sim=1)
    anywhere = [await gateway.send(to_sim=-1) for _ in range(4)]
    default = await gateway.send()  # the device's own default: a healthy slot is named
    for _ in range(5):
        offer = await device.next("offer")
        assert offer["id"] in [*anywhere, default] and offer["sim"] == 0, offer
        assert (await device.report({"type": "sent", "id": offer["id"], "parts": 1}))["type"] == "ack"
    await watch(device)
    assert device.offers() == [], "nothing on the failing SIM"
    assert (await gateway.get(pinned))["status"] == WAITING, "it waits, it does not fail"
    info = (await gateway.call("/v1/devices/get/info", {"device_id": device.device_id})).json()
    assert info["sim_list"] == [
        {"slot_index": 0, "display_name": "MTS"},
        {"slot_index": 1, "display_name": "Beeline"},
    ], "the API's sim_list keeps its fields"

    recovered = time.monotonic()
    assert (await device.report({"type": "heartbeat", "sims": sims()}))["type"] == "ack"
    offer = await device.next("offer", timeout=5)
    assert offer["id"] == pinned and offer["sim"] == 1 and offer["attempt"] == 1
    assert time.monotonic() - recovered < 1.0, "offered at once"
    await device.report({"type": "sent", "id": pinned, "parts": 1})
    assert await gateway.statuses(pinned) == [WAITING, TAKEN, SENT]

    # Both failing: nothing at all, not even for its own default; one recovers: it goes there.
    await device.report({"type": "heartbeat", "sims": sims(0, 1)})
    late = await gateway.send()
    await watch(device)
    assert device.offers() == []
    await device.report({"type": "heartbeat", "sims": sims(0)})
    offer = await device.next("offer", timeout=5)
    assert offer["id"] == late and offer["sim"] == 1


async def test_an_sms_declined_five_times_for_a_failing_sim_is_sent_by_another_device(gateway: Rig) -> None:
    """More declines than the maximum attempts (3): the SMS still waits, and the next device
    sends it. A declining device gets the SMS back only after a heartbeat interval (1.5 s)."""
    failing = await gateway.raw(connect=False)
    await failing.connect(sims=sims())  # it never marks the SIM: each offer crosses the decline
    message_id = await gateway.send()
    declined_at: list[float] = []
    for attempt in range(1, 6):
        offer = await failing.next("offer", timeout=5)
        declined_at.append(time.monotonic())
        assert offer["id"] == message_id and offer["attempt"] == attempt
        answer = await failing.report(
            {"type": "dropped", "id": message_id, "attempt": attempt, "reason": "sim_failing"}
        )
        assert answer["type"] == "ack"
    gaps = [later - earlier for earlier, later in zip(declined_at, declined_at[1:], strict=False)]
    assert min(gaps) >= 1.2, f"not straight back to the device that declined it: {gaps}"
    assert (await gateway.get(message_id))["status"] == WAITING

    await failing.report({"type": "heartbeat", "sims": sims(0, 1)})
    phone = await gateway.sim()
    sms = await gateway.wait_status(message_id, DELIVERED, timeout=10)
    assert sms["device_id"] == phone.device_id and gateway.ledger.sent[message_id] == 1
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT, DELIVERED]
    assert failing.offers() == []


async def test_a_plain_drop_still_costs_an_attempt(gateway: Rig) -> None:
    """The control: without "sim_failing" the third drop ends the SMS (3 attempts)."""
    device = await gateway.raw(connect=False)
    await device.connect(sims=sims())
    message_id = await gateway.send()
    for attempt in (1, 2, 3):
        offer = await device.next("offer", timeout=5)
        assert offer["attempt"] == attempt
        await device.report({"type": "dropped", "id": message_id, "attempt": attempt, "reason": "busy"})
    sms = await gateway.wait_status(message_id, SEND_FAILED, timeout=5)
    assert sms["status"] == SEND_FAILED
    assert (await gateway.history(message_id))[-1]["reason"] == "not sent after 3 attempts"
