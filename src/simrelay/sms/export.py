"""The SMS log as CSV (`GET /v1/sms/export.csv`, the panel's link): the account's SMS oldest
first, read a page at a time after the last id seen (keyset), so neither the server's memory nor
one statement grows with the account, and SMS sent meanwhile neither repeat nor shift a page."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.engine import Connection

from simrelay.ids import object_id_floor
from simrelay.sms import history, search
from simrelay.sms.repository import Plan, messages, search_condition
from simrelay.sms.status import Status
from simrelay.spreadsheet import Page, csv_pages
from simrelay.storage.database import Database
from simrelay.timestamps import iso_millis

PAGE_SIZE = 500
"""SMS per read; their ids then go in one IN list for the history's times, well under the
parameter limits of both databases."""

COLUMNS = (
    "id",
    "created_at",
    "phone_number",
    "message",
    "status",
    "message_status",
    "device_id",
    "to_sim",
    "sim",
    "parts",
    "reason",
    "sent_at",
    "delivered_at",
    "callback_id",
)
"""The SMS object's fields (`device_id` as get answers it), what the panel's history adds (the SIM
used, parts, the failure's reason), and when the SMS was first sent and delivered. Moments are
ISO 8601 UTC with milliseconds, as `last_online_date` is."""

ID_SLACK = 60
"""Seconds between an id's own time and its row's time_create that the id range allows for."""


def export_messages(
    db: Database, *, account_id: str, start: int, end: int, query: str
) -> AsyncIterator[bytes]:
    """The CSV, header first: SMS created in [start, end) (unix seconds) that `query` finds as
    `GET /v1/sms?search=` does; deleted ones left out, as there."""
    needle = search.needle(query) if query else ""

    async def page(after: str) -> Page:
        if needle is None:  # a search that finds nothing
            return [], None
        read = functools.partial(
            _read_page, account_id=account_id, after=after, start=start, end=end, needle=needle
        )
        rows, times = await db.read(read)
        return [_cells(row, times) for row in rows], rows[-1].id if len(rows) == PAGE_SIZE else None

    return csv_pages(COLUMNS, page)


def _read_page(
    conn: Connection, *, account_id: str, after: str, start: int, end: int, needle: str
) -> tuple[Sequence[Row[Any]], dict[tuple[str, int], float]]:
    """The next page of matches after the id `after` ("" for the first), with their times sent
    and delivered. A search walks the account's SMS testing each (the list's plan for many
    matches): an export reads every match anyway, and no index can keep their id order."""
    if needle:
        condition = search_condition(conn, account_id, needle, Plan.MANY)
    else:
        condition = and_(messages.c.account_id == account_id, messages.c.deleted_at.is_(None))
    # Ids begin with their creation time: the range reads only the period's rows off the
    # (account_id, id) index; time_create then decides exactly.
    lower = messages.c.id > after if after else messages.c.id >= object_id_floor(start - ID_SLACK)
    query = (
        select(messages)
        .where(
            condition,
            lower,
            messages.c.id < object_id_floor(end + ID_SLACK),
            messages.c.time_create >= start,
            messages.c.time_create < end,
        )
        .order_by(messages.c.id)
        .limit(PAGE_SIZE)
    )
    rows = conn.execute(query).all()
    times = history.first_times(conn, [row.id for row in rows], (Status.SENT, Status.DELIVERED))
    return rows, times


def _cells(row: Row[Any], times: dict[tuple[str, int], float]) -> list[str | int | None]:
    return [
        row.id,
        iso_millis(row.time_create),
        row.phone_number,
        row.message,
        row.status,
        Status(row.status).text,
        row.device_id or row.requested_device_id,
        row.to_sim,
        row.sim,
        row.parts,
        row.reason,
        iso_millis(times.get((row.id, int(Status.SENT)))),
        iso_millis(times.get((row.id, int(Status.DELIVERED)))),
        row.callback_id,
    ]
