"""SMS Gateway for Android as a simrelay device: an emulator of the app (tests/integration/
smsgate.py, every shape cited from the app's source there) drives a real server process
through the mobile API, on both databases."""

from __future__ import annotations

import asyncio
import base64
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from simrelay.accounts.models import Account
from simrelay.accounts.passwords import hash_password
from simrelay.sms.models import Message
from simrelay.storage.db import create_engine
from tests.integration.gateway import gateway_env
from tests.integration.receiver import Receiver
from tests.integration.rig import Rig, open_rig
from tests.integration.server import Server, auth, cli_json, free_port, make_account
from tests.integration.smsgate import Options, SmsGateApp

pytestmark = pytest.mark.integration

EMAIL = "android@example.com"
EMAIL_TLS = "tls@example.com"
PRIVATE_TOKEN = "private-token-for-the-tests"
WAITING, TAKEN, SENT, SEND_FAILED, DELIVERED = 0, 1, 2, 3, 4
QUIET = 1.5


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    port = free_port()
    return gateway_env(
        tmp_path,
        request.param,
        public_url=f"http://127.0.0.1:{port}",
        mobile_private_token=PRIVATE_TOKEN,
        mobile_account=EMAIL,
        webhook_allow_private="1",
        webhook_tick_seconds="0.1",
    )


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    port = int(env["SIMRELAY_PUBLIC_URL"].rpartition(":")[2])
    async with open_rig(env, tmp_path, email=EMAIL, port=port) as rig:
        yield rig


@pytest.fixture
async def apps(gateway: Rig) -> AsyncIterator[list[SmsGateApp]]:
    started: list[SmsGateApp] = []
    yield started
    for app in started:
        await app.close()


async def start_app(gateway: Rig, apps: list[SmsGateApp], **options: Any) -> SmsGateApp:
    app = SmsGateApp(gateway.server.base_url, options=Options(**options))
    apps.append(app)
    await app.start(register_with=f"Code {gateway.code}")
    return app


async def until(check: Any, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_send_reaches_delivered_through_the_app(gateway: Rig, apps: list[SmsGateApp]) -> None:
    """Registration with a code (`Authorization: Code`, API#L68-L77; 201 {id, token, login}:
    API#L167-L172), start-up PATCH /device (SVC#L107-L167), GET /settings and /webhooks, the
    SSE wake-up (SSE#L41-L80), fetch and full-state PATCHes (SVC#L240-L318): status 4, sent
    once. Citations: tests/integration/smsgate.py."""
    app = await start_app(gateway, apps)
    assert app.login == EMAIL
    assert app.settings["ping"]["interval_seconds"] > 0
    assert app.settings["gateway"]["notification_channel"] == "SSE_ONLY"
    message_id = await gateway.send(phone_number="79990001122", message="from the app")
    await gateway.wait_status(message_id, DELIVERED)
    assert app.sent == [message_id]
    assert app.messages[message_id].phone_numbers == ["+79990001122"]
    assert (await app.call("GET", "/device")).json()["externalIp"] == "127.0.0.1"  # API#L157-L159
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT, DELIVERED]
    assert ("MessageEnqueued", None) in app.events


async def test_patches_late_repeated_and_out_of_order_are_harmless(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    app = await start_app(gateway, apps, shuffle_patches=True)
    ids = [await gateway.send(phone_number=f"7999000{i:04d}", message=f"m{i}") for i in range(10)]
    for message_id in ids:
        await gateway.wait_status(message_id, DELIVERED)
    await asyncio.sleep(QUIET)  # the last late repeats land
    for message_id in ids:
        assert (await gateway.get(message_id))["status"] == DELIVERED
        assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT, DELIVERED]
    assert sorted(app.sent) == sorted(ids)


