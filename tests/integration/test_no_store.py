"""`no_store` on every path that makes an SMS final (sms/retention.py): device reports, lease
loss, expiry, opt-out, a deleted SMS let go; webhooks never carry the text; and the whole way
from the Home Assistant integration's client through a real server to simulated phones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from simrelay.accounts.models import Account
from simrelay.sms import leases
from simrelay.sms.models import Message
from simrelay.storage.database import Database
from simrelay.webhooks.models import Webhook, WebhookEvent
from tests.factories import make_caller, make_webhook
from tests.integration.api import ha_client as ha
from tests.integration.api.helpers import send_ok
from tests.integration.gateway import Gateway, gateway_env, running_gateway
from tests.integration.test_reports import report as report_as
from tests.integration.test_reports import row, steps

pytestmark = pytest.mark.integration

PHONE = "a" * 24
"""The device holding the lease (no such device row: as one deleted meanwhile)."""
TEXT = "PIN 4711"


async def new_sms(engine, client, *, no_store: bool, caller=None, **fields: Any) -> str:
    caller = caller or await make_caller(engine)
    return await send_ok(client, caller, message=TEXT, no_store=no_store, **fields)


async def lease(engine, message_id: str, *, expires_in: float = 600, **values: Any) -> None:
    now = time.time()
    async with engine.begin() as conn:
        await conn.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                lease_device_id=PHONE,
                lease_until=now + min(60, expires_in),
                lease_expires=now + expires_in,
                attempts=1,
                **values,
            )
        )


async def report(engine, kind: str, message_id: str, **fields: Any) -> None:
    await report_as(engine, kind, message_id, device=PHONE, **fields)


async def end_lapsed_leases(engine) -> None:
    """The dispatcher's sweep for leases past their hard timeout whose device vanished."""
    now = time.time()

    def work(conn: Any) -> None:
        for found in leases.find_lapsed(conn, now=now, silent_since=now - 3, given_up_before=now - 3600):
            leases.end_lapsed(conn, found, now=now, max_attempts=3)

    await Database.on_engine(engine).run(work)


@pytest.mark.parametrize("no_store", [True, False])
async def test_a_delivery_report_makes_it_final_and_a_no_store_text_goes_with_it(
    engine, client, no_store: bool
) -> None:
    message_id = await new_sms(engine, client, no_store=no_store)
    await lease(engine, message_id)
    await report(engine, "sent", message_id, parts=1)
    assert (await row(engine, message_id)).message == TEXT  # 2 is not final
    await report(engine, "delivery", message_id, part=0, parts=1, delivered=False)
    found = await row(engine, message_id)
    assert (found.status, found.device_id, found.phone_number, found.part_states) == (
        5,
        PHONE,
        "79990001122",
        "N",
    )
    assert (found.message, found.search_text.startswith(TEXT.casefold())) == (
        ("", False) if no_store else (TEXT, True)
    )
    assert await steps(engine, message_id) == [(1, ""), (2, ""), (5, "")]


async def test_a_failed_report_blanks_a_no_store_text(engine, client) -> None:
    message_id = await new_sms(engine, client, no_store=True)
    await lease(engine, message_id)
    await report(engine, "failed", message_id, reason="no signal")
    found = await row(engine, message_id)
    assert (found.status, found.reason, found.message) == (3, "no signal", "")


@pytest.mark.parametrize("reason", ["expired", "opted out"])
async def test_the_servers_own_verdicts_blank_a_no_store_text(engine, client, reason: str) -> None:
    caller = await make_caller(engine)
    now = int(time.time())
    secret = await new_sms(engine, client, no_store=True, caller=caller, valid_until=now - 1)
    kept = await new_sms(engine, client, no_store=False, caller=caller, valid_until=now - 1)
    db = Database.on_engine(engine)
    if reason == "expired":
        await db.run(lambda conn: leases.expire_waiting(conn, now=time.time()))
    else:
        await db.run(
            lambda conn: leases.fail_waiting(conn, [(secret, reason), (kept, reason)], now=time.time())
        )
    assert [
        (r.status, r.reason, r.message) for r in [await row(engine, secret), await row(engine, kept)]
    ] == [
        (3, reason, ""),
        (3, reason, TEXT),
    ]


async def test_a_lost_no_store_sms_is_blanked_and_not_offered_again_when_its_device_lets_it_go(
    engine, client
) -> None:
    """The lease rule ends a handed-over SMS whose device vanished in 3 "device lost"; such an
    SMS normally waits again once that device says it never sent it (3 -> 0). Without its
    text there is nothing left to send: it stays in 3, and says why."""
    caller = await make_caller(engine)
    secret = await new_sms(engine, client, no_store=True, caller=caller)
    kept = await new_sms(engine, client, no_store=False, caller=caller)
    for message_id in (secret, kept):
        await lease(engine, message_id, expires_in=-1)
    await end_lapsed_leases(engine)
    assert [
        (r.status, r.reason, r.message) for r in [await row(engine, secret), await row(engine, kept)]
    ] == [
        (3, "device lost", ""),
        (3, "device lost", TEXT),
    ]
    for message_id in (secret, kept):
        await report(engine, "dropped", message_id)
    found = await row(engine, secret)
    assert (found.status, found.reason, found.message) == (3, leases.UNSENT_NOT_STORED, "")
    assert await steps(engine, secret) == [(3, "device lost"), (3, leases.UNSENT_NOT_STORED)]
    assert ((await row(engine, kept)).status, (await row(engine, kept)).message) == (0, TEXT)


