"""Accounts are sealed from each other: another account's SMS, devices and webhooks look
exactly like ids that do not exist."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.factories import Caller, make_caller, make_device, make_key, make_webhook
from tests.integration.api.helpers import (
    UNKNOWN_ID,
    assert_error,
    get_sms,
    list_sms,
    search_ids,
    send,
    send_ok,
)

pytestmark = pytest.mark.integration


@dataclass
class Accounts:
    a: Caller
    b: Caller
    a_sms: str
    b_sms: str
    a_device: str
    b_device: str
    b_webhook: str


@pytest.fixture
async def accounts(client: httpx.AsyncClient, engine) -> Accounts:
    a = await make_caller(engine, with_device=False)
    b = await make_caller(engine, with_device=False)
    a_device = await make_device(engine, a, name="a-phone")
    b_device = await make_device(engine, b, name="b-phone")
    b_webhook = await make_webhook(engine, b)
    a_sms = await send_ok(client, a, message="от A", phone_number="111111")
    b_sms = await send_ok(client, b, message="секрет B", phone_number="222222")
    return Accounts(a, b, a_sms, b_sms, a_device, b_device, b_webhook)


async def device_info(client: httpx.AsyncClient, caller: Caller, device_id: str) -> httpx.Response:
    return await client.post("/v1/devices/get/info", headers=caller.headers, json={"device_id": device_id})


# --- SMS -------------------------------------------------------------------------------------


async def test_cannot_get_another_accounts_sms(client: httpx.AsyncClient, accounts: Accounts) -> None:
    foreign = await get_sms(client, accounts.a, accounts.b_sms)
    unknown = await get_sms(client, accounts.a, UNKNOWN_ID)
    assert_error(foreign, 1008)
    assert foreign.json()["errors"]["message"] == unknown.json()["errors"]["message"]
    assert (await get_sms(client, accounts.b, accounts.b_sms)).status_code == 200


async def test_cannot_delete_another_accounts_sms(client: httpx.AsyncClient, accounts: Accounts) -> None:
    by_body = await client.request(
        "DELETE", "/v1/sms/del", headers=accounts.a.headers, json={"id": accounts.b_sms}
    )
    by_query = await client.delete(f"/v1/sms/del?id={accounts.b_sms}", headers=accounts.a.headers)
    assert_error(by_body, 1008)
    assert_error(by_query, 1008)
    got = await get_sms(client, accounts.b, accounts.b_sms)
    assert got.status_code == 200
    assert got.json()["message"] == "секрет B"


async def test_list_shows_only_own_sms(client: httpx.AsyncClient, accounts: Accounts) -> None:
    listed = (await list_sms(client, accounts.a)).json()
    assert listed["pagination"]["total_records"] == 1
    assert [item["id"] for item in listed["sms_list"]] == [accounts.a_sms]


async def test_search_never_finds_another_accounts_sms(client: httpx.AsyncClient, accounts: Accounts) -> None:
    for needle in ("секрет", "222222", "B"):
        assert await search_ids(client, accounts.a, needle) == set(), needle
    assert await search_ids(client, accounts.a, "ждет") == {accounts.a_sms}
    assert await search_ids(client, accounts.b, "секрет") == {accounts.b_sms}


async def test_cannot_pin_sms_to_another_accounts_device(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    assert_error(await send(client, accounts.a, device_id=accounts.b_device), 1009)
    assert_error(await send(client, accounts.a, device_id=accounts.b_device.upper()), 1009)
    assert (await list_sms(client, accounts.a)).json()["pagination"]["total_records"] == 1
    await send_ok(client, accounts.a, device_id=accounts.a_device)


async def test_cannot_use_another_accounts_webhook_as_callback(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    assert_error(await send(client, accounts.a, callback_id=accounts.b_webhook), 1010)
    await send_ok(client, accounts.b, callback_id=accounts.b_webhook)


async def test_other_keys_of_the_same_account_see_its_sms(
    client: httpx.AsyncClient, engine, accounts: Accounts
) -> None:
    second_key = await make_key(engine, accounts.a)
    assert (await get_sms(client, second_key, accounts.a_sms)).status_code == 200
    assert_error(await get_sms(client, second_key, accounts.b_sms), 1008)


# --- devices ---------------------------------------------------------------------------------


async def test_device_list_shows_only_own_devices(client: httpx.AsyncClient, accounts: Accounts) -> None:
    for caller, own in ((accounts.a, accounts.a_device), (accounts.b, accounts.b_device)):
        listed = (await client.get("/v1/devices?limit=100", headers=caller.headers)).json()
        assert listed["pagination"]["total_records"] == 1
        assert [item["device_id"] for item in listed["device_list"]] == [own]


async def test_cannot_read_another_accounts_device(client: httpx.AsyncClient, accounts: Accounts) -> None:
    foreign = await device_info(client, accounts.a, accounts.b_device)
    unknown = await device_info(client, accounts.a, UNKNOWN_ID)
    assert_error(foreign, 1009)
    assert foreign.json()["errors"]["message"] == unknown.json()["errors"]["message"]


async def test_cannot_edit_another_accounts_device(client: httpx.AsyncClient, accounts: Accounts) -> None:
    for change in ({"is_active": False}, {"to_sim": 1, "low_battery_alert": True}, {}):
        response = await client.post(
            "/v1/devices/edit", headers=accounts.a.headers, json={"device_id": accounts.b_device, **change}
        )
        assert_error(response, 1009)
    body = (await device_info(client, accounts.b, accounts.b_device)).json()
    assert (body["is_active"], body["to_sim"], body["low_battery_alert"]) == (True, -2, False)


async def test_cannot_delete_another_accounts_device(client: httpx.AsyncClient, accounts: Accounts) -> None:
    response = await client.post(
        "/v1/devices/del", headers=accounts.a.headers, json={"device_id": accounts.b_device}
    )
    assert_error(response, 1009)
    assert (await device_info(client, accounts.b, accounts.b_device)).status_code == 200
    await send_ok(client, accounts.b, device_id=accounts.b_device)


async def test_another_accounts_devices_do_not_count_for_the_1004_rule(
    client: httpx.AsyncClient, engine, accounts: Accounts
) -> None:
    lonely = await make_caller(engine, with_device=False)
    assert_error(await send(client, lonely), 1004)
