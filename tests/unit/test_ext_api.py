"""The GoSMS ext API's shapes (api/routes/ext.py): the send body under /v1's rules and codes,
the device object the Home Assistant integration reads, and `no_store` on /v1/sms/send."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from simrelay.api.body import parse_model
from simrelay.api.routes.ext import ExtSendRequest, ext_device
from simrelay.errors import ApiError, ErrorCode
from simrelay.sms.schemas import SendMessageRequest

CONTEXT = {"max_message_length": 20}
NOW = 1_900_000_000.0


def parse(body: object) -> ExtSendRequest:
    return parse_model(orjson.dumps(body), ExtSendRequest, context=CONTEXT)


def code_of(body: object | bytes, model: type = ExtSendRequest) -> ErrorCode:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    with pytest.raises(ApiError) as caught:
        parse_model(raw, model, context=CONTEXT)
    return caught.value.error


def test_the_integrations_body_becomes_the_v1_send_request() -> None:
    body = parse({"phone": "+79001234567", "message": "Door open", "no_store": True, "device_id": "A" * 24})
    request = body.as_send_request()
    assert isinstance(request, SendMessageRequest)
    assert (request.phone_number, request.message, request.no_store, request.device_id) == (
        "79001234567",
        "Door open",
        True,
        "a" * 24,
    )
    assert (request.callback_id, request.to_sim, request.valid_until, request.send_at) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("device_id", [None, ""])
def test_no_device_id_and_no_no_store_mean_any_device_and_keep_the_text(device_id: str | None) -> None:
    request = parse({"phone": "79001234567", "message": "hi", "device_id": device_id}).as_send_request()
    assert (request.device_id, request.no_store) == (None, False)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"phone": "+7 900 123-45-67", "message": "hi"}, ErrorCode.INVALID_PHONE),
        ({"message": "hi"}, ErrorCode.INVALID_PHONE),
        ({"phone": "79001234567", "message": "x" * 21}, ErrorCode.INVALID_MESSAGE),
        ({"phone": "79001234567", "message": " "}, ErrorCode.INVALID_MESSAGE),
        (
            {"phone": "79001234567", "message": "hi", "device_id": "550e8400-e29b-41d4-a716-446655440000"},
            ErrorCode.INVALID_DEVICE_ID,
        ),
        ({"phone": "79001234567", "message": "hi", "no_store": "no_store"}, ErrorCode.INVALID_JSON),
        ({"phone": "79001234567", "message": "hi", "no_store": 0}, ErrorCode.INVALID_JSON),
        ({"phone": 79001234567, "message": "hi"}, ErrorCode.INVALID_JSON),
        ([{"phone": "79001234567", "message": "hi"}], ErrorCode.INVALID_JSON),
        (b"{", ErrorCode.INVALID_JSON),
    ],
)
def test_bad_values_get_v1s_codes_and_wrong_types_1001(body: object, code: ErrorCode) -> None:
    assert code_of(body) is code


def test_v1_send_takes_no_store_as_a_strict_boolean() -> None:
    base = {"message": "hi", "phone_number": "79001234567"}
    assert parse_model(orjson.dumps(base), SendMessageRequest, context=CONTEXT).no_store is False
    assert parse_model(orjson.dumps({**base, "no_store": True}), SendMessageRequest, context=CONTEXT).no_store
    assert code_of({**base, "no_store": "true"}, SendMessageRequest) is ErrorCode.INVALID_JSON


def device(**values: Any) -> SimpleNamespace:
    row = {
        "id": "b" * 24,
        "name": "Kitchen phone",
        "model": "Pixel 7",
        "kind": "native",
        "app_version": "",
        "battery": 64,
        "is_charging": False,
        "is_active": True,
        "to_sim": -2,
        "sim_list": [{"slot_index": 0, "display_name": "MTS"}],
        "last_online_at": NOW - 10,
    }
    row.update(values)
    return SimpleNamespace(**row)


def test_the_device_object_has_the_fields_the_entities_read() -> None:
    assert ext_device(device(), now=NOW, offline_after=60) == {
        "id": "b" * 24,
        "name": "Kitchen phone",
        "name_custom": "",
        "type": "Pixel 7",
        "battery_level": 64,
        "selected_sim": -1,
        "sim_cards": [{"index": 0, "name_operator": "MTS"}],
        "is_online": True,
        "is_charging": False,
        "can_send_sms": True,
    }


@pytest.mark.parametrize(("to_sim", "selected_sim"), [(-2, -1), (-1, -2), (0, 0), (1, 1), (7, 7)])
def test_selected_sim_says_what_the_integrations_labels_mean(to_sim: int, selected_sim: int) -> None:
    """Its -1 is "Default" (ours: the phone's own default SIM, -2), its -2 "Auto" (ours: random, -1)."""
    assert ext_device(device(to_sim=to_sim), now=NOW, offline_after=60)["selected_sim"] == selected_sim


@pytest.mark.parametrize(("heard_ago", "online"), [(0, True), (59.9, True), (60, False), (3600, False)])
def test_online_means_heard_from_within_two_heartbeats(heard_ago: float, online: bool) -> None:
    assert (
        ext_device(device(last_online_at=NOW - heard_ago), now=NOW, offline_after=60)["is_online"] is online
    )


def test_a_device_never_heard_from_is_offline_with_an_unknown_battery() -> None:
    found = ext_device(device(last_online_at=None, battery=0), now=NOW, offline_after=60)
    assert (found["is_online"], found["battery_level"]) == (False, None)


def test_type_is_v1s_device_name_type_or_simrelay_for_a_record_that_never_said() -> None:
    app = device(kind="smsgate", model="SMS Gateway for Android", app_version="1.70.0")
    assert ext_device(app, now=NOW, offline_after=60)["type"] == "SMS Gateway for Android 1.70.0"
    assert ext_device(device(model=""), now=NOW, offline_after=60)["type"] == "simrelay"
    assert ext_device(device(sim_list=[]), now=NOW, offline_after=60)["sim_cards"] == []
    assert ext_device(device(is_active=False), now=NOW, offline_after=60)["can_send_sms"] is False
