"""POST /v1/devices/ussd and /v1/devices/ussd/get in process, on both databases: validation,
the offline and cannot-do-USSD refusals, account isolation, the object's keys and the timeout
on read. A device counts as connected here by its row alone (tests/integration/test_ussd.py
runs real devices)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from simrelay.config import Settings
from simrelay.devices.models import Device, UssdRequest
from tests.conftest import running_client
from tests.factories import make_caller, make_device, make_key
from tests.integration.api.helpers import OBJECT_ID, UNKNOWN_ID, assert_error

pytestmark = pytest.mark.integration

USSD_KEYS = ["id", "device_id", "code", "status", "response", "time_create"]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """No waiting: nothing answers in process, so every request stays pending."""
    async with running_client(settings.model_copy(update={"ussd_wait_seconds": 0})) as http:
        yield http


async def connect(engine, device_id: str, *, can_ussd: bool = True, **values: Any) -> None:
    """Makes the row say what a node writes when the device's session says hello."""
    async with engine.begin() as conn:
        await conn.execute(
            update(Device)
            .where(Device.id == device_id)
            .values(
                **{"connection_id": "c0ffee", "last_online_at": time.time(), "can_ussd": can_ussd, **values}
            )
        )


async def dial(client: httpx.AsyncClient, caller, **body: Any) -> httpx.Response:
    return await client.post("/v1/devices/ussd", headers=caller.headers, json=body)


async def read(client: httpx.AsyncClient, caller, request_id: Any) -> httpx.Response:
    return await client.post("/v1/devices/ussd/get", headers=caller.headers, json={"id": request_id})


async def online_device(engine, **values: Any):
    caller = await make_caller(engine, with_device=False)
    device_id = await make_device(engine, caller)
    await connect(engine, device_id, **values)
    return caller, device_id


async def test_a_request_answers_the_documented_object_and_reads_back_the_same(
    client: httpx.AsyncClient, engine
) -> None:
    caller, device_id = await online_device(engine)
    before = int(time.time())
    response = await dial(client, caller, device_id=device_id.upper(), code="*100#")
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["ussd"]
    ussd = response.json()["ussd"]
    assert list(ussd) == USSD_KEYS
    assert OBJECT_ID.match(ussd["id"])
    assert ussd["device_id"] == device_id and ussd["code"] == "*100#"
    assert (ussd["status"], ussd["response"]) == ("pending", "")
    assert isinstance(ussd["time_create"], int) and before <= ussd["time_create"] <= time.time()
    again = await read(client, caller, ussd["id"].upper())
    assert again.status_code == 200 and again.json() == {"ussd": ussd}


@pytest.mark.parametrize("to_sim", [None, -2, -1, 0, 1])
async def test_to_sim_names_the_slot_to_dial_from(client: httpx.AsyncClient, engine, to_sim) -> None:
    sims = [{"slot_index": 0, "display_name": "A"}, {"slot_index": 1, "display_name": "B"}]
    caller, device_id = await online_device(engine, sim_list=sims, to_sim=1)
    response = await dial(client, caller, device_id=device_id, code="*100#", to_sim=to_sim)
    assert response.status_code == 200, response.text
    async with engine.connect() as conn:
        sim = (await conn.execute(select(UssdRequest.sim))).scalar_one()
    assert sim in ({0, 1} if to_sim == -1 else {1 if to_sim in (None, -2) else to_sim})


async def test_a_slot_the_device_lacks_is_1016(client: httpx.AsyncClient, engine) -> None:
    caller, device_id = await online_device(engine, sim_list=[{"slot_index": 0, "display_name": "A"}])
    message = assert_error(await dial(client, caller, device_id=device_id, code="*100#", to_sim=3), 1016)
    assert "3" in message


@pytest.mark.parametrize(
    "code",
    ["", " *100#", "*100#\n", "*100#a", "*1 0#", "１００", "*" * 183, "*100\u0000#"],
)
async def test_a_code_that_is_not_a_ussd_string_is_2011(client: httpx.AsyncClient, engine, code) -> None:
    caller, device_id = await online_device(engine)
    assert_error(await dial(client, caller, device_id=device_id, code=code), 2011)


async def test_the_longest_and_odd_but_valid_codes_pass(client: httpx.AsyncClient, engine) -> None:
    caller, device_id = await online_device(engine)
    for code in ["*" * 182, "+", "#", "*#06#", "1"]:
        response = await dial(client, caller, device_id=device_id, code=code)
        assert response.status_code == 200 and response.json()["ussd"]["code"] == code


