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

from simrelay.sms.history import REASON_MAX, record_changes
from simrelay.sms.leases import DEVICE_LOST, release_lease, requeue_lost
from simrelay.sms.models import Message
from simrelay.sms.status import Change, Status
from simrelay.storage.direct import Direct

messages = cast(Table, Message.__table__)
c = messages.c


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
    declined: bool = False
    """A `dropped` of an offer the device declined unstarted because its SIM is failing: the
    offer was no attempt (sms/leases.py: release_lease)."""


@dataclass(frozen=True, slots=True)
class Applied:
    verdict: Verdict
    changes: list[Change]
    lease_ended: bool = False
    """The device no longer holds this SMS (sent, failed or dropped)."""


class ReportRow(NamedTuple):
    """What a report is checked against, read on the driver's cursor where it is read alone
    (storage/direct.py): SQLAlchemy's own per-statement work cost more than the read."""

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
    declines: int
    deleted_at: float | None
    valid_until: int | None
    no_store: bool
    hold: int


_ROW = select(*(c[name] for name in ReportRow._fields))
_ONE = _ROW.where(c.id == bindparam("message_id"))
_READ_ONE = {False: Direct(_ONE), True: Direct(_ONE.with_for_update())}
_UPDATES: dict[frozenset[str], Direct] = {}


def _update_statement(keys: frozenset[str]) -> Direct:
    """Compiled once per set of columns (a report makes one of three)."""
    statement = _UPDATES.get(keys)
    if statement is None:
        statement = _UPDATES[keys] = Direct(
            update(messages)
            .where(c.id == bindparam("b_id"), c.status == bindparam("b_status"))
            .values({key: bindparam(f"v_{key}") for key in sorted(keys)})
        )
    return statement


def _update_params(message_id: str, guard: int, values: dict[str, Any]) -> dict[str, Any]:
    return {**{f"v_{key}": value for key, value in values.items()}, "b_id": message_id, "b_status": guard}


class ReportBatch:
    """The reports of one transaction. Their rows are read with one statement (on PostgreSQL
    locked, in id order: locked one by one in arrival order, two batches, or a batch and a
    sweep, could each hold a row the other waits for); each report is applied to its row as
    the reports before it left it; the new values are written at the end, one statement per
    set of columns. A batch of a thousand reports so costs a few round trips to PostgreSQL,
    not a few thousand."""

    def __init__(self, conn: Connection, message_ids: set[str], *, now: float, max_attempts: int) -> None:
        self._conn = conn
        self._now = now
        self._max_attempts = max_attempts
        self._postgres = conn.dialect.name == "postgresql"
        self._rows: dict[str, ReportRow] = {}
        if message_ids:
            query = _ROW.where(c.id.in_(sorted(message_ids))).order_by(c.id)
            for row in conn.execute(query.with_for_update() if self._postgres else query):
                self._rows[row.id] = ReportRow._make(tuple(row))
        self._pending: dict[str, tuple[int, dict[str, Any]]] = {}
        """Per SMS: its status as read (the update's guard) and the values to write."""

    def apply(self, report: Report) -> Applied:
        row = self._rows.get(report.message_id)
        if row is None:
            return Applied(Verdict.UNKNOWN, [])
        status = Status(row.status)
        holds = row.lease_device_id == report.device_id and status in (Status.WAITING, Status.TAKEN)
        mine = row.device_id == report.device_id
        lost = status is Status.SEND_FAILED and row.reason == DEVICE_LOST and mine
        if report.kind == "dropped" and lost:
            # Given up on, and now it says it never sent it: the SMS may go to another device.
            if report.attempt is not None and report.attempt != row.attempts:
                return Applied(Verdict.OK, [])
            return Applied(Verdict.OK, self._through_leases(row, requeue_lost))
        if report.kind == "dropped":
            # Confirming a drop is always fine: a device that never had the SMS says so too. One
            # about an earlier lease (a late repeat) must not end the current one.
            if not holds or (report.attempt is not None and report.attempt != row.attempts):
                return Applied(Verdict.OK, [])
            why = "SIM failing" if report.declined else "lease expired" if status is Status.TAKEN else ""
            changes = self._through_leases(row, release_lease, why=why, declined=report.declined)
            return Applied(Verdict.OK, changes, lease_ended=True)
        if not holds and not (mine and status is not Status.WAITING):
            return Applied(Verdict.NOT_LEASED, [])
        if lost and report.kind != "taken":
            # The device was given up on, not refused: what it reports now is what happened.
            status = Status.TAKEN
        changes, values = _advance(row, report, now=self._now, status=status)
        if values:
            _, pending = self._pending.setdefault(row.id, (row.status, {}))
            pending.update(values)
            self._rows[row.id] = row._replace(**{k: v for k, v in values.items() if k in ReportRow._fields})
            record_changes(self._conn, changes)
        return Applied(Verdict.OK, changes, lease_ended="lease_device_id" in values)

    def finish(self) -> None:
        """Writes what the reports changed; call before the transaction commits."""
        by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
        for message_id, (guard, values) in self._pending.items():
            by_columns.setdefault(frozenset(values), []).append(_update_params(message_id, guard, values))
        self._pending.clear()
        for keys, params in by_columns.items():
            _update_statement(keys).execute_many(self._conn, params)

    def _through_leases(self, row: ReportRow, path: Any, **options: Any) -> list[Change]:
        """A drop, by sms/leases.py, which writes the row itself: what this batch holds for the
        row is written first, and the row is read again after."""
        pending = self._pending.pop(row.id, None)
        if pending is not None:
            guard, values = pending
            _update_statement(frozenset(values)).execute(self._conn, _update_params(row.id, guard, values))
        changes: list[Change] = path(
            self._conn, row, now=self._now, max_attempts=self._max_attempts, **options
        )
        [again] = _READ_ONE[self._postgres].rows(self._conn, {"message_id": row.id})
        self._rows[row.id] = ReportRow._make(again)
        return changes


def apply_report(conn: Connection, report: Report, *, now: float, max_attempts: int) -> Applied:
    """One report on its own: a batch of one."""
    batch = ReportBatch(conn, {report.message_id}, now=now, max_attempts=max_attempts)
    applied = batch.apply(report)
    batch.finish()
    return applied


def _advance(
    row: ReportRow, report: Report, *, now: float, status: Status
) -> tuple[list[Change], dict[str, Any]]:
    """The status steps this report proves and the row's new values (none: nothing changes)."""
    changes: list[Change] = []
    values: dict[str, Any] = {}

    def step(new: Status, reason: str = "") -> None:
        nonlocal status
        changes.append(Change(row.id, new, now, report.device_id, row.sim, reason, account_id=row.account_id))
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
        return [], {}
    if changes:
        values["status"] = int(status)
    return changes, values


def _record_part(states: str, report: Report, parts: int) -> str:
    """The first report of each part counts; later ones for the same part change nothing."""
    part = report.part if report.part is not None and report.part >= 0 else 0
    size = max(parts, report.parts or 0, part + 1, len(states))
    chars = list(states.ljust(size, "."))
    if chars[part] == ".":
        chars[part] = "D" if report.delivered else "N"
    return "".join(chars)