async def test_to_sim_picks_the_sim_number(gateway: Rig, apps: list[SmsGateApp]) -> None:
    """SIM slot n on send is simNumber n + 1 for the app (SimCard slotIndex 0-based, simNumber
    1-based: API#L259-L265; the fetched message's simNumber: API#L209-L233)."""
    app = await start_app(gateway, apps, sims=[0, 1])
    second = await gateway.send(phone_number="79990001122", message="slot 1", to_sim=1)
    first = await gateway.send(phone_number="79990001122", message="slot 0", to_sim=0)
    await gateway.wait_status(second, DELIVERED)
    await gateway.wait_status(first, DELIVERED)
    assert app.messages[second].sim_number == 2
    assert app.messages[first].sim_number == 1


async def test_delete_while_pending_cancels_on_the_phone_and_it_is_never_sent(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """A fetched item in state Cancelling is cancelled locally and PATCHed Cancelled
    (SVC#L246-L266); MessageCancelled {messageId} on SSE (MessageCancelledEvent.kt#L9-L12)."""
    app = await start_app(gateway, apps, send=False, poll_seconds=0.3)
    message_id = await gateway.send(phone_number="79990001122", message="never")
    await until(lambda: _has(app, message_id))
    response = await gateway.http.request(
        "DELETE", "/v1/sms/del", headers=gateway.headers, params={"id": message_id}
    )
    assert response.status_code == 204
    await until(lambda: _cancelled(app, message_id))
    await until(lambda: _stored_status_is(gateway, message_id, SEND_FAILED))
    assert app.sent == []
    assert ("MessageCancelled", {"messageId": message_id}) in app.events


async def test_a_silent_phone_is_asked_to_cancel_and_the_sms_goes_to_another_once(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """The first phone keeps the SMS without sending it (as under its own limits): past the
    lease it is told Cancelling, confirms Cancelled, and only then the second phone gets it."""
    holder = await start_app(gateway, apps, send=False, poll_seconds=0.3)
    message_id = await gateway.send(phone_number="79990001122", message="one send")
    await until(lambda: _has(holder, message_id))
    sender = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.wait_status(message_id, DELIVERED, timeout=20)
    assert holder.messages[message_id].cancelled and holder.sent == []
    assert sender.sent == [message_id]
    history = await gateway.history(message_id)
    taken_by = [change["device_id"] for change in history if change["status"] == TAKEN]
    assert taken_by[-1] == sender.device_id


async def test_a_phone_gone_silent_loses_its_sms_at_the_hard_timeout(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """A phone that stops talking after fetching cannot confirm a cancel: the SMS goes to
    another phone only once the hard timeout (SIMRELAY_LEASE_HARD_SECONDS) has passed, and
    when the first phone is back its fetch no longer lists it."""
    holder = await start_app(gateway, apps, send=False, poll_seconds=0.3)
    message_id = await gateway.send(phone_number="79990001122", message="gone quiet")
    await until(lambda: _has(holder, message_id))
    await holder.stop()  # no more requests: no network
    gone_at = time.monotonic()
    sender = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.wait_status(message_id, DELIVERED, timeout=20)
    assert time.monotonic() - gone_at >= 2.5  # FAST: lease_hard_seconds 3
    assert sender.sent == [message_id] and holder.sent == []
    response = await holder.call("GET", "/message")
    assert message_id not in [item["id"] for item in response.json()]


async def test_a_restarted_phone_registers_again_after_401(gateway: Rig, apps: list[SmsGateApp]) -> None:
    """Only a 401 on the start-up PATCH /device makes the app register again (SVC#L107-L167),
    here with the private token (`Authorization: Bearer`, API#L54-L66)."""
    app = await start_app(gateway, apps)
    old = app.device_id
    response = await gateway.call("/v1/devices/del", {"device_id": old})
    assert response.status_code == 204
    await app.stop()
    assert (await app.call("GET", "/message")).status_code == 401
    await app.start(register_with=f"Bearer {PRIVATE_TOKEN}")
    assert app.device_id != old
    message_id = await gateway.send(phone_number="79990001122", message="after restart")
    await gateway.wait_status(message_id, DELIVERED)
    assert app.sent == [message_id]


async def test_registration_refusals(gateway: Rig, apps: list[SmsGateApp]) -> None:
    app = SmsGateApp(gateway.server.base_url)
    apps.append(app)
    assert (await app.register("Bearer wrong-token")).status_code == 401
    assert (await app.register("Code ZZZZ-ZZZZ")).status_code == 401
    assert (await app.register("Basic bm9ib2R5Om5vdGhpbmc=")).status_code == 401
    assert (await app.register("")).status_code == 401
    app.token = "sdt_unknown"
    assert (await app.call("GET", "/settings")).status_code == 401
    assert (await app.call("PATCH", "/message", [])).status_code == 401


async def test_incoming_sms_reaches_the_inbox_and_a_webhook_and_battery_the_device(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """The app's own webhooks {id, webhookId, event, deviceId, payload} (HOOK#L109-L135),
    signed X-Signature/X-Timestamp (SIGN#L17-L60); sms:received and system:ping payloads as
    android-sms-gateway/docs-web@057fb70:docs/features/webhooks.md#L9-L32 and
    @36b9f04:docs/features/health.md#L80-L102 describe them."""
    with Receiver() as hook:
        response = await gateway.call("/v1/webhooks", {"url": hook.url, "events": ["sms.received"]})
        assert response.status_code == 200
        app = await start_app(gateway, apps)
        payload = {
            "messageId": "in-42",
            "message": "hello from a friend",
            "phoneNumber": "+79995554433",
            "simNumber": 1,
            "receivedAt": "2026-11-27T15:46:11.000+03:00",
        }
        assert (await app.emit("sms:received", payload)).status_code == 204
        assert (await app.emit("sms:received", payload)).status_code == 204  # a retry: stored once
        (request,) = await hook.arrived(1)
        assert request.json["data"]["message"] == "hello from a friend"
        inbox = (await gateway.http.get("/v1/inbox?limit=10", headers=gateway.headers)).json()
        assert [item["message"] for item in inbox["inbox_list"]] == ["hello from a friend"]
        assert inbox["inbox_list"][0]["phone_number"] == "79995554433"
        health = {
            "health": {
                "status": "pass",
                "checks": {
                    "battery:level": {"observedValue": 42, "observedUnit": "percent"},
                    "battery:charging": {"observedValue": 1, "observedUnit": "flags"},
                },
            }
        }
        assert (await app.emit("system:ping", health)).status_code == 204
        await until(lambda: _battery(gateway, app.device_id, 42))
        info = (await gateway.call("/v1/devices/get/info", {"device_id": app.device_id})).json()
        assert info["is_charging"] is True
        assert info["sim_list"] == [{"slot_index": 0, "display_name": "Carrier 0"}]
        # A forged signature is refused and changes nothing.
        app.settings["webhooks"]["signing_key"] = "not-the-key"
        assert (await app.emit("system:ping", health)).status_code == 401


async def test_the_native_simulator_and_the_app_share_the_work(gateway: Rig, apps: list[SmsGateApp]) -> None:
    app = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.sim()
    ids = [await gateway.send(phone_number=f"7999111{i:04d}", message=f"shared {i}") for i in range(30)]
    for message_id in ids:
        await gateway.wait_status(message_id, DELIVERED, timeout=30)
    by_native = gateway.ledger.sent
    assert set(app.sent) | set(by_native) == set(ids)
    assert not set(app.sent) & set(by_native)  # no SMS sent by both
    assert all(count == 1 for count in by_native.values()) and len(app.sent) == len(set(app.sent))
    assert app.sent and by_native  # both took part


async def _has(app: SmsGateApp, message_id: str) -> bool:
    return message_id in app.messages


async def _cancelled(app: SmsGateApp, message_id: str) -> bool:
    return message_id in app.messages and app.messages[message_id].cancelled


async def _stored_status_is(gateway: Rig, message_id: str, status: int) -> bool:
    """Read from the database: a deleted SMS is gone from the API (1008)."""
    engine = create_engine(gateway.database_url)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(select(Message.status).where(Message.id == message_id))).scalar()
    finally:
        await engine.dispose()
    return found == status


async def _battery(gateway: Rig, device_id: str, level: int) -> bool:
    info = (await gateway.call("/v1/devices/get/info", {"device_id": device_id})).json()
    return bool(info["device_battery_state"] == level)


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, as docs/android.md has people make one for the phone."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_the_app_registers_and_sends_over_https(env: dict[str, str], tmp_path: Path) -> None:
    """`simrelay serve --tls-cert --tls-key`: the app (which verifies the certificate, here
    against the self-signed one, as a phone with it installed does) works over HTTPS."""
    tls = self_signed(tmp_path)
    port = int(env["SIMRELAY_PUBLIC_URL"].rpartition(":")[2])
    env = {**env, "SIMRELAY_PUBLIC_URL": f"https://127.0.0.1:{port}"}
    token = make_account(env, EMAIL_TLS, device=False)["token"]
    code = cli_json(env, "device", "pair", EMAIL_TLS, "--json")["code"]
    server = Server(env, tmp_path / "logs", port=port, tls=tls).start()
    trusted = ssl.create_default_context(cafile=tls[0])  # the phone with the certificate installed
    app = SmsGateApp(server.base_url, verify=trusted)
    try:
        await app.start(register_with=f"Code {code}")
        async with httpx.AsyncClient(base_url=server.base_url, verify=trusted, headers=auth(token)) as http:
            body = {"phone_number": "79990001122", "message": "over tls"}
            message_id = (await http.post("/v1/sms/send", json=body)).json()["id"]
            status = None
            for _ in range(200):
                status = (await http.post("/v1/sms/get", json={"id": message_id})).json()["status"]
                if status == DELIVERED:
                    break
                await asyncio.sleep(0.05)
        assert status == DELIVERED and app.sent == [message_id]
        assert app.webhooks[0]["url"].startswith(f"https://127.0.0.1:{port}/mobile/v1/hooks/")
    finally:
        await app.close()
        server.kill()


async def test_user_code_registers_another_phone_and_the_password_can_change(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """GET /user/code (Basic login:password) gives a one-time code (API#L127-L131); PATCH
    /user/password {currentPassword, newPassword} (API#L133-L139, API#L187-L190)."""
    engine = create_engine(gateway.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Account)
                .where(Account.email == EMAIL)
                .values(password_hash=hash_password("first password 1"))
            )
    finally:
        await engine.dispose()
    first = await start_app(gateway, apps)
    basic = "Basic " + base64.b64encode(f"{EMAIL}:first password 1".encode()).decode()
    response = await first.http.get(f"{first.base}/user/code", headers={"authorization": basic})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"code", "validUntil"}
    second = SmsGateApp(gateway.server.base_url, name="google/pixel")
    apps.append(second)
    await second.start(register_with=f"Code {answer['code']}")
    assert second.device_id != first.device_id and second.login == EMAIL
    wrong = await first.call("PATCH", "/user/password", {"currentPassword": "nope", "newPassword": "x" * 14})
    assert wrong.status_code == 401
    short = await first.call(
        "PATCH", "/user/password", {"currentPassword": "first password 1", "newPassword": "x"}
    )
    assert short.status_code == 400
    changed = await first.call(
        "PATCH", "/user/password", {"currentPassword": "first password 1", "newPassword": "second password 2"}
    )
    assert changed.status_code == 204
    assert (
        await first.http.get(f"{first.base}/user/code", headers={"authorization": basic})
    ).status_code == 401
    third = SmsGateApp(gateway.server.base_url)
    apps.append(third)
    new_basic = "Basic " + base64.b64encode(f"{EMAIL}:second password 2".encode()).decode()
    assert (await third.register(new_basic)).status_code == 201
