"""The GoSMS ext API (/api/ext/v1) driven by the Home Assistant integration's own code paths
(tests/integration/api/ha_client.py): config-flow validation, the device list its entities
read, the send_sms service and notify, and what it makes of every error."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from simrelay.devices.models import Device
from simrelay.sms.models import Message
from simrelay.sms.reports import Report, apply_report
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.factories import make_caller, make_device, make_key
from tests.integration.api import ha_client as ha
from tests.integration.api.helpers import (
    HASH,
    OBJECT_ID,
    UNKNOWN_ID,
    count_messages,
    delete_key,
    freeze_rate_limit_clock,
    get_sms,
    search_ids,
    send,
    set_blocked,
    set_key_active,
)

pytestmark = pytest.mark.integration

DEVICES = "/api/ext/v1/devices"
SMS = "/api/ext/v1/sms"
DEVICE_KEYS = [
    "id",
    "name",
    "name_custom",
    "type",
    "battery_level",
    "selected_sim",
    "sim_cards",
    "is_online",
    "is_charging",
    "can_send_sms",
]


def assert_ext_error(response: httpx.Response, *, status: int, code: int) -> None:
    """What the integration logs of a failed call: the /v1 envelope, as JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"] and body["errors"]["code"] == code, body
    assert HASH.match(body["errors"]["hash"]) and body["errors"]["message"].strip()


async def only_device(engine, caller) -> str:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Device.id).where(Device.account_id == caller.account_id))).all()
    assert len(rows) == 1
    return str(rows[0][0])


async def set_device(engine, device_id: str, **values: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(Device).where(Device.id == device_id).values(**values))


async def stored(engine, message_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(Message).where(Message.id == message_id))).one()


# --- config flow and coordinator ---------------------------------------------------------------


