"""The notices table on SQLite and PostgreSQL: MO queued only for accounts with an SMPP user,
each notice taken by one session at a time, settled by its answer, old ones forgotten."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.devices import service as devices
from simrelay.inbox import service as inbox
from simrelay.smpp import delivery, notices, users
from simrelay.smpp.codes import CommandStatus
from simrelay.smpp.delivery import Outbox, Policy
from simrelay.smpp.pdu import DeliverSm, DeliverSmResp, Pdu
from simrelay.storage.database import Database
from tests.factories import make_caller

pytestmark = pytest.mark.integration


async def receive(db: Database, account_id: str, text: str) -> None:
    notices.install()
    device_id = (await devices.all_devices(db, account_id=account_id))[0].id
    now = time.time()
    await db.run(
        lambda conn: inbox.store_received(
            conn,
            account_id=account_id,
            device_id=device_id,
            external_id=f"ext-{text}",
            phone_number="+79161234567",
            message=text,
            received_at=int(now),
            sim=None,
            now=now,
        )
    )


async def queued(db: Database) -> int:
    return int(
        await db.read(lambda conn: conn.execute(select(func.count()).select_from(delivery.table)).scalar())
    )


async def test_mo_is_queued_only_for_an_account_with_an_smpp_user(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    with_user = await make_caller(engine)
    without = await make_caller(engine)
    await users.create_user(db, account_id=with_user.account_id, system_id="mo", password="pw")
    await receive(db, without.account_id, "nobody binds for this")
    assert await queued(db) == 0
    await receive(db, with_user.account_id, "for the SMPP client")
    assert await queued(db) == 1


class Peer:
    """A session's sending side: records deliver_sm, answers them when told."""

    def __init__(self) -> None:
        self.sent: list[DeliverSm] = []
        self.sequence = 0
        self.delivery: delivery.Delivery | None = None

    def send(self, pdu: Pdu) -> None:
        assert isinstance(pdu, DeliverSm)
        self.sent.append(pdu)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def answer(self, status: int = CommandStatus.ESME_ROK) -> None:
        assert self.delivery is not None
        for pdu in self.sent:
            self.delivery.answered(DeliverSmResp(sequence=pdu.sequence, status=status))


async def run_round(outbox: Outbox, account_id: str, peer: Peer, answer: int | None) -> int:
    peer.delivery = outbox.delivery(account_id, peer.send, peer.next_sequence)
    task = asyncio.create_task(peer.delivery._round())
    while not peer.sent and not task.done():
        await asyncio.sleep(0.01)
    if answer is not None:
        peer.answer(answer)
    return await task


async def test_each_notice_goes_to_one_session_and_leaves_when_answered(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine)
    await users.create_user(db, account_id=caller.account_id, system_id="mo", password="pw")
    for n in range(3):
        await receive(db, caller.account_id, f"mo {n}")
    outbox = Outbox(db, Policy(window=2, answer_seconds=0.5))

    first, second = Peer(), Peer()
    one = asyncio.create_task(run_round(outbox, caller.account_id, first, None))  # never answers
    await asyncio.sleep(0.2)
    assert await run_round(outbox, caller.account_id, second, CommandStatus.ESME_ROK) == 1
    assert await one == 2
    texts: list[Any] = [pdu.short_message for pdu in first.sent + second.sent]
    assert sorted(texts) == [b"mo 0", b"mo 1", b"mo 2"]  # the window split them, none twice
    assert await queued(db) == 2  # the answered one is gone

    # The unanswered two are free again once answer_seconds passed; a temporary refusal keeps
    # them for later, a permanent one drops them.
    await asyncio.sleep(0.4)
    later = Peer()
    assert await run_round(outbox, caller.account_id, later, CommandStatus.ESME_RX_T_APPN) == 2
    assert await queued(db) == 2
    assert await run_round(outbox, caller.account_id, Peer(), None) == 0  # held back by the retry pause
    await db.run(lambda conn: conn.execute(delivery.table.update().values(locked_until=0.0)))
    assert await run_round(outbox, caller.account_id, Peer(), CommandStatus.ESME_RX_P_APPN) == 2
    assert await queued(db) == 0


async def test_old_notices_are_forgotten(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine)
    await users.create_user(db, account_id=caller.account_id, system_id="mo", password="pw")
    await receive(db, caller.account_id, "old")
    assert await delivery.forget_old(db, older_than=3600) == 0
    assert await delivery.forget_old(db, older_than=-1) == 1
    assert await queued(db) == 0
