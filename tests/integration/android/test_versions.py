"""Every supported release of the app, as people have it installed: what simrelay tells each,
and what it refuses to promise. The profiles and their citations are in tests/integration/
smsgate/_profile.py (first tag of each difference)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.android.helpers import (
    DELIVERED,
    PRIVATE_TOKEN,
    holds,
    start_app,
    until,
)
from tests.integration.rig import Rig
from tests.integration.server import Server
from tests.integration.smsgate import PROFILES, Options, SmsGateApp

pytestmark = pytest.mark.integration


async def device_type(gateway: Rig, device_id: str) -> str:
    info = (await gateway.call("/v1/devices/get/info", {"device_id": device_id})).json()
    return str(info["device_name_type"])


async def test_an_app_before_1_67_is_never_told_to_cancel_and_deleting_what_it_holds_is_refused(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """1.66 reads no `state`: simrelay never lists a Cancelling item to it, and a delete of an
    SMS it fetched answers 1016 and changes nothing, since the phone will send it anyway."""
    app = await start_app(gateway, apps, profile=PROFILES["1.66"], send=False, poll_seconds=0.3)
    assert await device_type(gateway, app.device_id) == "SMS Gateway for Android 1.66.2"
    message_id = await gateway.send(message="cannot be taken back")
    await until(holds(app, message_id))
    response = await gateway.http.request(
        "DELETE", "/v1/sms/del", headers=gateway.headers, params={"id": message_id}
    )
    assert response.status_code == 400, response.text
    error = response.json()["errors"]
    assert error["code"] == 1016 and "may still be sent" in error["message"]
    assert (await gateway.get(message_id))["status"] in (0, 1)  # still there, unchanged
    await asyncio.sleep(2.0)  # past the lease: asked to drop, which it cannot read
    listed = (await app.call("GET", "/message")).json()
    assert all(item.get("state") != "Cancelling" for item in listed)
    app.release()
    await gateway.wait_status(message_id, DELIVERED)
    assert app.sent == [message_id] and gateway.ledger.duplicates() == {}


async def test_an_update_to_1_67_is_noticed_and_then_a_delete_cancels(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    old = await start_app(gateway, apps, profile=PROFILES["1.66"], send=False, poll_seconds=0.3)
    await old.stop()
    new = SmsGateApp(
        gateway.server.base_url, options=Options(send=False, poll_seconds=0.3), profile=PROFILES["1.68"]
    )
    apps.append(new)
    new.device_id, new.token, new.login = old.device_id, old.token, old.login
    await new.start()
    assert await device_type(gateway, new.device_id) == "SMS Gateway for Android 1.68.0"
    message_id = await gateway.send(message="cancel me")
    await until(holds(new, message_id))
    response = await gateway.http.request(
        "DELETE", "/v1/sms/del", headers=gateway.headers, params={"id": message_id}
    )
    assert response.status_code == 204
    await until(lambda: _cancelled(new, message_id))
    assert new.sent == []


async def _cancelled(app: SmsGateApp, message_id: str) -> bool:
    return app.messages[message_id].cancelled


async def test_a_1_37_app_reads_its_settings_and_learns_of_work_by_pinging(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """No event stream before 1.43: the ping interval simrelay pushes is what makes it fetch.
    Its settings import reads whole numbers with toInt(), which simrelay's text values pass."""
    app = await start_app(gateway, apps, profile=PROFILES["1.37"])
    await gateway.edit_device(app.device_id, limit_per_minute=30)
    await app.fetch_settings()  # the app's daily settings fetch
    assert app.import_failures == 0
    assert app.imported["limit_value"] == 30 and app.imported["retry_count"] == 15
    assert app.imported["interval_seconds"] == 1 and app.imported["signing_key"]
    assert "gateway" not in app.settings  # no notification channel before 1.53
    message_id = await gateway.send(message="found by a ping")
    await gateway.wait_status(message_id, DELIVERED, timeout=10)
    assert app.events == [] and app.sent == [message_id]


