"""The dispatch side of messages: which SMS a device may be offered, leases, and taking them
back (sync Core; see devices/dispatch.py for who calls what, and when).

An offer grants a lease: `lease_device_id` names the device, `lease_until` is when it is
asked to drop the SMS if it has not reported, `lease_expires` its hard timeout. Only one
device holds a lease at a time; every grant is a conditional update inside a transaction that
holds the rows (SKIP LOCKED on PostgreSQL, SQLite's write lock otherwise), so no SMS is ever
leased twice.

The lease rule: an SMS goes back to the queue only if no device can have begun sending it:
it was never handed over (`lease_handed`), or the device confirmed that it let it go. One
handed over whose device vanished ends, at the hard timeout, in status 3 "device lost"; a
later report of that device still counts: it sent it after all (3 -> 2), or it let it go
unsent (3 -> 0, and another device may send it). An account may opt into resending such SMS
at once instead (`accounts.resend_lost`): they may then be sent twice.

`attempts` counts leases, and names each one (a late `dropped` about an earlier lease must not
end a newer one); offers a device declined because its SIM was failing (`declines`) are leases
but not attempts: an SMS fails after `max_attempts` of `attempts - declines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, or_, select, text, update
from sqlalchemy.engine import Connection

from simrelay.accounts.models import Account
from simrelay.sms.history import record_changes
from simrelay.sms.models import OFFERABLE as OFFERABLE_SQL
from simrelay.sms.models import Hold, Message, devices
from simrelay.sms.status import Change, Status
from simrelay.storage.direct import Direct

messages = cast(Table, Message.__table__)
accounts = cast(Table, Account.__table__)
c = messages.c

# Literal, not bound: only then can the planners match the partial indexes' conditions.
OFFERABLE = text(OFFERABLE_SQL)
EXPIRING = text("status = 0 AND valid_until IS NOT NULL")
LEASED = text("lease_device_id <> ''")

CANCELLED = "cancelled"
EXPIRED = "expired"
OPTED_OUT = "opted out"
DEVICE_LOST = "device lost"
REQUEUED = "device lost, then let it go unsent"
UNSENT_NOT_STORED = "device lost, then let it go unsent; its text was not kept (no_store)"
LAPSED = "lease lapsed"
LAPSED_RESENT = "device lost, sent again (may send twice)"
FREE_DECLINES = 100
"""Declined offers that cost an SMS no attempt; later ones count (`attempts` is a small integer,
and a device that declines without saying its SIM is failing must not keep an SMS forever)."""

_CLEAR_LEASE: dict[str, Any] = {
    "lease_device_id": "",
    "lease_until": None,
    "lease_expires": None,
    "lease_drop": False,
    "lease_handed": True,
}
_LEASE_COLUMNS = (
    c.id,
    c.status,
    c.device_id,
    c.lease_device_id,
    c.lease_drop,
    c.lease_handed,
    c.sim,
    c.attempts,
    c.declines,
    c.deleted_at,
    c.valid_until,
    c.hold,
)
_OFFER_COLUMNS = (
    c.id,
    c.let_go_by,
    c.phone_number,
    c.message,
    c.requested_device_id,
    c.to_sim,
    c.valid_until,
    c.encoding,
    c.parts,
    c.attempts,
)


def _locked(conn: Connection, query: Select[Any]) -> Select[Any]:
    """PostgreSQL: lock the rows, skipping those another node is handling (SQLite has taken
    the database's write lock at BEGIN IMMEDIATE already)."""
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


class OfferRow(NamedTuple):
    """What an offer is planned and written from (read on the driver's cursor: see find_offerable)."""

    id: str
    let_go_by: str
    phone_number: str
    message: str
    requested_device_id: str
    to_sim: int | None
    valid_until: int | None
    encoding: str
    parts: int
    attempts: int


def _offerable(pinned: ColumnElement[bool]) -> Select[Any]:
    return (
        select(*(c[name] for name in OfferRow._fields))
        .where(
            c.account_id == bindparam("account_id"),
            OFFERABLE,
            pinned,
            or_(c.send_at.is_(None), c.send_at <= bindparam("now")),
        )
        .order_by(c.id)
        .limit(bindparam("limit"))
    )


_UNPINNED = _offerable(c.requested_device_id == "")
_OFFERABLE_UNPINNED = {False: Direct(_UNPINNED), True: Direct(_UNPINNED.with_for_update(skip_locked=True))}
_ANY_PINNED = Direct(
    select(c.id)
    .where(c.account_id == bindparam("account_id"), OFFERABLE, c.requested_device_id != "")
    .limit(1)
)


def find_offerable(
    conn: Connection, account_id: str, *, device_ids: Sequence[str], now: float, limit: int
) -> list[OfferRow]:
    """The account's oldest SMS that one of `device_ids` may take now (unpinned or pinned to one).

    Every round of dispatch runs this, so the common case, no SMS pinned to a device, is one
    precompiled statement on the driver's cursor; rows pinned to a device are looked for only
    when the account has such rows waiting (a statement built for these devices)."""
    postgres = conn.dialect.name == "postgresql"
    params = {"account_id": account_id, "now": int(now), "limit": limit}
    rows = [OfferRow._make(row) for row in _OFFERABLE_UNPINNED[postgres].rows(conn, params)]
    if device_ids and _ANY_PINNED.rows(conn, {"account_id": account_id}):
        pinned = _offerable(c.requested_device_id.in_(device_ids))
        pinned = pinned.with_for_update(skip_locked=True) if postgres else pinned
        rows += [OfferRow._make(tuple(row)) for row in conn.execute(pinned, params)]
        rows = sorted(rows, key=lambda row: row.id)[:limit]
    return rows


def accounts_with_work(conn: Connection, account_ids: Sequence[str], *, now: float) -> set[str]:
    """Which of these accounts have an SMS a device could be offered now (a cheap read on
    the partial index: the timer's probe, so that idle accounts cost no write)."""
    found: set[str] = set()
    for start in range(0, len(account_ids), 500):
        query = (
            select(c.account_id)
            .where(
                c.account_id.in_(account_ids[start : start + 500]),
                OFFERABLE,
                or_(c.send_at.is_(None), c.send_at <= int(now)),
            )
            .distinct()
        )
        found.update(row[0] for row in conn.execute(query))
    return found


@dataclass(frozen=True, slots=True)
class Grant:
    message_id: str
    device_id: str
    sim: int | None
    lease_until: float
    lease_expires: float
    handed: bool = True
    """False for a pull device: it has the SMS only once a fetch lists it."""


_GRANT = (
    update(messages)
    .where(c.id == bindparam("b_id"))
    .values(
        lease_device_id=bindparam("b_device"),
        sim=bindparam("b_sim"),
        lease_until=bindparam("b_until"),
        lease_expires=bindparam("b_expires"),
        lease_drop=False,
        lease_handed=bindparam("b_handed"),
        attempts=c.attempts + 1,
    )
)


def grant_leases(conn: Connection, grants: Sequence[Grant]) -> None:
    """Leases rows that `find_offerable` returned in this same transaction."""
    if grants:
        conn.execute(
            _GRANT,
            [
                {
                    "b_id": g.message_id,
                    "b_device": g.device_id,
                    "b_sim": g.sim,
                    "b_until": g.lease_until,
                    "b_expires": g.lease_expires,
                    "b_handed": g.handed,
                }
                for g in grants
            ],
        )


def renew_leases(
    conn: Connection, message_ids: Sequence[str], *, device_id: str, until: float, expires: float
) -> None:
    """Leases again, as a new attempt, SMS offered to the device again after a reconnect."""
    if message_ids:
        conn.execute(
            update(messages)
            .where(c.id.in_(message_ids), c.lease_device_id == device_id)
            .values(lease_until=until, lease_expires=expires, lease_drop=False, attempts=c.attempts + 1)
        )


def fail_waiting(conn: Connection, failures: Sequence[tuple[str, str]], *, now: float) -> list[str]:
    """Ends waiting SMS in status 3 without any device (expired, opted out); returns their ids."""
    failed: list[str] = []
    changes: list[Change] = []
    for message_id, reason in failures:
        result = conn.execute(
            update(messages)
            .where(c.id == message_id, c.status == int(Status.WAITING))
            .values(status=int(Status.SEND_FAILED), reason=reason, **_CLEAR_LEASE)
        )
        if result.rowcount:
            failed.append(message_id)
            changes.append(Change(message_id, Status.SEND_FAILED, now, reason=reason))
    record_changes(conn, changes)
    return failed


def expire_waiting(conn: Connection, *, now: float, limit: int = 500) -> list[str]:
    """Waiting, unleased SMS whose `valid_until` passed end in status 3, "expired"."""
    query = (
        select(c.id)
        .where(EXPIRING, c.valid_until < int(now), c.lease_device_id == "")
        .order_by(c.valid_until)
        .limit(limit)
    )
    ids = [row[0] for row in conn.execute(_locked(conn, query))]
    return fail_waiting(conn, [(message_id, EXPIRED) for message_id in ids], now=now)


def leases_of(conn: Connection, device_id: str, *, lock: bool = False) -> Sequence[Row[Any]]:
    """What the device holds, with what an offer repeats; `lock`: held until the transaction ends."""
    query = (
        select(*[*_LEASE_COLUMNS, *_OFFER_COLUMNS[1:], c.lease_until, c.time_create])
        .where(LEASED, c.lease_device_id == device_id)
        .order_by(c.id)
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).all()


def request_overdue_drops(
    conn: Connection, device_ids: Sequence[str], *, now: float, max_attempts: int
) -> tuple[list[tuple[str, str, int]], list[tuple[str, str]]]:
    """Leases past `lease_until`: one handed over is marked to be dropped, (message id, device
    id, attempt) of each returned; one a pull device never fetched goes back to the queue at
    once (it cannot have begun sending it), (message id, device id) of each returned."""
    if not device_ids:
        return [], []
    # Rows a report is updating right now are skipped (their turn comes next tick): a plain
    # bulk UPDATE would wait on them, and deadlock with a report batch locking in its order.
    overdue = (
        select(*_LEASE_COLUMNS)
        .where(LEASED, c.lease_device_id.in_(device_ids), c.lease_until < now, c.lease_drop.is_(False))
        .order_by(c.id)
    )
    rows = conn.execute(_locked(conn, overdue)).all()
    freed: list[tuple[str, str]] = []
    for row in rows:
        if not row.lease_handed:
            release_lease(conn, row, now=now, max_attempts=max_attempts, why="not fetched")
            freed.append((row.id, row.lease_device_id))
    ids = [row.id for row in rows if row.lease_handed]
    if not ids:
        return [], freed
    result = conn.execute(
        update(messages)
        .where(c.id.in_(ids))
        .values(lease_drop=True)
        .returning(c.id, c.lease_device_id, c.attempts)
    )
    return [(row[0], row[1], row[2]) for row in result], freed


def release_unfetched(conn: Connection, device_ids: Sequence[str], *, now: float, max_attempts: int) -> int:
    """The node these pull devices were connected to is stopping: the offers they never fetched
    go back to the queue now rather than at `lease_until` (no device can have begun sending
    them), for a node that stays to offer. Those fetched stay with their device. Returns how
    many went back."""
    if not device_ids:
        return 0
    query = (
        select(*_LEASE_COLUMNS)
        .where(LEASED, c.lease_device_id.in_(device_ids), c.lease_handed.is_(False))
        .order_by(c.id)
    )
    if conn.dialect.name == "postgresql":
        # Not SKIP LOCKED: a fetch handing one over right now is waited for, and then the row
        # no longer matches.
        query = query.with_for_update()
    rows = conn.execute(query).all()
    for row in rows:
        release_lease(conn, row, now=now, max_attempts=max_attempts, why="node stopping")
    return len(rows)


def take_back_from_sim(
    conn: Connection, device_id: str, sim: int | None, *, now: float, max_attempts: int
) -> tuple[list[str], list[tuple[str, int]]]:
    """The SIM was paused: its SMS not yet sent move to other SIMs. Those never handed over go
    back to the queue now (their ids returned first); the device is asked to drop the others
    (id, attempt), taken or not: it lets go of those it has not begun sending, which go back when
    it confirms, never sooner (the lease rule), and reports the others.
    A device that cannot let go (an old Android app) keeps them."""
    slot = c.sim.is_(None) if sim is None else c.sim == sim
    query = (
        select(*_LEASE_COLUMNS, devices.c.can_cancel)
        .select_from(messages.outerjoin(devices, devices.c.id == c.lease_device_id))
        .where(
            LEASED,
            c.lease_device_id == device_id,
            c.status.in_([int(Status.WAITING), int(Status.TAKEN)]),
            slot,
        )
        .order_by(c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=messages)
    released: list[str] = []
    asked: list[tuple[str, int]] = []
    for row in conn.execute(query).all():
        if not row.lease_handed:
            release_lease(conn, row, now=now, max_attempts=max_attempts, why="")
            released.append(row.id)
        elif row.can_cancel is not False and not row.lease_drop:
            conn.execute(update(messages).where(c.id == row.id).values(lease_drop=True))
            asked.append((row.id, int(row.attempts)))
    return released, asked


class CannotCancel(Exception):
    """The device holding the SMS has it and cannot let it go (an old Android app)."""

    def __init__(self, device_id: str, app_version: str) -> None:
        super().__init__(device_id)
        self.device_id = device_id
        self.app_version = app_version


def request_drop(conn: Connection, message_id: str, *, now: float, max_attempts: int) -> str:
    """Asks the holder of this SMS's lease to drop it, or ends the lease here if the SMS was
    never handed over; the holder's id (to be told), or "" if none holds it. Raises
    CannotCancel."""
    query = (
        select(*_LEASE_COLUMNS, devices.c.can_cancel, devices.c.app_version)
        .select_from(messages.outerjoin(devices, devices.c.id == c.lease_device_id))
        .where(LEASED, c.id == message_id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=messages)
    row = conn.execute(query).first()
    if row is None:
        return ""
    if not row.lease_handed:
        release_lease(conn, row, now=now, max_attempts=max_attempts, why="")
        return str(row.lease_device_id)
    if row.can_cancel is False:
        raise CannotCancel(row.lease_device_id, row.app_version or "")
    conn.execute(update(messages).where(c.id == message_id).values(lease_drop=True))
    return str(row.lease_device_id)


def find_lapsed(
    conn: Connection, *, now: float, silent_since: float, given_up_before: float, limit: int = 500
) -> Sequence[Row[Any]]:
    """Leases past their hard expiry whose device has vanished: not heard from since
    `silent_since` (or deleted). A device still connected answers its drops, and its reports
    may just be queued, so its leases are kept until `given_up_before`, which only a device
    that ignores drops for a whole second hard timeout reaches."""
    holder = devices.alias("holder")
    query: Select[Any] = (
        select(*_LEASE_COLUMNS, accounts.c.resend_lost)
        .select_from(
            messages.outerjoin(holder, holder.c.id == c.lease_device_id).join(
                accounts, accounts.c.id == c.account_id
            )
        )
        .where(
            LEASED,
            c.lease_expires < now,
            or_(
                holder.c.id.is_(None),
                holder.c.last_online_at.is_(None),
                holder.c.last_online_at < silent_since,
                c.lease_expires < given_up_before,
            ),
        )
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=messages)
    return conn.execute(query).all()


def hand_over(conn: Connection, message_ids: Sequence[str], *, device_id: str, until: float) -> None:
    """A pull device (the Android app) has just fetched these SMS: from now on it may have them.
    One it has not confirmed is asked to be dropped only if it stays silent about it for a whole
    lease from now: an app that polls every few minutes must not lose its SMS before it could
    see them."""
    if message_ids:
        conn.execute(
            update(messages)
            .where(c.id.in_(message_ids), c.lease_device_id == device_id)
            .values(lease_handed=True)
        )
        conn.execute(
            update(messages)
            .where(
                c.id.in_(message_ids),
                c.lease_device_id == device_id,
                c.status == int(Status.WAITING),
                c.lease_drop.is_(False),
            )
            .values(lease_until=until)
        )


def extend_leases(conn: Connection, message_ids: Sequence[str], *, device_id: str, expires: float) -> None:
    """The device is back and still holds these: its hard timeout starts over."""
    if message_ids:
        conn.execute(
            update(messages)
            .where(c.id.in_(message_ids), c.lease_device_id == device_id)
            .values(lease_expires=expires)
        )


def release_lease(
    conn: Connection, row: Any, *, now: float, max_attempts: int, why: str, declined: bool = False
) -> list[Change]:
    """Ends `row`'s lease. The SMS waits again, unless it was deleted, expired or has used up its
    attempts: then it ends in status 3. An offer never handed over (a pull device that did not
    fetch it) is no attempt: it is taken back. Nor is one the device `declined` unstarted, its
    SIM failing; that one still counts as a lease, so that its number is never used again.
    Returns the status changes made."""
    status = Status(row.status)
    attempts = row.attempts if row.lease_handed else max(0, row.attempts - 1)
    declines = row.declines + int(declined and row.lease_handed and row.declines < FREE_DECLINES)
    if _cancelled(row):
        new, reason = Status.SEND_FAILED, CANCELLED
    elif row.valid_until is not None and row.valid_until <= now:
        new, reason = Status.SEND_FAILED, EXPIRED
    elif attempts - declines >= max_attempts:
        new, reason = Status.SEND_FAILED, f"not sent after {row.attempts - declines} attempts"
    else:
        new, reason = Status.WAITING, why
    values: dict[str, Any] = dict(_CLEAR_LEASE)
    if new is Status.WAITING:
        values["device_id"] = ""
        if row.lease_handed:
            values["let_go_by"] = c.let_go_by + (row.lease_device_id + ",")
        else:
            values["attempts"] = attempts
        if declines != row.declines:
            values["declines"] = declines
    else:
        values["reason"] = reason
    if new is not status:
        values["status"] = int(new)
    conn.execute(
        update(messages).where(c.id == row.id, c.lease_device_id == row.lease_device_id).values(**values)
    )
    if new is status:
        return []
    changes = [Change(row.id, new, now, device_id=row.lease_device_id, sim=row.sim, reason=reason)]
    record_changes(conn, changes)
    return changes


def _cancelled(row: Any) -> bool:
    """Deleted, or its campaign cancelled: a lease of it that ends, ends it."""
    return row.deleted_at is not None or row.hold == Hold.CANCELLED


def lose_lease(conn: Connection, row: Any, *, now: float) -> list[Change]:
    """The device that was handed this SMS vanished: it ends in status 3 "device lost", kept
    as that device's, so that a report it makes later still counts."""
    conn.execute(
        update(messages)
        .where(c.id == row.id, c.lease_device_id == row.lease_device_id)
        .values(
            status=int(Status.SEND_FAILED),
            reason=DEVICE_LOST,
            device_id=row.lease_device_id,
            **_CLEAR_LEASE,
        )
    )
    changes = [
        Change(
            row.id, Status.SEND_FAILED, now, device_id=row.lease_device_id, sim=row.sim, reason=DEVICE_LOST
        )
    ]
    record_changes(conn, changes)
    return changes


def requeue_lost(conn: Connection, row: Any, *, now: float, max_attempts: int) -> list[Change]:
    """The device an SMS was lost with (`row.device_id`) says it let it go unsent: no one can
    be sending it, so it waits again for another device (3 -> 0), unless it was deleted,
    expired or has used its attempts, or was sent with `no_store` (its text went when it was
    lost: sms/retention.py): then only its reason changes."""
    device_id = str(row.device_id)
    if _cancelled(row):
        new, reason = Status.SEND_FAILED, CANCELLED
    elif row.valid_until is not None and row.valid_until <= now:
        new, reason = Status.SEND_FAILED, EXPIRED
    elif row.attempts - row.declines >= max_attempts:
        new, reason = Status.SEND_FAILED, f"not sent after {row.attempts - row.declines} attempts"
    elif row.no_store:
        new, reason = Status.SEND_FAILED, UNSENT_NOT_STORED
    else:
        new, reason = Status.WAITING, REQUEUED
    values: dict[str, Any] = {"status": int(new), "reason": "" if new is Status.WAITING else reason}
    if new is Status.WAITING:
        values.update(device_id="", let_go_by=c.let_go_by + (device_id + ","))
    conn.execute(
        update(messages)
        .where(c.id == row.id, c.status == int(Status.SEND_FAILED), c.reason == DEVICE_LOST)
        .values(**values)
    )
    changes = [Change(row.id, new, now, device_id=device_id, sim=row.sim, reason=reason)]
    record_changes(conn, changes)
    return changes


def end_lapsed(conn: Connection, row: Any, *, now: float, max_attempts: int) -> list[Change]:
    """A lease past its hard timeout whose device vanished (a row of `find_lapsed`): back to
    the queue if it was never handed over (or the account resends lost SMS), else lost."""
    if not row.lease_handed:
        return release_lease(conn, row, now=now, max_attempts=max_attempts, why=LAPSED)
    if row.resend_lost:
        return release_lease(conn, row, now=now, max_attempts=max_attempts, why=LAPSED_RESENT)
    return lose_lease(conn, row, now=now)
