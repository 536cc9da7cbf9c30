"""The outbox: events are queued here in the transaction of the change that causes them, one
row per webhook that should hear of it, so a crash can neither lose an event nor announce a
change that did not commit (sync Core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, cast

import orjson
from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection

from simrelay.ids import new_object_id
from simrelay.storage.database import after_commit
from simrelay.webhooks.models import Webhook, WebhookEvent

webhooks = cast(Table, Webhook.__table__)
events_table = cast(Table, WebhookEvent.__table__)

QUEUED = "webhooks"
"""after-commit topic: events were queued (the couriers wake up)."""


class Kind(StrEnum):
    SMS_STATUS = "sms.status"
    """Every status change of an SMS, its creation (status 0) included; data: the SMS object."""
    SMS_RECEIVED = "sms.received"
    """A device received an SMS; data: the inbox item."""
    DEVICE_ONLINE = "device.online"
    """A device was heard from after being offline; data: the device object."""
    DEVICE_OFFLINE = "device.offline"
    """Silent for two heartbeat intervals (the contract's meaning of offline)."""
    DEVICE_LOW_BATTERY = "device.low_battery"
    """Battery fell below the low mark while not charging, on a device with `low_battery_alert`."""
    DEVICE_USSD = "device.ussd"
    """A USSD request ended: done, error or timeout; data: the USSD object of /v1/devices/ussd/get."""
    DEVICE_SIM_PAUSED = "device.sim_paused"
    """A SIM was paused after repeated carrier refusals; data: the device object with
    `paused_sim` {sim, paused_until, reason} (devices/pauses.py)."""
    PING = "ping"
    """Sent by /v1/webhooks/test only; nobody subscribes to it."""


SUBSCRIBABLE = tuple(kind.value for kind in Kind if kind is not Kind.PING)


class State(IntEnum):
    PENDING = 0
    """Waiting for its next attempt."""
    DELIVERED = 1
    """A 2xx answered."""
    FAILED = 2
    """Attempts used up, or the receiver answered 410 Gone."""
    CANCELLED = 3
    """Its webhook was switched off before it was delivered."""


@dataclass(frozen=True, slots=True)
class Event:
    account_id: str
    kind: Kind
    data: dict[str, Any]
    at: float
    subject: str = ""
    """The SMS or device it is about (see WebhookEvent.subject)."""
    webhook_id: str = ""
    """Only this webhook hears of it (an SMS's `callback_id`); "" means every subscriber."""


def new_event_id() -> str:
    """Standard Webhooks ids are opaque strings; the prefix tells them from other ids in logs."""
    return "msg_" + new_object_id()


def payload_of(event: Event) -> str:
    return orjson.dumps({"event": event.kind.value, "time": int(event.at), "data": event.data}).decode()


def queue_events(conn: Connection, events: Sequence[Event]) -> int:
    """Queues each event for every active webhook of its account that wants it; returns the
    number of rows queued. Accounts without webhooks cost one indexed query per call."""
    if not events:
        return 0
    accounts = {event.account_id for event in events}
    query = select(webhooks.c.id, webhooks.c.account_id, webhooks.c.events).where(
        webhooks.c.account_id.in_(accounts), webhooks.c.is_active.is_(True)
    )
    subscribers: dict[str, list[Any]] = {}
    for hook in conn.execute(query):
        subscribers.setdefault(hook.account_id, []).append(hook)
    rows = [
        queued_row(event, webhook_id=hook.id)
        for event in events
        for hook in subscribers.get(event.account_id, ())
        if (not event.webhook_id or hook.id == event.webhook_id) and event.kind.value in hook.events
    ]
    insert_events(conn, rows)
    return len(rows)


def queued_row(event: Event, *, webhook_id: str, payload: str | None = None) -> dict[str, Any]:
    return {
        "id": new_event_id(),
        "webhook_id": webhook_id,
        "account_id": event.account_id,
        "event": event.kind.value,
        "subject": event.subject,
        "payload": payload if payload is not None else payload_of(event),
        "created_at": event.at,
        "state": int(State.PENDING),
        "attempts": 0,
        "next_attempt_at": event.at,
        "locked_until": None,
    }


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(events_table), rows)
        after_commit(conn, QUEUED)
