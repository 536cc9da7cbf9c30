"""API keys: state changes take effect on the next request; permissions gate send and read."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import running_client
from tests.factories import make_caller, make_key
from tests.integration.api.helpers import (
    assert_error,
    delete_key,
    get_sms,
    list_sms,
    send,
    send_ok,
    set_key_active,
)

pytestmark = pytest.mark.integration


async def delete_sms(client: httpx.AsyncClient, caller, message_id: str) -> httpx.Response:
    return await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json={"id": message_id})


# --- key state -------------------------------------------------------------------------------


async def test_deactivated_key_is_1002_on_the_next_request_and_works_again_when_reactivated(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller)
    await set_key_active(engine, caller, active=False)
    assert_error(await send(client, caller), 1002)
    assert_error(await get_sms(client, caller, message_id), 1002)
    assert_error(await list_sms(client, caller), 1002)
    assert_error(await delete_sms(client, caller, message_id), 1002)
    await set_key_active(engine, caller, active=True)
    assert (await get_sms(client, caller, message_id)).status_code == 200
    await send_ok(client, caller)


async def test_deactivation_takes_effect_on_every_node(settings, engine) -> None:
    caller = await make_caller(engine)
    async with running_client(settings) as node_a, running_client(settings) as node_b:
        await send_ok(node_a, caller)
        await send_ok(node_b, caller)
        await set_key_active(engine, caller, active=False)
        assert_error(await send(node_a, caller), 1002)
        assert_error(await send(node_b, caller), 1002)


async def test_deactivating_one_key_leaves_the_accounts_other_keys_working(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    other = await make_key(engine, caller)
    await set_key_active(engine, caller, active=False)
    assert_error(await send(client, caller), 1002)
    message_id = await send_ok(client, other)
    assert (await get_sms(client, other, message_id)).status_code == 200


async def test_deleted_key_is_1003_and_other_keys_keep_working(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    other = await make_key(engine, caller)
    message_id = await send_ok(client, caller)
    await delete_key(engine, caller)
    assert_error(await send(client, caller), 1003)
    assert_error(await get_sms(client, caller, message_id), 1003)
    assert_error(await list_sms(client, caller), 1003)
    assert (await get_sms(client, other, message_id)).status_code == 200


async def test_deactivated_key_without_permissions_is_1002_not_1005(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine, can_send=False, can_read=False)
    await set_key_active(engine, caller, active=False)
    assert_error(await send(client, caller), 1002)
    assert_error(await list_sms(client, caller), 1002)


# --- permissions -----------------------------------------------------------------------------


async def test_key_without_read_can_send_and_delete_but_not_get_or_list(
    client: httpx.AsyncClient, engine
) -> None:
    owner = await make_caller(engine)
    writer = await make_key(engine, owner, can_read=False)
    message_id = await send_ok(client, writer)
    assert_error(await get_sms(client, writer, message_id), 1007)
    assert_error(await list_sms(client, writer), 1007)
    assert_error(await list_sms(client, writer, search="x", offset=2), 1007)
    english = await client.post(
        "/v1/sms/get", headers=writer.headers | {"Accept-Language": "en"}, json={"id": message_id}
    )
    assert_error(english, 1007, language="en")
    assert (await get_sms(client, owner, message_id)).status_code == 200
    assert (await delete_sms(client, writer, message_id)).status_code == 204
    assert_error(await get_sms(client, owner, message_id), 1008)


async def test_key_without_send_can_read_but_not_send_or_delete(client: httpx.AsyncClient, engine) -> None:
    owner = await make_caller(engine)
    reader = await make_key(engine, owner, can_send=False)
    message_id = await send_ok(client, owner)
    assert_error(await send(client, reader), 1005)
    assert_error(await delete_sms(client, reader, message_id), 1005)
    assert_error(await client.delete(f"/v1/sms/del?id={message_id}", headers=reader.headers), 1005)
    assert (await get_sms(client, reader, message_id)).status_code == 200
    listed = (await list_sms(client, reader)).json()
    assert [item["id"] for item in listed["sms_list"]] == [message_id]


async def test_key_without_any_permission_can_neither_send_nor_read(
    client: httpx.AsyncClient, engine
) -> None:
    owner = await make_caller(engine)
    message_id = await send_ok(client, owner)
    nobody = await make_key(engine, owner, can_send=False, can_read=False)
    assert_error(await send(client, nobody), 1005)
    assert_error(await delete_sms(client, nobody, message_id), 1005)
    assert_error(await get_sms(client, nobody, message_id), 1007)
    assert_error(await list_sms(client, nobody), 1007)
    assert (await list_sms(client, owner)).json()["pagination"]["total_records"] == 1


async def test_refused_send_stores_nothing_and_uses_no_quota(client: httpx.AsyncClient, engine) -> None:
    owner = await make_caller(engine, quota=1)
    reader = await make_key(engine, owner, can_send=False)
    for _ in range(3):
        assert_error(await send(client, reader), 1005)
    await send_ok(client, owner)
    assert (await list_sms(client, owner)).json()["pagination"]["total_records"] == 1


async def test_bearer_scheme_is_case_insensitive(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    response = await client.post(
        "/v1/sms/send",
        headers={"Authorization": f"bearer {caller.token}"},
        json={"message": "x", "phone_number": "123"},
    )
    assert response.status_code == 200
