"""POST /v1/sms/send: the happy path and what it stores."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import make_caller

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
