"""deliver_sm to bound receivers: each receiver or transceiver session of an account takes the
account's queued notices (smpp/notices.py), a window at a time, sends them and deletes each
one its client answered.

Delivery is at least once, as SMPP's own is: a notice is taken for `answer_seconds`; if the
answer does not come in time, or the session ends first, it goes back and the next session (on
any node) sends it again. An answer of ESME_RX_T_APPN or ESME_RTHROTTLED (or any status
but a permanent refusal) puts it back after a pause that doubles with each attempt; one of
ESME_RX_P_APPN or ESME_RX_R_APPN drops it; housekeeping drops those older than
SIMRELAY_SMPP_HOLD_DAYS.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import structlog
from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection

from simrelay.smpp import notices
from simrelay.smpp.codes import CommandStatus, EsmType, MessageState
from simrelay.smpp.models import ADDRESS_MAX, SmppNotice
from simrelay.smpp.pdu import DeliverSm, DeliverSmResp, Pdu
from simrelay.smpp.receipt import Receipt, format_receipt, receipt_options
from simrelay.smpp.text import encode_text
from simrelay.smpp.tlv import NO_OPTIONS, Options
from simrelay.storage.database import Database

log = structlog.get_logger(__name__)

table = cast(Table, SmppNotice.__table__)
c = table.c
_S = CommandStatus

SHORT_MESSAGE_MAX = 254
"""Octets short_message holds (§4.6.1); a longer MO goes in message_payload."""
RETRY_MAX_SECONDS = 600.0
# ESME_RX_P_APPN: the receiver will never take it; ESME_RX_R_APPN: it refuses this message.
_PERMANENT = frozenset({_S.ESME_RX_P_APPN, _S.ESME_RX_R_APPN})


@dataclass(frozen=True, slots=True)
class Policy:
    window: int = 10
    """deliver_sm sent to one session before their answers are awaited."""
    answer_seconds: float = 30.0
    poll_seconds: float = 1.0
    """How often a session looks for notices queued by another node (this node's wake it)."""


def _claim(conn: Connection, account_id: str, *, now: float, until: float, limit: int) -> list[Any]:
    query = (
        select(c.id, c.payload, c.attempts)
        .where(c.account_id == account_id, c.locked_until <= now)
        .order_by(c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Two sessions of the account (on two nodes) take different notices, never the same.
        query = query.with_for_update(skip_locked=True)
    rows = list(conn.execute(query))
    if rows:
        conn.execute(
            update(table)
            .where(c.id.in_([row.id for row in rows]))
            .values(locked_until=until, attempts=c.attempts + 1)
        )
    return rows


def _finish(conn: Connection, ids: Sequence[str]) -> None:
    conn.execute(delete(table).where(c.id.in_(ids)))


def _put_back(conn: Connection, retries: dict[str, float]) -> None:
    for notice_id, at in retries.items():
        conn.execute(update(table).where(c.id == notice_id).values(locked_until=at))


def _forget_old(conn: Connection, *, before: float) -> int:
    return int(conn.execute(delete(table).where(c.created_at < before)).rowcount or 0)


async def forget_old(db: Database, *, older_than: float) -> int:
    """Drops notices no client took in `older_than` seconds (housekeeping)."""
    before = time.time() - older_than
    return await db.run(lambda conn: _forget_old(conn, before=before))


def _address(value: str) -> str:
    # Sender names may hold characters a C-Octet String cannot carry, or be longer.
    return value.encode("latin-1", "replace").decode("latin-1").replace("\x00", "")[:ADDRESS_MAX]


def deliver_sm(payload: dict[str, Any], *, sequence: int) -> DeliverSm:
    """The deliver_sm of a queued notice."""
    addresses = {
        "source_addr": _address(payload["source_addr"]),
        "source_addr_ton": payload["source_ton"],
        "source_addr_npi": payload["source_npi"],
        "destination_addr": _address(payload["destination_addr"]),
        "dest_addr_ton": payload["dest_ton"],
        "dest_addr_npi": payload["dest_npi"],
    }
    if payload["kind"] == notices.RECEIPT:
        receipt = Receipt(
            message_id=payload["message_id"],
            state=MessageState(payload["state"]),
            submitted=payload["submitted"],
            done=payload["done"],
            error=payload["error"],
            text=payload["text"],
        )
        return DeliverSm(
            sequence=sequence,
            esm_class=EsmType.DELIVERY_RECEIPT,
            short_message=format_receipt(receipt).encode("ascii"),
            options=receipt_options(receipt),
            **addresses,
        )
    data_coding, octets = encode_text(payload["text"])
    options: Options = NO_OPTIONS
    if len(octets) > SHORT_MESSAGE_MAX:
        options, octets = Options(message_payload=octets), b""
    return DeliverSm(
        sequence=sequence, data_coding=data_coding, short_message=octets, options=options, **addresses
    )


class Outbox:
    """This node's side of the notices: the database, the policy, and the wake-up of its
    sessions when a transaction here queued notices."""

    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy
        self._waiting: set[asyncio.Event] = set()

    def wake(self) -> None:
        for event in self._waiting:
            event.set()

    @contextlib.contextmanager
    def waking(self, event: asyncio.Event) -> Iterator[None]:
        """`event` is set at each wake() while inside."""
        self._waiting.add(event)
        try:
            yield
        finally:
            self._waiting.discard(event)

    def delivery(self, account_id: str, send: Callable[[Pdu], None], sequence: Callable[[], int]) -> Delivery:
        return Delivery(self, account_id, send, sequence)


class Delivery:
    """One session's deliveries: run() sends the account's notices until cancelled;
    answered() takes the client's deliver_sm_resp."""

    def __init__(
        self, outbox: Outbox, account_id: str, send: Callable[[Pdu], None], sequence: Callable[[], int]
    ) -> None:
        self._outbox = outbox
        self._account_id = account_id
        self._send = send
        self._sequence = sequence
        self._answers: dict[int, asyncio.Future[int]] = {}
        self._wake = asyncio.Event()

    def answered(self, response: DeliverSmResp) -> None:
        future = self._answers.get(response.sequence)
        if future is not None and not future.done():
            future.set_result(response.status)

    async def run(self) -> None:
        with self._outbox.waking(self._wake):
            while True:
                self._wake.clear()
                if not await self._round():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._outbox.policy.poll_seconds):
                            await self._wake.wait()

    async def _round(self) -> int:
        """Sends one window of notices and settles each by its answer; the number sent."""
        policy = self._outbox.policy
        now = time.time()
        rows = await self._outbox.db.run(
            lambda conn: _claim(
                conn,
                self._account_id,
                now=now,
                until=now + policy.answer_seconds,
                limit=policy.window,
            )
        )
        if not rows:
            return 0
        loop = asyncio.get_running_loop()
        waiting: dict[str, asyncio.Future[int]] = {}
        finished: list[str] = []
        ended = False
        try:
            for row in rows:
                sequence = self._sequence()
                try:
                    pdu = deliver_sm(orjson.loads(row.payload), sequence=sequence)
                except (ValueError, KeyError):
                    log.exception("smpp_notice_unreadable", notice=row.id)
                    finished.append(row.id)
                    continue
                future = self._answers[sequence] = loop.create_future()
                waiting[row.id] = future
                self._send(pdu)
            if waiting:
                await asyncio.wait(set(waiting.values()), timeout=policy.answer_seconds)
        except asyncio.CancelledError:
            ended = True
            raise
        finally:
            retries: dict[str, float] = {}
            for row in rows:
                answer = waiting.get(row.id)
                if answer is None:
                    continue
                if not answer.done():
                    # No answer in time: it stays taken until answer_seconds end, then any
                    # session sends it again; a session that ended lets it go at once.
                    answer.cancel()
                    if ended:
                        retries[row.id] = 0.0
                elif answer.result() == _S.ESME_ROK or answer.result() in _PERMANENT:
                    finished.append(row.id)
                    if answer.result() != _S.ESME_ROK:
                        log.warning("smpp_notice_refused", notice=row.id, status=answer.result())
                else:
                    retries[row.id] = time.time() + min(2.0**row.attempts, RETRY_MAX_SECONDS)
            self._answers.clear()
            await asyncio.shield(self._settle(finished, retries))
        return len(rows)

    async def _settle(self, finished: list[str], retries: dict[str, float]) -> None:
        if not finished and not retries:
            return

        def work(conn: Connection) -> None:
            if finished:
                _finish(conn, finished)
            _put_back(conn, retries)

        await self._outbox.db.run(work)