async def test_field_errors_follow_the_contract(client: httpx.AsyncClient, engine) -> None:
    caller, device_id = await online_device(engine)
    assert_error(await dial(client, caller, device_id=device_id), 2011)  # missing
    assert_error(await dial(client, caller, device_id=device_id, code=100), 1001)  # wrong type
    assert_error(await dial(client, caller, device_id="nope", code="*100#"), 2005)
    assert_error(await dial(client, caller, code="*100#"), 2005)
    assert_error(await dial(client, caller, device_id=device_id, code="*100#", to_sim=-3), 2008)
    assert_error(await dial(client, caller, device_id="nope", code="x"), 2005)  # the lowest code wins
    assert_error(await read(client, caller, "nope"), 2003)
    assert_error(await read(client, caller, None), 1001)


async def test_devices_of_other_accounts_and_unknown_ids_are_not_found(
    client: httpx.AsyncClient, engine
) -> None:
    caller, device_id = await online_device(engine)
    other, theirs = await online_device(engine)
    assert_error(await dial(client, caller, device_id=theirs, code="*100#"), 1009)
    assert_error(await dial(client, caller, device_id=UNKNOWN_ID, code="*100#"), 1009)
    mine = (await dial(client, caller, device_id=device_id, code="*100#")).json()["ussd"]["id"]
    assert_error(await read(client, other, mine), 1018)
    assert_error(await read(client, caller, UNKNOWN_ID), 1018)
    assert (await read(client, caller, mine)).status_code == 200


async def test_a_device_no_node_holds_is_offline_1015(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, with_device=False)
    never = await make_device(engine, caller)
    assert_error(await dial(client, caller, device_id=never, code="*100#"), 1015)
    # A session ended (its node cleared the connection) or a node that died (silent for two
    # heartbeat intervals, 60 s by default) are offline too.
    ended = await make_device(engine, caller)
    await connect(engine, ended, connection_id=None)
    assert_error(await dial(client, caller, device_id=ended, code="*100#"), 1015)
    silent = await make_device(engine, caller)
    await connect(engine, silent, last_online_at=time.time() - 61)
    response = await client.post(
        "/v1/devices/ussd",
        headers={**caller.headers, "Accept-Language": "en"},
        json={"device_id": silent, "code": "*100#"},
    )
    assert assert_error(response, 1015, language="en") == "The device is offline"
    async with engine.connect() as conn:
        assert (await conn.execute(select(UssdRequest.id))).all() == [], "nothing stored"


async def test_devices_that_cannot_dial_ussd_are_1016(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, with_device=False)
    no_feature = await make_device(engine, caller)
    await connect(engine, no_feature, can_ussd=False)
    assert "USSD" in assert_error(await dial(client, caller, device_id=no_feature, code="*100#"), 1016)
    app = await make_device(engine, caller)
    await connect(engine, app, kind="smsgate", can_ussd=False)
    assert "USSD" in assert_error(await dial(client, caller, device_id=app, code="*100#"), 1016)
    # The app can never dial USSD, so it says so even while it is offline.
    await connect(engine, app, kind="smsgate", connection_id=None)
    assert_error(await dial(client, caller, device_id=app, code="*100#"), 1016)


async def test_dialling_needs_the_send_permission_and_reading_the_read_permission(
    client: httpx.AsyncClient, engine
) -> None:
    caller, device_id = await online_device(engine)
    request_id = (await dial(client, caller, device_id=device_id, code="*100#")).json()["ussd"]["id"]
    reader = await make_key(engine, caller, can_send=False, can_read=True)
    sender = await make_key(engine, caller, can_send=True, can_read=False)
    assert_error(await dial(client, reader, device_id=device_id, code="*100#"), 1005)
    assert (await dial(client, sender, device_id=device_id, code="*100#")).status_code == 200
    assert_error(await read(client, sender, request_id), 1007)
    assert (await read(client, reader, request_id)).status_code == 200


async def test_a_pending_request_past_its_expiry_reads_as_timeout(client: httpx.AsyncClient, engine) -> None:
    caller, device_id = await online_device(engine)
    request_id = (await dial(client, caller, device_id=device_id, code="*100#")).json()["ussd"]["id"]
    async with engine.begin() as conn:
        await conn.execute(
            update(UssdRequest).where(UssdRequest.id == request_id).values(expires_at=time.time() - 1)
        )
    ussd = (await read(client, caller, request_id)).json()["ussd"]
    assert (ussd["status"], ussd["response"]) == ("timeout", "")
    async with engine.connect() as conn:
        row = (await conn.execute(select(UssdRequest).where(UssdRequest.id == request_id))).one()
    assert row.status == "timeout" and row.time_done is not None
