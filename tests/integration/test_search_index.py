"""SQLite's deferred full-text index: queued rows are searchable at once, indexing moves them
into FTS5, and deleting rows in either state leaves the index consistent."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from simrelay.sms import service
from simrelay.storage.database import Database
from tests.factories import make_caller

pytestmark = pytest.mark.integration


async def search(client: httpx.AsyncClient, caller, needle: str) -> list[str]:
    found = await client.get("/v1/sms", headers=caller.headers, params={"limit": 100, "search": needle})
    assert found.status_code == 200
    return [item["message"] for item in found.json()["sms_list"]]


async def test_queued_and_indexed_messages_are_found_and_deletes_keep_fts_consistent(
    client: httpx.AsyncClient, engine, backend
) -> None:
    if backend.name != "sqlite":
        pytest.skip("PostgreSQL maintains its trigram index itself")
    db = Database.on_engine(engine)
    caller = await make_caller(engine)
    for word in ("первый сигнал", "второй сигнал"):
        sent = await client.post(
            "/v1/sms/send", headers=caller.headers, json={"message": word, "phone_number": "79990001122"}
        )
        assert sent.status_code == 200
    assert sorted(await search(client, caller, "СИГНАЛ")) == ["второй сигнал", "первый сигнал"]

    assert await service.index_for_search(db) >= 2
    assert await service.index_for_search(db) == 0
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM search_queue"))).scalar_one() == 0
    await client.post(
        "/v1/sms/send",
        headers=caller.headers,
        json={"message": "третий сигнал", "phone_number": "79990001122"},
    )
    assert len(await search(client, caller, "сигнал")) == 3

    async with engine.begin() as conn:
        # One indexed and one still queued row go away for good (as with an account's deletion).
        await conn.execute(text("DELETE FROM messages WHERE message IN ('первый сигнал', 'третий сигнал')"))
        await conn.execute(text("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')"))
    assert await search(client, caller, "сигнал") == ["второй сигнал"]
