"""Webhook delivery against a real server process and a real receiver on 127.0.0.1: every
event kind, signed so that the standardwebhooks package verifies it; callback_id routing;
retries, Retry-After, 410 Gone, redirects; the delivery log, redeliver and test pings."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.gateway import gateway_env
from tests.integration.receiver import Answer, Received, Receiver, verify
from tests.integration.rig import Rig, open_rig
from tests.integration.server import Server, free_port

pytestmark = pytest.mark.integration

EMAIL = "hooks@example.com"
RETRY = 0.3
WEBHOOKS = {
    "webhook_allow_private": "1",
    "webhook_retry_delays": json.dumps([RETRY] * 7),
    "webhook_tick_seconds": "0.1",
}
"""Loopback receivers allowed; retries a fraction of a second apart instead of minutes."""
QUIET = 1.5
"""How long a test watches for something that must not happen."""


@pytest.fixture
def settings() -> dict[str, str]:
    """Server settings on top of WEBHOOKS; a test overrides it with parametrize."""
    return {}


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    return gateway_env(tmp_path, request.param, **{**WEBHOOKS, **settings})


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email=EMAIL) as rig:
        yield rig


@pytest.fixture
def receiver() -> Any:
    with Receiver() as hook:
        yield hook


async def add_webhook(gateway: Rig, url: str, **fields: Any) -> tuple[str, str]:
    response = await gateway.call("/v1/webhooks", {"url": url, **fields})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["id"], body["secret"]


async def deliveries(gateway: Rig, webhook_id: str, **fields: Any) -> list[dict[str, Any]]:
    response = await gateway.call("/v1/webhooks/deliveries", {"webhook_id": webhook_id, **fields})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["delivery_list"]
    return items


async def logged(gateway: Rig, webhook_id: str, count: int, **fields: Any) -> list[dict[str, Any]]:
    """The delivery log once it holds `count` attempts: an attempt's outcome is stored (with
    group commit) after the receiver has answered, so it may trail the request by a moment."""
    deadline = time.monotonic() + 5.0
    while (
        len(found := await deliveries(gateway, webhook_id, **fields)) < count and time.monotonic() < deadline
    ):
        await asyncio.sleep(0.05)
    return found


def of_kind(kind: str) -> Any:
    return lambda request: request.json["event"] == kind


def statuses(requests: list[Received], message_id: str) -> list[int]:
    return [
        r.json["data"]["status"]
        for r in requests
        if r.json["event"] == "sms.status" and r.json["data"]["id"] == message_id
    ]


async def test_every_event_kind_arrives_signed_with_the_objects_the_api_shows(
    gateway: Rig, receiver: Receiver
) -> None:
    webhook_id, secret = await add_webhook(gateway, receiver.url)
    device = await gateway.raw(connect=False)
    assert (
        await gateway.call("/v1/devices/edit", {"device_id": device.device_id, "low_battery_alert": True})
    ).status_code == 204
    await device.connect()
    (online,) = await receiver.arrived(1, where=of_kind("device.online"))

    message_id = await gateway.send(phone_number="79990001122", message="hello", callback_id=webhook_id)
    offer = await device.next("offer")
    assert offer["id"] == message_id
    await device.report({"type": "taken", "id": message_id})
    await device.report({"type": "sent", "id": message_id, "parts": 1})
    await device.report({"type": "delivery", "id": message_id, "part": 0, "delivered": True})
    await device.report(
        {
            "type": "received",
            "id": "in-1",
            "phone_number": "+79990002233",
            "message": "hi there",
            "received_at": 1_800_000_000,
        }
    )
    await device.report({"type": "heartbeat", "battery": 50, "charging": False})
    await device.report({"type": "heartbeat", "battery": 10, "charging": False})
    await receiver.arrived(4, where=of_kind("sms.status"))
    await receiver.arrived(1, where=of_kind("sms.received"))
    await receiver.arrived(1, where=of_kind("device.low_battery"))
    await device.close()
    await receiver.arrived(1, where=of_kind("device.offline"), timeout=20)

    for request in receiver.requests:
        payload = verify(request, secret)  # raises unless the signature is right
        assert set(payload) == {"event", "time", "data"}
        assert abs(payload["time"] - time.time()) < 60
        assert request.headers["webhook-id"].startswith("msg_")
    assert statuses(receiver.requests, message_id) == [0, 1, 2, 4]
    final = [r.json["data"] for r in receiver.requests if r.json["event"] == "sms.status"][-1]
    assert final == (await gateway.get(message_id))
    info = (await gateway.call("/v1/devices/get/info", {"device_id": device.device_id})).json()
    assert set(online.json["data"]) == set(info)
    assert online.json["data"]["device_id"] == device.device_id
    (low,) = receiver.events("device.low_battery")
    assert low["data"]["device_battery_state"] == 10
    (received,) = receiver.events("sms.received")
    assert received["data"]["phone_number"] == "79990002233"
    assert received["data"]["message"] == "hi there"
    assert len({r.event_id for r in receiver.requests}) == len(receiver.requests)
    assert len(receiver.events("device.online")) == 1
    assert len(receiver.events("device.offline")) == 1


async def test_callback_id_routes_an_sms_to_that_webhook_only(gateway: Rig) -> None:
    with Receiver() as first, Receiver() as second:
        first_id, _ = await add_webhook(gateway, first.url, events=["sms.status"])
        await add_webhook(gateway, second.url, events=["sms.status"])
        await gateway.raw()
        pinned = await gateway.send(phone_number="79990001122", message="one", callback_id=first_id)
        everyone = await gateway.send(phone_number="79990001122", message="two")
        await first.arrived(1, where=lambda r: r.json["data"]["id"] == everyone)
        await second.arrived(1, where=lambda r: r.json["data"]["id"] == everyone)
        await first.arrived(1, where=lambda r: r.json["data"]["id"] == pinned)
        await _quiet()
        assert [r.json["data"]["id"] for r in second.requests] == [everyone]


async def test_a_receiver_failing_three_times_gets_the_event_once_and_the_log_shows_four_attempts(
    gateway: Rig, receiver: Receiver
) -> None:
    answers = iter([Answer(500, b"boom"), Answer(503, b"busy"), Answer(502), Answer(200, b"thanks")])
    receiver.respond = lambda _: next(answers, Answer(200))
    webhook_id, secret = await add_webhook(gateway, receiver.url, events=["sms.status"])
    await gateway.raw(connect=False)
    await gateway.send(phone_number="79990001122", message="retry me")
    requests = await receiver.arrived(4)
    await _quiet()
    assert len(receiver.requests) == 4
    assert len({r.event_id for r in requests}) == 1  # one event, the same webhook-id each time
    # Signed afresh per attempt: the timestamp is the attempt's own.
    assert all(abs(int(r.headers["webhook-timestamp"]) - r.at) < 2 for r in requests)
    for request in requests:
        verify(request, secret)
    log = await logged(gateway, webhook_id, 4)
    assert [item["http_status"] for item in log] == [200, 502, 503, 500]  # newest first
    assert [item["success"] for item in log] == [True, False, False, False]
    assert log[0]["response"] == "thanks" and log[-1]["response"] == "boom"
    assert all(item["event"] == "sms.status" and item["latency_ms"] >= 0 for item in log)
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= RETRY * 0.9 for gap in gaps), gaps


async def test_retry_after_is_honoured(gateway: Rig, receiver: Receiver) -> None:
    answers = iter([Answer(429, headers={"Retry-After": "2"})])
    receiver.respond = lambda _: next(answers, Answer(200))
    await add_webhook(gateway, receiver.url, events=["sms.status"])
    await gateway.raw(connect=False)
    await gateway.send(phone_number="79990001122", message="later")
    first, second = await receiver.arrived(2, timeout=10)
    assert second.at - first.at >= 1.9


async def test_410_gone_switches_the_webhook_off_and_cancels_what_is_queued(
    gateway: Rig, receiver: Receiver
) -> None:
    receiver.respond = lambda _: Answer(410)
    webhook_id, _ = await add_webhook(gateway, receiver.url, events=["sms.status"])
    await gateway.raw(connect=False)
    for _ in range(3):
        await gateway.send(phone_number="79990001122", message="gone")
    await receiver.arrived(1)
    await _quiet()
    hook = (await gateway.call("/v1/webhooks/get", {"webhook_id": webhook_id})).json()
    assert hook["is_active"] is False
    assert "410" in hook["disabled_reason"] and hook["disabled_date"]
    assert len(receiver.requests) <= 3  # others may have been in flight; none after the 410 landed
    count = len(receiver.requests)
    await gateway.send(phone_number="79990001122", message="after")
    await _quiet()
    assert len(receiver.requests) == count
    # Switching it on again forgives: the reason is cleared, new events flow.
    receiver.respond = lambda _: Answer(200)
    assert (
        await gateway.call("/v1/webhooks/edit", {"webhook_id": webhook_id, "is_active": True})
    ).status_code == 204
    hook = (await gateway.call("/v1/webhooks/get", {"webhook_id": webhook_id})).json()
    assert hook["disabled_reason"] == "" and hook["is_active"] is True
    fresh = await gateway.send(phone_number="79990001122", message="back")
    await receiver.arrived(1, where=lambda r: r.json["data"]["id"] == fresh)


async def test_redirects_are_not_followed(gateway: Rig) -> None:
    with Receiver() as target, Receiver() as redirecting:
        redirecting.respond = lambda _: Answer(307, headers={"Location": target.url})
        webhook_id, _ = await add_webhook(gateway, redirecting.url, events=["sms.status"])
        await gateway.raw(connect=False)
        await gateway.send(phone_number="79990001122", message="redirect")
        await redirecting.arrived(2)
        assert target.requests == []
        log = await deliveries(gateway, webhook_id)
        assert log[-1]["http_status"] == 307 and log[-1]["success"] is False


async def test_redeliver_sends_the_same_event_again_and_test_sends_a_ping(
    gateway: Rig, receiver: Receiver
) -> None:
    webhook_id, secret = await add_webhook(gateway, receiver.url, events=["sms.status"], is_active=False)
    response = await gateway.call("/v1/webhooks/test", {"webhook_id": webhook_id})
    assert response.status_code == 200
    event_id = response.json()["event_id"]
    (ping,) = await receiver.arrived(1)
    assert ping.event_id == event_id
    assert verify(ping, secret) == {
        "event": "ping",
        "time": ping.json["time"],
        "data": {"webhook_id": webhook_id},
    }
    assert (
        await gateway.call("/v1/webhooks/edit", {"webhook_id": webhook_id, "is_active": True})
    ).status_code == 204
    await gateway.raw(connect=False)
    message_id = await gateway.send(phone_number="79990001122", message="again")
    (first,) = await receiver.arrived(1, where=lambda r: r.json["event"] == "sms.status")
    response = await gateway.call("/v1/webhooks/redeliver", {"event_id": first.event_id})
    assert response.status_code == 204
    again = await receiver.arrived(2, where=lambda r: r.json["event"] == "sms.status")
    assert again[1].event_id == first.event_id and again[1].body == first.body
    assert again[1].json["data"]["id"] == message_id
    log = await logged(gateway, webhook_id, 2, event_id=first.event_id)
    assert len(log) == 2


async def test_a_rotated_secret_signs_beside_the_old_one(gateway: Rig, receiver: Receiver) -> None:
    webhook_id, old = await add_webhook(gateway, receiver.url, events=["sms.status"])
    response = await gateway.call("/v1/webhooks/edit", {"webhook_id": webhook_id, "rotate_secret": True})
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new != old and new.startswith("whsec_")
    await gateway.raw(connect=False)
    await gateway.send(phone_number="79990001122", message="rotated")
    (request,) = await receiver.arrived(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verify(request, new)
    verify(request, old)


async def test_an_inactive_or_unsubscribed_webhook_hears_nothing(gateway: Rig) -> None:
    with Receiver() as inactive, Receiver() as devices_only:
        await add_webhook(gateway, inactive.url, is_active=False)
        await add_webhook(gateway, devices_only.url, events=["device.offline"])
        await gateway.raw(connect=False)
        await gateway.send(phone_number="79990001122", message="nobody")
        await _quiet()
        assert inactive.requests == [] and devices_only.requests == []


PATIENT = {"webhook_retry_delays": json.dumps([0.5] + [1.0] * 30), "webhook_timeout_seconds": "2"}
"""Retries for half a minute (not two seconds), so that events outlive a receiver's downtime."""


