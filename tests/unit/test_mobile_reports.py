"""How the Android app's full-state PATCH items become native reports."""

from __future__ import annotations

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


def test_hook_signature_is_hex_hmac_of_body_and_timestamp() -> None:
    import hashlib
    import hmac

    body, stamp = b'{"event":"system:ping"}', "1795781066"
    signature = hmac.new(b"key", body + stamp.encode(), hashlib.sha256).hexdigest()
    assert verify_hook("key", body=body, timestamp=stamp, signature=signature, now=1795781066.0)
    assert not verify_hook("key", body=body + b" ", timestamp=stamp, signature=signature, now=1795781066.0)
    assert not verify_hook("key", body=body, timestamp=stamp, signature=signature, now=1795781066.0 + 301)
    assert not verify_hook("other", body=body, timestamp=stamp, signature=signature, now=1795781066.0)
    assert not verify_hook("key", body=body, timestamp=None, signature=signature, now=1795781066.0)


def test_ping_health_gives_battery_and_charging() -> None:
    envelope = {
        "event": "system:ping",
        "payload": {
            "health": {
                "checks": {"battery:level": {"observedValue": 9}, "battery:charging": {"observedValue": 4}}
            }
        },
    }
    assert hook_frames(envelope) == [{"type": "heartbeat", "battery": 9, "charging": False}]
    assert hook_frames({"event": "sms:sent", "payload": {}}) == []
