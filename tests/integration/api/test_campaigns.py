"""The campaign endpoints: counts and state, pause and resume (what the dispatcher is offered),
cancel (as a delete cancels), the list, and one account never reaching another's campaign."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.sms import history, leases
from simrelay.sms.models import Message
from simrelay.storage.database import Database
from simrelay.webhooks.models import WebhookEvent
from tests.factories import Caller, make_caller, make_device, make_key, make_webhook
from tests.integration.api.helpers import UNKNOWN_ID, assert_error, get_sms, send_ok, set_status

pytestmark = pytest.mark.integration

CHANGES = ("pause", "resume", "cancel")


async def start_campaign(client: httpx.AsyncClient, caller: Caller, count: int = 3) -> str:
    recipients = [{"phone_number": f"7999000000{i}", "vars": {"i": str(i)}} for i in range(count)]
    answer = await client.post(
        "/v1/sms/bulk", headers=caller.headers, json={"message": "Hi {i}", "recipients": recipients}
    )
    assert answer.status_code == 200, answer.text
    campaign_id: str = answer.json()["campaign_id"]
    return campaign_id


async def campaign(client: httpx.AsyncClient, caller: Caller, campaign_id: str) -> httpx.Response:
    return await client.post("/v1/campaigns/get", headers=caller.headers, json={"campaign_id": campaign_id})


async def change(client: httpx.AsyncClient, caller: Caller, what: str, campaign_id: str) -> httpx.Response:
    return await client.post(
        f"/v1/campaigns/{what}", headers=caller.headers, json={"campaign_id": campaign_id}
    )


async def campaign_ids(engine: AsyncEngine, campaign_id: str) -> list[str]:
    async with engine.connect() as conn:
        query = select(Message.id).where(Message.campaign_id == campaign_id).order_by(Message.id)
        return [row[0] for row in await conn.execute(query)]


async def offerable(db: Database, caller: Caller) -> set[str]:
    rows = await db.run(
        lambda conn: leases.find_offerable(conn, caller.account_id, device_ids=[], now=time.time(), limit=100)
    )
    return {row.id for row in rows}


async def has_work(db: Database, caller: Caller) -> bool:
    found = await db.read(lambda conn: leases.accounts_with_work(conn, [caller.account_id], now=time.time()))
    return caller.account_id in found


def counts(**by_status: int) -> dict[str, int]:
    return {str(status): by_status.get(f"s{status}", 0) for status in range(6)}


async def test_a_campaign_counts_its_sms_per_status_and_is_done_when_none_waits_or_is_taken(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)
    campaign_id = await start_campaign(client, caller)
    got = await campaign(client, caller, campaign_id)
    assert got.status_code == 200, got.text
    body = got.json()
    assert list(body) == [
        "campaign_id",
        "state",
        "message",
        "time_create",
        "recipients",
        "accepted",
        "counts",
    ]
    assert body | {"time_create": 0} == {
        "campaign_id": campaign_id,
        "state": "running",
        "message": "Hi {i}",
        "time_create": 0,
        "recipients": 3,
        "accepted": 3,
        "counts": counts(s0=3),
    }
    first, second, third = await campaign_ids(engine, campaign_id)
    await set_status(engine, first, 1)
    await set_status(engine, second, 4)
    assert (await campaign(client, caller, campaign_id)).json()["counts"] == counts(s0=1, s1=1, s4=1)
    await set_status(engine, first, 5)
    await set_status(engine, third, 3)
    body = (await campaign(client, caller, campaign_id)).json()
    assert (body["state"], body["counts"]) == ("done", counts(s3=1, s4=1, s5=1))


async def test_a_deleted_sms_is_not_counted(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    caller = await make_caller(engine)
    campaign_id = await start_campaign(client, caller, count=2)
    first, _ = await campaign_ids(engine, campaign_id)
    deleted = await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json={"id": first})
    assert deleted.status_code == 204
    assert (await campaign(client, caller, campaign_id)).json()["counts"] == counts(s0=1)


async def test_a_paused_campaign_s_sms_are_not_offered_until_it_resumes(
    client: httpx.AsyncClient, engine: AsyncEngine, db: Database
) -> None:
    caller = await make_caller(engine)
    campaign_id = await start_campaign(client, caller)
    ids = set(await campaign_ids(engine, campaign_id))
    assert await offerable(db, caller) == ids
    assert (await change(client, caller, "pause", campaign_id)).status_code == 204
    assert await offerable(db, caller) == set()
    assert not await has_work(db, caller)
    single = await send_ok(client, caller)  # an SMS sent alone still goes
    assert await offerable(db, caller) == {single}
    body = (await campaign(client, caller, campaign_id)).json()
    assert (body["state"], body["counts"]) == ("paused", counts(s0=3))
    # A paused campaign's SMS are normal SMS meanwhile.
    assert (await get_sms(client, caller, min(ids))).json()["status"] == 0
    assert (await change(client, caller, "pause", campaign_id)).status_code == 204  # again: no change
    assert (await change(client, caller, "resume", campaign_id)).status_code == 204
    assert await offerable(db, caller) == ids | {single}
    assert (await campaign(client, caller, campaign_id)).json()["state"] == "running"
    assert (await change(client, caller, "resume", campaign_id)).status_code == 204  # again: no change


async def test_an_sms_a_device_lets_go_while_its_campaign_is_paused_waits_for_the_resume(
    client: httpx.AsyncClient, engine: AsyncEngine, db: Database
) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    campaign_id = await start_campaign(client, caller, count=1)
    [message_id] = await campaign_ids(engine, campaign_id)
    await lease(engine, message_id, device_id, status=1)
    assert (await change(client, caller, "pause", campaign_id)).status_code == 204
    await let_go(db, device_id)
    assert (await get_sms(client, caller, message_id)).json()["status"] == 0
    assert await offerable(db, caller) == set()
    assert (await change(client, caller, "resume", campaign_id)).status_code == 204
    assert await offerable(db, caller) == {message_id}


async def lease(
    engine: AsyncEngine, message_id: str, device_id: str, *, status: int, handed: bool = True
) -> None:
    """Leases the SMS to the device as an offer would (status 1: the device took it)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                status=status,
                lease_device_id=device_id,
                device_id=device_id if status else "",
                lease_handed=handed,
                lease_until=time.time() + 60,
                lease_expires=time.time() + 600,
                attempts=1,
            )
        )


