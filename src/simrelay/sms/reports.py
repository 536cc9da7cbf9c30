"""Device reports on an SMS: taken, sent, failed, per-part delivery, dropped (sync Core).

Reports arrive late, twice and out of order, so each one is applied as "walk the status
machine forward as far as this report proves": `sent` before `taken` means taken then sent;
a delivery report before `sent` means sent first. Every step is recorded once in the
history, and a report that would move backwards changes nothing. Only the device holding
the lease (or, after it reported sent, the device that sent it) may report; and the device an
SMS was lost with (status 3 "device lost", sms/leases.py) may still say what became of it:
that it sent it (3 -> 2), or that it let it go unsent (3 -> 0, to another device).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Connection

from simrelay.sms.history import record_changes
from simrelay.sms.leases import DEVICE_LOST, release_lease, requeue_lost
from simrelay.sms.models import Message
from simrelay.sms.status import Change, Status
from simrelay.storage.direct import Direct

messages = cast(Table, Message.__table__)
c = messages.c

REASON_MAX = 200


class Verdict(StrEnum):
    OK = "ok"
    """Applied, or already applied (a duplicate or late report)."""
    NOT_LEASED = "not_leased"
    """The SMS is not this device's."""
    UNKNOWN = "unknown_message"


@dataclass(frozen=True, slots=True)
class Report:
    kind: str
    """taken, sent, failed, delivery or dropped."""
    message_id: str
    device_id: str
    parts: int | None = None
    part: int | None = None
    delivered: bool | None = None
    reason: str = ""
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    verdict: Verdict
    changes: list[Change]
    lease_ended: bool = False
    """The device no longer holds this SMS (sent, failed or dropped)."""


class ReportRow(NamedTuple):
    """What a report is checked against; read on the driver's cursor (storage/direct.py): a batch
    of reports reads one row each, and SQLAlchemy's own per-statement work cost more than the read."""

    id: str
    account_id: str
    status: int
    device_id: str
    lease_device_id: str
    lease_handed: bool
    reason: str
    sim: int | None
    parts: int
    part_states: str
    attempts: int
    deleted_at: float | None
    valid_until: int | None
    no_store: bool


_ROW = select(*(c[name] for name in ReportRow._fields)).where(c.id == bindparam("message_id"))
_READ = {False: Direct(_ROW), True: Direct(_ROW.with_for_update())}
_UPDATES: dict[frozenset[str], Direct] = {}


def _update(conn: Connection, row: Any, values: dict[str, Any]) -> None:
    """The row's new values, by a statement compiled once per set of columns (a report makes
    one of three)."""
    keys = frozenset(values)
    statement = _UPDATES.get(keys)
    if statement is None:
        statement = _UPDATES[keys] = Direct(
            update(messages)
            .where(c.id == bindparam("b_id"), c.status == bindparam("b_status"))
            .values({key: bindparam(f"v_{key}") for key in sorted(keys)})
        )
    params = {f"v_{key}": value for key, value in values.items()}
    statement.execute(conn, {**params, "b_id": row.id, "b_status": row.status})


def lock_messages(conn: Connection, message_ids: set[str]) -> None:
    """PostgreSQL: locks a batch's rows up front, in id order. Locked one by one in arrival
    order, two batches (or a batch and a sweep) can each hold a row the other waits for."""
    if message_ids and conn.dialect.name == "postgresql":
        conn.execute(select(c.id).where(c.id.in_(sorted(message_ids))).order_by(c.id).with_for_update())


def apply_report(conn: Connection, report: Report, *, now: float, max_attempts: int) -> Applied:
    found = _READ[conn.dialect.name == "postgresql"].rows(conn, {"message_id": report.message_id})
    if not found:
        return Applied(Verdict.UNKNOWN, [])
    row = ReportRow._make(found[0])
    status = Status(row.status)
    holds = row.lease_device_id == report.device_id and status in (Status.WAITING, Status.TAKEN)
    lost = status is Status.SEND_FAILED and row.reason == DEVICE_LOST and row.device_id == report.device_id
    if report.kind == "dropped" and lost:
        # Given up on, and now it says it never sent it: the SMS may go to another device.
        if report.attempt is not None and report.attempt != row.attempts:
            return Applied(Verdict.OK, [])
        return Applied(Verdict.OK, requeue_lost(conn, row, now=now, max_attempts=max_attempts))
    if report.kind == "dropped":
        # Confirming a drop is always fine: a device that never had the SMS says so too. One
        # about an earlier lease (a late repeat) must not end the current one.
        if not holds or (report.attempt is not None and report.attempt != row.attempts):
            return Applied(Verdict.OK, [])
        why = "lease expired" if status is Status.TAKEN else ""
        changes = release_lease(conn, row, now=now, max_attempts=max_attempts, why=why)
        return Applied(Verdict.OK, changes, lease_ended=True)
    if not holds and not (row.device_id == report.device_id and status is not Status.WAITING):
        return Applied(Verdict.NOT_LEASED, [])
    if lost and report.kind != "taken":
        # The device was given up on, not refused: what it reports now is what happened.
        return _advance(conn, row, report, now=now, status=Status.TAKEN)
    return _advance(conn, row, report, now=now, status=status)


def _advance(conn: Connection, row: Any, report: Report, *, now: float, status: Status) -> Applied:
    changes: list[Change] = []
    values: dict[str, Any] = {}

    def step(new: Status, reason: str = "") -> None:
        nonlocal status
        changes.append(
            Change(
                row.id,
                new,
                now,
                device_id=report.device_id,
                sim=row.sim,
                reason=reason,
                account_id=row.account_id,
            )
        )
        status = new

    if status is Status.WAITING:
        step(Status.TAKEN)
        values["device_id"] = report.device_id
    if report.kind != "taken" and status is Status.TAKEN:
        if report.kind == "failed":
            reason = (report.reason or "send failed")[:REASON_MAX]
            step(Status.SEND_FAILED, reason)
            values["reason"] = reason
        else:
            parts = report.parts if report.parts and report.parts > 0 else row.parts
            step(Status.SENT)
            values.update(parts=parts, part_states="." * parts)
        values.update(lease_device_id="", lease_until=None, lease_expires=None, lease_drop=False)
    if report.kind == "delivery" and status is Status.SENT:
        states = _record_part(
            values.get("part_states", row.part_states), report, values.get("parts", row.parts)
        )
        values["part_states"] = states
        if "." not in states:
            step(Status.DELIVERED if set(states) == {"D"} else Status.NOT_DELIVERED)
    if not changes and "part_states" not in values:
        return Applied(Verdict.OK, [])
    if changes:
        values["status"] = int(status)
    _update(conn, row, values)
    record_changes(conn, changes)
    return Applied(Verdict.OK, changes, lease_ended="lease_device_id" in values)


def _record_part(states: str, report: Report, parts: int) -> str:
    """The first report of each part counts; later ones for the same part change nothing."""
    part = report.part if report.part is not None and report.part >= 0 else 0
    size = max(parts, report.parts or 0, part + 1, len(states))
    chars = list(states.ljust(size, "."))
    if chars[part] == ".":
        chars[part] = "D" if report.delivered else "N"
    return "".join(chars)
