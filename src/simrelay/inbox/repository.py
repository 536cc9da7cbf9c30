"""Queries on received messages and opt-outs (sync Core; see storage/database.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from simrelay.inbox.models import OptOut, ReceivedMessage
from simrelay.storage.direct import Direct

received_messages = cast(Table, ReceivedMessage.__table__)
optouts = cast(Table, OptOut.__table__)

LOOKUP_CHUNK = 500
"""Numbers per IN (...) in `opted_out_numbers`: well under both databases' parameter limits."""


def _insert(conn: Connection, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING, which PostgreSQL and SQLite spell apart."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_received(conn: Connection, row: dict[str, Any]) -> bool:
    """Stores a received SMS (`row` has every column); False if the device reported it before.

    A repeat is recognised by (account, device, external id) and skipped without an error, so
    the surrounding transaction carries on.
    """
    statement = (
        _insert(conn, received_messages)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["account_id", "device_id", "external_id"])
        .returning(received_messages.c.id)
    )
    return conn.execute(statement).first() is not None


def list_received(
    conn: Connection, account_id: str, *, limit: int, page: int, needle: str
) -> tuple[int, Sequence[Row[Any]]]:
    """(total matching, the page's rows), newest first; `needle` is case-folded, "" for all.

    The search scans the account's rows: the inbox is small next to the outbox, and there is
    no trigram index for it (add one, as messages have, if inboxes grow large).
    """
    condition = search_condition(conn, account_id, needle)
    total = conn.execute(select(func.count()).select_from(received_messages).where(condition)).scalar_one()
    rows: Sequence[Row[Any]] = []
    if total > (page - 1) * limit:
        query = (
            select(received_messages)
            .where(condition)
            .order_by(received_messages.c.id.desc())
            .limit(limit)
            .offset((page - 1) * limit)
        )
        rows = conn.execute(query).all()
    return total, rows


def search_condition(conn: Connection, account_id: str, needle: str) -> ColumnElement[bool]:
    """The account's received SMS whose text or sender contain `needle` (case-folded, "" for all)."""
    condition: ColumnElement[bool] = received_messages.c.account_id == account_id
    if needle:
        position = func.strpos if conn.dialect.name == "postgresql" else func.instr
        condition = and_(condition, position(received_messages.c.search_text, needle) > 0)
    return condition


def add_optout(conn: Connection, account_id: str, phone_number: str, *, source: str, now: float) -> bool:
    """Puts the number on the account's opt-out list; False if it was there already (kept as is)."""
    statement = (
        _insert(conn, optouts)
        .values(account_id=account_id, phone_number=phone_number, created_at=now, source=source)
        .on_conflict_do_nothing(index_elements=["account_id", "phone_number"])
        .returning(optouts.c.phone_number)
    )
    return conn.execute(statement).first() is not None


def remove_optout(conn: Connection, account_id: str, phone_number: str) -> bool:
    """Takes the number off the list; False if it was not on it."""
    result = conn.execute(
        delete(optouts).where(optouts.c.account_id == account_id, optouts.c.phone_number == phone_number)
    )
    return bool(result.rowcount)


def list_optouts(
    conn: Connection, account_id: str, *, limit: int, page: int
) -> tuple[int, Sequence[Row[Any]]]:
    """(total, the page's rows), most recently added first."""
    condition = optouts.c.account_id == account_id
    total = conn.execute(select(func.count()).select_from(optouts).where(condition)).scalar_one()
    rows: Sequence[Row[Any]] = []
    if total > (page - 1) * limit:
        query = (
            select(optouts)
            .where(condition)
            .order_by(optouts.c.created_at.desc(), optouts.c.phone_number)
            .limit(limit)
            .offset((page - 1) * limit)
        )
        rows = conn.execute(query).all()
    return total, rows


_ANY_OPTOUT = Direct(
    select(optouts.c.phone_number).where(optouts.c.account_id == bindparam("account_id")).limit(1)
)


def opted_out_numbers(conn: Connection, account_id: str, phone_numbers: Collection[str]) -> set[str]:
    """The given numbers that are on the account's opt-out list."""
    numbers = list(dict.fromkeys(phone_numbers))
    found: set[str] = set()
    if not numbers or not _ANY_OPTOUT.rows(conn, {"account_id": account_id}):
        return found  # most accounts have no opt-outs: one precompiled point read per round
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        query = select(optouts.c.phone_number).where(
            optouts.c.account_id == account_id,
            optouts.c.phone_number.in_(numbers[start : start + LOOKUP_CHUNK]),
        )
        found.update(conn.execute(query).scalars())
    return found