async def let_go(db: Database, device_id: str) -> None:
    """The device confirms it dropped every SMS it held, unsent."""

    def work(conn: Any) -> None:
        for row in leases.leases_of(conn, device_id):
            leases.release_lease(conn, row, now=time.time(), max_attempts=3, why="dropped")

    await db.run(work)


async def sms_events(engine: AsyncEngine, status: int) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        payloads = [row[0] for row in await conn.execute(select(WebhookEvent.payload))]
    found = [json.loads(payload)["data"] for payload in payloads]
    return [data for data in found if data.get("status") == status]


async def test_cancel_ends_waiting_sms_in_status_3_with_webhooks_and_asks_devices_to_drop_theirs(
    client: httpx.AsyncClient, engine: AsyncEngine, db: Database
) -> None:
    caller = await make_caller(engine)
    await make_webhook(engine, caller, events=["sms.status"])
    device_id = await make_device(engine, caller)
    campaign_id = await start_campaign(client, caller, count=4)
    waiting, taken, unfetched, sent = await campaign_ids(engine, campaign_id)
    await lease(engine, taken, device_id, status=1)
    await lease(engine, unfetched, device_id, status=0, handed=False)
    await set_status(engine, sent, 2, device_id=device_id)
    assert (await change(client, caller, "cancel", campaign_id)).status_code == 204
    statuses = {
        key: (await get_sms(client, caller, key)).json()["status"]
        for key in (waiting, taken, unfetched, sent)
    }
    # Never handed over, the unfetched one is cancelled at once; the taken one may be sending.
    assert statuses == {waiting: 3, taken: 1, unfetched: 3, sent: 2}
    async with engine.connect() as conn:
        row = (await conn.execute(select(Message).where(Message.id == taken))).one()
    assert row.lease_drop is True
    changes = await db.read(lambda conn: history.changes_of(conn, waiting))
    assert [(c["status"], c["reason"]) for c in changes] == [(3, leases.CANCELLED)]
    # Each SMS had its sms.status event on creation, as a single send has; then each one
    # cancelled here had its status 3.
    assert {data["id"] for data in await sms_events(engine, 0)} == {waiting, taken, unfetched, sent}
    assert {data["id"] for data in await sms_events(engine, 3)} == {waiting, unfetched}
    # The device confirms the drop: it ends cancelled too, and is never offered again.
    await let_go(db, device_id)
    assert (await get_sms(client, caller, taken)).json()["status"] == 3
    assert await offerable(db, caller) == set()
    body = (await campaign(client, caller, campaign_id)).json()
    assert (body["state"], body["counts"]) == ("cancelled", counts(s2=1, s3=3))
    for what in CHANGES:  # a cancelled campaign stays so
        assert (await change(client, caller, what, campaign_id)).status_code == 204
    assert (await campaign(client, caller, campaign_id)).json()["state"] == "cancelled"


