"""The rules of dispatch against a real server process: leases that expire with and without
the device's word, attempts, pinned devices, deletion, pacing, valid_until/send_at, multipart
aggregation, the inbox and opt-outs, the device settings API, revoked tokens and pairing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from simrelay.agent.simulator import LedgerEvent
from tests.integration.gateway import Gateway, gateway_env
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

WAITING, TAKEN, SENT, SEND_FAILED, DELIVERED, NOT_DELIVERED = range(6)
EMAIL = "rules@example.com"
TWO_PARTS = "x" * 200
QUIET = 1.5
"""How long a test watches for something that must not happen."""
SIM_DEFAULTS = {
    "sim_limit_per_day": 0,
    "sim_limit_per_month": 0,
    "sim_warmup_days": 0,
    "sim_strategy": "random",
    "quiet_hours": "",
    "timezone": "UTC",
    "sim_new_recipients_per_day": 0,
    "sticky_days": 30,
    "pause_after_failures": 0,
    "pause_minutes": 60,
}
"""A device's calendar budgets until they are edited: none (and no pausing)."""


@pytest.fixture
def settings() -> dict[str, str]:
    """Server settings on top of gateway_env's; a test overrides it with parametrize."""
    return {}


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    return gateway_env(tmp_path, request.param, **settings)


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email=EMAIL) as rig:
        yield rig


def error_code(response: httpx.Response) -> int:
    code: int = response.json()["errors"]["code"]
    return code


def ws_url(gateway: Gateway) -> str:
    return "ws" + gateway.server.base_url.removeprefix("http") + "/device/v1/ws"


# --- leases ---------------------------------------------------------------------------------


async def test_an_expired_lease_returns_the_sms_to_waiting_once_the_device_confirms_the_drop(
    gateway: Rig,
) -> None:
    device = await gateway.raw()
    message_id = await gateway.send()
    offer = await device.next("offer")
    offered = time.monotonic()
    assert offer["id"] == message_id and offer["attempt"] == 1 and offer["lease_seconds"] == 1
    assert (await device.report({"type": "taken", "id": message_id}))["type"] == "ack"

    drop = await device.next("drop", timeout=5)
    asked_after = time.monotonic() - offered
    assert drop == {"type": "drop", "id": message_id, "reason": "lease_expired", "attempt": 1}
    assert 0.7 <= asked_after < 2.5
    assert (await gateway.get(message_id))["status"] == TAKEN, "asked to drop, not yet taken back"

    answer = await device.report({"type": "dropped", "id": message_id, "attempt": 1})
    assert answer["type"] == "ack"
    again = await device.next("offer", timeout=5)
    assert again["id"] == message_id and again["attempt"] == 2
    history = await gateway.history(message_id)
    assert [change["status"] for change in history] == [WAITING, TAKEN, WAITING]
    assert history[-1]["reason"] == "lease expired"

    await device.report({"type": "sent", "id": message_id, "parts": 1})
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, WAITING, TAKEN, SENT]


async def test_an_unconfirmed_drop_keeps_the_lease_and_at_the_hard_timeout_the_sms_is_lost_not_resent(
    gateway: Rig,
) -> None:
    """The device took the SMS and then ignores the drop and goes quiet: it may be sending, so
    the SMS is never offered to another device; at the hard timeout it ends "device lost", and
    the late `sent` of that device still counts."""
    first = await gateway.raw()
    message_id = await gateway.send()
    offer = await first.next("offer")
    offered = time.monotonic()
    await first.report({"type": "taken", "id": message_id})
    second = await gateway.raw()
    drop = await first.next("drop", timeout=5)  # ignored
    assert drop["reason"] == "lease_expired" and drop["attempt"] == offer["attempt"] == 1
    await asyncio.sleep(max(0.0, offered + 2.2 - time.monotonic()))
    assert (await gateway.get(message_id))["status"] == TAKEN, "still the first device's before 3 s"

    sms = await gateway.wait_status(message_id, SEND_FAILED, timeout=8)
    assert time.monotonic() - offered >= 2.5, "only after the hard timeout"
    assert sms["device_id"] == first.device_id
    history = await gateway.history(message_id)
    assert [change["status"] for change in history] == [WAITING, TAKEN, SEND_FAILED]
    assert history[-1]["reason"] == "device lost"
    await asyncio.sleep(QUIET)
    assert second.offers() == []

    await first.close()  # silent that long, it was disconnected: it comes back, still holding it
    await first.connect(held=[message_id])
    late = await first.report({"type": "sent", "id": message_id, "parts": 1})
    assert late["type"] == "ack"
    await first.report({"type": "delivery", "id": message_id, "part": 0, "parts": 1, "delivered": True})
    sms = await gateway.get(message_id)
    assert sms["status"] == DELIVERED and sms["device_id"] == first.device_id
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SEND_FAILED, SENT, DELIVERED]


