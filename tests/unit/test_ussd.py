"""USSD rules without a database: the code (GSM 02.90), its 2011 on the request, the document's
pattern, the SIM a request dials from, when a device counts as connected, and hello's features."""

from __future__ import annotations

import random
import re
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.api.body import parse_model
from simrelay.devices import protocol, ussd
from simrelay.devices.schemas import SendUssdRequest
from simrelay.errors import ApiError, ErrorCode


def accepted(code: str) -> bool:
    try:
        ussd.check_code(code)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("code", ["*100#", "#", "*", "+", "0", "*#06#", "**21*+79990001122#", "*" * 182])
def test_ussd_strings_are_accepted(code: str) -> None:
    assert accepted(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "*" * 183,
        "*100#\n",
        "\n*100#",
        " *100#",
        "*100# ",
        "*1 00#",
        "*100#a",
        "١٠٠",
        "１００",
        "*100\x00#",
        "-1",
    ],
)
def test_anything_else_is_refused(code: str) -> None:
    assert not accepted(code)


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(ussd.CODE_PATTERN, fullmatch=True)
    | st.text(alphabet="*#+0123456789 \n\x00a٣", max_size=190)
)
def test_the_documents_pattern_agrees_with_the_validator(code: str) -> None:
    assert (re.fullmatch(ussd.CODE_PATTERN, code) is not None) == accepted(code)


def code_of(body: dict[str, Any]) -> ErrorCode:
    with pytest.raises(ApiError) as caught:
        parse_model(orjson.dumps(body), SendUssdRequest)
    return caught.value.error


def test_the_request_maps_each_field_to_its_code() -> None:
    device = "a" * 24
    assert (
        parse_model(orjson.dumps({"device_id": device.upper(), "code": "*100#"}), SendUssdRequest).device_id
        == device
    )
    assert code_of({"device_id": device, "code": "*100#x"}) is ErrorCode.INVALID_USSD_CODE
    assert code_of({"device_id": device}) is ErrorCode.INVALID_USSD_CODE
    assert code_of({"device_id": device, "code": 100}) is ErrorCode.INVALID_JSON
    assert code_of({"device_id": "x", "code": "*100#"}) is ErrorCode.INVALID_DEVICE_ID
    assert code_of({"device_id": device, "code": "*100#", "to_sim": -3}) is ErrorCode.INVALID_SIM
    assert code_of({"device_id": "x", "code": ""}) is ErrorCode.INVALID_DEVICE_ID  # the lowest code


def device(**values: Any) -> SimpleNamespace:
    base: dict[str, Any] = {
        "kind": "native",
        "can_ussd": True,
        "connection_id": "c0ffee",
        "last_online_at": 1000.0,
        "to_sim": -2,
        "sim_list": [{"slot_index": 0, "display_name": "A"}, {"slot_index": 1, "display_name": "B"}],
    }
    return SimpleNamespace(**{**base, **values})


@pytest.mark.parametrize(
    ("values", "to_sim", "sim"),
    [
        ({}, None, None),
        ({}, -2, None),
        ({"to_sim": 1}, None, 1),
        ({"to_sim": 1}, -2, 1),
        ({"to_sim": 1}, 0, 0),
        ({}, 1, 1),
        ({"sim_list": []}, 5, None),  # no SIMs reported: the device chooses
        ({"sim_list": []}, -1, None),
    ],
)
def test_the_sim_follows_the_sms_rules(values: dict[str, Any], to_sim: int | None, sim: int | None) -> None:
    assert ussd.choose_sim(device(**values), to_sim) == sim


def test_any_sim_is_one_the_device_has_and_a_missing_slot_is_1016() -> None:
    rng = random.Random(1)
    assert {ussd.choose_sim(device(), -1, rng=rng) for _ in range(50)} == {0, 1}
    with pytest.raises(ApiError) as caught:
        ussd.choose_sim(device(), 2)
    assert caught.value.error is ErrorCode.DEVICE_CANNOT and "2" in str(caught.value.params["why"])


@pytest.mark.parametrize(
    ("values", "now", "connected"),
    [
        ({}, 1000.0, True),
        ({}, 1059.9, True),  # within two heartbeats of 30 s
        ({}, 1060.0, False),  # its node died: silent for two heartbeats
        ({"connection_id": None}, 1000.0, False),  # its session ended
        ({"last_online_at": None}, 1000.0, False),
    ],
)
def test_a_device_is_connected_while_a_session_holds_it_and_it_is_heard(
    values: dict[str, Any], now: float, connected: bool
) -> None:
    assert ussd.is_connected(device(**values), heartbeat_seconds=30, now=now) is connected


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({}, None),
        ({"kind": "smsgate", "can_ussd": False}, ErrorCode.DEVICE_CANNOT),
        ({"kind": "smsgate", "connection_id": None}, ErrorCode.DEVICE_CANNOT),  # never, so say that
        ({"connection_id": None}, ErrorCode.DEVICE_OFFLINE),
        ({"connection_id": None, "can_ussd": False}, ErrorCode.DEVICE_OFFLINE),  # it may come back able
        ({"can_ussd": False}, ErrorCode.DEVICE_CANNOT),
    ],
)
def test_which_devices_may_dial(values: dict[str, Any], error: ErrorCode | None) -> None:
    if error is None:
        ussd.check_device(device(**values), heartbeat_seconds=30, now=1000.0)
        return
    with pytest.raises(ApiError) as caught:
        ussd.check_device(device(**values), heartbeat_seconds=30, now=1000.0)
    assert caught.value.error is error


def test_hello_features_are_optional_and_unknown_names_do_not_matter() -> None:
    assert protocol.Hello.model_validate({"protocol": 1}).features == []
    hello = protocol.Hello.model_validate({"protocol": 1, "features": ["later-thing", "ussd"]})
    assert ussd.FEATURE in hello.features


@pytest.mark.parametrize(
    ("frame", "ok"),
    [
        ({"id": "a" * 24, "status": "done", "response": "Баланс"}, True),
        ({"id": "a" * 24, "status": "error"}, True),
        ({"id": "a" * 24, "status": "timeout"}, False),
        ({"id": "a" * 24, "status": "done", "response": "x" * 1001}, False),
        ({"id": "short", "status": "done"}, False),
    ],
)
def test_the_ussd_result_frame(frame: dict[str, Any], ok: bool) -> None:
    model = protocol.REPORTS["ussd_result"]
    if ok:
        assert model.model_validate({"type": "ussd_result", "seq": 1, **frame})
    else:
        with pytest.raises(ValueError):
            model.model_validate({"type": "ussd_result", "seq": 1, **frame})
