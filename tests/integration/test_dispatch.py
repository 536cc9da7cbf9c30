"""Dispatch against a real server process: simulated phones (and a hand-driven device) take,
send and report SMS; drops, reconnects and lease expiry never lose an SMS or send it twice."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.gateway import Gateway, RawDevice, gateway_env, running_gateway
from tests.integration.server import run_cli

pytestmark = pytest.mark.integration

WAITING, TAKEN, SENT, SEND_FAILED, DELIVERED, NOT_DELIVERED = range(6)


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(env, tmp_path) as gw:
        yield gw


@pytest.fixture
async def patient_gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Gateway]:
    """Leases of a minute: for hand-driven devices, which must not lose theirs while a slow
    machine runs the test."""
    long_leases = {**env, "SIMRELAY_LEASE_SECONDS": "60", "SIMRELAY_LEASE_HARD_SECONDS": "120"}
    async with running_gateway(long_leases, tmp_path) as gw:
        yield gw


async def test_an_sms_reaches_a_phone_at_once_and_ends_delivered(gateway: Gateway) -> None:
    phone = await gateway.phone()
    started = time.monotonic()
    message_id = await gateway.send(message="Your code is 4711")
    await gateway.ledger.wait_for(lambda: gateway.ledger.received_offers[message_id] == 1, timeout=5)
    offered_after = time.monotonic() - started
    sms = await gateway.wait_status(message_id, DELIVERED)
    assert sms["device_id"] == phone.device_id
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT, DELIVERED]
    assert offered_after < 1.0, "pushed, not polled"
    assert dict(gateway.ledger.sent) == {message_id: 1}
    metrics = (await gateway.http.get("/metrics")).text
    assert "simrelay_devices_connected 1.0" in metrics


async def test_a_phone_that_vanishes_after_taking_leaves_the_sms_lost_until_it_says_it_let_it_go(
    gateway: Gateway,
) -> None:
    """The lease rule: it may have begun sending, so at the hard timeout the SMS ends in status 3
    "device lost" and is offered to no one else. Back, past its lease, the phone drops it
    unsent: only now does another phone get it, and it is sent once."""
    first = await gateway.phone(send_ms=(5000, 5000))
    message_id = await gateway.send()
    await gateway.ledger.wait_for(lambda: gateway.ledger.taken[message_id] == 1, timeout=5)
    await gateway.wait_status(message_id, TAKEN)
    first.kill()
    await gateway.phone()
    sms = await gateway.wait_status(message_id, SEND_FAILED, timeout=15)
    assert sms["device_id"] == first.device_id
    history = await gateway.history(message_id)
    assert [c["status"] for c in history] == [WAITING, TAKEN, SEND_FAILED]
    assert history[-1]["reason"] == "device lost"
    assert gateway.ledger.received_offers[message_id] == 1 and gateway.ledger.sent[message_id] == 0

    # The account switches the slow phone off (its sends take longer than a lease), then it is
    # back: it lists the SMS as held, hears "not_held", and, past its lease, lets it go unsent.
    await gateway.edit_device(first.device_id, is_active=False)
    first.start()
    await gateway.ledger.wait_for(lambda: gateway.ledger.dropped[message_id] == 1, timeout=10)
    sms = await gateway.wait_status(message_id, DELIVERED, timeout=10)
    assert gateway.ledger.sent[message_id] == 1 and sms["device_id"] != first.device_id
    assert await gateway.statuses(message_id) == [
        WAITING,
        TAKEN,
        SEND_FAILED,
        WAITING,
        TAKEN,
        SENT,
        DELIVERED,
    ]


async def test_an_account_that_resends_lost_sms_gives_a_vanished_phones_sms_to_another(
    gateway: Gateway,
) -> None:
    """`simrelay account settings EMAIL --resend-lost`: "may send twice" (here it is sent once,
    as the first phone died before its radio had it)."""
    run_cli(gateway.server.env, "account", "settings", gateway.email, "--resend-lost")
    first = await gateway.phone(send_ms=(5000, 5000))
    message_id = await gateway.send()
    await gateway.wait_status(message_id, TAKEN)
    first.kill()
    second = await gateway.phone()
    sms = await gateway.wait_status(message_id, DELIVERED, timeout=15)
    assert sms["device_id"] == second.device_id and gateway.ledger.sent[message_id] == 1
    history = await gateway.history(message_id)
    assert [c["status"] for c in history] == [WAITING, TAKEN, WAITING, TAKEN, SENT, DELIVERED]
    assert history[2]["reason"] == "device lost, sent again (may send twice)"


async def test_a_phone_that_reconnects_resumes_its_lease_and_sends_once(gateway: Gateway) -> None:
    phone = await gateway.phone(drop_after_take=1.0)
    message_id = await gateway.send()
    await gateway.wait_status(message_id, DELIVERED, timeout=10)
    assert phone.connections >= 2
    assert gateway.ledger.sent[message_id] == 1
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT, DELIVERED]


async def test_reports_late_twice_and_out_of_order_move_the_status_forward_only(
    patient_gateway: Gateway,
) -> None:
    gateway = patient_gateway
    device = await RawDevice.pair(gateway)
    await device.connect()
    message_id = await gateway.send(message="x" * 200)  # two parts
    offer = await device.next("offer")
    assert offer["id"] == message_id and offer["parts"] == 2
    ack = {"type": "ack"}
    assert (
        await device.report({"type": "delivery", "id": message_id, "part": 1, "parts": 2, "delivered": True})
    ).items() >= ack.items()
    assert (await gateway.get(message_id))["status"] == SENT  # a delivery report implies sent
    assert (await device.report({"type": "taken", "id": message_id}))["type"] == "ack"  # late: ignored
    assert (await device.report({"type": "sent", "id": message_id, "parts": 2}))["type"] == "ack"  # twice
    assert (
        await device.report({"type": "delivery", "id": message_id, "part": 1, "parts": 2, "delivered": False})
    )["type"] == "ack"
    assert (await gateway.get(message_id))["status"] == SENT  # one part still unreported
    await device.report({"type": "delivery", "id": message_id, "part": 0, "parts": 2, "delivered": True})
    assert (await gateway.get(message_id))["status"] == DELIVERED  # part 1's first report (delivered) counts
    assert (await device.report({"type": "failed", "id": message_id, "reason": "late"}))["type"] == "ack"
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT, DELIVERED]
    await device.close()


async def test_a_report_from_a_device_without_the_lease_is_refused(patient_gateway: Gateway) -> None:
    gateway = patient_gateway
    holder = await RawDevice.pair(gateway)
    await holder.connect()
    message_id = await gateway.send()
    await holder.next("offer")
    other = await RawDevice.pair(gateway)
    await other.connect()
    answer = await other.report({"type": "sent", "id": message_id, "parts": 1})
    assert answer["type"] == "error" and answer["code"] == "not_leased"
    unknown = await other.report({"type": "sent", "id": "0" * 24, "parts": 1})
    assert unknown["code"] == "unknown_message"
    assert (await gateway.get(message_id))["status"] == WAITING
    await holder.close()
    await other.close()


async def test_an_offer_lost_in_a_disconnect_comes_again_as_the_next_attempt(
    patient_gateway: Gateway,
) -> None:
    gateway = patient_gateway
    device = await RawDevice.pair(gateway)
    await device.connect()
    message_id = await gateway.send()
    first = await device.next("offer")
    assert (first["id"], first["attempt"]) == (message_id, 1)
    await device.close()
    await device.connect(held=[])  # it never got (or kept) the offer
    again = await device.next("offer")
    assert (again["id"], again["attempt"]) == (message_id, 2)
    # A late `dropped` about the first attempt must not end the second.
    assert (await device.report({"type": "dropped", "id": message_id, "attempt": 1}))["type"] == "ack"
    assert (await device.report({"type": "sent", "id": message_id, "parts": 1}))["type"] == "ack"
    assert (await gateway.get(message_id))["status"] == SENT
    await device.close()


async def test_a_held_lease_continues_after_a_reconnect_without_a_new_offer(patient_gateway: Gateway) -> None:
    gateway = patient_gateway
    device = await RawDevice.pair(gateway)
    await device.connect()
    message_id = await gateway.send()
    await device.next("offer")
    assert (await device.report({"type": "taken", "id": message_id}))["type"] == "ack"
    await device.close()
    await device.connect(held=[message_id])
    assert (await device.report({"type": "sent", "id": message_id, "parts": 1}))["type"] == "ack"
    assert not device.offers()
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT]
    await device.close()
