"""USSD against a real server process with connected devices, on both databases: the simulator
answers within the wait, a slow answer is read later, expiry, at most one send (reconnects do
not resend), idempotent answers, the device.ussd event, and the panel's USSD box."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from simrelay.accounts.passwords import hash_password
from simrelay.devices.models import Device, UssdRequest
from simrelay.ids import new_object_id
from simrelay.storage.db import create_engine
from simrelay.webhooks.models import WebhookEvent
from tests.factories import make_webhook
from tests.integration.gateway import RawDevice, gateway_env
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

EMAIL = "ussd@example.com"
PASSWORD = "correct horse battery"
QUIET = 1.5
"""How long a test watches for something that must not happen (the sweep runs every second)."""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings() -> dict[str, str]:
    """Server settings on top of gateway_env's; a test overrides it with parametrize."""
    return {}


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    # Hand-driven devices send no heartbeats: 10 s keeps them online through a test.
    base = {"heartbeat_seconds": "10", "ussd_wait_seconds": "5", "ussd_expire_seconds": "60"}
    return gateway_env(tmp_path, request.param, **{**base, **settings})


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email=EMAIL) as rig:
        yield rig


async def dial(gateway: Rig, device_id: str, code: str = "*100#", **body: Any) -> dict[str, Any]:
    response = await gateway.call("/v1/devices/ussd", {"device_id": device_id, "code": code, **body})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["ussd"]
    return found


async def read(gateway: Rig, request_id: str) -> dict[str, Any]:
    response = await gateway.call("/v1/devices/ussd/get", {"id": request_id})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["ussd"]
    return found


async def raw_ussd_device(gateway: Rig) -> RawDevice:
    device = await gateway.raw(connect=False)
    await connect(device)
    return device


async def connect(device: RawDevice, *, features: list[str] | None = None) -> None:
    """RawDevice.connect with `features` in the hello (default: ["ussd"])."""
    from websockets.asyncio.client import connect as ws_connect

    url = "ws" + device.base_url.removeprefix("http") + "/device/v1/ws"
    device.ws = await ws_connect(url, additional_headers={"Authorization": f"Bearer {device.token}"})
    hello = {"type": "hello", "protocol": 1, "held": [], "sims": [], "features": features or ["ussd"]}
    await device.ws.send(json.dumps(hello))
    device._reader = asyncio.create_task(device._read())
    await device.next("welcome")


def dialled(gateway: Rig) -> list[tuple[str, str, str]]:
    """(device, request id, code) of every code a simulated phone dials from now on."""
    seen: list[tuple[str, str, str]] = []
    gateway.ledger.listeners.append(
        lambda event: (
            seen.append((event.device_id, event.message_id, event.detail)) if event.kind == "ussd" else None
        )
    )
    return seen


async def row_of(gateway: Rig, request_id: str) -> Any:
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(UssdRequest).where(UssdRequest.id == request_id))).one()
    finally:
        await engine.dispose()


async def webhook(gateway: Rig, device_id: str, events: list[str]) -> str:
    """A webhook of the device's account, straight in the database."""
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            query = select(Device.account_id).where(Device.id == device_id)
            account_id = (await conn.execute(query)).scalar_one()
        return await make_webhook(engine, SimpleNamespace(account_id=account_id), events=events)
    finally:
        await engine.dispose()


async def ussd_events(gateway: Rig) -> list[tuple[str, str, dict[str, Any]]]:
    """(webhook, subject, data) of each device.ussd event queued."""
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            query = select(WebhookEvent).where(WebhookEvent.event == "device.ussd")
            rows = (await conn.execute(query)).all()
    finally:
        await engine.dispose()
    found = []
    for row in rows:
        payload = json.loads(row.payload)
        assert payload["event"] == "device.ussd"
        found.append((row.webhook_id, row.subject, payload["data"]))
    return found


# --- answers ---------------------------------------------------------------------------------


async def test_a_simulated_phone_answers_within_the_wait(gateway: Rig) -> None:
    phone = await gateway.sim()
    seen = dialled(gateway)
    started = time.monotonic()
    ussd = await dial(gateway, phone.device_id)
    assert time.monotonic() - started < 3
    assert (ussd["status"], ussd["response"], ussd["code"]) == ("done", "Balance for *100#: 100.00", "*100#")
    assert ussd["device_id"] == phone.device_id
    assert await read(gateway, ussd["id"]) == ussd
    assert seen == [(phone.device_id, ussd["id"], "*100#")]


@pytest.mark.parametrize("settings", [{"ussd_wait_seconds": "0.3"}])
async def test_an_answer_slower_than_the_wait_is_pending_then_done_on_get(gateway: Rig) -> None:
    phone = await gateway.sim(ussd_ms=(1500, 1600))
    ussd = await dial(gateway, phone.device_id, "*102#")
    assert (ussd["status"], ussd["response"]) == ("pending", "")
    deadline = time.monotonic() + 10
    while (ussd := await read(gateway, ussd["id"]))["status"] == "pending":
        assert time.monotonic() < deadline, "never answered"
        await asyncio.sleep(0.1)
    assert (ussd["status"], ussd["response"]) == ("done", "Balance for *102#: 100.00")


