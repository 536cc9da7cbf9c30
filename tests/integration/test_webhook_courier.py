"""The courier against a database on both back ends, driven directly: the SSRF guard again at
connect time (DNS rebinding) with a stubbed resolver, and the checked address routed to a
receiver on 127.0.0.1, so that nothing leaves the machine; and a webhook failing for the whole
`disable_after` is switched off."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import event, select

from simrelay.storage.database import Database
from simrelay.webhooks import repository, service
from simrelay.webhooks.client import WebhookClient
from simrelay.webhooks.courier import Courier, Policy
from simrelay.webhooks.models import Webhook, WebhookEvent
from simrelay.webhooks.outbox import Event, Kind, State, queue_events
from tests.conftest import SECRET
from tests.factories import Caller, make_caller
from tests.integration.receiver import Answer, Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
async def caller(engine) -> Caller:
    return await make_caller(engine)


async def courier_log(db: Database, webhook_id: str, *, count: int) -> list[Any]:
    for _ in range(300):
        total, rows = await service.list_deliveries(
            db,
            account_id=await _account(db, webhook_id),
            webhook_id=webhook_id,
            event_id="",
            limit=100,
            page=1,
        )
        if total >= count:
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} attempts logged")


async def _account(db: Database, webhook_id: str) -> str:
    return str(
        await db.read(
            lambda conn: conn.execute(select(Webhook.account_id).where(Webhook.id == webhook_id)).scalar_one()
        )
    )


async def test_rebinding_to_a_private_address_is_refused_at_connect_time(
    db: Database, caller: Caller
) -> None:
    answers = {"hook.test": ["93.184.216.34"]}
    dialled: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    def route(ip: str) -> str:
        dialled.append(ip)
        return "127.0.0.1"

    with Receiver() as hook:
        port = hook.url.split(":")[2].split("/")[0]
        keys = service.Keys(SECRET, allow_private=False, resolve=resolve)
        webhook_id, _ = await service.create_webhook(
            db,
            keys,
            account_id=caller.account_id,
            url=f"http://hook.test:{port}/in",
            events=None,
            is_active=True,
        )
        answers["hook.test"] = ["10.0.0.7"]  # the name now points inside
        client = WebhookClient(
            allow_private=False, connections=4, user_agent="t", resolver=resolve, route=route
        )
        courier = Courier(db, Policy(SECRET, tick=0.05), client=client)
        courier.start()
        try:
            await service.send_test(db, account_id=caller.account_id, webhook_id=webhook_id)
            (refused,) = await courier_log(db, webhook_id, count=1)
            assert refused.http_status is None
            assert (
                refused.error
                == "refused: hook.test resolves to 10.0.0.7: private addresses may not be called"
            )
            assert dialled == [] and hook.requests == []
            answers["hook.test"] = ["93.184.216.34"]  # public again: the checked address is the one dialled
            await service.send_test(db, account_id=caller.account_id, webhook_id=webhook_id)
            await courier_log(db, webhook_id, count=2)
            assert dialled == ["93.184.216.34"]
            (arrived,) = hook.requests
            assert arrived.headers["host"] == f"hook.test:{port}"
        finally:
            await courier.stop()


async def test_a_webhook_failing_for_disable_after_is_switched_off(db: Database, caller: Caller) -> None:
    with Receiver(lambda _: Answer(500)) as hook:
        keys = service.Keys(SECRET, allow_private=True)
        webhook_id, _ = await service.create_webhook(
            db, keys, account_id=caller.account_id, url=hook.url, events=None, is_active=True
        )
        policy = Policy(SECRET, tick=0.05, retry_delays=(0.1,) * 50, disable_after=1.0)
        courier = Courier(db, policy, client=WebhookClient(allow_private=True, connections=4, user_agent="t"))
        courier.start()
        try:
            await _queue(db, caller, count=3)
            await courier_log(db, webhook_id, count=3)
            row = await _webhook(db, webhook_id)
            assert row.is_active and row.failing_since is not None and row.disabled_reason == ""
            deadline = time.monotonic() + 10
            while (await _webhook(db, webhook_id)).is_active:
                assert time.monotonic() < deadline, "not switched off"
                await asyncio.sleep(0.05)
        finally:
            await courier.stop()
    row = await _webhook(db, webhook_id)
    assert (
        row.disabled_reason == "every delivery failed for 1.15741e-05 days"
        or "failed for" in row.disabled_reason
    )
    assert row.disabled_at is not None
    states = await db.read(
        lambda conn: (
            conn.execute(select(WebhookEvent.state).where(WebhookEvent.webhook_id == webhook_id))
            .scalars()
            .all()
        )
    )
    assert State.PENDING not in states and State.CANCELLED in states


async def test_a_success_clears_failing_since(db: Database, caller: Caller) -> None:
    answers = iter([Answer(500)])
    with Receiver(lambda _: next(answers, Answer(204))) as hook:
        webhook_id, _ = await service.create_webhook(
            db,
            service.Keys(SECRET, allow_private=True),
            account_id=caller.account_id,
            url=hook.url,
            events=None,
            is_active=True,
        )
        courier = Courier(
            db,
            Policy(SECRET, tick=0.05, retry_delays=(0.2,)),
            client=WebhookClient(allow_private=True, connections=4, user_agent="t"),
        )
        courier.start()
        try:
            await _queue(db, caller, count=1)
            await courier_log(db, webhook_id, count=1)
            assert (await _webhook(db, webhook_id)).failing_since is not None
            await hook.arrived(2)
            await courier_log(db, webhook_id, count=2)
        finally:
            await courier.stop()
    assert (await _webhook(db, webhook_id)).failing_since is None


async def _queue(db: Database, caller: Caller, *, count: int) -> None:
    now = time.time()
    events = [
        Event(caller.account_id, Kind.SMS_STATUS, {"id": f"sms-{i}", "status": 0}, at=now, subject=f"sms-{i}")
        for i in range(count)
    ]
    await db.run(lambda conn: queue_events(conn, events))


async def _webhook(db: Database, webhook_id: str) -> Any:
    return await db.read(lambda conn: conn.execute(select(Webhook).where(Webhook.id == webhook_id)).first())


async def test_a_claim_on_postgresql_walks_the_due_events_in_order(db: Database, caller: Caller) -> None:
    """Not a gather-and-sort of every due event: with 3,000 due that made each claim 60 times
    slower (and fresh statistics, which say the table is nearly empty, are when it happens)."""
    if not db.url.startswith("postgresql"):
        pytest.skip("the planner setting is PostgreSQL's; SQLite walks the index by itself")
    await service.create_webhook(
        db,
        service.Keys(SECRET, allow_private=True),
        account_id=caller.account_id,
        url="http://127.0.0.1:9/hook",
        events=None,
        is_active=True,
    )
    await _queue(db, caller, count=3000)
    statements: list[tuple[str, Any]] = []

    def claim_and_explain(conn: Any) -> list[str]:
        def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            if "FOR UPDATE" in statement:
                statements.append((statement, parameters))

        event.listen(conn, "before_cursor_execute", record)
        try:
            claimed = repository.claim_due(conn, now=time.time() + 1, lock_until=time.time() + 30, limit=8)
        finally:
            event.remove(conn, "before_cursor_execute", record)
        assert len(claimed) == 8
        ((statement, parameters),) = statements
        plan = conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
        return [line for line in plan if "Sort" in line or "Index Scan using ix_webhook_events_due" in line]

    nodes = await db.run(claim_and_explain)
    assert nodes and all("Index Scan using ix_webhook_events_due" in node for node in nodes), nodes
