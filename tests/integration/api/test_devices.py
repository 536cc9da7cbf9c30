"""Device endpoints: info, edit, delete, list; and the 1004 rule on send."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select, update

from simrelay.devices.models import Device
from tests.factories import make_caller, make_device
from tests.integration.api.helpers import (
    OBJECT_ID,
    UNKNOWN_ID,
    assert_error,
    get_sms,
    list_sms,
    send,
    send_ok,
)

pytestmark = pytest.mark.integration

DEVICE_KEYS = [
    "device_id",
    "device_battery_state",
    "device_name",
    "is_active",
    "is_charging",
    "last_online_date",
    "device_name_type",
    "low_battery_alert",
    "to_sim",
    "sim_list",
]
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def info(client: httpx.AsyncClient, caller, device_id: str) -> httpx.Response:
    return await client.post("/v1/devices/get/info", headers=caller.headers, json={"device_id": device_id})


async def edit(client: httpx.AsyncClient, caller, **fields) -> httpx.Response:
    return await client.post("/v1/devices/edit", headers=caller.headers, json=fields)


async def remove(client: httpx.AsyncClient, caller, device_id: str) -> httpx.Response:
    return await client.post("/v1/devices/del", headers=caller.headers, json={"device_id": device_id})


async def only_device(engine, caller) -> str:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Device.id).where(Device.account_id == caller.account_id))).all()
    assert len(rows) == 1
    return str(rows[0][0])


# --- info ------------------------------------------------------------------------------------


async def test_device_info_has_exactly_the_documented_keys(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, with_device=False)
    device_id = await make_device(engine, caller, name="Рабочий", active=False)
    response = await info(client, caller, device_id)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == DEVICE_KEYS
    assert body == {
        "device_id": device_id,
        "device_battery_state": 0,
        "device_name": "Рабочий",
        "is_active": False,
        "is_charging": False,
        "last_online_date": body["last_online_date"],
        "device_name_type": "",
        "low_battery_alert": False,
        "to_sim": -2,
        "sim_list": [],
    }
    assert OBJECT_ID.match(body["device_id"])


async def test_device_info_reports_battery_sims_and_last_online_time(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    sims = [{"slot_index": 0, "display_name": "MTS"}, {"slot_index": 1, "display_name": "Билайн"}]
    async with engine.begin() as conn:
        await conn.execute(
            update(Device)
            .where(Device.id == device_id)
            .values(
                battery=87, is_charging=True, model="Pixel 7", sim_list=sims, last_online_at=1717044540.1239
            )
        )
    body = (await info(client, caller, device_id.upper())).json()
    assert body["device_id"] == device_id
    assert (body["device_battery_state"], body["is_charging"], body["device_name_type"]) == (
        87,
        True,
        "Pixel 7",
    )
    assert body["sim_list"] == sims
    assert body["last_online_date"] == "2024-05-30T04:49:00.123Z"
    assert ISO_MILLIS.match(body["last_online_date"])


# --- edit ------------------------------------------------------------------------------------


async def test_edit_changes_given_fields_and_answers_204_without_body(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    response = await edit(
        client, caller, device_id=device_id, is_active=False, to_sim=1, low_battery_alert=True
    )
    assert response.status_code == 204
    assert response.content == b""
    body = (await info(client, caller, device_id)).json()
    assert (body["is_active"], body["to_sim"], body["low_battery_alert"]) == (False, 1, True)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"is_active": False}, (False, -2, False)),
        ({"to_sim": -1}, (True, -1, False)),
        ({"to_sim": 0}, (True, 0, False)),
        ({"low_battery_alert": True}, (True, -2, True)),
        ({}, (True, -2, False)),
        ({"is_active": None, "to_sim": None, "low_battery_alert": None}, (True, -2, False)),
        ({"device_name": "renamed", "unknown": 1}, (True, -2, False)),
    ],
)
async def test_edit_leaves_fields_left_out_unchanged(
    client: httpx.AsyncClient, engine, change, expected
) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    assert (await edit(client, caller, device_id=device_id, **change)).status_code == 204
    body = (await info(client, caller, device_id)).json()
    assert (body["is_active"], body["to_sim"], body["low_battery_alert"]) == expected
    assert body["device_name"] == "phone"


async def test_edit_can_activate_a_new_device(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, with_device=False)
    device_id = await make_device(engine, caller, active=False)
    assert (await edit(client, caller, device_id=device_id, is_active=True)).status_code == 204
    assert (await info(client, caller, device_id)).json()["is_active"] is True


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"device_id": "nope"}, 2005),
        ({"device_id": UNKNOWN_ID + "0"}, 2005),
        ({"device_id": ...}, 2005),
        ({"device_id": UNKNOWN_ID}, 1009),
        ({"device_id": UNKNOWN_ID, "is_active": True}, 1009),
        ({"to_sim": -3}, 2008),
        ({"to_sim": 2**31}, 2008),
        ({"to_sim": "1"}, 1001),
        ({"to_sim": 1.0}, 1001),
        ({"is_active": "true"}, 1001),
        ({"is_active": 1}, 1001),
        ({"low_battery_alert": "yes"}, 1001),
        ({"device_id": 5}, 1001),
    ],
)
async def test_edit_rejects_bad_input(client: httpx.AsyncClient, engine, fields, code) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    body = {key: value for key, value in ({"device_id": device_id} | fields).items() if value is not ...}
    assert_error(await edit(client, caller, **body), code)
    body = (await info(client, caller, device_id)).json()
    assert (body["is_active"], body["to_sim"], body["low_battery_alert"]) == (True, -2, False)


async def test_edit_with_read_only_key_is_1005(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_send=False)
    device_id = await only_device(engine, caller)
    assert_error(await edit(client, caller, device_id=device_id, is_active=False), 1005)
    assert (await info(client, caller, device_id)).json()["is_active"] is True


# --- delete ----------------------------------------------------------------------------------


async def test_delete_is_204_and_the_device_is_gone(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    response = await remove(client, caller, device_id)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await info(client, caller, device_id), 1009)
    assert_error(await remove(client, caller, device_id), 1009)
    assert_error(await edit(client, caller, device_id=device_id, is_active=True), 1009)
    listed = (await client.get("/v1/devices?limit=10", headers=caller.headers)).json()
    assert listed == {"pagination": {"total_records": 0, "limit": 10, "offset": 1}, "device_list": []}


@pytest.mark.parametrize(("fields", "code"), [({"device_id": "x"}, 2005), ({"device_id": UNKNOWN_ID}, 1009)])
async def test_delete_rejects_bad_or_unknown_id(client: httpx.AsyncClient, engine, fields, code) -> None:
    caller = await make_caller(engine)
    assert_error(await client.post("/v1/devices/del", headers=caller.headers, json=fields), code)
    assert (await client.get("/v1/devices?limit=10", headers=caller.headers)).json()["pagination"][
        "total_records"
    ] == 1


async def test_deleting_a_device_keeps_its_pinned_waiting_sms_visible(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    pinned_device = await make_device(engine, caller, name="second")
    pinned = await send_ok(client, caller, device_id=pinned_device, message="pinned")
    free = await send_ok(client, caller, message="free")
    assert (await remove(client, caller, pinned_device)).status_code == 204
    got = (await get_sms(client, caller, pinned)).json()
    assert (got["status"], got["message_status"], got["device_id"]) == (0, "Ждет обработки", pinned_device)
    listed = (await list_sms(client, caller)).json()
    assert {item["id"] for item in listed["sms_list"]} == {pinned, free}
    assert_error(await send(client, caller, device_id=pinned_device), 1009)


async def test_sms_may_be_pinned_to_an_inactive_device_of_the_account(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine, with_device=False)
    device_id = await make_device(engine, caller, active=False)
    message_id = await send_ok(client, caller, device_id=device_id)
    assert (await get_sms(client, caller, message_id)).json()["device_id"] == device_id


# --- list ------------------------------------------------------------------------------------


async def test_device_list_pages_through_all_devices(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    all_ids = {await only_device(engine, caller)}
    for number in range(4):
        all_ids.add(await make_device(engine, caller, name=f"d{number}"))
    pages = []
    for page in (1, 2, 3, 4):
        response = await client.get(f"/v1/devices?limit=2&offset={page}", headers=caller.headers)
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["pagination", "device_list"]
        assert body["pagination"] == {"total_records": 5, "limit": 2, "offset": page}
        for item in body["device_list"]:
            assert list(item) == DEVICE_KEYS
        pages.append([item["device_id"] for item in body["device_list"]])
    assert [len(page) for page in pages] == [2, 2, 1, 0]
    assert {device for page in pages for device in page} == all_ids
    default = (await client.get("/v1/devices?limit=2", headers=caller.headers)).json()
    assert [item["device_id"] for item in default["device_list"]] == pages[0]


# --- the 1004 rule ---------------------------------------------------------------------------


async def test_send_without_devices_is_1004_and_works_once_one_is_added(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine, with_device=False)
    assert_error(await send(client, caller), 1004)
    await make_device(engine, caller, active=False)
    await send_ok(client, caller)


async def test_send_after_deleting_the_last_device_is_1004(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await send_ok(client, caller)
    assert (await remove(client, caller, await only_device(engine, caller))).status_code == 204
    assert_error(await send(client, caller), 1004)
