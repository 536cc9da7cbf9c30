"""Shared checks and builders for the HTTP contract tests."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.accounts import service as accounts
from simrelay.api import ratelimit
from simrelay.sms.models import Message
from simrelay.storage.db import create_sessionmaker
from tests.factories import Caller

HASH = re.compile(r"^[0-9a-f]{12}$")
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
CYRILLIC = re.compile(r"[а-яА-ЯёЁ]")
UNKNOWN_ID = "0123456789abcdef01234567"
"""A well-formed ObjectID that names nothing."""

# The error table of the contract, written out here (not read from the code under test).
HTTP_STATUS = {
    1000: 500,
    1001: 400,
    1002: 403,
    1003: 401,
    1004: 400,
    1005: 403,
    1006: 403,
    1007: 403,
    1008: 404,
    1009: 404,
    1010: 404,
    1011: 429,
    1012: 413,
    1013: 422,
    1014: 409,
    1015: 409,
    1016: 400,
    1018: 404,
    1019: 404,
    2001: 400,
    2002: 400,
    2003: 400,
    2004: 400,
    2005: 400,
    2006: 400,
    2007: 400,
    2008: 400,
    2009: 400,
    2010: 400,
    2011: 400,
    3000: 403,
}


def assert_error(response: httpx.Response, code: int, *, language: str = "ru") -> str:
    """The response is the contract's error envelope for `code`; returns the message."""
    assert response.status_code == HTTP_STATUS[code], (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["errors"], body
    assert set(body["errors"]) == {"code", "message", "hash"}, body
    assert body["errors"]["code"] == code, body
    assert HASH.match(body["errors"]["hash"]), body
    message = body["errors"]["message"]
    assert isinstance(message, str) and message.strip()
    if language == "ru":
        assert CYRILLIC.search(message), message
    else:
        assert not CYRILLIC.search(message), message
    assert "Traceback" not in response.text
    return str(message)


def sms_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": "Привет", "phone_number": "79990001122"}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


async def send(
    client: httpx.AsyncClient, caller: Caller, *, headers: dict[str, str] | None = None, **fields: Any
) -> httpx.Response:
    return await client.post(
        "/v1/sms/send", headers=caller.headers | (headers or {}), json=sms_body(**fields)
    )


async def send_ok(client: httpx.AsyncClient, caller: Caller, **fields: Any) -> str:
    response = await send(client, caller, **fields)
    assert response.status_code == 200, response.text
    message_id: str = response.json()["id"]
    assert OBJECT_ID.match(message_id)
    return message_id


async def get_sms(client: httpx.AsyncClient, caller: Caller, message_id: str) -> httpx.Response:
    return await client.post("/v1/sms/get", headers=caller.headers, json={"id": message_id})


async def list_sms(client: httpx.AsyncClient, caller: Caller, **params: Any) -> httpx.Response:
    params.setdefault("limit", 100)
    return await client.get("/v1/sms", headers=caller.headers, params=params)


async def search_ids(client: httpx.AsyncClient, caller: Caller, needle: str) -> set[str]:
    response = await list_sms(client, caller, search=needle)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pagination"]["total_records"] == len(body["sms_list"])
    return {item["id"] for item in body["sms_list"]}


async def count_messages(engine: AsyncEngine) -> int:
    """SMS rows in the database, deleted ones included: what a refused request must not add."""
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Message))).scalar_one())


async def set_blocked(engine: AsyncEngine, caller: Caller, *, blocked: bool) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        await accounts.set_blocked(session, caller.email, blocked=blocked)


async def set_key_active(engine: AsyncEngine, caller: Caller, *, active: bool) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        await accounts.set_key_active(session, caller.key_id, active=active)


async def delete_key(engine: AsyncEngine, caller: Caller) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        await accounts.delete_key(session, caller.key_id)


async def set_status(engine: AsyncEngine, message_id: str, status: int, *, device_id: str = "") -> None:
    """Moves a stored SMS to `status` directly (as a device report would)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(Message).where(Message.id == message_id).values(status=status, device_id=device_id)
        )


def freeze_rate_limit_clock(monkeypatch: Any, at: float = 1_900_000_000.25) -> SimpleNamespace:
    """Pins the rate limiter's clock inside one window (so it never rolls mid-test); move `.now`."""
    clock = SimpleNamespace(now=at)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: clock.now))
    return clock
