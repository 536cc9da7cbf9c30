"""The OpenAPI document states the rules the server validates with, taken from the same
constants, and its patterns agree with the validators (property tests)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simrelay.api.body import LIMIT, OFFSET, parse_model, validation_context
from simrelay.api.openapi import build_openapi
from simrelay.api.reference import render_reference
from simrelay.api.routes.sms import IDEMPOTENCY_KEY_MAX
from simrelay.app import API_ENDPOINTS
from simrelay.config import Settings
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import OBJECT_ID_PATTERN
from simrelay.schemas import PAGE_LIMIT_MAX, PAGE_MAX
from simrelay.sms.schemas import (
    MESSAGE_PATTERN,
    PHONE,
    PHONE_PATTERN,
    SIM_MAX,
    WHITESPACE_CHARS,
    SendMessageRequest,
    check_phone,
)
from simrelay.webhooks.guard import MAX_URL_LENGTH, URL_PATTERN, UrlRefused, parse_url
from simrelay.webhooks.schemas import (
    CreateWebhookRequest,
    DeliveriesRequest,
    EditWebhookRequest,
    WebhookIdRequest,
)

DOCUMENT = build_openapi(API_ENDPOINTS)
SCHEMAS = DOCUMENT["components"]["schemas"]


def operation(path: str, method: str = "post") -> dict[str, Any]:
    found: dict[str, Any] = DOCUMENT["paths"][path][method]
    return found


def parameter(path: str, name: str, method: str = "get") -> dict[str, Any]:
    return next(p for p in operation(path, method)["parameters"] if p["name"] == name)


def prop(model: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = SCHEMAS[model]["properties"][name]
    return found


def branch(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of a nullable schema."""
    return next(option for option in schema.get("anyOf", [schema]) if option.get("type") != "null")


def test_phone_number_pattern_is_the_validators() -> None:
    assert PHONE_PATTERN == f"^{PHONE.pattern}$"
    for model in ("SendMessageRequest", "PhoneNumberRequest"):
        assert prop(model, "phone_number")["pattern"] == PHONE_PATTERN
    assert "phone_number" in SCHEMAS["SendMessageRequest"]["required"]


def test_limit_and_offset_parameters_are_the_readers_bounds() -> None:
    for path in ("/v1/sms", "/v1/devices", "/v1/webhooks", "/v1/inbox", "/v1/optouts"):
        limit, offset = parameter(path, "limit"), parameter(path, "offset")
        assert limit["required"] is True
        assert limit["schema"] == {"type": "integer", "minimum": LIMIT.low, "maximum": LIMIT.high}
        assert (LIMIT.low, LIMIT.high) == (1, PAGE_LIMIT_MAX) == (1, 100)
        assert offset["required"] is False
        assert offset["schema"] == {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": 1}
        assert OFFSET.high == PAGE_MAX
    deliveries = SCHEMAS["DeliveriesRequest"]["properties"]
    assert (deliveries["limit"]["minimum"], deliveries["limit"]["maximum"]) == (1, PAGE_LIMIT_MAX)
    assert (deliveries["offset"]["minimum"], deliveries["offset"]["maximum"]) == (1, PAGE_MAX)


def test_ids_carry_the_object_id_pattern() -> None:
    assert OBJECT_ID_PATTERN == "^[0-9a-fA-F]{24}$"  # the contract's own words
    assert prop("MessageIdRequest", "id")["pattern"] == OBJECT_ID_PATTERN
    assert prop("DeviceIdRequest", "device_id")["pattern"] == OBJECT_ID_PATTERN
    assert prop("WebhookIdRequest", "webhook_id")["pattern"] == OBJECT_ID_PATTERN
    assert parameter("/v1/sms/del", "id", "delete")["schema"]["pattern"] == OBJECT_ID_PATTERN
    optional = branch(prop("SendMessageRequest", "device_id"))
    assert re.fullmatch(optional["pattern"], "") and re.fullmatch(optional["pattern"], "A" * 24)


def test_webhook_id_may_be_named_id() -> None:
    schema = SCHEMAS["WebhookIdRequest"]
    assert "required" not in schema
    assert schema["anyOf"] == [
        {"required": ["webhook_id"]},
        {"required": ["id"], "properties": {"id": {"type": "string", "pattern": OBJECT_ID_PATTERN}}},
    ]


def test_body_fields_carry_ranges_lengths_and_enums() -> None:
    to_sim = branch(prop("SendMessageRequest", "to_sim"))
    assert (to_sim["minimum"], to_sim["maximum"]) == (-2, SIM_MAX)
    message = prop("SendMessageRequest", "message")
    assert (message["minLength"], message["maxLength"], message["pattern"]) == (1, 1000, MESSAGE_PATTERN)
    url = prop("CreateWebhookRequest", "url")
    assert (url["maxLength"], url["pattern"]) == (MAX_URL_LENGTH, URL_PATTERN)
    events = branch(prop("CreateWebhookRequest", "events"))
    assert events["minItems"] == 1 and "sms.status" in events["items"]["enum"]
    header = parameter("/v1/sms/send", "Idempotency-Key", "post")
    assert header["in"] == "header" and header["schema"]["maxLength"] == IDEMPOTENCY_KEY_MAX
    assert prop("MessageOut", "status")["enum"] == [0, 1, 2, 3, 4, 5]
    assert SCHEMAS["MessageOut"]["additionalProperties"] is False


def test_message_length_is_the_configured_one() -> None:
    settings = Settings(max_message_length=321)
    document = build_openapi(API_ENDPOINTS, context=validation_context(settings))
    assert (
        document["components"]["schemas"]["SendMessageRequest"]["properties"]["message"]["maxLength"] == 321
    )


def test_each_status_lists_exactly_its_codes() -> None:
    responses = operation("/v1/sms/send")["responses"]
    codes = {
        status: set(
            r["content"]["application/json"]["schema"]["properties"]["errors"]["properties"]["code"]["enum"]
        )
        for status, r in responses.items()
        if status >= "400"
    }
    assert codes["400"] == {1001, 1004, 2001, 2002, 2004, 2005, 2008, 2010}
    assert codes["401"] == {1003} and codes["413"] == {1012} and codes["422"] == {1013}
    assert codes["403"] == {1002, 1005, 1006, 3000} and codes["404"] == {1009, 1010}
    assert codes["429"] == {1011} and codes["405"] == {2010} and codes["500"] == {1000}
    assert responses["429"]["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert DOCUMENT["components"]["headers"]["Retry-After"]["required"] is True
    assert "Allow" in responses["405"]["headers"]
    for methods in DOCUMENT["paths"].values():
        for op in methods.values():
            assert {"401", "405", "429", "500"} <= set(op["responses"]), op["operationId"]
    assert "415" not in responses  # the contract has no 415: a body that is not JSON is 1001


def test_error_envelope_is_exact() -> None:
    body = SCHEMAS["ErrorBody"]
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"code", "message", "hash"}
    assert body["properties"]["hash"]["pattern"] == "^[0-9a-f]{12}$"
    assert set(body["properties"]["code"]["enum"]) == {code.code for code in ErrorCode}


def test_reference_page_shows_operations_and_rules() -> None:
    page = render_reference(DOCUMENT)
    assert "/v1/sms/send" in page and "/v1/webhooks/deliveries" in page
    assert "<script" not in page and "http://" not in page.split("</style>")[0]
    assert PHONE_PATTERN.replace("+", "") in page.replace("+", "")


# --- the patterns agree with the validators ---------------------------------------------------


def test_whitespace_class_is_what_strip_removes() -> None:
    spaces = re.compile(f"[{WHITESPACE_CHARS}]")
    assert [c for c in range(0x110000) if spaces.fullmatch(chr(c))] == [
        c for c in range(0x110000) if chr(c).isspace()
    ]


def message_accepted(text: str) -> bool:
    try:
        SendMessageRequest.model_validate(
            {"message": text, "phone_number": "79990001122"}, context={"max_message_length": 10**6}
        )
    except ValidationError:
        return False
    return True


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8) | st.sampled_from(
    ["", " ", "\t\n", "a\x00", "\u3000", "\ufeff", "\x85", "ok\r\n", "\u2028x"]
)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_message_pattern_agrees_with_the_validator(text: str) -> None:
    assert (re.fullmatch(MESSAGE_PATTERN, text) is not None) == message_accepted(text)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(MESSAGE_PATTERN, fullmatch=True))