async def test_an_account_that_resends_lost_sms_keeps_the_text_of_one_waiting_again(engine, client) -> None:
    caller = await make_caller(engine)
    async with engine.begin() as conn:
        await conn.execute(update(Account).where(Account.id == caller.account_id).values(resend_lost=True))
    message_id = await new_sms(engine, client, no_store=True, caller=caller)
    await lease(engine, message_id, expires_in=-1)
    await end_lapsed_leases(engine)
    found = await row(engine, message_id)
    assert (found.status, found.lease_device_id, found.message) == (0, "", TEXT)


async def test_a_deleted_no_store_sms_its_device_lets_go_ends_cancelled_without_text(engine, client) -> None:
    caller = await make_caller(engine)
    message_id = await new_sms(engine, client, no_store=True, caller=caller)
    await lease(engine, message_id)
    deleted = await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json={"id": message_id})
    assert deleted.status_code == 204
    await report(engine, "dropped", message_id, attempt=1)
    found = await row(engine, message_id)
    assert (found.status, found.reason, found.message) == (3, "cancelled", "")


async def test_webhook_payloads_of_a_no_store_sms_never_carry_its_text(engine, client) -> None:
    caller = await make_caller(engine)
    webhook_id = await make_webhook(engine, caller)
    async with engine.begin() as conn:
        await conn.execute(update(Webhook).where(Webhook.id == webhook_id).values(events=["sms.status"]))
    secret = await new_sms(engine, client, no_store=True, caller=caller)
    kept = await new_sms(engine, client, no_store=False, caller=caller)
    for message_id in (secret, kept):
        await lease(engine, message_id)
        await report(engine, "sent", message_id, parts=1)
        await report(engine, "delivery", message_id, part=0, parts=1, delivered=True)
    async with engine.connect() as conn:
        events = (await conn.execute(select(WebhookEvent.subject, WebhookEvent.payload))).all()
    data = [(subject, orjson.loads(payload)["data"]) for subject, payload in events]
    assert sorted(d["status"] for s, d in data if s == secret) == [0, 1, 2, 4]
    assert {d["message"] for s, d in data if s == secret} == {""}
    assert {d["message"] for s, d in data if s == kept} == {TEXT}
    assert {d["phone_number"] for s, d in data if s == secret} == {"79990001122"}


# --- the whole way: Home Assistant -> a real server -> simulated phones --------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(env, tmp_path) as gw:
        yield gw


async def test_home_assistant_sends_no_store_and_the_phone_delivers_it_without_the_text_kept(
    gateway: Gateway,
) -> None:
    phone = await gateway.phone(sims=2)
    api = ha.GoSMSApiClient(gateway.token, gateway.http, base_url=f"{gateway.server.base_url}/api/ext/v1")
    devices = await ha.refresh(api)
    states = ha.entity_states(devices)
    assert [d["id"] for d in devices] == [phone.device_id]
    assert (states[f"{phone.device_id}_is_online"], states[f"{phone.device_id}_can_send_sms"]) == (True, True)
    assert len(devices[0]["sim_cards"]) == 2

    level, line = await ha.send_sms_service(
        api, {"phone": "+79001234567", "message": "Code 4711", "no_store": "no_store"}
    )
    assert level == "info", line
    message_id = line.split("id=")[1].split(",")[0]
    sms = await gateway.wait_status(message_id, 4)
    assert (sms["message"], sms["phone_number"], sms["device_id"]) == ("", "79001234567", phone.device_id)
    assert dict(gateway.ledger.sent) == {message_id: 1}


async def test_a_no_store_sms_lost_with_a_vanished_phone_goes_to_no_other_phone(gateway: Gateway) -> None:
    first = await gateway.phone(send_ms=(5000, 5000))
    api = ha.GoSMSApiClient(gateway.token, gateway.http, base_url=f"{gateway.server.base_url}/api/ext/v1")
    message_id = (await api.send_sms("+79001234567", "Code 4711", no_store=True))["id"]
    await gateway.ledger.wait_for(lambda: gateway.ledger.taken[message_id] == 1, timeout=5)
    await gateway.wait_status(message_id, 1)
    first.kill()
    await gateway.phone()
    sms = await gateway.wait_status(message_id, 3, timeout=15)
    assert (sms["message"], sms["device_id"]) == ("", first.device_id)

    # Back, past its lease, the phone lets it go unsent: with no text left it stays failed.
    await gateway.edit_device(first.device_id, is_active=False)
    first.start()
    await gateway.ledger.wait_for(lambda: gateway.ledger.dropped[message_id] == 1, timeout=10)
    deadline = time.monotonic() + 10
    while (history := await gateway.history(message_id))[-1]["reason"] == "device lost":
        assert time.monotonic() < deadline, history
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # a second phone is connected: it would have been offered it by now
    assert [(c["status"], c["reason"]) for c in await gateway.history(message_id)] == [
        (0, ""),
        (1, ""),
        (3, "device lost"),
        (3, leases.UNSENT_NOT_STORED),
    ]
    assert gateway.ledger.received_offers[message_id] == 1 and gateway.ledger.sent[message_id] == 0
