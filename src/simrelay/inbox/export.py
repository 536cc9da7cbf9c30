"""The inbox as CSV (`GET /v1/inbox/export.csv`, the panel's link): the account's received SMS in
the order they were stored, read a page at a time after the last id seen (keyset), as the SMS
log's export reads the outbox (sms/export.py)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from simrelay.inbox.repository import received_messages, search_condition
from simrelay.sms import search
from simrelay.spreadsheet import Page, csv_pages
from simrelay.storage.database import Database
from simrelay.timestamps import iso_millis

PAGE_SIZE = 500
"""Received SMS per read."""

COLUMNS = ("id", "received_at", "phone_number", "message", "device_id", "sim")
"""The inbox item's fields; `received_at` ISO 8601 UTC with milliseconds, `phone_number` the
sender (digits, or the name the network gave)."""


def export_received(
    db: Database, *, account_id: str, start: int, end: int, query: str
) -> AsyncIterator[bytes]:
    """The CSV, header first: SMS received in [start, end) (unix seconds, `received_at`, the time
    the inbox shows) that `query` finds as `GET /v1/inbox?search=` does."""
    needle = search.needle(query) if query else ""

    async def page(after: str) -> Page:
        if needle is None:  # a search that finds nothing
            return [], None
        read = functools.partial(
            _read_page, account_id=account_id, after=after, start=start, end=end, needle=needle
        )
        rows = await db.read(read)
        return [_cells(row) for row in rows], rows[-1].id if len(rows) == PAGE_SIZE else None

    return csv_pages(COLUMNS, page)


def _read_page(
    conn: Connection, *, account_id: str, after: str, start: int, end: int, needle: str
) -> Sequence[Row[Any]]:
    """The next page after the id `after` ("" for the first). `received_at` is the device's
    clock, which need not follow the ids, so no id range narrows it: the filter tests each of
    the account's rows, as the inbox's search does."""
    table = received_messages
    query = (
        select(table)
        .where(
            search_condition(conn, account_id, needle),
            table.c.id > after,
            table.c.received_at >= start,
            table.c.received_at < end,
        )
        .order_by(table.c.id)
        .limit(PAGE_SIZE)
    )
    return conn.execute(query).all()


def _cells(row: Row[Any]) -> list[str | int | None]:
    return [row.id, iso_millis(row.received_at), row.phone_number, row.message, row.device_id, row.sim]