async def test_a_lost_sms_its_device_comes_back_to_drop_is_offered_again(gateway: Rig) -> None:
    device = await gateway.raw()
    message_id = await gateway.send()
    offer = await device.next("offer")
    await device.report({"type": "taken", "id": message_id})
    await gateway.wait_status(message_id, SEND_FAILED, timeout=10)  # silent past the hard timeout
    await device.close()
    await device.connect(held=[message_id])  # back, still holding it: told it is not held
    await device.next(lambda frame: frame.get("type") == "drop" and frame.get("reason") == "not_held")
    await device.report({"type": "taken", "id": message_id})  # late: changes nothing
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SEND_FAILED]
    late = await device.report({"type": "dropped", "id": message_id, "attempt": offer["attempt"]})
    assert late["type"] == "ack"
    again = await device.next("offer", timeout=5)  # no one can be sending it: it waits again
    assert again["id"] == message_id and again["attempt"] == 2
    history = await gateway.history(message_id)
    assert [change["status"] for change in history] == [WAITING, TAKEN, SEND_FAILED, WAITING]
    assert history[-1]["reason"] == "device lost, then let it go unsent"


@pytest.mark.parametrize("settings", [{"max_attempts": "2"}], ids=["max_attempts=2"])
async def test_an_sms_dropped_as_often_as_allowed_fails_after_the_maximum_attempts(gateway: Rig) -> None:
    device = await gateway.raw()
    message_id = await gateway.send()
    for attempt in (1, 2):
        offer = await device.next("offer", timeout=6)
        assert offer["id"] == message_id and offer["attempt"] == attempt
        await device.report({"type": "taken", "id": message_id})
        drop = await device.next("drop", timeout=5)
        assert drop["attempt"] == attempt
        await device.report({"type": "dropped", "id": message_id, "attempt": attempt})
    sms = await gateway.wait_status(message_id, SEND_FAILED, timeout=6)
    assert sms["status"] == SEND_FAILED
    history = await gateway.history(message_id)
    assert [change["status"] for change in history] == [WAITING, TAKEN, WAITING, TAKEN, SEND_FAILED]
    assert "attempts" in history[-1]["reason"]
    await asyncio.sleep(QUIET)
    assert device.offers() == [], "no third offer"


# --- who gets an SMS, and when ----------------------------------------------------------------


async def test_an_sms_pinned_to_an_offline_device_waits_for_it(gateway: Rig) -> None:
    pinned = await gateway.raw(connect=False)
    other = await gateway.raw()
    message_id = await gateway.send(device_id=pinned.device_id)
    await asyncio.sleep(2.0)
    sms = await gateway.get(message_id)
    assert sms["status"] == WAITING and sms["device_id"] == pinned.device_id
    assert other.offers() == []

    await pinned.connect()
    offer = await pinned.next("offer", timeout=3)
    assert offer["id"] == message_id
    assert other.offers() == []


