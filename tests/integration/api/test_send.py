"""POST /v1/sms/send: the happy path and what it stores."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from simrelay.sms.models import Message
from tests.factories import make_caller
from tests.integration.api.helpers import assert_error, count_messages, get_sms, send

pytestmark = pytest.mark.integration


async def test_send_returns_id_of_stored_waiting_sms(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    sent = await client.post(
        "/v1/sms/send",
        headers=caller.headers,
        json={"message": "Привет", "phone_number": "+79990001122"},
    )
    assert sent.status_code == 200
    assert list(sent.json()) == ["id"]
    got = await client.post("/v1/sms/get", headers=caller.headers, json={"id": sent.json()["id"]})
    assert got.status_code == 200
    assert got.json() == {
        "id": sent.json()["id"],
        "message": "Привет",
        "status": 0,
        "callback_id": "",
        "device_id": "",
        "phone_number": "79990001122",
        "message_status": "Ждет обработки",
        "time_create": got.json()["time_create"],
        "to_sim": None,
    }


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"valid_until": "soon"}, 1001),
        ({"send_at": 1.5}, 1001),
        ({"valid_until": -1}, 2010),
        ({"send_at": 2**31}, 2010),
    ],
)
async def test_bad_valid_until_or_send_at_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, engine, fields: dict[str, object], code: int
) -> None:
    caller = await make_caller(engine)
    response = await send(client, caller, **fields)
    assert_error(response, code)
    assert await count_messages(engine) == 0


async def test_valid_until_and_send_at_are_stored_and_the_answer_stays_as_documented(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    sent = await send(client, caller, valid_until=1_900_000_000, send_at=1_800_000_000, message="x" * 200)
    assert sent.status_code == 200 and list(sent.json()) == ["id"]
    async with engine.connect() as conn:
        row = (await conn.execute(select(Message).where(Message.id == sent.json()["id"]))).one()
    assert (row.valid_until, row.send_at, row.encoding, row.parts) == (
        1_900_000_000,
        1_800_000_000,
        "gsm7",
        2,
    )
    got = (await get_sms(client, caller, sent.json()["id"])).json()
    assert "valid_until" not in got and "send_at" not in got