async def test_a_1_53_app_with_google_services_uses_the_event_stream_once_told_sse_only(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """With a Firebase token (whose pushes simrelay cannot send) the app opens no stream until
    the SSE_ONLY setting takes effect at its next start (GatewaySettings.kt#L11-L14)."""
    app = await start_app(gateway, apps, profile=PROFILES["1.53"], firebase=True)
    assert app.imported["notification_channel"] == "SSE_ONLY"
    await asyncio.sleep(0.5)
    assert app.events == []  # no stream yet: Firebase
    await app.stop()
    await app.start()  # "Restart the app to apply changes"
    await until(lambda: _streaming(app))
    message_id = await gateway.send(message="pushed")
    await gateway.wait_status(message_id, DELIVERED, timeout=5)
    assert ("MessageEnqueued", None) in app.events


async def _streaming(app: SmsGateApp) -> bool:
    return ("WebhooksUpdated", None) in app.events


async def test_a_1_33_app_is_flagged_unsupported_yet_sends_what_it_polls(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """Below 1.37 no settings: no ping interval (its own 15-minute pull, here 0.5 s) and no
    signing key, so its webhooks fail the signature; the device says which version it is."""
    app = await start_app(gateway, apps, profile=PROFILES["1.33"], periodic_pull_seconds=0.5)
    assert (
        app.settings == {} and await device_type(gateway, app.device_id) == "SMS Gateway for Android 1.33.0"
    )
    message_id = await gateway.send(message="polled")
    await gateway.wait_status(message_id, DELIVERED, timeout=10)
    payload = app.received_payload(message_id="m1", sender="+79990001122", text="hi")
    assert (await app.emit("sms:received", payload)).status_code == 401
    page = await gateway.http.get("/v1/devices?limit=10", headers=gateway.headers)
    assert "1.33.0" in page.text


async def test_settings_changes_are_announced_and_a_new_stream_refetches_the_webhooks(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    app = await start_app(gateway, apps)
    await until(lambda: _streaming(app))
    assert app.events[0] == ("WebhooksUpdated", None)
    await gateway.edit_device(app.device_id, limit_per_hour=50)
    await until(lambda: _announced(app, "SettingsUpdated"))
    await until(lambda: _imported(app, 50))
    # A name or SIM change is not a settings change for the phone.
    count = app.events.count(("SettingsUpdated", None))
    await gateway.edit_device(app.device_id, to_sim=0)
    await asyncio.sleep(0.5)
    assert app.events.count(("SettingsUpdated", None)) == count


async def _announced(app: SmsGateApp, event: str) -> bool:
    return (event, None) in app.events


async def _imported(app: SmsGateApp, limit: int) -> bool:
    return app.imported.get("limit_value") == limit


async def test_a_sim_in_an_unknown_slot_is_left_out(gateway: Rig, apps: list[SmsGateApp]) -> None:
    """simCards copy Android's slot index unchecked (helpers/SubscriptionsHelper.kt#L133-L145):
    -1 is accepted and that card left out of the device's SIMs."""
    app = SmsGateApp(gateway.server.base_url, options=Options(sims=[-1, 1]))
    apps.append(app)
    assert (await app.register(f"Bearer {PRIVATE_TOKEN}")).status_code == 201
    info = (await gateway.call("/v1/devices/get/info", {"device_id": app.device_id})).json()
    assert [sim["slot_index"] for sim in info["sim_list"]] == [1]


async def test_data_sms_and_mms_hooks_are_answered_and_logged_not_stored(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    app = await start_app(gateway, apps)
    hook = app.webhooks[0]
    for event, payload in (
        ("sms:data-received", {"messageId": "d1", "phoneNumber": "+7999", "data": "AAEC", "receivedAt": "x"}),
        ("mms:received", {"messageId": "m1", "phoneNumber": "+7999", "transactionId": "t", "size": 10}),
    ):
        app.webhooks.append({**hook, "event": event})
        assert (await app.emit(event, payload)).status_code == 204
    inbox = (await gateway.http.get("/v1/inbox?limit=10", headers=gateway.headers)).json()
    assert inbox["inbox_list"] == []
    ignored = gateway.server.wait_for_log(lambda r: r.get("event") == "mobile_hook_ignored")
    assert ignored["hook_event"] in ("sms:data-received", "mms:received")


async def test_the_apps_webhook_retried_through_an_outage_is_stored_once(
    gateway: Rig, apps: list[SmsGateApp], tmp_path: Path
) -> None:
    """The app's webhook queue repeats a delivery until a 2xx, same envelope, fresh stamp."""
    app = await start_app(gateway, apps)
    payload = app.received_payload(message_id="late-1", sender="+79995554433", text="through an outage")
    gateway.server.kill()
    delivery = asyncio.create_task(app.deliver("sms:received", payload))
    await asyncio.sleep(0.5)
    gateway.server = Server(gateway.server.env, tmp_path / "logs2", port=gateway.server.port).start()
    assert (await delivery).status_code == 204
    assert (await app.emit("sms:received", payload)).status_code == 204  # a duplicate, later
    inbox = (await gateway.http.get("/v1/inbox?limit=10", headers=gateway.headers)).json()
    assert [item["message"] for item in inbox["inbox_list"]] == ["through an outage"]