async def test_a_phone_without_ussd_is_refused_1016(gateway: Rig) -> None:
    phone = await gateway.sim(ussd=False)
    response = await gateway.call("/v1/devices/ussd", {"device_id": phone.device_id, "code": "*100#"})
    assert response.status_code == 400 and response.json()["errors"]["code"] == 1016


@pytest.mark.parametrize("settings", [{"ussd_wait_seconds": "0"}])
async def test_a_device_that_disconnected_is_offline_at_once(gateway: Rig) -> None:
    device = await raw_ussd_device(gateway)
    await device.close()
    started = time.monotonic()
    while True:  # the server notices the close a moment later
        response = await gateway.call("/v1/devices/ussd", {"device_id": device.device_id, "code": "*100#"})
        if response.status_code == 409:
            break
        assert time.monotonic() - started < 1, response.text
        await asyncio.sleep(0.05)
    assert response.json()["errors"]["code"] == 1015


@pytest.mark.parametrize("settings", [{"ussd_wait_seconds": "0"}])
async def test_a_native_device_whose_hello_has_no_ussd_feature_is_refused_1016(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await connect(device, features=["sms", "something-later"])
    response = await gateway.call("/v1/devices/ussd", {"device_id": device.device_id, "code": "*100#"})
    assert response.status_code == 400 and response.json()["errors"]["code"] == 1016
    await device.close()
    await asyncio.sleep(0.3)
    await connect(device)  # the capability follows each hello
    ussd = await dial(gateway, device.device_id)
    assert (await device.next("ussd"))["id"] == ussd["id"]


# --- the device's side ----------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"ussd_wait_seconds": "0"}])
async def test_the_frame_carries_the_request_and_repeated_answers_change_nothing(gateway: Rig) -> None:
    device = await raw_ussd_device(gateway)
    ussd = await dial(gateway, device.device_id, "*105*1#")
    assert ussd["status"] == "pending"
    frame = await device.next("ussd")
    assert frame["id"] == ussd["id"] and frame["code"] == "*105*1#" and frame["sim"] is None
    assert 55 <= frame["timeout_seconds"] <= 60
    done = {"type": "ussd_result", "id": ussd["id"], "status": "done", "response": "Остаток: 5 р.\x00"}
    assert (await device.report(done))["type"] == "ack"
    assert (await device.report(done))["type"] == "ack"
    late = {"type": "ussd_result", "id": ussd["id"].upper(), "status": "error", "response": "other"}
    assert (await device.report(late))["type"] == "ack"
    stored = await read(gateway, ussd["id"])
    assert (stored["status"], stored["response"]) == ("done", "Остаток: 5 р.\ufffd")

    unknown = await device.report({"type": "ussd_result", "id": new_object_id(), "status": "done"})
    assert unknown["type"] == "error" and unknown["code"] == "unknown"
    other = await raw_ussd_device(gateway)
    theirs = await dial(gateway, other.device_id)
    assert (await device.report({"type": "ussd_result", "id": theirs["id"], "status": "done"}))[
        "code"
    ] == "unknown"
    assert (await read(gateway, theirs["id"]))["status"] == "pending"
    too_long = {"type": "ussd_result", "id": theirs["id"], "status": "done", "response": "x" * 1001}
    assert (await other.report(too_long))["code"] == "invalid"
    bad_status = {"type": "ussd_result", "id": theirs["id"], "status": "timeout"}
    assert (await other.report(bad_status))["code"] == "invalid"


@pytest.mark.parametrize("settings", [{"ussd_wait_seconds": "0"}])
async def test_a_request_is_sent_once_and_never_again_after_a_reconnect(gateway: Rig) -> None:
    device = await raw_ussd_device(gateway)
    ussd = await dial(gateway, device.device_id)
    assert (await device.next("ussd"))["id"] == ussd["id"]
    device.abort()  # vanishes before answering
    await asyncio.sleep(0.3)
    await connect(device)
    await asyncio.sleep(QUIET)
    assert [f for f in device.frames if f.get("type") == "ussd"] == []
    row = await row_of(gateway, ussd["id"])
    assert row.sent_at is not None and row.status == "pending"
    # Its answer after the reconnect still counts.
    answer = {"type": "ussd_result", "id": ussd["id"], "status": "error", "response": "UNKNOWN APPLICATION"}
    assert (await device.report(answer))["type"] == "ack"
    assert (await read(gateway, ussd["id"]))["status"] == "error"


async def test_a_request_not_yet_sent_goes_out_when_its_device_connects(gateway: Rig) -> None:
    """A signal lost, or the device gone between the request and the send: the request waits
    (until it expires) and goes out on the next hello."""
    device = await gateway.raw(connect=False)
    engine = create_engine(gateway.database_url)
    request_id, now = new_object_id(), time.time()
    try:
        async with engine.begin() as conn:
            account_id = (await conn.execute(select(Device.account_id))).scalar_one()
            for rid, expires in ((request_id, now + 60), (new_object_id(), now - 1)):
                await conn.execute(
                    UssdRequest.__table__.insert().values(
                        id=rid,
                        account_id=account_id,
                        device_id=device.device_id,
                        code="*100#",
                        sim=None,
                        status="pending",
                        response="",
                        time_create=now,
                        expires_at=expires,
                    )
                )
    finally:
        await engine.dispose()
    await connect(device)
    frame = await device.next("ussd")
    assert frame["id"] == request_id
    await asyncio.sleep(QUIET)
    assert [f for f in device.frames if f.get("type") == "ussd"] == [], "the expired one is not sent"


# --- expiry and the event ---------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"ussd_wait_seconds": "5", "ussd_expire_seconds": "1"}])
async def test_an_unanswered_request_times_out_within_the_wait_and_a_late_answer_changes_nothing(
    gateway: Rig,
) -> None:
    device = await raw_ussd_device(gateway)
    started = time.monotonic()
    ussd = await dial(gateway, device.device_id)
    assert ussd["status"] == "timeout" and 0.9 <= time.monotonic() - started < 3
    late = {"type": "ussd_result", "id": ussd["id"], "status": "done", "response": "too late"}
    assert (await device.report(late))["type"] == "ack"
    assert (await read(gateway, ussd["id"]))["status"] == "timeout"


@pytest.mark.parametrize("settings", [{"ussd_wait_seconds": "0", "ussd_expire_seconds": "0.5"}])
async def test_the_sweep_times_out_requests_nobody_reads_and_announces_it(gateway: Rig) -> None:
    device = await raw_ussd_device(gateway)
    hook = await webhook(gateway, device.device_id, ["device.ussd"])
    ussd = await dial(gateway, device.device_id)
    deadline = time.monotonic() + 5
    while (row := await row_of(gateway, ussd["id"])).status == "pending":
        assert time.monotonic() < deadline, "never swept"
        await asyncio.sleep(0.1)
    assert row.status == "timeout" and row.time_done is not None
    assert await ussd_events(gateway) == [(hook, ussd["id"], {**ussd, "status": "timeout"})]


async def test_the_final_status_queues_a_device_ussd_event_with_the_object(gateway: Rig) -> None:
    phone = await gateway.sim()
    hook = await webhook(gateway, phone.device_id, ["device.ussd"])
    await webhook(gateway, phone.device_id, ["sms.status"])
    ussd = await dial(gateway, phone.device_id)
    assert ussd["status"] == "done"
    assert await ussd_events(gateway) == [(hook, ussd["id"], ussd)]


# --- the panel --------------------------------------------------------------------------------


async def test_the_panel_box_dials_with_its_csrf_token_and_not_without(gateway: Rig) -> None:
    phone = await gateway.sim()
    await gateway.update_account(password_hash=hash_password(PASSWORD))
    async with httpx.AsyncClient(base_url=gateway.server.base_url, timeout=30) as browser:
        token = CSRF.search((await browser.get("/panel/login")).text).group(1)
        signed = await browser.post(
            "/panel/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD}
        )
        assert signed.status_code == 303
        page = await browser.get("/panel/devices")
        assert f'action="/panel/devices/{phone.device_id}/ussd"' in page.text
        token = CSRF.search(page.text).group(1)
        path = f"/panel/devices/{phone.device_id}/ussd"

        seen = dialled(gateway)
        refused = await browser.post(path, data={"code": "*100#", "to_sim": "-2"})
        assert refused.status_code == 403
        forged = await browser.post(path, data={"csrf_token": "guess", "code": "*100#"})
        assert forged.status_code == 403

        answer = await browser.post(
            path, data={"csrf_token": token, "code": "*100#", "to_sim": "-2"}, headers={"HX-Request": "true"}
        )
        assert answer.status_code == 200
        box = re.search(rf'<div id="ussd-{phone.device_id}".*?</div>', answer.text, re.S).group(0)
        assert 'data-status="done"' in box and "Balance for *100#: 100.00" in box
        assert [code for _, _, code in seen] == ["*100#"], "only the request with the token dialled"

        bad = await browser.post(path, data={"csrf_token": token, "code": "*100#abc"})
        assert bad.status_code == 400 and "2011" in bad.text

        _, theirs = await gateway.other_account()
        other = await browser.post(
            f"/panel/devices/{theirs}/ussd", data={"csrf_token": token, "code": "*100#"}
        )
        assert other.status_code == 400 and "1009" in other.text
