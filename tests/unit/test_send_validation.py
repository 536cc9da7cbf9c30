"""Field rules of /sms/send map to the contract's codes: 1001 for types, 2xxx for values."""

import orjson
import pytest

from simrelay.api.body import parse_model
from simrelay.errors import ApiError, ErrorCode
from simrelay.sms.schemas import SendMessageRequest

CONTEXT = {"max_message_length": 20}


def parse(body: object) -> SendMessageRequest:
    return parse_model(orjson.dumps(body), SendMessageRequest, context=CONTEXT)


def code_of(body: object | bytes) -> ErrorCode:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    with pytest.raises(ApiError) as caught:
        parse_model(raw, SendMessageRequest, context=CONTEXT)
    return caught.value.error


def test_phone_loses_one_leading_plus() -> None:
    assert parse({"message": "hi", "phone_number": "+79990001122"}).phone_number == "79990001122"


@pytest.mark.parametrize("phone", ["12", "1" * 31, "++7999", "7999a", "７９９９", "+", "79 99", ""])
def test_bad_phones_are_2001(phone: str) -> None:
    assert code_of({"message": "hi", "phone_number": phone}) is ErrorCode.INVALID_PHONE


@pytest.mark.parametrize("message", ["", "   ", "\n\t", "x" * 21, "bad\x00byte", "bell\x07", "c1\x85"])
def test_bad_messages_are_2002(message: str) -> None:
    assert code_of({"message": message, "phone_number": "79990001122"}) is ErrorCode.INVALID_MESSAGE


def test_newlines_tabs_and_exactly_max_length_are_fine() -> None:
    assert parse({"message": "a\nb\r\tc", "phone_number": "123"}).message == "a\nb\r\tc"
    assert len(parse({"message": "я" * 20, "phone_number": "123"}).message) == 20


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"null",
        {"message": 5, "phone_number": "123"},
        {"message": "hi", "phone_number": 79990001122},
        {"message": "hi", "phone_number": "123", "to_sim": "1"},
        {"message": "hi", "phone_number": "123", "to_sim": 1.5},
        {"message": "hi", "phone_number": "123", "to_sim": True},
    ],
)
def test_malformed_bodies_and_wrong_types_are_1001(body: object) -> None:
    assert code_of(body) is ErrorCode.INVALID_JSON


def test_ids_and_sim_values() -> None:
    assert (
        code_of({"message": "hi", "phone_number": "123", "device_id": "xyz"}) is ErrorCode.INVALID_DEVICE_ID
    )
    assert (
        code_of({"message": "hi", "phone_number": "123", "callback_id": "xyz"})
        is ErrorCode.INVALID_CALLBACK_ID
    )
    assert code_of({"message": "hi", "phone_number": "123", "to_sim": -3}) is ErrorCode.INVALID_SIM
    empty = parse(
        {"message": "hi", "phone_number": "123", "device_id": "", "callback_id": None, "to_sim": -2}
    )
    assert (empty.device_id, empty.callback_id, empty.to_sim) == ("", "", -2)
    upper = parse({"message": "hi", "phone_number": "123", "device_id": "6654A4E8F1527149588C89F2"})
    assert upper.device_id == "6654a4e8f1527149588c89f2"


def test_several_bad_fields_report_the_lowest_code_and_type_errors_first() -> None:
    assert code_of({"message": "", "phone_number": "1"}) is ErrorCode.INVALID_PHONE
    assert code_of({"message": "", "phone_number": 1}) is ErrorCode.INVALID_JSON
    assert code_of({}) is ErrorCode.INVALID_PHONE


def test_unknown_fields_are_ignored() -> None:
    assert parse({"message": "hi", "phone_number": "123", "extra": {"x": 1}}).message == "hi"
