"""Status history: every status change of an SMS, with time, device and reason (sync Core)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, func, insert, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Connection

from simrelay.sms import events, retention
from simrelay.sms.models import MessageHistory
from simrelay.sms.status import FINAL, Change, Status
from simrelay.storage.database import before_commit
from simrelay.storage.direct import Direct

history = cast(Table, MessageHistory.__table__)
REASON_MAX = 200
"""The reason column's length (an SMS's own too)."""
_INSERT = Direct(
    insert(history).values(
        {name: bindparam(name) for name in ("message_id", "status", "at", "device_id", "sim", "reason")}
    )
)


def record_changes(conn: Connection, changes: list[Change]) -> None:
    """Records status changes, announces them to webhooks (sms.status) and forgets the text of
    `no_store` SMS that became final (sms/retention.py), all before this transaction commits:
    a batch of device reports writes its history with one statement, not one per report."""
    if not changes:
        return
    events.announce_changes(conn, changes)
    retention.forget_final_texts(conn, (change.message_id for change in changes if change.status in FINAL))
    before_commit(conn, _insert, changes)


def _insert(conn: Connection, changes: list[Change]) -> None:
    _INSERT.execute_many(
        conn,
        (
            {
                "message_id": change.message_id,
                "status": int(change.status),
                "at": change.at,
                "device_id": change.device_id,
                "sim": change.sim,
                "reason": change.reason,
            }
            for change in changes
        ),
    )


def record_waiting(conn: Connection, notes: list[tuple[str, str]], *, now: float) -> None:
    """Why these SMS still wait (a status 0 entry with the reason, no webhook: their status did
    not change), for /v1/sms/get's history and the panel."""
    if notes:
        waiting = [Change(message_id, Status.WAITING, now, "", None, reason) for message_id, reason in notes]
        before_commit(conn, _insert, waiting)


def changes_of(conn: Connection, message_id: str) -> list[dict[str, Any]]:
    """The recorded changes, oldest first (status 0 at creation is not recorded: see time_create)."""
    query = (
        select(history.c.status, history.c.at, history.c.device_id, history.c.sim, history.c.reason)
        .where(history.c.message_id == message_id)
        .order_by(history.c.id)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def takes_since(conn: Connection, device_id: str, *, since: float) -> list[tuple[int | None, float]]:
    """(sim, time) of each SMS the device took since `since`: its pacing budget already spent."""
    query = select(history.c.sim, history.c.at).where(
        history.c.device_id == device_id,
        history.c.status == int(Status.TAKEN),
        history.c.at >= since,
    )
    return [(row[0], row[1]) for row in conn.execute(query)]


def takes_per_day(
    conn: Connection, device_ids: Collection[str], *, since: float, day: int
) -> dict[tuple[str, int | None, int], int]:
    """(device, SIM slot, day number) -> SMS these devices took that day, since `since`; `day` is
    the day's length in seconds. An SMS taken again after a lease ended counts again: each take
    is one more send through that SIM. Found through the (device_id, at) index."""
    if not device_ids:
        return {}
    # A whole second first: PostgreSQL's cast rounds a double (23:59:59.6 would be the next
    # day), SQLite's truncates; then integer division on both.
    whole = func.floor(history.c.at) if conn.dialect.name == "postgresql" else history.c.at
    number = sql_cast(whole, BigInteger) // day
    query = (
        select(history.c.device_id, history.c.sim, number, func.count())
        .where(
            history.c.device_id.in_(device_ids),
            history.c.at >= since,
            history.c.status == int(Status.TAKEN),
        )
        .group_by(history.c.device_id, history.c.sim, number)
    )
    return {(row[0], row[1], int(row[2])): int(row[3]) for row in conn.execute(query)}


def sims_used_before(
    conn: Connection, device_id: str, sims: Collection[int | None], *, before: float
) -> set[int | None]:
    """Which of these SIM slots of the device took an SMS before `before` (a warm-up is over
    for them); one bounded lookup per slot on the (device_id, at) index."""
    used: set[int | None] = set()
    for sim in sims:
        slot = history.c.sim.is_(None) if sim is None else history.c.sim == sim
        query = (
            select(history.c.at)
            .where(
                history.c.device_id == device_id,
                history.c.at < before,
                history.c.status == int(Status.TAKEN),
                slot,
            )
            .limit(1)
        )
        if conn.execute(query).first() is not None:
            used.add(sim)
    return used


def first_times(
    conn: Connection, message_ids: Collection[str], statuses: Collection[Status]
) -> dict[tuple[str, int], float]:
    """(message id, status) -> when the SMS first reached that status, for these SMS and statuses."""
    if not message_ids:
        return {}
    query = (
        select(history.c.message_id, history.c.status, func.min(history.c.at))
        .where(history.c.message_id.in_(message_ids), history.c.status.in_([int(s) for s in statuses]))
        .group_by(history.c.message_id, history.c.status)
    )
    return {(row[0], int(row[1])): float(row[2]) for row in conn.execute(query)}
