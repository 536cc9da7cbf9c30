"""Inbox use cases: record a received SMS (and act on STOP / START), list the inbox, keep
the opt-out list."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy.engine import Connection, Row

from simrelay.ids import new_object_id
from simrelay.inbox import repository
from simrelay.inbox.keywords import opt_out_keyword
from simrelay.inbox.schemas import received_object
from simrelay.sms import search
from simrelay.sms.schemas import PHONE
from simrelay.storage.database import Database
from simrelay.webhooks.outbox import Event, Kind, queue_events

NUMBER_PUNCTUATION = re.compile(r"[\s\-()]")
"""What people and phones write inside numbers ("+7 (999) 000-11-22") and we drop."""

SOURCE_SMS = "sms"
"""The number texted a stop word."""
SOURCE_API = "api"
"""Added through the API (or the dashboard)."""


Listener = Callable[[Connection, dict[str, Any]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Has `listener(conn, row)` told of every new received SMS, inside the transaction that
    stores it (MO for SMPP clients: smpp/notices.py). Adding one twice adds it once."""
    if listener not in _listeners:
        _listeners.append(listener)


def sender_number(sender: str) -> str | None:
    """The sender's number as stored for sends (digits, no `+`); None for a sender name.

    Spaces, dashes, parentheses and one leading `+` are dropped; what remains must be 3 to 30
    digits, as a `phone_number` on send must.
    """
    match = PHONE.fullmatch(NUMBER_PUNCTUATION.sub("", sender))
    return match.group(1) if match else None


def store_received(
    conn: Connection,
    *,
    account_id: str,
    device_id: str,
    external_id: str,
    phone_number: str,
    message: str,
    received_at: int,
    sim: int | None,
    now: float,
) -> bool:
    """Stores an SMS a device received; False when the device had reported it already.

    A new SMS that is a stop word puts its sender on the opt-out list, a start word takes it
    off, in the same transaction as the SMS itself, so a retried report cannot apply it twice
    or lose it. Sender names (not numbers) are stored as given and never opted out. The caller
    (the device protocol) has checked lengths: `external_id` and the sender fit 64 characters.
    """
    number = sender_number(phone_number)
    sender = number if number is not None else phone_number
    row: dict[str, Any] = {
        "id": new_object_id(),
        "account_id": account_id,
        "device_id": device_id,
        "external_id": external_id,
        "phone_number": sender,
        "message": message,
        "sim": sim,
        "received_at": received_at,
        "created_at": now,
        # Sender names are case-folded too, so searching "mybank" finds "MyBank".
        "search_text": search.search_text(message, sender.casefold()),
    }
    if not repository.insert_received(conn, row):
        return False
    event = Event(account_id, Kind.SMS_RECEIVED, received_object(SimpleNamespace(**row)), at=now)
    queue_events(conn, [event])
    for listener in _listeners:
        listener(conn, row)
    keyword = opt_out_keyword(message) if number is not None else None
    if keyword == "stop":
        repository.add_optout(conn, account_id, sender, source=SOURCE_SMS, now=now)
    elif keyword == "start":
        repository.remove_optout(conn, account_id, sender)
    return True


async def list_received(
    db: Database, *, account_id: str, limit: int, page: int, query: str
) -> tuple[int, list[Row[Any]]]:
    """A page of the account's inbox, newest first; `query` is the API's `search` parameter."""
    found = search.needle(query) if query else ""
    if found is None:
        return 0, []
    total, rows = await db.read(
        lambda conn: repository.list_received(conn, account_id, limit=limit, page=page, needle=found)
    )
    return total, list(rows)


async def add_optout(db: Database, *, account_id: str, phone_number: str) -> None:
    """Puts a number (digits, validated) on the opt-out list; one already there stays as it was."""
    now = time.time()
    await db.run(
        lambda conn: repository.add_optout(conn, account_id, phone_number, source=SOURCE_API, now=now)
    )


async def remove_optout(db: Database, *, account_id: str, phone_number: str) -> None:
    """Takes a number off the opt-out list; a number not on it is no error."""
    await db.run(lambda conn: repository.remove_optout(conn, account_id, phone_number))


async def list_optouts(db: Database, *, account_id: str, limit: int, page: int) -> tuple[int, list[Row[Any]]]:
    """A page of the account's opt-out list, most recently added first."""
    total, rows = await db.read(
        lambda conn: repository.list_optouts(conn, account_id, limit=limit, page=page)
    )
    return total, list(rows)