@pytest.mark.parametrize("settings", [PATIENT])
async def test_events_survive_sigkill_while_the_receiver_is_down(
    gateway: Rig, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet: every attempt is refused
    webhook_id, secret = await add_webhook(gateway, f"http://127.0.0.1:{port}/hook", events=["sms.status"])
    await gateway.raw(connect=False)
    sent = [await gateway.send(phone_number="79990001122", message=f"kill {i}") for i in range(40)]
    await asyncio.sleep(1.0)  # attempts fail meanwhile
    gateway.server.kill()

    with Server(env, tmp_path / "logs", name="restarted") as again, Receiver(port=port) as hook:
        requests = await hook.arrived(len(sent), timeout=40)
        # Delivery is at least once: on a loaded machine a lock may lapse and an event come
        # twice, so wait until every SMS was heard of, not for a count of requests.
        deadline = time.monotonic() + 40
        while {r.json["data"]["id"] for r in requests} != set(sent) and time.monotonic() < deadline:
            requests = await hook.arrived(len(requests) + 1, timeout=40)
        async with httpx.AsyncClient(base_url=again.base_url, headers=gateway.headers) as http:
            # The receiver counts a request as it answers; the courier logs the attempt a moment
            # later (outcomes are group-committed): wait for the log to catch up.
            deadline = time.monotonic() + 10
            while True:
                response = await http.post(
                    "/v1/webhooks/deliveries", json={"webhook_id": webhook_id, "limit": 100}
                )
                log = response.json()["delivery_list"]
                if sum(item["success"] for item in log) >= len(requests) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
    assert {r.json["data"]["id"] for r in requests} == set(sent)
    for request in requests:
        verify(request, secret)
    refused = [item for item in log if not item["success"]]
    assert refused and all(item["http_status"] is None and item["error"] for item in refused)
    assert sum(item["success"] for item in log) == len(requests)


def metric(text: str, name: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


async def test_two_nodes_make_each_attempt_once(gateway: Rig, env: dict[str, str], tmp_path: Path) -> None:
    def slow(_: Received) -> Answer:
        time.sleep(0.02)  # attempts overlap, so both nodes claim while the other holds rows
        return Answer(200)

    with Receiver(slow) as hook, Server(env, tmp_path / "logs", name="node-b") as node_b:
        await add_webhook(gateway, hook.url, events=["sms.status"])
        await gateway.raw(connect=False)
        async with httpx.AsyncClient(base_url=node_b.base_url, headers=gateway.headers, timeout=30) as http_b:
            sent = []
            for i in range(200):
                body = {"phone_number": "79990001122", "message": f"node {i}"}
                response = await (
                    gateway.http.post("/v1/sms/send", headers=gateway.headers, json=body)
                    if i % 2
                    else http_b.post("/v1/sms/send", json=body)
                )
                sent.append(response.json()["id"])
            await hook.arrived(len(sent), timeout=60)
            await _quiet()
            metrics_b = (await http_b.get("/metrics")).text
        metrics_a = (await gateway.http.get("/metrics")).text
    ids = [r.event_id for r in hook.requests]
    assert len(ids) == len(set(ids)) == len(sent)  # no event twice
    assert {r.json["data"]["id"] for r in hook.requests} == set(sent)
    attempts = [metric(text, "simrelay_webhook_attempts_total") for text in (metrics_a, metrics_b)]
    assert sum(attempts) == len(sent) and all(count > 0 for count in attempts), attempts


async def _quiet() -> None:
    await asyncio.sleep(QUIET)
