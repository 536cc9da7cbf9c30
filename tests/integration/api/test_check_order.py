"""The contract's check order: auth (1003, 1002, 3000), rate limit (1011), permission
(1005/1007), body (1012, 1001), fields (2xxx), existence (1008-1010), quota (1006),
devices (1004). Each test breaks two stages at once and expects the earlier one."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from tests.conftest import running_client
from tests.factories import make_caller, make_key
from tests.integration.api.helpers import (
    UNKNOWN_ID,
    assert_error,
    count_messages,
    delete_key,
    freeze_rate_limit_clock,
    send,
    send_ok,
    set_blocked,
    set_key_active,
)

pytestmark = pytest.mark.integration

BAD_JSON = b'{"message": '
TOO_LARGE = b'{"message": "' + b"a" * (65 * 1024) + b'"}'


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    return freeze_rate_limit_clock(monkeypatch)


async def post_raw(client: httpx.AsyncClient, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post(
        "/v1/sms/send", headers=headers | {"Content-Type": "application/json"}, content=raw
    )


# --- auth first ------------------------------------------------------------------------------


async def test_invalid_json_without_token_is_1003(client: httpx.AsyncClient) -> None:
    assert_error(await post_raw(client, BAD_JSON, {}), 1003)


async def test_oversized_body_without_token_is_1003(client: httpx.AsyncClient) -> None:
    assert_error(await post_raw(client, TOO_LARGE, {}), 1003)


async def test_bad_token_on_blocked_account_is_1003(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await set_blocked(engine, caller, blocked=True)
    await delete_key(engine, caller)
    assert_error(await send(client, caller), 1003)


async def test_deactivated_key_of_blocked_account_is_1002(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await set_blocked(engine, caller, blocked=True)
    await set_key_active(engine, caller, active=False)
    assert_error(await send(client, caller), 1002)


async def test_blocked_account_with_read_only_key_and_bad_json_is_3000(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine, can_send=False)
    await set_blocked(engine, caller, blocked=True)
    assert_error(await post_raw(client, BAD_JSON, caller.headers), 3000)


# --- rate limit before permission and body ---------------------------------------------------


async def test_rate_limit_comes_before_permission(settings, engine, frozen_clock) -> None:
    caller = await make_caller(engine, can_send=False)
    async with running_client(settings.model_copy(update={"rate_limit": 1})) as client:
        first = await send(client, caller)
        second = await send(client, caller)
    assert_error(first, 1005)
    assert_error(second, 1011)


async def test_rate_limit_comes_before_body(settings, engine, frozen_clock) -> None:
    caller = await make_caller(engine)
    async with running_client(settings.model_copy(update={"rate_limit": 1})) as client:
        assert_error(await post_raw(client, BAD_JSON, caller.headers), 1001)
        assert_error(await post_raw(client, TOO_LARGE, caller.headers), 1011)


async def test_unauthenticated_requests_do_not_use_the_accounts_budget(
    settings, engine, frozen_clock
) -> None:
    caller = await make_caller(engine)
    async with running_client(settings.model_copy(update={"rate_limit": 1})) as client:
        for _ in range(3):
            assert_error(await send(client, caller, headers={"Authorization": "Bearer x.y.z"}), 1003)
        assert (await send(client, caller)).status_code == 200


# --- permission before body ------------------------------------------------------------------


async def test_read_only_key_sending_invalid_json_is_1005(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_send=False)
    assert_error(await post_raw(client, BAD_JSON, caller.headers), 1005)


async def test_read_only_key_sending_oversized_body_is_1005(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_send=False)
    assert_error(await post_raw(client, TOO_LARGE, caller.headers), 1005)


async def test_read_only_key_deleting_with_bad_id_is_1005(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_send=False)
    response = await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json={"id": "x"})
    assert_error(response, 1005)


async def test_send_only_key_getting_with_bad_id_is_1007(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_read=False)
    assert_error(await client.post("/v1/sms/get", headers=caller.headers, json={"id": "x"}), 1007)


async def test_send_only_key_listing_with_bad_limit_is_1007(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, can_read=False)
    assert_error(await client.get("/v1/sms?limit=0&offset=0", headers=caller.headers), 1007)


# --- body before fields ----------------------------------------------------------------------


async def test_oversized_invalid_json_is_1012(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await post_raw(client, TOO_LARGE[:-2], caller.headers), 1012)


async def test_wrong_json_type_beats_bad_value_in_another_field(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, message="", phone_number=79990001122), 1001)
    assert_error(await send(client, caller, message=5, phone_number="x"), 1001)
    assert_error(await send(client, caller, device_id="zz", to_sim="1"), 1001)


# --- fields before existence, quota and devices ----------------------------------------------


async def test_bad_phone_and_unknown_device_is_2001(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, phone_number="12", device_id=UNKNOWN_ID), 2001)


async def test_bad_device_id_and_unknown_callback_is_2005(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await send(client, caller, device_id="nope", callback_id=UNKNOWN_ID), 2005)


async def test_bad_message_with_quota_used_up_and_no_device_is_2002(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine, quota=0, with_device=False)
    assert_error(await send(client, caller, message=" "), 2002)


async def test_several_bad_fields_report_the_lowest_code(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    response = await send(client, caller, message="", phone_number="1", device_id="x", to_sim=-5)
    assert_error(response, 2001)
    assert_error(await send(client, caller, message="", device_id="x", to_sim=-5), 2002)
    assert_error(await send(client, caller, callback_id="x", device_id="x", to_sim=-5), 2004)


async def test_limit_is_checked_before_offset(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    assert_error(await client.get("/v1/sms?limit=0&offset=0", headers=caller.headers), 2006)


async def test_bad_sim_and_unknown_device_on_edit_is_2008(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    response = await client.post(
        "/v1/devices/edit", headers=caller.headers, json={"device_id": UNKNOWN_ID, "to_sim": -3}
    )
    assert_error(response, 2008)


async def test_unknown_device_with_quota_used_up_is_1009(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, quota=0)
    assert_error(await send(client, caller, device_id=UNKNOWN_ID), 1009)


async def test_unknown_callback_with_quota_used_up_is_1010(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, quota=0)
    assert_error(await send(client, caller, callback_id=UNKNOWN_ID), 1010)


async def test_unknown_device_on_account_without_devices_is_1009(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, with_device=False)
    assert_error(await send(client, caller, device_id=UNKNOWN_ID), 1009)


async def test_quota_used_up_and_no_device_is_1006(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine, quota=0, with_device=False)
    assert_error(await send(client, caller), 1006)


async def test_idempotent_replay_is_answered_even_after_quota_is_used_up(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine, quota=1)
    key = {"Idempotency-Key": "once"}
    first = await send_ok(client, caller, headers=key)
    assert (await send(client, caller, headers=key)).json() == {"id": first}
    assert_error(await send(client, caller, headers={"Idempotency-Key": "twice"}), 1006)


async def test_permission_is_per_key_not_per_account(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    reader = await make_key(engine, caller, can_send=False)
    await send_ok(client, caller)
    assert_error(await send(client, reader), 1005)


# --- a key that sent before: whatever the server remembers of it, a change of its state wins ---


async def test_known_key_deactivated_is_1002_and_stores_nothing(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await send_ok(client, caller)
    stored = await count_messages(engine)
    await set_key_active(engine, caller, active=False)
    assert_error(await send(client, caller), 1002)
    assert await count_messages(engine) == stored


async def test_known_key_deactivated_with_a_bad_body_is_1002(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await send_ok(client, caller)
    await set_key_active(engine, caller, active=False)
    assert_error(await post_raw(client, BAD_JSON, caller.headers), 1002)
    assert_error(await send(client, caller, phone_number="12"), 1002)


async def test_known_keys_of_a_blocked_account_are_3000_before_target_checks(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    other = await make_key(engine, caller)
    await send_ok(client, caller)
    await send_ok(client, other)
    stored = await count_messages(engine)
    await set_blocked(engine, caller, blocked=True)
    assert_error(await send(client, caller), 3000)
    assert_error(await send(client, other, device_id="0" * 24), 3000)
    assert await count_messages(engine) == stored
    await set_blocked(engine, caller, blocked=False)
    await send_ok(client, caller)


async def test_known_key_deleted_is_1003_and_stores_nothing(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    await send_ok(client, caller)
    stored = await count_messages(engine)
    await delete_key(engine, caller)
    assert_error(await send(client, caller, headers={"Idempotency-Key": "k1"}), 1003)
    assert await count_messages(engine) == stored


async def test_known_key_deactivated_over_the_rate_limit_is_1002(settings, engine, frozen_clock) -> None:
    caller = await make_caller(engine)
    async with running_client(settings.model_copy(update={"rate_limit": 1})) as client:
        await send_ok(client, caller)
        await set_key_active(engine, caller, active=False)
        assert_error(await send(client, caller), 1002)
