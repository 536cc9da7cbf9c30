"""sms.status events of a batch of changes: queued for subscribed accounts, and for an account
without an active webhook not even the SMS are read (the shortcut every report batch takes)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.sms.events import announce_changes
from simrelay.sms.status import Change, Status
from simrelay.storage.database import Database
from simrelay.webhooks.models import WebhookEvent
from simrelay.webhooks.outbox import Kind
from tests.factories import Caller, make_caller, make_webhook
from tests.integration.api.helpers import send_ok

pytestmark = pytest.mark.integration


async def _announce(db: Database, changes: list[Change]) -> list[str]:
    """Announces `changes` in one transaction; returns the SQLAlchemy statements it ran that read
    the messages table (the webhook lookup runs on the driver's cursor and is not among them)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM messages" in statement:
            seen.append(statement)

    used: list[Any] = []

    def work(conn: Any) -> None:
        # The events are queued at the end of `work`'s transaction: the listener stays until then.
        event.listen(conn, "before_cursor_execute", record)
        used.append(conn)
        announce_changes(conn, changes)

    try:
        await db.run(work)
    finally:
        for conn in used:
            event.remove(conn, "before_cursor_execute", record)
    return seen


async def _queued(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(WebhookEvent))).scalar_one())


async def _sent(client: httpx.AsyncClient, caller: Caller, account_id: str) -> Change:
    message_id = await send_ok(client, caller)
    return Change(message_id, Status.SENT, time.time(), "dev", 1, account_id=account_id)


async def test_an_account_without_webhooks_gets_no_events_and_no_read_of_its_sms(
    client: httpx.AsyncClient, engine: AsyncEngine, db: Database
) -> None:
    caller = await make_caller(engine)
    change = await _sent(client, caller, caller.account_id)
    before = await _queued(engine)
    assert await _announce(db, [change]) == []
    assert await _queued(engine) == before


async def test_a_subscribed_account_gets_one_event_per_change(
    client: httpx.AsyncClient, engine: AsyncEngine, db: Database
) -> None:
    caller = await make_caller(engine)
    await make_webhook(engine, caller, events=[Kind.SMS_STATUS.value])
    changes = [await _sent(client, caller, caller.account_id) for _ in range(2)]
    before = await _queued(engine)
    reads = await _announce(db, changes)
    assert len(reads) == 1  # one statement for the whole batch
    assert await _queued(engine) == before + 2


async def test_a_change_that_does_not_know_its_account_is_looked_up(
    client: httpx.AsyncClient, engine: AsyncEngine, db: Database
) -> None:
    caller = await make_caller(engine)
    await make_webhook(engine, caller, events=[Kind.SMS_STATUS.value])
    change = await _sent(client, caller, "")
    before = await _queued(engine)
    assert len(await _announce(db, [change])) == 1
    assert await _queued(engine) == before + 1
