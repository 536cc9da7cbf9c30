"""Inbox and opt-out endpoints: received SMS listed and searched, STOP / START, the opt-out list."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from simrelay.ids import new_object_id
from simrelay.inbox import repository, service
from simrelay.storage.database import Database
from tests.factories import Caller, make_caller, make_device, make_key
from tests.integration.api.helpers import OBJECT_ID, assert_error

pytestmark = pytest.mark.integration

INBOX_KEYS = ["id", "device_id", "phone_number", "message", "sim", "received_at"]
OPTOUT_KEYS = ["phone_number", "source", "created_at"]


async def receive(engine, caller: Caller, **fields: Any) -> bool:
    """Records an SMS as the device protocol would; returns whether it was new."""
    values: dict[str, Any] = {
        "device_id": fields.pop("device_id", None) or await make_device(engine, caller),
        "external_id": new_object_id(),
        "phone_number": "+7 (999) 000-11-22",
        "message": "Привет",
        "received_at": 1_800_000_000,
        "sim": None,
    }
    values.update(fields)
    now = time.time()
    return await Database.on_engine(engine).run(
        lambda conn: service.store_received(conn, account_id=caller.account_id, now=now, **values)
    )


async def inbox(client: httpx.AsyncClient, caller: Caller, **params: Any) -> httpx.Response:
    params.setdefault("limit", 100)
    return await client.get("/v1/inbox", headers=caller.headers, params=params)


async def inbox_items(client: httpx.AsyncClient, caller: Caller, **params: Any) -> list[dict[str, Any]]:
    response = await inbox(client, caller, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pagination"]["total_records"] == len(body["inbox_list"])
    items: list[dict[str, Any]] = body["inbox_list"]
    return items


async def optouts(client: httpx.AsyncClient, caller: Caller, **params: Any) -> httpx.Response:
    params.setdefault("limit", 100)
    return await client.get("/v1/optouts", headers=caller.headers, params=params)


async def optout_numbers(client: httpx.AsyncClient, caller: Caller) -> dict[str, str]:
    """{number: source} of the whole opt-out list."""
    response = await optouts(client, caller)
    assert response.status_code == 200, response.text
    return {item["phone_number"]: item["source"] for item in response.json()["optout_list"]}


async def add(client: httpx.AsyncClient, caller: Caller, phone_number: Any) -> httpx.Response:
    return await client.post("/v1/optouts/add", headers=caller.headers, json={"phone_number": phone_number})


async def remove(client: httpx.AsyncClient, caller: Caller, phone_number: Any) -> httpx.Response:
    return await client.post("/v1/optouts/del", headers=caller.headers, json={"phone_number": phone_number})


# --- inbox list ------------------------------------------------------------------------------


async def test_inbox_items_have_exactly_the_documented_keys(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    assert await receive(
        engine, caller, device_id=device_id, message="Код 1234", sim=1, received_at=1_800_000_123
    )
    response = await inbox(client, caller, limit=10)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["pagination", "inbox_list"]
    assert body["pagination"] == {"total_records": 1, "limit": 10, "offset": 1}
    [item] = body["inbox_list"]
    assert list(item) == INBOX_KEYS
    assert item == {
        "id": item["id"],
        "device_id": device_id,
        "phone_number": "79990001122",
        "message": "Код 1234",
        "sim": 1,
        "received_at": 1_800_000_123,
    }
    assert OBJECT_ID.match(item["id"])
    # The bare-host path answers too, with the same list.
    root = await client.get("/inbox?limit=10", headers=caller.headers)
    assert root.json() == body


async def test_unknown_sim_is_null_and_sender_names_are_kept(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await receive(engine, caller, phone_number="MyBank", sim=None)
    [item] = await inbox_items(client, caller)
    assert (item["phone_number"], item["sim"]) == ("MyBank", None)


async def test_inbox_is_newest_first_and_pages_through_everything(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    for number in range(5):
        await receive(engine, caller, device_id=device_id, message=f"m{number}")
    pages = []
    for page in (1, 2, 3, 4):
        response = await inbox(client, caller, limit=2, offset=page)
        assert response.status_code == 200
        body = response.json()
        assert body["pagination"] == {"total_records": 5, "limit": 2, "offset": page}
        pages.append([item["message"] for item in body["inbox_list"]])
    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"], []]
    default = (await inbox(client, caller, limit=2)).json()
    assert [item["message"] for item in default["inbox_list"]] == ["m4", "m3"]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/inbox", {}, 2006),
        ("/v1/inbox", {"limit": 0}, 2006),
        ("/v1/inbox", {"limit": 101}, 2006),
        ("/v1/inbox", {"limit": "ten"}, 2006),
        ("/v1/inbox", {"limit": 10, "offset": 0}, 2007),
        ("/v1/inbox", {"limit": 10, "offset": -1}, 2007),
        ("/v1/inbox", {"limit": 10, "offset": "x"}, 2007),
        ("/v1/optouts", {}, 2006),
        ("/v1/optouts", {"limit": 101}, 2006),
        ("/v1/optouts", {"limit": 10, "offset": 0}, 2007),
    ],
)
async def test_lists_reject_bad_paging(client: httpx.AsyncClient, engine, path, params, code) -> None:
    caller = await make_caller(engine)
    assert_error(await client.get(path, headers=caller.headers, params=params), code)


async def test_inbox_search_is_case_insensitive_latin_and_cyrillic(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    await receive(engine, caller, device_id=device_id, message="Hello World", phone_number="79990001111")
    await receive(engine, caller, device_id=device_id, message="ПРИВЕТ, мир", phone_number="79990002222")
    await receive(engine, caller, device_id=device_id, message="Ваш код: 5555", phone_number="MyBank")

    async def found(needle: str) -> set[str]:
        return {item["message"] for item in await inbox_items(client, caller, search=needle)}

    assert await found("hello") == {"Hello World"}
    assert await found("WORLD") == {"Hello World"}
    assert await found("привет") == {"ПРИВЕТ, мир"}
    assert await found("Мир") == {"ПРИВЕТ, мир"}
    assert await found("КОД") == {"Ваш код: 5555"}
    assert await found("7999000") == {"Hello World", "ПРИВЕТ, мир"}
    assert await found("+79990002222") == {"ПРИВЕТ, мир"}
    assert await found("mybank") == {"Ваш код: 5555"}
    assert await found("") == {"Hello World", "ПРИВЕТ, мир", "Ваш код: 5555"}
    assert await found("nothing like it") == set()
    # Text and number are separate fields: no match across the two.
    assert await found("world7999") == set()
    assert await found("\x00") == set()


# --- recording received SMS ------------------------------------------------------------------


async def test_a_repeated_report_is_stored_once(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    other_device = await make_device(engine, caller, name="second")
    assert await receive(engine, caller, device_id=device_id, external_id="sms-1", message="first") is True
    assert await receive(engine, caller, device_id=device_id, external_id="sms-1", message="first") is False
    # The external id is the device's own: another device may use the same one.
    assert await receive(engine, caller, device_id=other_device, external_id="sms-1", message="other") is True
    items = await inbox_items(client, caller)
    assert sorted(item["message"] for item in items) == ["first", "other"]


@pytest.mark.parametrize("stop", ["STOP", "stop", "Stop!", "СТОП", "стоп.", "Отписаться", "UNSUBSCRIBE"])
async def test_a_stop_word_puts_the_sender_on_the_opt_out_list(
    client: httpx.AsyncClient, engine, stop: str
) -> None:
    caller = await make_caller(engine)
    before = int(time.time())
    await receive(engine, caller, phone_number="+7 (999) 000-11-22", message=stop)
    response = await optouts(client, caller, limit=10)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["pagination", "optout_list"]
    assert body["pagination"] == {"total_records": 1, "limit": 10, "offset": 1}
    [item] = body["optout_list"]
    assert list(item) == OPTOUT_KEYS
    assert (item["phone_number"], item["source"]) == ("79990001122", "sms")
    assert isinstance(item["created_at"], int) and before <= item["created_at"] <= time.time()
    # The STOP itself is in the inbox like any other SMS.
    assert [entry["message"] for entry in await inbox_items(client, caller)] == [stop]


@pytest.mark.parametrize("start", ["START", "старт", "Yes", "UNSTOP"])
async def test_a_start_word_takes_the_sender_off_the_list(client: httpx.AsyncClient, engine, start) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    await receive(
        engine, caller, device_id=device_id, external_id="1", phone_number="79990001122", message="STOP"
    )
    await receive(
        engine, caller, device_id=device_id, external_id="2", phone_number="79990003333", message="СТОП"
    )
    assert await optout_numbers(client, caller) == {"79990001122": "sms", "79990003333": "sms"}
    await receive(
        engine, caller, device_id=device_id, external_id="3", phone_number="+79990001122", message=start
    )
    assert await optout_numbers(client, caller) == {"79990003333": "sms"}
    # A late repeat of the old STOP report is a duplicate: it does not opt the number out again.
    await receive(
        engine, caller, device_id=device_id, external_id="1", phone_number="79990001122", message="STOP"
    )
    assert await optout_numbers(client, caller) == {"79990003333": "sms"}


async def test_start_from_a_number_not_on_the_list_changes_nothing(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert await receive(engine, caller, message="START") is True
    assert await optout_numbers(client, caller) == {}


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        ("79990001122", "please stop calling"),
        ("79990001122", "STOP sending me these"),
        ("79990001122", "Стоп, я перезвоню"),
        ("MyBank", "STOP"),
        ("12", "STOP"),
    ],
)
async def test_no_opt_out_from_conversation_or_sender_names(
    client: httpx.AsyncClient, engine, sender: str, message: str
) -> None:
    caller = await make_caller(engine)
    await receive(engine, caller, phone_number=sender, message=message)
    assert await optout_numbers(client, caller) == {}
    assert len(await inbox_items(client, caller)) == 1


# --- opt-outs through the API ----------------------------------------------------------------


async def test_optouts_add_list_and_delete(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    response = await add(client, caller, "+79990001122")
    assert response.status_code == 204
    assert response.content == b""
    assert await optout_numbers(client, caller) == {"79990001122": "api"}
    # Adding again is no error and no second entry.
    assert (await add(client, caller, "79990001122")).status_code == 204
    assert (await add(client, caller, "79990004444")).status_code == 204
    body = (await optouts(client, caller)).json()
    assert body["pagination"]["total_records"] == 2
    assert {item["phone_number"] for item in body["optout_list"]} == {"79990001122", "79990004444"}

    response = await remove(client, caller, "+79990001122")
    assert response.status_code == 204
    assert response.content == b""
    assert await optout_numbers(client, caller) == {"79990004444": "api"}
    # Deleting a number that is not on the list is no error either.
    assert (await remove(client, caller, "79990001122")).status_code == 204
    assert (await remove(client, caller, "70000000000")).status_code == 204
    assert await optout_numbers(client, caller) == {"79990004444": "api"}


async def test_adding_a_number_that_texted_stop_keeps_its_entry(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await receive(engine, caller, phone_number="79990001122", message="STOP")
    assert (await add(client, caller, "79990001122")).status_code == 204
    assert await optout_numbers(client, caller) == {"79990001122": "sms"}


async def test_optout_list_pages(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    numbers = {f"7999000000{n}" for n in range(5)}
    for number in sorted(numbers):
        assert (await add(client, caller, number)).status_code == 204
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        body = (await optouts(client, caller, limit=2, offset=page)).json()
        assert body["pagination"] == {"total_records": 5, "limit": 2, "offset": page}
        seen.extend(item["phone_number"] for item in body["optout_list"])
    assert sorted(seen) == sorted(numbers)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"phone_number": "abc"}, 2001),
        ({"phone_number": "12"}, 2001),
        ({"phone_number": "+"}, 2001),
        ({"phone_number": ""}, 2001),
        ({"phone_number": "7999 000 11 22"}, 2001),
        ({"phone_number": "79990001122\n"}, 2001),
        ({"phone_number": "1" * 31}, 2001),
        ({}, 2001),
        ({"phone_number": 79990001122}, 1001),
        ({"phone_number": None}, 1001),
    ],
)
@pytest.mark.parametrize("path", ["/v1/optouts/add", "/v1/optouts/del"])
async def test_optouts_reject_bad_numbers(client: httpx.AsyncClient, engine, path, body, code) -> None:
    caller = await make_caller(engine)
    assert (await add(client, caller, "79990001122")).status_code == 204
    assert_error(await client.post(path, headers=caller.headers, json=body), code)
    assert_error(await client.post(path, headers=caller.headers, content=b"not json"), 1001)
    assert await optout_numbers(client, caller) == {"79990001122": "api"}


# --- permissions and accounts ----------------------------------------------------------------


async def test_a_read_only_key_can_list_but_not_change_opt_outs(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    reader = await make_key(engine, caller, can_send=False, can_read=True)
    assert (await add(client, caller, "79990001122")).status_code == 204
    assert_error(await add(client, reader, "79990005555"), 1005)
    assert_error(await remove(client, reader, "79990001122"), 1005)
    assert await optout_numbers(client, reader) == {"79990001122": "api"}
    await receive(engine, caller, message="hi")
    assert len(await inbox_items(client, reader)) == 1


async def test_a_send_only_key_can_change_but_not_list(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    sender = await make_key(engine, caller, can_send=True, can_read=False)
    assert_error(await inbox(client, sender), 1007)
    assert_error(await optouts(client, sender), 1007)
    assert (await add(client, sender, "79990001122")).status_code == 204
    assert await optout_numbers(client, caller) == {"79990001122": "api"}
    assert (await remove(client, sender, "79990001122")).status_code == 204
    assert await optout_numbers(client, caller) == {}


async def test_inbox_and_opt_outs_without_a_token_are_1003(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/inbox?limit=10"), 1003)
    assert_error(await client.get("/v1/optouts?limit=10"), 1003)
    assert_error(await client.post("/v1/optouts/add", json={"phone_number": "79990001122"}), 1003)
    assert_error(await client.post("/v1/optouts/del", json={"phone_number": "79990001122"}), 1003)


async def test_accounts_never_see_each_others_inbox_or_opt_outs(client: httpx.AsyncClient, engine) -> None:
    alice = await make_caller(engine)
    bob = await make_caller(engine)
    await receive(engine, bob, phone_number="79990001122", message="STOP")
    await receive(engine, bob, phone_number="79990002222", message="secret of bob")
    assert (await add(client, bob, "79990003333")).status_code == 204

    assert await inbox_items(client, alice) == []
    assert await inbox_items(client, alice, search="secret") == []
    assert await optout_numbers(client, alice) == {}
    # Alice deleting Bob's numbers from "her" list leaves Bob's list alone.
    assert (await remove(client, alice, "79990001122")).status_code == 204
    assert (await remove(client, alice, "79990003333")).status_code == 204
    assert await optout_numbers(client, bob) == {"79990001122": "sms", "79990003333": "api"}
    # And her own entry for the same number is hers alone.
    assert (await add(client, alice, "79990003333")).status_code == 204
    assert (await remove(client, bob, "79990003333")).status_code == 204
    assert await optout_numbers(client, alice) == {"79990003333": "api"}
    assert await optout_numbers(client, bob) == {"79990001122": "sms"}
    assert len(await inbox_items(client, bob)) == 2


async def test_opted_out_numbers_finds_the_accounts_listed_numbers(client: httpx.AsyncClient, engine) -> None:
    alice = await make_caller(engine)
    bob = await make_caller(engine)
    assert (await add(client, alice, "79990001122")).status_code == 204
    assert (await add(client, bob, "79990002222")).status_code == 204
    db = Database.on_engine(engine)
    wanted = ["79990001122", "79990002222", "79990009999", "79990001122"]
    found = await db.read(lambda conn: repository.opted_out_numbers(conn, alice.account_id, wanted))
    assert found == {"79990001122"}
    assert await db.read(lambda conn: repository.opted_out_numbers(conn, alice.account_id, [])) == set()
