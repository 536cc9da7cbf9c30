"""SMS Gateway for Android as a simrelay device: an emulator of the app (tests/integration/
smsgate/, every behaviour cited from the app's source at a release tag there) drives a real
server process through the mobile API, on both databases. Citations below are
capcom6/android-sms-gateway at v1.68.0, under app/src/main/java/me/capcom/smsgateway/."""

from __future__ import annotations

import asyncio
import base64
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from simrelay.accounts.passwords import hash_password
from tests.integration.android.helpers import (
    DELIVERED,
    EMAIL,
    PRIVATE_TOKEN,
    SEND_FAILED,
    SENT,
    TAKEN,
    WAITING,
    holds,
    start_app,
    stored_status,
    until,
)
from tests.integration.receiver import Receiver
from tests.integration.rig import Rig
from tests.integration.server import Server, auth, cli_json, make_account
from tests.integration.smsgate import SmsGateApp

pytestmark = pytest.mark.integration

EMAIL_TLS = "tls@example.com"
QUIET = 1.5


async def test_send_reaches_delivered_through_the_app(gateway: Rig, apps: list[SmsGateApp]) -> None:
    """Registration with a code (`Authorization: Code`, modules/gateway/GatewayApi.kt#L68-L77;
    201 {id, token, login}: #L148-L153), start-up PATCH /device (modules/gateway/
    GatewayService.kt#L107-L167), GET /settings and /webhooks, the event stream (helpers/
    SSEManager.kt#L41-L54), fetch and full-state PATCHes (GatewayService.kt#L240-L307): status 4,
    sent once."""
    app = await start_app(gateway, apps)
    assert app.login == EMAIL
    assert app.settings["ping"]["interval_seconds"] > 0
    assert app.settings["gateway"]["notification_channel"] == "SSE_ONLY"
    message_id = await gateway.send(phone_number="79990001122", message="from the app")
    await gateway.wait_status(message_id, DELIVERED)
    assert app.sent == [message_id]
    assert app.messages[message_id].phone_numbers == ["+79990001122"]
    assert (await app.call("GET", "/device")).json()["externalIp"] == "127.0.0.1"  # GatewayApi.kt#L48-L52
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
    1-based: GatewayApi.kt#L240-L246; the fetched message's simNumber: #L190-L214)."""
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
    (GatewayService.kt#L243-L267, v1.67.0+); MessageCancelled {messageId} on the event stream
    (modules/gateway/events/MessageCancelledEvent.kt, modules/gateway/EventsReceiver.kt#L99-L114)."""
    app = await start_app(gateway, apps, send=False, poll_seconds=0.3)
    message_id = await gateway.send(phone_number="79990001122", message="never")
    await until(holds(app, message_id))
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
    await until(holds(holder, message_id))
    sender = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.wait_status(message_id, DELIVERED, timeout=20)
    assert holder.messages[message_id].cancelled and holder.sent == []
    assert sender.sent == [message_id]
    history = await gateway.history(message_id)
    taken_by = [change["device_id"] for change in history if change["status"] == TAKEN]
    assert taken_by[-1] == sender.device_id


async def test_a_restarted_phone_registers_again_after_401(gateway: Rig, apps: list[SmsGateApp]) -> None:
    """Only a 401 on the start-up PATCH /device makes the app register again (GatewayService.kt
    #L122-L127), here with the private token (`Authorization: Bearer`, GatewayApi.kt#L54-L66)."""
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
    assert (await app.register("Code 00000000")).status_code == 401
    # A code with letters (as simrelay once made) cannot be typed: the field keeps the digits.
    assert SmsGateApp.typed_code("HC36-94FG") == "3694"
    assert (await app.register("Code HC36-94FG")).status_code == 401
    assert (await app.register("Basic bm9ib2R5Om5vdGhpbmc=")).status_code == 401
    assert (await app.register("")).status_code == 401
    app.token = "sdt_unknown"
    assert (await app.call("GET", "/settings")).status_code == 401
    assert (await app.call("PATCH", "/message", [])).status_code == 401


async def test_incoming_sms_reaches_the_inbox_and_a_webhook_and_battery_the_device(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """The app's own webhooks {id, webhookId, event, deviceId, payload} (modules/webhooks/
    WebHooksService.kt#L155-L161), signed X-Signature/X-Timestamp (modules/webhooks/plugins/
    PayloadSingingPlugin.kt#L25-L60); the sms:received payload of modules/receiver/
    ReceiverService.kt#L118-L125 and the ping's health checks of modules/health/
    HealthService.kt#L15-L31 (battery: modules/health/monitors/BatteryMonitor.kt#L41-L61)."""
    with Receiver() as hook:
        response = await gateway.call("/v1/webhooks", {"url": hook.url, "events": ["sms.received"]})
        assert response.status_code == 200
        app = await start_app(gateway, apps)
        payload = app.received_payload(message_id="in-42", sender="+79995554433", text="hello from a friend")
        assert (await app.emit("sms:received", payload, event_id="e-1")).status_code == 204
        # A retry (same envelope) and a late one stamped with an old time: stored once.
        assert (await app.emit("sms:received", payload, event_id="e-1")).status_code == 204
        assert (
            await app.emit("sms:received", payload, event_id="e-1", stamp=time.time() - 86400)
        ).status_code == 204
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
        app.signing_key = "not-the-key"
        assert (await app.emit("system:ping", health)).status_code == 401


async def test_the_native_simulator_and_the_app_share_the_work(gateway: Rig, apps: list[SmsGateApp]) -> None:
    app = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.sim()
    ids = [await gateway.send(phone_number=f"7999111{i:04d}", message=f"shared {i}") for i in range(30)]
    for message_id in ids:
        await gateway.wait_status(message_id, DELIVERED, timeout=30)
    sent = gateway.ledger.sent  # the radio side of the app and of the native phone together
    assert set(sent) == set(ids) and gateway.ledger.duplicates() == {}
    assert app.sent and set(sent) - set(app.sent)  # both took part


async def _cancelled(app: SmsGateApp, message_id: str) -> bool:
    return message_id in app.messages and app.messages[message_id].cancelled


async def _stored_status_is(gateway: Rig, message_id: str, status: int) -> bool:
    return (await stored_status(gateway, message_id))[0] == status


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
    """GET /user/code (Basic login:password) gives a one-time code (GatewayApi.kt#L108-L112,
    {code, validUntil}: #L173-L176); PATCH /user/password {currentPassword, newPassword}
    (#L114-L120, #L168-L171)."""
    await gateway.update_account(password_hash=hash_password("first password 1"))
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
