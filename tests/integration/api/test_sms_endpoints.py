"""SMS send, get, delete and list: paths, shapes, paging, search and idempotency."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.factories import make_caller, make_device, make_webhook
from tests.integration.api.helpers import (
    assert_error,
    get_sms,
    list_sms,
    search_ids,
    send,
    send_ok,
    set_status,
)

pytestmark = pytest.mark.integration

SMS_KEYS = [
    "id",
    "message",
    "status",
    "callback_id",
    "device_id",
    "phone_number",
    "message_status",
    "time_create",
    "to_sim",
]
STATUS_TEXT = {
    0: "Ждет обработки",
    1: "Взято в обработку",
    2: "Отправлено",
    3: "Ошибка отправки",
    4: "Доставлено",
    5: "Ошибка доставки",
}


# --- paths, shapes, delete -------------------------------------------------------------------


async def test_endpoints_answer_at_the_root_as_under_v1(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    sent = await client.post(
        "/sms/send", headers=caller.headers, json={"message": "root", "phone_number": "123"}
    )
    assert sent.status_code == 200
    message_id = sent.json()["id"]
    got = await client.post("/sms/get", headers=caller.headers, json={"id": message_id})
    assert got.json()["message"] == "root"
    listed = await client.get("/sms?limit=5", headers=caller.headers)
    assert [item["id"] for item in listed.json()["sms_list"]] == [message_id]
    assert (await client.get("/devices?limit=5", headers=caller.headers)).status_code == 200
    deleted = await client.request("DELETE", "/sms/del", headers=caller.headers, json={"id": message_id})
    assert deleted.status_code == 204
    assert_error(await client.post("/sms/get", headers=caller.headers, json={"id": message_id}), 1008)


async def test_sms_object_has_exactly_the_documented_keys(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    before = int(time.time())
    message_id = await send_ok(client, caller, message="ключи", phone_number="+123456")
    got = (await get_sms(client, caller, message_id)).json()
    item = (await list_sms(client, caller)).json()["sms_list"][0]
    assert list(got) == SMS_KEYS
    assert item == got
    assert isinstance(got["time_create"], int)
    assert before <= got["time_create"] <= int(time.time())
    assert got["phone_number"] == "123456"


async def test_get_accepts_upper_case_id_and_answers_lower_case(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller)
    got = await get_sms(client, caller, message_id.upper())
    assert got.status_code == 200
    assert got.json()["id"] == message_id


async def test_delete_with_body_is_204_without_body_then_get_is_1008(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller)
    deleted = await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json={"id": message_id})
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(await get_sms(client, caller, message_id), 1008)
    listed = (await list_sms(client, caller)).json()
    assert listed["pagination"]["total_records"] == 0
    assert listed["sms_list"] == []


async def test_delete_with_query_id_is_204(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller)
    deleted = await client.delete(f"/v1/sms/del?id={message_id}", headers=caller.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(await get_sms(client, caller, message_id), 1008)


async def test_delete_twice_is_1008(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller)
    assert (await client.delete(f"/v1/sms/del?id={message_id}", headers=caller.headers)).status_code == 204
    assert_error(await client.delete(f"/v1/sms/del?id={message_id}", headers=caller.headers), 1008)


async def test_delete_without_any_id_is_2003_like_a_malformed_one(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await client.delete("/v1/sms/del", headers=caller.headers), 2003)
    assert_error(await client.delete("/v1/sms/del?id=xyz", headers=caller.headers), 2003)


@pytest.mark.parametrize("to_sim", [None, -2, -1, 0, 3, 2**31 - 1])
async def test_to_sim_is_echoed(client: httpx.AsyncClient, engine, to_sim) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller, to_sim=to_sim)
    assert (await get_sms(client, caller, message_id)).json()["to_sim"] == to_sim
    assert (await list_sms(client, caller)).json()["sms_list"][0]["to_sim"] == to_sim


async def test_pinned_device_and_callback_are_shown_lower_case(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller, name="second")
    webhook_id = await make_webhook(engine, caller)
    message_id = await send_ok(client, caller, device_id=device_id.upper(), callback_id=webhook_id.upper())
    got = (await get_sms(client, caller, message_id)).json()
    assert (got["device_id"], got["callback_id"]) == (device_id, webhook_id)


async def test_unknown_fields_are_ignored(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller, status=4, id="0" * 24, extra={"x": [1]}, time_create=1)
    got = (await get_sms(client, caller, message_id)).json()
    assert message_id != "0" * 24
    assert (got["status"], got["message_status"]) == (0, "Ждет обработки")
    assert got["time_create"] > 1


async def test_message_status_texts_follow_the_status(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    for status, text in STATUS_TEXT.items():
        message_id = await send_ok(client, caller)
        await set_status(engine, message_id, status)
        got = (await get_sms(client, caller, message_id)).json()
        assert (got["status"], got["message_status"]) == (status, text)


@pytest.mark.parametrize(
    ("phone", "stored"),
    [("123", "123"), ("1" * 30, "1" * 30), ("+" + "1" * 30, "1" * 30), ("+79990001122", "79990001122")],
)
async def test_valid_phone_number_is_stored_without_plus(
    client: httpx.AsyncClient, engine, phone, stored
) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller, phone_number=phone)
    assert (await get_sms(client, caller, message_id)).json()["phone_number"] == stored


@pytest.mark.parametrize("message", ["a\nb\r\nc\td", "a" * 1000, "я" * 1000, "  spaced  ", "эмодзи 🙂 ✓"])
async def test_valid_message_is_stored_verbatim(client: httpx.AsyncClient, engine, message) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller, message=message)
    assert (await get_sms(client, caller, message_id)).json()["message"] == message


@pytest.mark.parametrize("empty", ["", None])
async def test_empty_optional_ids_on_send_mean_not_set(client: httpx.AsyncClient, engine, empty) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller, device_id=empty, callback_id=empty)
    got = (await get_sms(client, caller, message_id)).json()
    assert (got["device_id"], got["callback_id"]) == ("", "")


# --- list and paging -------------------------------------------------------------------------


async def test_list_is_newest_first(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    sent = [await send_ok(client, caller, message=f"n{i}") for i in range(4)]
    listed = (await list_sms(client, caller)).json()
    assert [item["id"] for item in listed["sms_list"]] == sent[::-1]
    assert listed["pagination"] == {"total_records": 4, "limit": 100, "offset": 1}


async def test_offset_is_the_one_based_page_number(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    newest_first = [await send_ok(client, caller, message=f"p{i}") for i in range(5)][::-1]
    pages = {}
    for page in (1, 2, 3, 4, 1000):
        response = await list_sms(client, caller, limit=2, offset=page)
        body = response.json()
        assert body["pagination"] == {"total_records": 5, "limit": 2, "offset": page}
        pages[page] = [item["id"] for item in body["sms_list"]]
    assert pages[1] == newest_first[0:2]
    assert pages[2] == newest_first[2:4]
    assert pages[3] == newest_first[4:5]
    assert pages[4] == pages[1000] == []
    default = (await client.get("/v1/sms?limit=2", headers=caller.headers)).json()
    assert default["pagination"]["offset"] == 1
    assert [item["id"] for item in default["sms_list"]] == pages[1]


@pytest.mark.parametrize("limit", [1, 100])
async def test_limit_bounds_are_inclusive(client: httpx.AsyncClient, engine, limit) -> None:
    caller = await make_caller(engine)
    await send_ok(client, caller)
    await send_ok(client, caller)
    body = (await list_sms(client, caller, limit=limit)).json()
    assert body["pagination"]["limit"] == limit
    assert len(body["sms_list"]) == min(limit, 2)


# --- search ----------------------------------------------------------------------------------

CORPUS = {
    "privet": ("ПРИВЕТ мир", "79990001122"),
    "hello": ("hello World", "79990003344"),
    "yolka": ("Ёлка и СНЕГ", "15550001234"),
    "percent": ("скидка 100% сегодня", "4470000"),
    "underscore": ("snake_case value", "4470001"),
    "quote": ('say "hi" twice', "4470002"),
    "apostrophe": ("it's O'Reilly", "4470003"),
    "backslash": ("C:\\path\\file", "4470004"),
}


@pytest.fixture
async def corpus(client: httpx.AsyncClient, engine):
    caller = await make_caller(engine)
    ids = {}
    for label, (message, phone) in CORPUS.items():
        ids[label] = await send_ok(client, caller, message=message, phone_number=phone)
    return caller, ids


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("привет", {"privet"}),
        ("МИР", {"privet"}),
        ("пРиВеТ мИр", {"privet"}),
        ("HELLO", {"hello"}),
        ("world", {"hello"}),
        ("ёлка", {"yolka"}),
        ("снег", {"yolka"}),
        ("0001122", {"privet"}),
        ("1555", {"yolka"}),
        ("447000", {"percent", "underscore", "quote", "apostrophe", "backslash"}),
        ("ё", {"yolka"}),
        ("мИ", {"privet"}),
        ("lo", {"hello"}),
        ("W", {"hello", "quote"}),
        ("22", {"privet"}),
        ("x", set()),
        ("nothing like it", set()),
        ("зззз", set()),
    ],
)
async def test_search_is_case_insensitive_substring_over_message_and_phone(
    client: httpx.AsyncClient, corpus, needle, expected
) -> None:
    caller, ids = corpus
    assert await search_ids(client, caller, needle) == {ids[label] for label in expected}, needle


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("%", {"percent"}),
        ("0%", {"percent"}),
        ("100% сег", {"percent"}),
        ("_", {"underscore"}),
        ("e_c", {"underscore"}),
        ('"', {"quote"}),
        ('"hi"', {"quote"}),
        ('say "', {"quote"}),
        ("'", {"apostrophe"}),
        ("o'r", {"apostrophe"}),
        ("\\", {"backslash"}),
        ("\\path\\", {"backslash"}),
        ("a%e", set()),
        ("n_k", set()),
        ("%%", set()),
        ("__", set()),
        ('""', set()),
        ("\\%", set()),
        ("*", set()),
        ("hel*", set()),
        ("hello OR", set()),
        ("NEAR(a b)", set()),
        ("'); DROP TABLE messages; --", set()),
    ],
)
async def test_search_needles_with_special_characters_are_literal(
    client: httpx.AsyncClient, corpus, needle, expected
) -> None:
    caller, ids = corpus
    assert await search_ids(client, caller, needle) == {ids[label] for label in expected}, needle


@pytest.mark.parametrize("needle", ["\x00", "a\x00b", "\x01\x02\x03", "\ufffd", "🙂"])
async def test_search_with_odd_characters_matches_nothing_without_error(
    client: httpx.AsyncClient, corpus, needle
) -> None:
    caller, _ = corpus
    assert await search_ids(client, caller, needle) == set()


@pytest.mark.parametrize("needle", ["\n", "мир\n7999"])
async def test_search_does_not_match_across_fields(client: httpx.AsyncClient, corpus, needle) -> None:
    caller, _ = corpus
    assert await search_ids(client, caller, needle) == set()


async def test_search_covers_message_status(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    by_status = {}
    for status in STATUS_TEXT:
        by_status[status] = await send_ok(client, caller, message=f"plain {status}")
        await set_status(engine, by_status[status], status)

    def of(*statuses: int) -> set[str]:
        return {by_status[status] for status in statuses}

    assert await search_ids(client, caller, "ждет") == of(0)
    assert await search_ids(client, caller, "ЖДЕТ ОБРАБОТКИ") == of(0)
    assert await search_ids(client, caller, "доставлено") == of(4)
    assert await search_ids(client, caller, "ошибка") == of(3, 5)
    assert await search_ids(client, caller, "обработк") == of(0, 1)
    assert await search_ids(client, caller, "отправ") == of(2, 3)
    assert await search_ids(client, caller, "plain 4") == of(4)


async def test_search_total_counts_matches_and_pages_through_them(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    matching = [await send_ok(client, caller, message=f"match {i}") for i in range(3)]
    await send_ok(client, caller, message="other")
    first = (await list_sms(client, caller, limit=2, search="MATCH")).json()
    second = (await list_sms(client, caller, limit=2, offset=2, search="MATCH")).json()
    assert first["pagination"] == {"total_records": 3, "limit": 2, "offset": 1}
    assert second["pagination"] == {"total_records": 3, "limit": 2, "offset": 2}
    found = [item["id"] for item in first["sms_list"] + second["sms_list"]]
    assert found == matching[::-1]
    everything = (await list_sms(client, caller, search="")).json()
    assert everything["pagination"]["total_records"] == 4


async def test_search_does_not_find_deleted_sms(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller, message="удалённое")
    await client.delete(f"/v1/sms/del?id={message_id}", headers=caller.headers)
    assert await search_ids(client, caller, "удалён") == set()


# --- idempotency -----------------------------------------------------------------------------


async def test_same_idempotency_key_and_body_returns_first_id_and_stores_one(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    key = {"Idempotency-Key": "abc-123"}
    first = await send_ok(client, caller, headers=key)
    again = await send(client, caller, headers=key)
    assert again.status_code == 200
    assert again.json() == {"id": first}
    assert (await list_sms(client, caller)).json()["pagination"]["total_records"] == 1


async def test_same_idempotency_key_with_other_body_is_1013_and_stores_nothing(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    key = {"Idempotency-Key": "abc-123"}
    await send_ok(client, caller, headers=key, message="one")
    assert_error(await send(client, caller, headers=key, message="two"), 1013)
    assert_error(await send(client, caller, headers=key, phone_number="555"), 1013)
    assert (await list_sms(client, caller)).json()["pagination"]["total_records"] == 1


async def test_idempotency_keys_are_per_account(client: httpx.AsyncClient, engine) -> None:
    first, second = await make_caller(engine), await make_caller(engine)
    key = {"Idempotency-Key": "shared-name"}
    first_id = await send_ok(client, first, headers=key)
    second_id = await send_ok(client, second, headers=key, message="other body")
    assert first_id != second_id
    assert (await get_sms(client, second, second_id)).json()["message"] == "other body"
    assert (await send(client, first, headers=key)).json() == {"id": first_id}


async def test_without_or_with_different_keys_each_send_stores_a_new_sms(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    ids = {
        await send_ok(client, caller),
        await send_ok(client, caller),
        await send_ok(client, caller, headers={"Idempotency-Key": "a"}),
        await send_ok(client, caller, headers={"Idempotency-Key": "b"}),
    }
    assert len(ids) == 4


async def test_idempotency_ignores_key_order_and_spacing_of_the_body(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    headers = caller.headers | {"Idempotency-Key": "same-json", "Content-Type": "application/json"}
    first = await client.post(
        "/v1/sms/send", headers=headers, content=b'{"message": "hi", "phone_number": "79990001122"}'
    )
    again = await client.post(
        "/v1/sms/send", headers=headers, content=b'{ "phone_number":"79990001122","message":"hi" }'
    )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert (await list_sms(client, caller)).json()["pagination"]["total_records"] == 1


async def test_search_with_a_plus_finds_numbers_stored_without_it(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    wanted = await send_ok(client, caller, phone_number="+79995554433")
    await send_ok(client, caller, phone_number="79001112233")
    found = await client.get("/v1/sms", headers=caller.headers, params={"limit": 10, "search": "+7999555"})
    assert [item["id"] for item in found.json()["sms_list"]] == [wanted]


async def test_totals_follow_sends_and_deletes_and_a_second_delete_changes_nothing(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    ids = [await send_ok(client, caller, message=f"итог {n}") for n in range(3)]
    for _ in range(2):
        await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json={"id": ids[0]})
    assert (await list_sms(client, caller)).json()["pagination"]["total_records"] == 2
    searched = await client.get("/v1/sms", headers=caller.headers, params={"limit": 10, "search": "ИТОГ"})
    assert searched.json()["pagination"]["total_records"] == 2