async def test_deleting_an_sms_cancels_it_on_the_device_and_before_any_device(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    # Deleted while waiting, with no device connected: a device connecting later never gets it.
    never = await gateway.send(message="never")
    assert (
        await gateway.http.request("DELETE", "/v1/sms/del", headers=gateway.headers, json={"id": never})
    ).status_code == 204
    await device.connect()
    watched_from = time.monotonic()

    # Held by a device: it is asked to drop it, reason "deleted".
    held = await gateway.send(message="held")
    offer = await device.next(lambda f: f.get("type") == "offer" and f.get("id") == held, timeout=5)
    await device.report({"type": "taken", "id": held})
    response = await gateway.http.delete("/v1/sms/del", headers=gateway.headers, params={"id": held})
    assert response.status_code == 204
    drop = await device.next("drop", timeout=3)
    assert drop == {"type": "drop", "id": held, "reason": "deleted", "attempt": offer["attempt"]}
    assert (await device.report({"type": "dropped", "id": held, "attempt": drop["attempt"]}))["type"] == "ack"
    gone = await gateway.http.post("/v1/sms/get", headers=gateway.headers, json={"id": held})
    assert gone.status_code == 404 and error_code(gone) == 1008

    # About to be sent by a phone: deleted while it waits to send, it is never sent.
    phone = await gateway.sim(send_ms=(800, 800))
    pending = await gateway.send(message="pending", device_id=phone.device_id)
    await gateway.ledger.wait_for(lambda: gateway.ledger.taken[pending] == 1, timeout=5)
    response = await gateway.http.delete("/v1/sms/del", headers=gateway.headers, params={"id": pending})
    assert response.status_code == 204
    await gateway.ledger.wait_for(lambda: gateway.ledger.dropped[pending] == 1, timeout=3)
    await gateway.ledger.wait_for(lambda: phone.pending_reports == 0, timeout=3)  # `dropped` acked
    await asyncio.sleep(1.0)  # past the moment it would have sent
    assert gateway.ledger.sent[pending] == 0
    assert phone.held == []

    await asyncio.sleep(max(0.0, watched_from + QUIET - time.monotonic()))
    assert [f for f in device.frames if f.get("id") == never] == []
    assert gateway.ledger.received_offers[never] == 0


async def test_pacing_limits_and_intervals_hold_under_a_burst(gateway: Rig) -> None:
    limited = await gateway.raw(connect=False)
    spaced = await gateway.sim(start=False)
    await gateway.edit_device(limited.device_id, limit_per_minute=3, send_interval_min=0, send_interval_max=0)
    await gateway.edit_device(spaced.device_id, send_interval_min=1, send_interval_max=1)
    settings = await gateway.call("/v1/devices/settings", {"device_id": limited.device_id})
    assert settings.status_code == 200
    assert settings.json() == {
        "device_id": limited.device_id,
        "send_interval_min": 0,
        "send_interval_max": 0,
        "limit_per_minute": 3,
        "limit_per_hour": 0,
        "limit_per_day": 0,
        **SIM_DEFAULTS,
    }
    spaced_settings = (await gateway.call("/v1/devices/settings", {"device_id": spaced.device_id})).json()
    assert (spaced_settings["send_interval_min"], spaced_settings["send_interval_max"]) == (1, 1)
    offered_at: list[float] = []  # when the spaced phone got each offer, as it got it

    def on_event(event: LedgerEvent) -> None:
        if event.kind == "offer" and event.device_id == spaced.device_id:
            offered_at.append(time.monotonic())

    gateway.ledger.listeners.append(on_event)
    await limited.connect()
    await gateway.start(spaced)

    spaced_ids = [await gateway.send(device_id=spaced.device_id) for _ in range(3)]
    burst = [await gateway.send(device_id=limited.device_id) for _ in range(10)]

    offered = [(await limited.next("offer", timeout=3))["id"] for _ in range(3)]
    assert len(set(offered)) == 3 and set(offered) <= set(burst)
    limit_reached = time.monotonic()
    await gateway.ledger.wait_for(lambda: len(offered_at) >= 3, timeout=5)
    gaps = [later - earlier for earlier, later in zip(offered_at, offered_at[1:], strict=False)]
    assert all(0.9 <= gap < 3.0 for gap in gaps), gaps
    await gateway.wait_status(spaced_ids[-1], DELIVERED)

    await asyncio.sleep(max(0.0, limit_reached + QUIET - time.monotonic()))
    assert limited.offers() == [], "a fourth offer within the minute"
    statuses = [(await gateway.get(message_id))["status"] for message_id in burst]
    assert statuses.count(WAITING) == 10, "offered but not reported: still waiting"


async def test_valid_until_expires_a_waiting_sms_and_send_at_holds_it_back(gateway: Rig) -> None:
    offline = await gateway.raw(connect=False)
    online = await gateway.raw()
    now = time.time()
    expiring = await gateway.send(device_id=offline.device_id, valid_until=int(now) + 1)
    send_at = int(now) + 2
    later = await gateway.send(send_at=send_at)

    offer = await online.next("offer", timeout=5)
    offered_at = time.time()
    assert offer["id"] == later
    assert send_at <= offered_at < send_at + 1.5

    await gateway.wait_status(expiring, SEND_FAILED, timeout=5)
    history = await gateway.history(expiring)
    assert [change["status"] for change in history] == [WAITING, SEND_FAILED]
    assert history[-1]["reason"] == "expired"
    assert [f for f in online.frames if f.get("id") == expiring] == []


# --- reports --------------------------------------------------------------------------------


async def test_a_multipart_sms_changes_status_once_per_step_not_once_per_part(gateway: Rig) -> None:
    lost = await gateway.sim(undelivered_rate=1.0)
    fine = await gateway.sim(undelivered_rate=0.0)
    undelivered = await gateway.send(message=TWO_PARTS, device_id=lost.device_id)
    delivered = await gateway.send(message=TWO_PARTS, device_id=fine.device_id)
    await gateway.wait_status(undelivered, NOT_DELIVERED)
    await gateway.wait_status(delivered, DELIVERED)
    assert await gateway.statuses(undelivered) == [WAITING, TAKEN, SENT, NOT_DELIVERED]
    assert await gateway.statuses(delivered) == [WAITING, TAKEN, SENT, DELIVERED]
    assert gateway.ledger.undelivered[undelivered] == 2
    assert gateway.ledger.delivered[delivered] == 2


async def test_received_sms_are_stored_once_and_stop_and_start_keep_the_opt_out_list(
    gateway: Rig,
) -> None:
    phone = await gateway.sim()
    for _ in range(2):
        await phone.receive_sms("+79990003344", "Hi there", id="x1")
        await gateway.ledger.wait_for(lambda: phone.pending_reports == 0, timeout=5)
    inbox = await gateway.http.get("/v1/inbox", headers=gateway.headers, params={"limit": 10})
    assert inbox.status_code == 200, inbox.text
    items = inbox.json()["inbox_list"]
    assert [(item["phone_number"], item["message"]) for item in items] == [("79990003344", "Hi there")]
    assert items[0]["device_id"] == phone.device_id

    async def optouts() -> list[dict[str, Any]]:
        response = await gateway.http.get("/v1/optouts", headers=gateway.headers, params={"limit": 10})
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()["optout_list"]
        return listed

    await phone.receive_sms("+79990001122", "STOP")
    await gateway.ledger.wait_for(lambda: phone.pending_reports == 0, timeout=5)
    listed = await optouts()
    assert [(item["phone_number"], item["source"]) for item in listed] == [("79990001122", "sms")]

    refused = await gateway.send(phone_number="79990001122")
    await gateway.wait_status(refused, SEND_FAILED, timeout=5)
    history = await gateway.history(refused)
    assert [change["status"] for change in history] == [WAITING, SEND_FAILED]
    assert history[-1]["reason"] == "opted out"
    assert gateway.ledger.received_offers[refused] == 0

    await phone.receive_sms("79990001122", "START")
    await gateway.ledger.wait_for(lambda: phone.pending_reports == 0, timeout=5)
    assert await optouts() == []
    welcome_again = await gateway.send(phone_number="79990001122")
    await gateway.wait_status(welcome_again, DELIVERED)


# --- the device settings and history API ----------------------------------------------------


async def test_device_settings_and_history_endpoints_validate_their_input(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    other, other_device = await gateway.other_account()
    mine = device.device_id

    async def edit(**fields: Any) -> httpx.Response:
        return await gateway.call("/v1/devices/edit", {"device_id": mine, **fields})

    async def settings_of(device_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await gateway.call("/v1/devices/settings", {"device_id": device_id}, headers)

    assert (await edit(send_interval_min=2, send_interval_max=5.5, limit_per_hour=60)).status_code == 204
    expected = {
        "device_id": mine,
        "send_interval_min": 2,
        "send_interval_max": 5.5,
        "limit_per_minute": 0,
        "limit_per_hour": 60,
        "limit_per_day": 0,
        **SIM_DEFAULTS,
    }
    assert (await settings_of(mine)).json() == expected

    for bad in (
        {"send_interval_min": -1},
        {"send_interval_max": 86401},
        {"limit_per_minute": -1},
        {"limit_per_day": 1_000_001},
        {"send_interval_min": 6},  # above the stored maximum, 5.5
        {"send_interval_min": 6, "send_interval_max": 3},
        {"send_interval_min": 6, "send_interval_max": 3, "limit_per_minute": 9},
    ):
        response = await edit(**bad)
        assert response.status_code == 400 and error_code(response) == 2010, (bad, response.text)
    for wrong_type in ({"limit_per_minute": "3"}, {"send_interval_min": "1"}, {"limit_per_hour": 1.5}):
        response = await edit(**wrong_type)
        assert response.status_code == 400 and error_code(response) == 1001, (wrong_type, response.text)
    assert (await settings_of(mine)).json() == expected, "a refused edit changes nothing"

    bad_id = await settings_of("not-an-id")
    assert bad_id.status_code == 400 and error_code(bad_id) == 2005
    for unknown in ("0" * 24, other_device):
        response = await settings_of(unknown)
        assert response.status_code == 404 and error_code(response) == 1009, unknown
    assert (await settings_of(other_device, other.headers)).status_code == 200
    foreign_edit = await gateway.call("/v1/devices/edit", {"device_id": other_device, "limit_per_minute": 1})
    assert foreign_edit.status_code == 404 and error_code(foreign_edit) == 1009

    theirs = await gateway.call(
        "/v1/sms/send", {"message": "hi", "phone_number": "79990001122"}, other.headers
    )
    assert theirs.status_code == 200, theirs.text
    bad_sms = await gateway.call("/v1/sms/history", {"id": "nope"})
    assert bad_sms.status_code == 400 and error_code(bad_sms) == 2003
    for unknown in ("0" * 24, theirs.json()["id"]):
        response = await gateway.call("/v1/sms/history", {"id": unknown})
        assert response.status_code == 404 and error_code(response) == 1008, unknown
    mine_sms = await gateway.send()
    found = await gateway.call("/v1/sms/history", {"id": mine_sms})
    assert found.status_code == 200
    assert found.json()["id"] == mine_sms and [c["status"] for c in found.json()["history"]] == [WAITING]


# --- tokens and pairing ----------------------------------------------------------------------


async def test_an_unknown_or_revoked_device_token_is_refused(gateway: Rig) -> None:
    for headers in ({"Authorization": "Bearer sdt_unknown"}, {}, {"Authorization": "Basic abc"}):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(gateway), additional_headers=headers, open_timeout=5):
                pass
        assert refused.value.response.status_code == 403, headers

    device = await gateway.raw()
    response = await gateway.call("/v1/devices/del", {"device_id": device.device_id})
    assert response.status_code == 204
    assert device.ws is not None
    await asyncio.wait_for(device.ws.wait_closed(), 5)
    assert device.ws.close_code == 4001

    with pytest.raises(InvalidStatus) as revoked:
        await device.connect()
    assert revoked.value.response.status_code == 403


async def test_pairing_refuses_bad_codes_used_up_codes_and_malformed_bodies(gateway: Rig) -> None:
    async def pair(body: Any) -> httpx.Response:
        return await gateway.http.post("/device/v1/pair", json=body)

    def refused(response: httpx.Response, code: str) -> bool:
        return response.status_code == 400 and response.json()["error"]["code"] == code

    assert refused(await pair({"code": "ABCD-EFGH"}), "invalid_code")
    assert refused(await pair({"code": ""}), "invalid_code")

    once = gateway.pairing_code(uses=1)  # the CLI: `device pair EMAIL --uses 1`
    typed = once.replace(" ", "-")  # spaces and dashes do not matter
    first = await pair({"code": typed, "name": "one"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["token"].startswith("sdt_") and body["protocol"] == 1 and body["ws_path"] == "/device/v1/ws"
    assert refused(await pair({"code": once, "name": "two"}), "invalid_code")

    for malformed in (
        {"code": 12345678},
        {"code": gateway.code, "name": 5},
        {"code": gateway.code, "model": ["x"]},
        {"code": gateway.code, "app_version": "v" * 201},
        {"name": "no code"},
        ["not", "an", "object"],
        None,
    ):
        assert refused(await pair(malformed), "invalid_request"), malformed
    not_json = await gateway.http.post(
        "/device/v1/pair", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert refused(not_json, "invalid_request")
    listed = await gateway.http.get("/v1/devices", headers=gateway.headers, params={"limit": 10})
    assert [d["device_id"] for d in listed.json()["device_list"]] == [body["device_id"]]