def test_messages_from_the_pattern_are_accepted(text: str) -> None:
    assert message_accepted(text)


def phone_accepted(text: str) -> bool:
    try:
        check_phone(text)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.from_regex(PHONE_PATTERN, fullmatch=True) | st.text(alphabet="+0123456789 \n-a", max_size=32))
def test_phone_pattern_agrees_with_the_validator(text: str) -> None:
    assert (re.fullmatch(PHONE_PATTERN, text) is not None) == phone_accepted(text)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(URL_PATTERN, fullmatch=True).filter(lambda url: len(url) <= MAX_URL_LENGTH))
def test_urls_matching_the_pattern_pass_the_shape_check(url: str) -> None:
    parse_url(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://a.b", "http://", "http://a:0", "http://a:65536", "http://u@a.b", "http://01.2.3.4", "http://a b"],
)
def test_urls_the_shape_check_refuses_do_not_match(url: str) -> None:
    with pytest.raises(UrlRefused):
        parse_url(url)
    assert re.fullmatch(URL_PATTERN, url) is None


# --- what the fuzzing found -------------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"id": ""}', b'{"id": "nope"}', b'{"webhook_id": "nope", "id": "0" }'])
def test_a_webhook_id_under_its_other_name_has_the_webhook_ids_code(body: bytes) -> None:
    for model in (WebhookIdRequest, EditWebhookRequest, DeliveriesRequest):
        with pytest.raises(ApiError) as caught:
            parse_model(body, model)
        assert caught.value.error is ErrorCode.INVALID_CALLBACK_ID


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://xn--e1afmkfd.xn--p1ai/hook", True),
        ("https://мой-сайт.рф/hook", True),
        ("http://Bücher.test/", True),
        ("http://[2001:db8::1]:8080/hook?x=1", True),
        ("HTTP://Example.COM", True),
        (" https://example.com/hook", False),
        ("https://a_b.рф/hook", False),
        ("https://ab--c.рф/hook", False),
        ("https://example.com/привет", False),
        ("https://example.com:0/", False),
        ("https://10.0.0.01/", False),
    ],
)
def test_a_webhook_url_is_what_the_document_says(url: str, ok: bool) -> None:
    raw = json.dumps({"url": url}).encode()
    if ok:
        assert parse_model(raw, CreateWebhookRequest).url == url
    else:
        with pytest.raises(ApiError) as caught:
            parse_model(raw, CreateWebhookRequest)
        assert caught.value.error is ErrorCode.INVALID_WEBHOOK_URL
