"""POST /v1/sms/bulk: each recipient a normal SMS, rejected ones listed, the request's errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.campaigns.schemas import RECIPIENTS_MAX
from simrelay.sms.models import Message
from tests.factories import Caller, make_caller, make_device, make_key
from tests.integration.api.helpers import UNKNOWN_ID, assert_error, count_messages, get_sms, list_sms, send

pytestmark = pytest.mark.integration


async def bulk(
    client: httpx.AsyncClient, caller: Caller, body: Any, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/v1/sms/bulk", headers=caller.headers | (headers or {}), json=body)


async def campaign_sms(engine: AsyncEngine, campaign_id: str) -> list[Any]:
    async with engine.connect() as conn:
        query = select(Message).where(Message.campaign_id == campaign_id).order_by(Message.phone_number)
        return list((await conn.execute(query)).all())


async def test_each_recipient_becomes_a_normal_sms_with_its_filled_text(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)
    body = {
        "message": "Hello {name}, code {code} {{ok}}",
        "recipients": [
            {"phone_number": "+79990000001", "vars": {"name": "Ann", "code": "11"}},
            {"phone_number": "79990000002", "vars": {"name": "Бор", "code": "22", "extra": "x"}},
        ],
        "to_sim": 1,
    }
    answer = await bulk(client, caller, body)
    assert answer.status_code == 200, answer.text
    assert list(answer.json()) == ["campaign_id", "accepted", "rejected"]
    assert answer.json()["accepted"] == 2 and answer.json()["rejected"] == []
    rows = await campaign_sms(engine, answer.json()["campaign_id"])
    assert [row.phone_number for row in rows] == ["79990000001", "79990000002"]
    got = [(await get_sms(client, caller, row.id)).json() for row in rows]
    assert got == [
        {
            "id": row.id,
            "message": text,
            "status": 0,
            "callback_id": "",
            "device_id": "",
            "phone_number": row.phone_number,
            "message_status": "Ждет обработки",
            "time_create": row.time_create,
            "to_sim": 1,
        }
        for row, text in zip(rows, ["Hello Ann, code 11 {ok}", "Hello Бор, code 22 {ok}"], strict=True)
    ]
    listed = (await list_sms(client, caller)).json()
    assert {item["id"] for item in listed["sms_list"]} == {row.id for row in rows}
    assert listed["pagination"]["total_records"] == 2


async def test_invalid_recipients_are_listed_with_index_and_code_and_the_others_go(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)
    recipients = [
        {"phone_number": "79990000001", "vars": {"name": "Ann"}},
        {"phone_number": "12", "vars": {"name": "Bob"}},  # too short
        {"phone_number": "79990000003"},  # no vars: {name} missing
        {"phone_number": "79990000004", "vars": {"name": "x" * 1000}},  # too long once filled
        {"vars": {"name": "Eve"}},  # no number
        {"phone_number": "79990000006", "vars": {"name": "\u0007"}},  # a control character
        {"phone_number": "79990000007", "vars": {"name": "Fay"}},
    ]
    answer = await bulk(
        client, caller, {"message": "Hi {name}", "recipients": recipients}, headers={"Accept-Language": "en"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    assert [(item["index"], item["code"]) for item in body["rejected"]] == [
        (1, 2001),
        (2, 2002),
        (3, 2002),
        (4, 2001),
        (5, 2002),
    ]
    assert all(set(item) == {"index", "code", "message"} for item in body["rejected"])
    assert body["rejected"][0]["message"].startswith("Invalid phone_number")
    rows = await campaign_sms(engine, body["campaign_id"])
    assert [(row.phone_number, row.message) for row in rows] == [
        ("79990000001", "Hi Ann"),
        ("79990000007", "Hi Fay"),
    ]


async def test_ten_thousand_recipients_are_taken_in_one_request(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)
    recipients = [{"phone_number": f"7999{i:07d}", "vars": {"n": str(i)}} for i in range(RECIPIENTS_MAX)]
    answer = await bulk(client, caller, {"message": "Number {n}", "recipients": recipients})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == RECIPIENTS_MAX
    assert await count_messages(engine) == RECIPIENTS_MAX
    listed = (await list_sms(client, caller, limit=1)).json()
    assert listed["pagination"]["total_records"] == RECIPIENTS_MAX
    assert listed["sms_list"][0]["message"].startswith("Number ")


def _recipients(count: int) -> list[dict[str, str]]:
    return [{"phone_number": "79990001122"}] * count


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"message": "Hi", "recipients": []}, 2010),
        ({"message": "Hi", "recipients": _recipients(RECIPIENTS_MAX + 1)}, 2010),
        ({"message": "Hi"}, 2010),
        ({"recipients": _recipients(1)}, 2002),
        ({"message": "   ", "recipients": _recipients(1)}, 2002),
        ({"message": "Hi {name", "recipients": _recipients(1)}, 2002),
        ({"message": "Hi {}", "recipients": _recipients(1)}, 2002),
        ({"message": "Hi\u0000", "recipients": _recipients(1)}, 2002),
        ({"message": 5, "recipients": _recipients(1)}, 1001),
        ({"message": "Hi", "recipients": {"phone_number": "79990001122"}}, 1001),
        ({"message": "Hi", "recipients": ["79990001122"]}, 1001),
        ({"message": "Hi", "recipients": [{"phone_number": 79990001122}]}, 1001),
        ({"message": "Hi {n}", "recipients": [{"phone_number": "79990001122", "vars": {"n": 1}}]}, 1001),
        ({"message": "Hi", "recipients": _recipients(1), "to_sim": -3}, 2008),
        ({"message": "Hi", "recipients": _recipients(1), "device_id": "nope"}, 2005),
        ({"message": "Hi", "recipients": _recipients(1), "callback_id": "nope"}, 2004),
        ({"message": "Hi", "recipients": _recipients(1), "device_id": UNKNOWN_ID}, 1009),
        ({"message": "Hi", "recipients": _recipients(1), "callback_id": UNKNOWN_ID}, 1010),
        ([], 1001),
    ],
)
async def test_a_bad_request_is_refused_whole_and_nothing_is_stored(
    client: httpx.AsyncClient, engine: AsyncEngine, body: Any, code: int
) -> None:
    caller = await make_caller(engine)
    assert_error(await bulk(client, caller, body), code)
    assert await count_messages(engine) == 0


async def test_bad_json_is_1001(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    caller = await make_caller(engine)
    answer = await client.post("/v1/sms/bulk", headers=caller.headers, content=b'{"message": "Hi", ')
    assert_error(answer, 1001)


async def test_a_device_of_another_account_is_1009(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    caller, other = await make_caller(engine), await make_caller(engine)
    foreign = await make_device(engine, other)
    body = {"message": "Hi", "recipients": _recipients(1), "device_id": foreign}
    assert_error(await bulk(client, caller, body), 1009)
    own = await make_device(engine, caller)
    answer = await bulk(client, caller, body | {"device_id": own})
    assert answer.status_code == 200
    got = await get_sms(client, caller, (await campaign_sms(engine, answer.json()["campaign_id"]))[0].id)
    assert got.json()["device_id"] == own


async def test_the_same_idempotency_key_and_body_answer_the_same_campaign(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)
    body = {
        "message": "Hi {n}",
        "recipients": [*_recipients(1), {"phone_number": "79990001123", "vars": {"n": "2"}}],
    }
    key = {"Idempotency-Key": "bulk-1"}
    first = await bulk(client, caller, body, headers=key)
    assert first.status_code == 200 and first.json()["accepted"] == 1
    again = await bulk(client, caller, body, headers=key)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await count_messages(engine) == 1
    assert_error(await bulk(client, caller, body | {"message": "Other {n}"}, headers=key), 1013)
    other = await bulk(client, caller, body, headers={"Idempotency-Key": "bulk-2"})
    assert other.json()["campaign_id"] != first.json()["campaign_id"]
    assert await count_messages(engine) == 2


async def test_a_key_of_a_single_send_is_not_a_campaign(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)
    key = {"Idempotency-Key": "shared"}
    assert (await send(client, caller, headers=key)).status_code == 200
    assert_error(
        await bulk(client, caller, {"message": "Hi", "recipients": _recipients(1)}, headers=key), 1013
    )


async def test_a_campaign_that_does_not_fit_the_quota_is_refused_whole(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine, quota=3)
    assert (await send(client, caller)).status_code == 200
    assert_error(await bulk(client, caller, {"message": "Hi", "recipients": _recipients(3)}), 1006)
    assert await count_messages(engine) == 1
    # Rejected recipients cost nothing: two accepted fill the quota exactly.
    body = {"message": "Hi", "recipients": [*_recipients(2), {"phone_number": "1"}]}
    answer = await bulk(client, caller, body)
    assert answer.status_code == 200 and answer.json()["accepted"] == 2
    assert_error(await send(client, caller), 1006)


async def test_an_account_without_devices_is_1004(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    caller = await make_caller(engine, with_device=False)
    assert_error(await bulk(client, caller, {"message": "Hi", "recipients": _recipients(1)}), 1004)


async def test_a_key_that_may_not_send_may_not_send_in_bulk(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    reader = await make_key(engine, await make_caller(engine), can_send=False)
    assert_error(await bulk(client, reader, {"message": "Hi", "recipients": _recipients(1)}), 1005)


async def test_a_body_over_the_bulk_limit_is_1012(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    caller = await make_caller(engine)
    big = {
        "message": "Hi",
        "recipients": [{"phone_number": "79990001122", "vars": {"pad": "x" * 1000}}] * 4500,
    }
    assert_error(await bulk(client, caller, big), 1012)
    # The larger limit is the bulk endpoint's alone.
    assert_error(await send(client, caller, message="x" * 70_000), 1012)
