"""sms.status events: every status change of an SMS, creation included, queued in the outbox
in the same transaction as the change (sync Core)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.engine import Connection

from simrelay.sms.models import Message
from simrelay.sms.schemas import message_object
from simrelay.sms.status import Change, Status
from simrelay.storage.database import before_commit
from simrelay.storage.direct import Direct
from simrelay.webhooks.models import Webhook
from simrelay.webhooks.outbox import Event, Kind, queue_events

messages = cast(Table, Message.__table__)
webhooks = cast(Table, Webhook.__table__)
c = messages.c


def announce_created(conn: Connection, rows: Iterable[dict[str, Any]], *, now: float) -> None:
    """Status 0 of newly stored SMS (rows as inserted)."""
    queue_events(conn, [_event(row, Status.WAITING, at=now) for row in rows])


Listener = Callable[[Connection, list[Change]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Has `listener(conn, changes)` told of every status change too, inside the transaction
    that makes them (SMPP receipts: smpp/notices.py). Adding one twice adds it once."""
    if listener not in _listeners:
        _listeners.append(listener)


def announce_changes(conn: Connection, changes: list[Change]) -> None:
    """Queues the events of `changes` once this transaction's work is done: a batch of device
    reports costs one query for all of its changes, not one per change."""
    before_commit(conn, _flush_changes, changes)
    for listener in _listeners:
        before_commit(conn, listener, changes)


_SUBSCRIBED = Direct(
    select(webhooks.c.id)
    .where(webhooks.c.account_id == bindparam("account_id"), webhooks.c.is_active.is_(True))
    .limit(1)
)


def _flush_changes(conn: Connection, changes: list[Change]) -> None:
    accounts = {change.account_id for change in changes}
    if "" not in accounts and not any(_SUBSCRIBED.rows(conn, {"account_id": a}) for a in accounts):
        return  # no webhook would take these: no need to read the SMS
    ids = {change.message_id for change in changes}
    subscribed = exists().where(webhooks.c.account_id == c.account_id, webhooks.c.is_active.is_(True))
    query = select(
        c.id,
        c.account_id,
        c.message,
        c.callback_id,
        c.requested_device_id,
        c.phone_number,
        c.time_create,
        c.to_sim,
        c.no_store,
    ).where(c.id.in_(ids), subscribed)
    rows = {row.id: row._asdict() for row in conn.execute(query)}
    if not rows:
        return
    queue_events(
        conn,
        [
            _event(rows[change.message_id], change.status, at=change.at, device_id=change.device_id)
            for change in changes
            if change.message_id in rows
        ],
    )


def _event(values: dict[str, Any], status: Status, *, at: float, device_id: str = "") -> Event:
    # The object as /v1/sms/get showed it right after this change: back in status 0 the SMS
    # has no device but the one it was pinned to.
    taker = device_id if status is not Status.WAITING else ""
    data = message_object(SimpleNamespace(**{**values, "status": int(status), "device_id": taker}))
    if values.get("no_store"):
        # The outbox keeps payloads for days (webhook_log_days): a text that may not outlive
        # the SMS's final status never goes there.
        data["message"] = ""
    return Event(
        values["account_id"],
        Kind.SMS_STATUS,
        data,
        at=at,
        subject=values["id"],
        webhook_id=values["callback_id"],
    )