async def test_config_flow_accepts_a_key_that_may_read_devices_even_padded_or_with_no_devices(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    assert await ha.validate_api_key(client, caller.token) == {}
    assert await ha.validate_api_key(client, f"  {caller.token}\n") == {}
    empty = await make_caller(engine, with_device=False)
    assert await ha.refresh(ha.GoSMSApiClient(empty.token, client)) == []


@pytest.mark.parametrize(
    ("case", "code"),
    [("garbage", 1003), ("deleted", 1003), ("deactivated", 1002), ("send_only", 1007)],
)
async def test_a_key_that_will_not_do_is_401_so_the_form_says_invalid_auth_and_polling_asks_for_a_new_one(
    client: httpx.AsyncClient, engine, case: str, code: int
) -> None:
    caller = await make_caller(engine)
    token = caller.token
    if case == "garbage":
        token = "gosms_not-a-simrelay-key"
    elif case == "deleted":
        await delete_key(engine, caller)
    elif case == "deactivated":
        await set_key_active(engine, caller, active=False)
    elif case == "send_only":
        token = (await make_key(engine, caller, can_send=True, can_read=False)).token
    assert_ext_error(
        await client.get(DEVICES, headers={"Authorization": f"Bearer {token}"}), status=401, code=code
    )
    assert await ha.validate_api_key(client, token) == {"base": "invalid_auth"}
    with pytest.raises(ha.ConfigEntryAuthFailed):
        await ha.refresh(ha.GoSMSApiClient(token, client))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic eDp5"}])
async def test_a_call_without_a_bearer_key_is_401_1003(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_ext_error(await client.get(DEVICES, headers=headers), status=401, code=1003)
    assert_ext_error(await client.post(SMS, headers=headers, json={}), status=401, code=1003)


async def test_a_blocked_account_is_403_3000_an_update_failure_not_a_request_for_another_key(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    await set_blocked(engine, caller, blocked=True)
    assert_ext_error(await client.get(DEVICES, headers=caller.headers), status=403, code=3000)
    with pytest.raises(ha.UpdateFailed):
        await ha.refresh(ha.GoSMSApiClient(caller.token, client))
    assert await ha.validate_api_key(client, caller.token) == {"base": "unknown"}


# --- devices -> entities -----------------------------------------------------------------------


async def test_the_device_list_is_a_bare_array_of_exactly_the_fields_the_entities_read(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    kitchen = await only_device(engine, caller)
    await set_device(
        engine,
        kitchen,
        name="Kitchen phone",
        model="Pixel 7",
        battery=76,
        is_charging=True,
        last_online_at=time.time() - 5,
        to_sim=1,
        sim_list=[{"slot_index": 0, "display_name": "MTS"}, {"slot_index": 1, "display_name": "Beeline"}],
    )
    drawer = await make_device(engine, caller, name="Drawer phone", active=False)
    await set_device(engine, drawer, battery=12, last_online_at=time.time() - 3600, to_sim=-1)
    fresh = await make_device(engine, caller, name="Never connected")

    response = await client.get(DEVICES, headers=caller.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    devices = response.json()
    assert [list(device) for device in devices] == [DEVICE_KEYS] * 3
    assert [device["id"] for device in devices] == [kitchen, drawer, fresh]
    assert devices[0] == {
        "id": kitchen,
        "name": "Kitchen phone",
        "name_custom": "",
        "type": "Pixel 7",
        "battery_level": 76,
        "selected_sim": 1,
        "sim_cards": [{"index": 0, "name_operator": "MTS"}, {"index": 1, "name_operator": "Beeline"}],
        "is_online": True,
        "is_charging": True,
        "can_send_sms": True,
    }

    states = ha.entity_states(await ha.refresh(ha.GoSMSApiClient(caller.token, client)))
    assert states == {
        f"{kitchen}_battery_level": 76,
        f"{kitchen}_sim_slot": "SIM 2",
        f"{kitchen}_is_online": True,
        f"{kitchen}_is_charging": True,
        f"{kitchen}_can_send_sms": True,
        f"{drawer}_battery_level": 12,
        # simrelay's -1 is a random SIM: the integration's -2, "Auto".
        f"{drawer}_sim_slot": "Auto",
        f"{drawer}_is_online": False,
        f"{drawer}_is_charging": False,
        f"{drawer}_can_send_sms": False,
        # Never heard from: battery unknown (not 0 %), the phone's own default SIM is "Default".
        f"{fresh}_battery_level": None,
        f"{fresh}_sim_slot": "Default",
        f"{fresh}_is_online": False,
        f"{fresh}_is_charging": False,
        f"{fresh}_can_send_sms": True,
    }
    assert ha.device_info(devices[0]) == {
        "name": "Kitchen phone",
        "model": "Pixel 7",
        "hw_version": "MTS, Beeline",
    }
    assert ha.device_info(devices[2]) == {"name": "Never connected", "model": "simrelay", "hw_version": None}
    assert ha.entity_attributes(devices[0])["sim_slot"] == {
        "sim_cards": [{"slot": 0, "operator": "MTS"}, {"slot": 1, "operator": "Beeline"}]
    }


async def test_a_device_silent_for_two_heartbeats_is_offline(
    client: httpx.AsyncClient, engine, settings
) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    api = ha.GoSMSApiClient(caller.token, client)
    await set_device(engine, device_id, last_online_at=time.time() - 2 * settings.heartbeat_seconds + 5)
    assert ha.entity_states(await ha.refresh(api))[f"{device_id}_is_online"] is True
    await set_device(engine, device_id, last_online_at=time.time() - 2 * settings.heartbeat_seconds - 5)
    assert ha.entity_states(await ha.refresh(api))[f"{device_id}_is_online"] is False


async def test_only_the_keys_own_accounts_devices_are_listed(client: httpx.AsyncClient, engine) -> None:
    mine = await make_caller(engine)
    theirs = await make_caller(engine)
    listed = await ha.GoSMSApiClient(mine.token, client).get_devices()
    assert [device["id"] for device in listed] == [await only_device(engine, mine)]
    assert await only_device(engine, theirs) not in {device["id"] for device in listed}


# --- the send_sms service and notify -----------------------------------------------------------


async def test_the_service_without_device_id_stores_a_waiting_sms_any_device_may_take(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    sent = await client.post(
        SMS, headers=caller.headers, json={"phone": "+79001234567", "message": "Door open", "no_store": False}
    )
    assert sent.status_code == 201
    assert sent.headers["content-type"] == "application/json"
    assert list(sent.json()) == ["id", "status"]
    assert OBJECT_ID.match(sent.json()["id"]) and sent.json()["status"] == 0

    level, line = await ha.send_sms_service(
        ha.GoSMSApiClient(caller.token, client), {"phone": "+79001234567", "message": "Window open"}
    )
    assert level == "info" and line.endswith(", status=0"), line
    message_id = line.split("id=")[1].split(",")[0]
    got = (await get_sms(client, caller, message_id)).json()
    assert (got["message"], got["phone_number"], got["device_id"], got["status"]) == (
        "Window open",
        "79001234567",
        "",
        0,
    )
    row = await stored(engine, message_id)
    assert (row.requested_device_id, row.no_store, row.callback_id, row.to_sim) == ("", False, "", None)


async def test_the_service_with_device_id_pins_the_sms_to_that_device(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    other = await make_device(engine, caller, name="second")
    api = ha.GoSMSApiClient(caller.token, client)
    result = await api.send_sms("+79001234567", "From the second phone", device_id=other)
    assert (await get_sms(client, caller, result["id"])).json()["device_id"] == other
    assert (await stored(engine, result["id"])).requested_device_id == other
    # An empty device_id from the UI is left out by the integration; sent as "" it means any device too.
    raw = await client.post(
        SMS, headers=caller.headers, json={"phone": "79001234567", "message": "x", "device_id": ""}
    )
    assert raw.status_code == 201 and (await stored(engine, raw.json()["id"])).requested_device_id == ""


async def test_notify_sends_one_sms_per_target_with_the_options_of_its_data(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    logged = await ha.notify(
        ha.GoSMSApiClient(caller.token, client),
        "Alarm",
        ["+79001234567", "+79007654321"],
        {"device_id": device_id, "no_store": True},
    )
    assert [level for level, _ in logged] == ["info", "info"], logged
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Message).where(Message.account_id == caller.account_id))).all()
    assert sorted((r.phone_number, r.requested_device_id, r.no_store) for r in rows) == [
        ("79001234567", device_id, True),
        ("79007654321", device_id, True),
    ]


async def test_an_unknown_device_is_404_1009_and_a_non_objectid_is_400_2005_and_nothing_is_stored(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    theirs = await only_device(engine, await make_caller(engine))
    api = ha.GoSMSApiClient(caller.token, client)
    for device_id, status, code in [
        (UNKNOWN_ID, 404, 1009),
        (theirs, 404, 1009),
        ("550e8400-e29b-41d4-a716-446655440000", 400, 2005),  # a GoSMS (UUID) id
    ]:
        body = {"phone": "79001234567", "message": "hi", "no_store": False, "device_id": device_id}
        assert_ext_error(await client.post(SMS, headers=caller.headers, json=body), status=status, code=code)
        level, line = await ha.send_sms_service(api, {**body, "phone": "+79001234567"})
        assert level == "error" and f"SMS send failed with status {status}" in line, line
    assert await count_messages(engine) == 0


@pytest.mark.parametrize("phone", ["+7 900 123-45-67", "12", "", "phone", "+", "7" * 31])
async def test_an_invalid_phone_is_400_2001_and_nothing_is_stored(
    client: httpx.AsyncClient, engine, phone: str
) -> None:
    caller = await make_caller(engine)
    response = await client.post(
        SMS, headers=caller.headers, json={"phone": phone, "message": "hi", "no_store": False}
    )
    assert_ext_error(response, status=400, code=2001)
    assert await count_messages(engine) == 0


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", 1001),
        (b"not json", 1001),
        (b"[]", 1001),
        (b'"text"', 1001),
        (b"null", 1001),
        (b"\xff\xfe", 1001),
        (b'{"phone": 79001234567, "message": "hi"}', 1001),
        (b'{"phone": "79001234567", "message": "hi", "no_store": "yes"}', 1001),
        (b'{"phone": "79001234567", "message": "hi", "no_store": 1}', 1001),
        (b'{"phone": "79001234567", "message": "hi", "device_id": 5}', 1001),
        (b'{"phone": "79001234567", "message": ["hi"]}', 1001),
        (b'{"message": "hi"}', 2001),
        (b'{"phone": "79001234567"}', 2002),
        (b'{"phone": "79001234567", "message": "   "}', 2002),
        (b'{"phone": "79001234567", "message": "bell\\u0007"}', 2002),
        (b'{"phone": "79001234567", "message": "' + b"x" * 1001 + b'"}', 2002),
        (b'{"phone": "79001234567\\u0000", "message": "hi"}', 2001),
    ],
)
async def test_bad_bodies_are_400_in_the_envelope_never_500(
    client: httpx.AsyncClient, engine, raw: bytes, code: int
) -> None:
    caller = await make_caller(engine)
    response = await client.post(
        SMS, headers=caller.headers | {"Content-Type": "application/json"}, content=raw
    )
    assert_ext_error(response, status=400, code=code)
    assert await count_messages(engine) == 0


async def test_a_key_that_may_not_send_is_401_and_the_service_logs_an_authentication_failure(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    read_only = await make_key(engine, caller, can_send=False, can_read=True)
    body = {"phone": "79001234567", "message": "hi", "no_store": False}
    assert_ext_error(await client.post(SMS, headers=read_only.headers, json=body), status=401, code=1005)
    level, line = await ha.send_sms_service(ha.GoSMSApiClient(read_only.token, client), body)
    assert (level, "authentication failed" in line) == ("error", True)
    assert await count_messages(engine) == 0


async def test_wrong_methods_are_405_with_allow_and_the_api_lives_only_at_its_own_path(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    wrong = await client.get(SMS, headers=caller.headers)
    assert_ext_error(wrong, status=405, code=2010)
    assert "POST" in wrong.headers["allow"]
    assert_ext_error(await client.post(DEVICES, headers=caller.headers, json={}), status=405, code=2010)
    assert_ext_error(await client.get("/v1" + DEVICES, headers=caller.headers), status=404, code=2010)


async def test_ext_and_v1_share_an_accounts_rate_limits_and_a_429_is_an_update_failure(
    settings, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze_rate_limit_clock(monkeypatch)
    caller = await make_caller(engine)
    async with running_client(settings.model_copy(update={"rate_limit": 1})) as client:
        api = ha.GoSMSApiClient(caller.token, client)
        await api.send_sms("+79001234567", "first")
        limited = await send(client, caller)  # /v1/sms/send: the same budget, spent
        assert limited.status_code == 429 and limited.json()["errors"]["code"] == 1011
        assert (await ha.refresh(api)) != []  # the device list has a budget of its own
        again = await client.get(DEVICES, headers=caller.headers)
        assert_ext_error(again, status=429, code=1011)
        assert int(again.headers["retry-after"]) >= 1 and "ratelimit" in again.headers
        with pytest.raises(ha.UpdateFailed):
            await ha.refresh(api)


# --- no_store ------------------------------------------------------------------------------------


async def report(engine, kind: str, message_id: str, device_id: str, **fields: Any) -> None:
    db = Database.on_engine(engine)
    await db.run(
        lambda conn: apply_report(
            conn,
            Report(kind=kind, message_id=message_id, device_id=device_id, **fields),
            now=time.time(),
            max_attempts=3,
        )
    )


async def lease_to(engine, message_id: str, device_id: str) -> None:
    """As an offer would: the device holds the SMS's lease."""
    now = time.time()
    async with engine.begin() as conn:
        await conn.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(lease_device_id=device_id, lease_until=now + 60, lease_expires=now + 600, attempts=1)
        )


async def test_no_store_keeps_only_metadata_once_the_sms_is_delivered(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    api = ha.GoSMSApiClient(caller.token, client)
    level, line = await ha.send_sms_service(
        api, {"phone": "+79001234567", "message": "Code 4711 for the safe", "no_store": "no_store"}
    )
    assert level == "info", line
    secret = line.split("id=")[1].split(",")[0]
    kept = (await api.send_sms("+79001234567", "Code 4711 for the garage", no_store=False))["id"]
    assert (await stored(engine, secret)).no_store is True

    for message_id in (secret, kept):
        await lease_to(engine, message_id, device_id)
        await report(engine, "sent", message_id, device_id, parts=1)
    # Sent is not final: a delivery report may follow, and the text is still there.
    assert (await get_sms(client, caller, secret)).json()["message"] == "Code 4711 for the safe"
    assert await search_ids(client, caller, "4711") == {secret, kept}

    for message_id in (secret, kept):
        await report(engine, "delivery", message_id, device_id, part=0, parts=1, delivered=True)
    got = (await get_sms(client, caller, secret)).json()
    assert got == {
        "id": secret,
        "message": "",
        "status": 4,
        "callback_id": "",
        "device_id": device_id,
        "phone_number": "79001234567",
        "message_status": "Доставлено",
        "time_create": got["time_create"],
        "to_sim": None,
    }
    row = await stored(engine, secret)
    assert (row.message, row.search_text) == ("", "\x1f79001234567")
    assert (await get_sms(client, caller, kept)).json()["message"] == "Code 4711 for the garage"
    assert await search_ids(client, caller, "4711") == {kept}
    assert await search_ids(client, caller, "safe") == set()
    assert await search_ids(client, caller, "79001234567") == {secret, kept}
    history = (await client.post("/v1/sms/history", headers=caller.headers, json={"id": secret})).json()
    assert [change["status"] for change in history["history"]] == [0, 1, 2, 4]


async def test_no_store_on_v1_send_is_simrelays_own_field_with_the_same_meaning(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    device_id = await only_device(engine, caller)
    sent = await send(client, caller, message="v1 secret", no_store=True)
    assert sent.status_code == 200 and list(sent.json()) == ["id"]
    message_id = sent.json()["id"]
    await lease_to(engine, message_id, device_id)
    await report(engine, "failed", message_id, device_id, reason="no signal")
    got = (await get_sms(client, caller, message_id)).json()
    assert (got["status"], got["message"]) == (3, "")
    assert "no_store" not in got
    assert (await send(client, caller, no_store="yes")).json()["errors"]["code"] == 1001
