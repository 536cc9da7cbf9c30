"""The error table of the contract, row by row: code, HTTP status, envelope and language."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx
import jwt
import pytest
from sqlalchemy import select

from simrelay.accounts import tokens
from simrelay.devices.models import Device
from simrelay.ids import new_object_id
from simrelay.storage.batch import BatchWriter
from tests.conftest import SECRET, running_client
from tests.factories import make_caller, make_webhook
from tests.integration.api.helpers import (
    UNKNOWN_ID,
    assert_error,
    count_messages,
    delete_key,
    freeze_rate_limit_clock,
    get_sms,
    send,
    send_ok,
    set_blocked,
    set_key_active,
)

pytestmark = pytest.mark.integration


# --- envelope and language -------------------------------------------------------------------


async def test_error_envelope_is_exact_with_fresh_hash_per_occurrence(client: httpx.AsyncClient) -> None:
    first = await client.post("/v1/sms/get", json={"id": UNKNOWN_ID})
    second = await client.post("/v1/sms/get", json={"id": UNKNOWN_ID})
    assert_error(first, 1003)
    assert_error(second, 1003)
    assert first.json()["errors"]["hash"] != second.json()["errors"]["hash"]


# fmt: off
LANGUAGES = [
    (None, "ru"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("EN-gb", "en"), ("ru;q=1, en;q=0.5", "ru"),
    ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"), ("en;q=0.3, ru;q=0.6", "ru"), ("de", "ru"), ("*", "ru"),
]
# fmt: on


@pytest.mark.parametrize(("accept_language", "language"), LANGUAGES)
async def test_error_message_language_follows_accept_language(
    client: httpx.AsyncClient, engine, accept_language: str | None, language: str
) -> None:
    caller = await make_caller(engine)
    headers = caller.headers | ({"Accept-Language": accept_language} if accept_language else {})
    response = await client.post("/v1/sms/get", headers=headers, json={"id": UNKNOWN_ID})
    assert_error(response, 1008, language=language)


# --- 1001 ------------------------------------------------------------------------------------


# fmt: off
NOT_JSON_OBJECTS = [b"", b"{", b"not json", b"[]", b'"text"', b"null", b"42", b'{"message": "\\ud800"}']
WRONG_TYPES = [
    {"message": 5}, {"phone_number": 79990001122}, {"to_sim": "1"}, {"to_sim": 1.5}, {"to_sim": 1.0},
    {"to_sim": True}, {"device_id": 5}, {"callback_id": []}, {"message": ["hi"]}, {"phone_number": None},
]
# fmt: on


@pytest.mark.parametrize("raw", NOT_JSON_OBJECTS)
async def test_send_with_body_not_a_json_object_is_1001(
    client: httpx.AsyncClient, engine, raw: bytes
) -> None:
    caller = await make_caller(engine)
    headers = caller.headers | {"Content-Type": "application/json"}
    assert_error(await client.post("/v1/sms/send", headers=headers, content=raw), 1001)
    assert await count_messages(engine) == 0


@pytest.mark.parametrize("fields", WRONG_TYPES)
async def test_send_with_field_of_wrong_json_type_is_1001(client: httpx.AsyncClient, engine, fields) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, **fields), 1001)
    assert await count_messages(engine) == 0


async def test_get_with_numeric_id_is_1001(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await client.post("/v1/sms/get", headers=caller.headers, json={"id": 5}), 1001)


# --- 1002, 1003, 3000 ------------------------------------------------------------------------


async def test_deactivated_key_is_1002(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await set_key_active(engine, caller, active=False)
    assert_error(await send(client, caller), 1002)


def forged(secret: str, **claims: object) -> str:
    return jwt.encode({"kid": new_object_id(), "jti": "x", **claims}, secret, algorithm="HS256")


OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256"
# fmt: off
BAD_AUTHORIZATION = [
    pytest.param(None, id="no-header"), pytest.param("", id="empty"),
    pytest.param("Bearer", id="scheme-only"),
    pytest.param("Bearer ", id="scheme-and-space"), pytest.param("Basic dXNlcjpwYXNz", id="basic"),
    pytest.param("Token abc.def.ghi", id="other-scheme"), pytest.param("Bearer not-a-token", id="malformed"),
    pytest.param("Bearer abc.def.ghi", id="three-garbage-parts"),
    pytest.param("Bearer " + forged(OTHER_SECRET), id="bad-signature"),
    pytest.param("Bearer " + jwt.encode({"jti": "x"}, SECRET, algorithm="HS256"), id="no-key-id"),
    pytest.param("Bearer " + forged(SECRET), id="unknown-key"),
]
# fmt: on


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
async def test_bad_or_missing_token_is_1003(client: httpx.AsyncClient, engine, authorization) -> None:
    await make_caller(engine)
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_error(await client.post("/v1/sms/send", headers=headers, json={"message": "x"}), 1003)
    assert_error(await client.get("/v1/sms?limit=1", headers=headers), 1003)


async def test_token_of_deleted_key_is_1003(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await send_ok(client, caller)
    await delete_key(engine, caller)
    assert_error(await send(client, caller), 1003)


async def test_validly_signed_token_not_issued_for_the_key_is_1003(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    other = tokens.issue_token(key_id=caller.key_id, account_id=caller.account_id, secret_key=SECRET)
    response = await client.post(
        "/v1/sms/send",
        headers={"Authorization": f"Bearer {other}"},
        json={"message": "x", "phone_number": "123"},
    )
    assert_error(response, 1003)


async def test_blocked_account_is_3000_and_unblocking_restores_access(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    await set_blocked(engine, caller, blocked=True)
    assert_error(await send(client, caller), 3000)
    assert_error(await client.get("/v1/sms?limit=1", headers=caller.headers), 3000)
    assert await count_messages(engine) == 0
    await set_blocked(engine, caller, blocked=False)
    await send_ok(client, caller)


# --- 1004 to 1010 ----------------------------------------------------------------------------


async def test_send_without_devices_is_1004(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, with_device=False)
    assert_error(await send(client, caller), 1004)
    assert await count_messages(engine) == 0


async def test_send_with_key_without_send_permission_is_1005(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_send=False)
    assert_error(await send(client, caller), 1005)
    assert await count_messages(engine) == 0


async def test_send_past_monthly_quota_is_1006(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, quota=1)
    await send_ok(client, caller)
    assert_error(await send(client, caller), 1006, language="ru")
    english = await send(client, caller, headers={"Accept-Language": "en"})
    assert_error(english, 1006, language="en")
    assert await count_messages(engine) == 1


async def test_get_with_key_without_read_permission_is_1007(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_read=False)
    message_id = await send_ok(client, caller)
    assert_error(await get_sms(client, caller, message_id), 1007)


async def test_get_unknown_or_other_accounts_sms_is_1008(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    other = await make_caller(engine)
    foreign_id = await send_ok(client, other)
    unknown = await get_sms(client, caller, UNKNOWN_ID)
    foreign = await get_sms(client, caller, foreign_id)
    assert_error(unknown, 1008)
    assert_error(foreign, 1008)
    assert unknown.json()["errors"]["message"] == foreign.json()["errors"]["message"]


async def test_send_pinned_to_unknown_or_other_accounts_device_is_1009(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    other = await make_caller(engine)
    async with engine.connect() as conn:
        foreign_device = (
            await conn.execute(select(Device.id).where(Device.account_id == other.account_id))
        ).scalar_one()
    assert_error(await send(client, caller, device_id=UNKNOWN_ID), 1009)
    assert_error(await send(client, caller, device_id=foreign_device), 1009)
    assert await count_messages(engine) == 0


async def test_send_with_unknown_or_other_accounts_callback_is_1010(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    other = await make_caller(engine)
    foreign_hook = await make_webhook(engine, other)
    assert_error(await send(client, caller, callback_id=UNKNOWN_ID), 1010)
    assert_error(await send(client, caller, callback_id=foreign_hook), 1010)
    assert await count_messages(engine) == 0
    own_hook = await make_webhook(engine, caller)
    await send_ok(client, caller, callback_id=own_hook)


# --- 1011 ------------------------------------------------------------------------------------


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    return freeze_rate_limit_clock(monkeypatch)


async def test_third_request_in_a_window_of_two_is_1011_with_headers(settings, engine, frozen_clock) -> None:
    caller = await make_caller(engine)
    async with running_client(settings.model_copy(update={"rate_limit": 2})) as client:
        responses = [await send(client, caller) for _ in range(3)]
        other_endpoint = await client.get("/v1/sms?limit=1", headers=caller.headers)
        frozen_clock.now += 1
        next_window = await send(client, caller)
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert_error(responses[2], 1011)
    assert responses[2].headers["Retry-After"] == "1"
    for response, remaining in zip(responses, [1, 0, 0], strict=True):
        assert response.headers["RateLimit-Policy"] == '"sms-send";q=2;w=1'
        assert response.headers["RateLimit"] == f'"sms-send";r={remaining};t=1'
    assert other_endpoint.status_code == 200
    assert other_endpoint.headers["RateLimit-Policy"] == '"sms-list";q=2;w=1'
    assert next_window.status_code == 200


async def test_rate_limit_is_per_account(settings, engine, frozen_clock) -> None:
    first, second = await make_caller(engine), await make_caller(engine)
    async with running_client(settings.model_copy(update={"rate_limit": 2})) as client:
        for _ in range(2):
            await send_ok(client, first)
        assert_error(await send(client, first), 1011)
        assert (await send(client, second)).status_code == 200


async def test_rate_limit_is_shared_across_nodes_through_redis(
    settings, engine, redis_url, frozen_clock
) -> None:
    caller = await make_caller(engine)
    shared = settings.model_copy(update={"rate_limit": 2, "redis_url": redis_url})
    async with running_client(shared) as node_a, running_client(shared) as node_b:
        assert (await send(node_a, caller)).status_code == 200
        assert (await send(node_b, caller)).status_code == 200
        limited = await send(node_a, caller)
    assert_error(limited, 1011)
    assert limited.headers["Retry-After"] == "1"


# --- 1012 to 1014 ----------------------------------------------------------------------------


async def test_body_over_64_kib_is_1012_with_or_without_content_length(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    big = sms_json(65 * 1024)

    async def chunks():  # streamed: no Content-Length to refuse it by
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    assert_error(await client.post("/v1/sms/send", headers=caller.headers, content=big), 1012)
    assert_error(await client.post("/v1/sms/send", headers=caller.headers, content=chunks()), 1012)


async def test_body_of_exactly_64_kib_is_read_not_1012(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    response = await client.post("/v1/sms/send", headers=caller.headers, content=sms_json(64 * 1024))
    assert_error(response, 2002)  # read and validated: the message is over 1000 characters


def sms_json(size: int) -> bytes:
    head, tail = b'{"phone_number": "123", "message": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


async def test_idempotency_key_with_other_body_is_1013(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    key = {"Idempotency-Key": "order-1"}
    await send_ok(client, caller, headers=key, message="first")
    assert_error(await send(client, caller, headers=key, message="second"), 1013)
    assert await count_messages(engine) == 1


async def test_idempotency_key_still_in_flight_is_1014(
    client: httpx.AsyncClient, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = await make_caller(engine)
    entered, release = asyncio.Event(), asyncio.Event()
    original = BatchWriter._commit

    async def held_commit(self, batch):
        entered.set()
        await release.wait()
        await original(self, batch)

    monkeypatch.setattr(BatchWriter, "_commit", held_commit)
    key = {"Idempotency-Key": "slow-1"}
    first = asyncio.create_task(send(client, caller, headers=key))
    await asyncio.wait_for(entered.wait(), 10)
    second = await send(client, caller, headers=key)
    release.set()
    first_response = await first
    assert_error(second, 1014)
    assert first_response.status_code == 200
    assert (await send(client, caller, headers=key)).json() == first_response.json()
    assert await count_messages(engine) == 1


async def test_concurrent_sends_with_one_idempotency_key_store_one_sms(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    key = {"Idempotency-Key": "race-1"}
    responses = await asyncio.gather(*(send(client, caller, headers=key) for _ in range(2)))
    ok = [r for r in responses if r.status_code == 200]
    assert ok, [r.text for r in responses]
    for response in responses:
        if response.status_code != 200:
            assert_error(response, 1014)
    assert len({r.json()["id"] for r in ok}) == 1
    assert await count_messages(engine) == 1


# --- 2001 to 2010 ----------------------------------------------------------------------------


# fmt: off
BAD_PHONES = [
    "", "12", "+12", "1" * 31, "+" + "1" * 31, "7999abc", "+7 999 000", "++7999000", "7999-000", "+",
    "１２３", "٣٣٣", "123\n", " 123", "123 ", "79+99", ...,
]
BAD_MESSAGES = [
    "", " ", " \n\t\r ", "\u00a0\u2003", "a" * 1001, "a\x00b", "bell\x07", "esc\x1b[0m", "del\x7f",
    "nel\x85", "ff\x0c", "vt\x0b", ...,
]
# fmt: on


@pytest.mark.parametrize("phone", BAD_PHONES)
async def test_invalid_phone_number_is_2001(client: httpx.AsyncClient, engine, phone) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, phone_number=phone), 2001)
    assert await count_messages(engine) == 0


@pytest.mark.parametrize("message", BAD_MESSAGES)
async def test_invalid_message_is_2002(client: httpx.AsyncClient, engine, message) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, message=message), 2002)
    assert await count_messages(engine) == 0


async def test_message_over_configured_maximum_is_2002_naming_it(settings, engine) -> None:
    caller = await make_caller(engine)
    async with running_client(settings.model_copy(update={"max_message_length": 5})) as client:
        assert (await send(client, caller, message="12345")).status_code == 200
        response = await send(client, caller, message="123456", headers={"Accept-Language": "en"})
    assert "5" in assert_error(response, 2002, language="en")


# fmt: off
BAD_IDS = [
    "", "123", "g" * 24, "0" * 23, "0" * 25, "0123456789abcdef0123456z", UNKNOWN_ID + "\n", " " + UNKNOWN_ID,
]
# fmt: on


@pytest.mark.parametrize("bad_id", [*BAD_IDS, ...])
async def test_sms_id_not_an_object_id_is_2003(client: httpx.AsyncClient, engine, bad_id) -> None:
    caller = await make_caller(engine)
    body = {} if bad_id is ... else {"id": bad_id}
    assert_error(await client.post("/v1/sms/get", headers=caller.headers, json=body), 2003)
    deleted = await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json=body)
    assert_error(deleted, 2003)


async def test_sms_id_in_delete_query_not_an_object_id_is_2003(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await client.delete("/v1/sms/del?id=xyz", headers=caller.headers), 2003)


@pytest.mark.parametrize("bad_id", BAD_IDS[1:])
async def test_callback_id_not_an_object_id_is_2004(client: httpx.AsyncClient, engine, bad_id) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, callback_id=bad_id), 2004)


@pytest.mark.parametrize("bad_id", BAD_IDS[1:])
async def test_device_id_not_an_object_id_is_2005(client: httpx.AsyncClient, engine, bad_id) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, device_id=bad_id), 2005)
    for path in ("/v1/devices/get/info", "/v1/devices/edit", "/v1/devices/del"):
        assert_error(await client.post(path, headers=caller.headers, json={"device_id": bad_id}), 2005)


@pytest.mark.parametrize("path", ["/v1/sms", "/v1/devices"])
@pytest.mark.parametrize(
    "limit",
    [None, "", "0", "101", "-1", "abc", "1.5", "1e2", "99999999999999999999", "\r9", " 9", "9\n", "٩"],
)
async def test_limit_missing_or_out_of_range_is_2006(client: httpx.AsyncClient, engine, path, limit) -> None:
    caller = await make_caller(engine)
    params = {} if limit is None else {"limit": limit}
    assert_error(await client.get(path, headers=caller.headers, params=params), 2006)


@pytest.mark.parametrize("path", ["/v1/sms", "/v1/devices"])
@pytest.mark.parametrize("offset", ["0", "-1", "abc", "1.5", "99999999999999999999", "", "\r1", "1 ", "١"])
async def test_offset_below_one_or_not_integer_is_2007(
    client: httpx.AsyncClient, engine, path, offset
) -> None:
    caller = await make_caller(engine)
    response = await client.get(path, headers=caller.headers, params={"limit": 10, "offset": offset})
    assert_error(response, 2007)


@pytest.mark.parametrize("to_sim", [-3, -100, 2**31, 10**20])
async def test_to_sim_below_minus_two_or_absurd_is_2008(client: httpx.AsyncClient, engine, to_sim) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, to_sim=to_sim), 2008)
    assert await count_messages(engine) == 0


async def test_overlong_idempotency_key_is_2010_naming_it(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    for language in ("ru", "en"):
        headers = {"Idempotency-Key": "k" * 256, "Accept-Language": language}
        assert "Idempotency-Key" in assert_error(
            await send(client, caller, headers=headers), 2010, language=language
        )
    assert await count_messages(engine) == 0
    await send_ok(client, caller, headers={"Idempotency-Key": "k" * 255})