async def test_the_list_holds_the_account_s_campaigns_newest_first_in_pages(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller, other = await make_caller(engine), await make_caller(engine)
    made = [await start_campaign(client, caller, count=1) for _ in range(3)]
    await start_campaign(client, other, count=1)
    first = await client.get("/v1/campaigns", headers=caller.headers, params={"limit": 2})
    assert first.status_code == 200, first.text
    assert first.json()["pagination"] == {"total_records": 3, "limit": 2, "offset": 1}
    assert [item["campaign_id"] for item in first.json()["campaign_list"]] == made[::-1][:2]
    assert first.json()["campaign_list"][0] == (await campaign(client, caller, made[-1])).json()
    second = await client.get("/v1/campaigns", headers=caller.headers, params={"limit": 2, "offset": 2})
    assert [item["campaign_id"] for item in second.json()["campaign_list"]] == [made[0]]
    past = await client.get("/v1/campaigns", headers=caller.headers, params={"limit": 2, "offset": 3})
    assert past.json() == {"pagination": {"total_records": 3, "limit": 2, "offset": 3}, "campaign_list": []}
    assert_error(await client.get("/v1/campaigns", headers=caller.headers), 2006)
    assert_error(
        await client.get("/v1/campaigns", headers=caller.headers, params={"limit": 2, "offset": 0}), 2007
    )


@pytest.mark.parametrize("what", ["get", *CHANGES])
async def test_another_account_s_campaign_or_an_unknown_one_is_not_found(
    client: httpx.AsyncClient, engine: AsyncEngine, db: Database, what: str
) -> None:
    owner, stranger = await make_caller(engine), await make_caller(engine)
    campaign_id = await start_campaign(client, owner)
    for campaign in (campaign_id, UNKNOWN_ID):
        assert_error(await change(client, stranger, what, campaign), 1019)
    assert_error(await change(client, owner, what, UNKNOWN_ID), 1019)
    assert await offerable(db, owner) == set(await campaign_ids(engine, campaign_id))  # untouched
    got = await change(client, owner, "get", campaign_id)
    assert got.json()["state"] == "running"
    listed = await client.get("/v1/campaigns", headers=stranger.headers, params={"limit": 10})
    assert listed.json()["campaign_list"] == []


@pytest.mark.parametrize("what", ["get", *CHANGES])
@pytest.mark.parametrize(("body", "code"), [({"campaign_id": "nope"}, 2010), ({}, 2010), ([], 1001)])
async def test_a_malformed_campaign_id_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, what: str, body: Any, code: int
) -> None:
    caller = await make_caller(engine)
    answer = await client.post(f"/v1/campaigns/{what}", headers=caller.headers, json=body)
    assert_error(answer, code)


async def test_reading_needs_the_read_permission_and_changing_the_send_one(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)
    campaign_id = await start_campaign(client, caller, count=1)
    no_read = await make_key(engine, caller, can_read=False)
    no_send = await make_key(engine, caller, can_send=False)
    assert_error(await change(client, no_read, "get", campaign_id), 1007)
    assert_error(await client.get("/v1/campaigns", headers=no_read.headers, params={"limit": 1}), 1007)
    for what in CHANGES:
        assert_error(await change(client, no_send, what, campaign_id), 1005)
    assert (await change(client, no_send, "get", campaign_id)).status_code == 200
