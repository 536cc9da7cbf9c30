"""How the Android app's full-state PATCH items become native reports."""

from __future__ import annotations

import hashlib
import hmac
import time

from simrelay.mobile.schemas import MessagePatch, app_time
from simrelay.mobile.service import hook_frames, report_frames, verify_hook

ID = "6b0971ca4db7a4915c3be39f"


def item(state: str, *, states: tuple[str, ...] = (), recipient: str | None = None, error: str | None = None):
    return MessagePatch.model_validate(
        {
            "id": ID.upper(),
            "state": state,
            "recipients": [{"phoneNumber": "+79990001122", "state": recipient or state, "error": error}],
            "states": dict.fromkeys(states, "2026-11-27T15:46:11.000+03:00"),
        }
    )


def test_each_state_names_the_report_it_proves() -> None:
    assert report_frames([item("Pending")]) == [{"type": "taken", "id": ID}]
    assert report_frames([item("Processed")]) == [{"type": "taken", "id": ID}]
    assert report_frames([item("Sent")]) == [{"type": "sent", "id": ID, "parts": 1}]
    assert report_frames([item("Delivered")]) == [
        {"type": "delivery", "id": ID, "part": 0, "parts": 1, "delivered": True}
    ]
    assert report_frames([item("Cancelled")]) == [{"type": "dropped", "id": ID}]
    assert report_frames([item("Cancelling")]) == []


def test_failed_before_sent_is_a_send_error_and_after_sent_a_delivery_error() -> None:
    failed = report_frames([item("Failed", error="Send result: RESULT_ERROR_NO_SERVICE")])
    assert failed == [{"type": "failed", "id": ID, "reason": "Send result: RESULT_ERROR_NO_SERVICE"}]
    assert report_frames([item("Failed", states=("Processed", "Sent", "Failed"))]) == [
        {"type": "delivery", "id": ID, "part": 0, "parts": 1, "delivered": False}
    ]


def test_ids_that_are_not_ours_are_ignored() -> None:
    foreign = MessagePatch.model_validate({"id": "local-abc", "state": "Sent", "recipients": []})
    assert report_frames([foreign]) == []


def test_app_time_has_three_fraction_digits_and_an_offset() -> None:
    assert app_time(1795781066.5) == "2026-11-27T12:04:26.500+00:00"
    assert app_time(1795781066.0) == "2026-11-27T12:04:26.000+00:00"


def test_hook_signature_is_hex_hmac_of_body_and_timestamp_whatever_the_time() -> None:
    """The app stamps each attempt anew (PayloadSingingPlugin.kt#L25): a stamp days old only
    means the phone's clock is off, and is accepted like any other signed one."""
    body, stamp = b'{"event":"system:ping"}', "1795781066"
    signature = hmac.new(b"key", body + stamp.encode(), hashlib.sha256).hexdigest()
    assert verify_hook("key", body=body, timestamp=stamp, signature=signature)
    assert verify_hook("key", body=body, timestamp=stamp, signature=signature.upper())
    old = "1700000000"
    assert verify_hook(
        "key",
        body=body,
        timestamp=old,
        signature=hmac.new(b"key", body + b"1700000000", "sha256").hexdigest(),
    )
    assert not verify_hook("key", body=body + b" ", timestamp=stamp, signature=signature)
    assert not verify_hook("key", body=body, timestamp=old, signature=signature)  # the stamp is signed
    assert not verify_hook("other", body=body, timestamp=stamp, signature=signature)
    assert not verify_hook("key", body=body, timestamp=None, signature=signature)
    assert not verify_hook("key", body=body, timestamp="-5", signature=signature)


def test_ping_health_gives_battery_and_charging() -> None:
    envelope = {
        "event": "system:ping",
        "payload": {
            "health": {
                "checks": {"battery:level": {"observedValue": 9}, "battery:charging": {"observedValue": 4}}
            }
        },
    }
    assert hook_frames(envelope, app_version="1.68.0") == [
        {"type": "heartbeat", "battery": 9, "charging": False}
    ]
    assert hook_frames({"event": "system:ping", "payload": {}}, app_version="1.37.0") == [
        {"type": "heartbeat"}
    ]


def test_events_simrelay_does_not_store_give_no_frames() -> None:
    for event in ("sms:sent", "sms:data-received", "mms:received", "mms:downloaded", "app:started", "x:y"):
        assert hook_frames({"event": event, "payload": {"data": "AAEC"}}, app_version="1.68.0") == []


def received(payload: dict, *, envelope_id: str | None = "hook-1") -> dict:
    envelope: dict = {"event": "sms:received", "payload": payload}
    if envelope_id is not None:
        envelope["id"] = envelope_id
    return envelope


def test_received_sms_takes_sender_and_falls_back_to_phone_number() -> None:
    """`sender` from v1.54.0, `phoneNumber` before (MessageEventPayload.kt); the app leaves out
    what is null, so either may be missing."""
    base = {"messageId": "a1", "message": "hi", "receivedAt": "2026-11-27T15:46:11.000+03:00", "simNumber": 2}
    (new,) = hook_frames(received({**base, "sender": "+7999", "phoneNumber": "+7999"}), app_version="1.68.0")
    (old,) = hook_frames(received({**base, "phoneNumber": "+7888"}), app_version="1.40.0")
    (only_sender,) = hook_frames(received({**base, "sender": "+7777"}), app_version="1.68.0")
    assert (new["phone_number"], old["phone_number"], only_sender["phone_number"]) == (
        "+7999",
        "+7888",
        "+7777",
    )
    assert new["sim"] == 1 and new["received_at"] == 1795783571  # 12:46:11 UTC


def test_a_received_sms_is_keyed_by_message_id_only_where_that_id_is_unique() -> None:
    """Before v1.66.2 `messageId` hashes sender, SIM and text only (InboxMessage.kt): two equal
    texts would collapse, so the envelope id (fixed per event, kept by retries) keys them."""
    payload = {"messageId": "abc", "message": "ok", "phoneNumber": "+7999"}
    assert hook_frames(received(payload), app_version="1.68.0")[0]["id"] == "abc"
    assert hook_frames(received(payload), app_version="1.66.2")[0]["id"] == "abc"
    assert hook_frames(received(payload, envelope_id="e1"), app_version="1.66.1")[0]["id"] == "hook-e1"
    assert hook_frames(received(payload, envelope_id="e2"), app_version="1.50.0")[0]["id"] == "hook-e2"
    no_ids = hook_frames(
        received({"message": "ok", "phoneNumber": "+7999"}, envelope_id=None), app_version=""
    )
    assert no_ids[0]["id"].startswith("hook-") and len(no_ids[0]["id"]) > 10


def test_a_malformed_received_time_is_now() -> None:
    """Android < 7 may write offsets like `+-5:00` (GsonBuilder.kt#L17-L28)."""
    (frame,) = hook_frames(
        received({"message": "x", "phoneNumber": "1", "receivedAt": "2026-11-27T15:46:11.000+-5:00"}),
        app_version="1.40.0",
    )
    assert abs(frame["received_at"] - time.time()) < 5
