"""Queries on messages, monthly usage and idempotency keys (sync Core; see storage/database.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from simrelay.accounts.models import Account
from simrelay.devices.models import Device
from simrelay.sms.models import IdempotencyKey, Message, MonthlyUsage
from simrelay.sms.status import statuses_matching

messages = cast(Table, Message.__table__)
FTS_MIN_LENGTH = 3
"""Trigram indexes only help needles of three characters or more."""


@dataclass(frozen=True, slots=True)
class AccountFacts:
    monthly_quota: int | None
    used_this_month: int
    has_device: bool


def insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(messages), rows)


def fetch_account_facts(
    conn: Connection, account_ids: Iterable[str], *, month: int
) -> dict[str, AccountFacts]:
    used = (
        select(MonthlyUsage.count)
        .where(MonthlyUsage.account_id == Account.id, MonthlyUsage.month == month)
        .scalar_subquery()
    )
    has_device = exists().where(Device.account_id == Account.id)
    query = select(Account.id, Account.monthly_quota, func.coalesce(used, 0), has_device).where(
        Account.id.in_(list(account_ids))
    )
    rows = (conn.execute(query)).all()
    return {row[0]: AccountFacts(row[1], row[2], bool(row[3])) for row in rows}


def _upsert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def add_usage(conn: Connection, account_id: str, *, month: int, count: int) -> None:
    statement = _upsert(conn)(MonthlyUsage).values(account_id=account_id, month=month, count=count)
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "month"],
        set_={"count": MonthlyUsage.count + statement.excluded.count},
    )
    conn.execute(statement)


def reserve_quota(conn: Connection, account_id: str, *, month: int, quota: int) -> bool:
    """Counts one SMS against the quota if there is room; atomic across server nodes."""
    ensure = _upsert(conn)(MonthlyUsage).values(account_id=account_id, month=month, count=0)
    conn.execute(ensure.on_conflict_do_nothing(index_elements=["account_id", "month"]))
    result = conn.execute(
        update(MonthlyUsage)
        .where(
            MonthlyUsage.account_id == account_id,
            MonthlyUsage.month == month,
            MonthlyUsage.count < quota,
        )
        .values(count=MonthlyUsage.count + 1)
    )
    return bool(result.rowcount)


def find_idempotency_key(
    conn: Connection, account_id: str, key: str, *, not_before: float
) -> tuple[str, str] | None:
    """(body_hash, message_id) of a live key, or None."""
    row = (
        conn.execute(
            select(IdempotencyKey.body_hash, IdempotencyKey.message_id).where(
                IdempotencyKey.account_id == account_id,
                IdempotencyKey.key == key,
                IdempotencyKey.created_at >= not_before,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


def claim_idempotency_key(
    conn: Connection,
    account_id: str,
    key: str,
    *,
    body_hash: str,
    message_id: str,
    now: float,
    not_before: float,
) -> bool:
    """Stores the key, replacing an expired one; False if a live one exists (another node won)."""
    statement = _upsert(conn)(IdempotencyKey).values(
        account_id=account_id, key=key, body_hash=body_hash, message_id=message_id, created_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "key"],
        set_={
            "body_hash": statement.excluded.body_hash,
            "message_id": statement.excluded.message_id,
            "created_at": statement.excluded.created_at,
        },
        where=IdempotencyKey.created_at < not_before,
    ).returning(IdempotencyKey.key)
    return (conn.execute(statement)).first() is not None


def get_message(conn: Connection, account_id: str, message_id: str) -> Row[Any] | None:
    query = select(messages).where(
        messages.c.id == message_id,
        messages.c.account_id == account_id,
        messages.c.deleted_at.is_(None),
    )
    return (conn.execute(query)).first()


def mark_deleted(conn: Connection, account_id: str, message_id: str, *, now: float) -> bool:
    result = conn.execute(
        update(messages)
        .where(
            messages.c.id == message_id,
            messages.c.account_id == account_id,
            messages.c.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )
    return bool(result.rowcount)


def _search_filter(conn: Connection, account_id: str, needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match over message, phone_number and message_status.

    The text side is matched against `search_text`, stored case-folded, so the result does
    not depend on the database's locale; the status side by which status texts contain it.
    """
    if conn.dialect.name == "sqlite" and len(needle) >= FTS_MIN_LENGTH:
        phrase = '"' + needle.replace('"', '""') + '"'
        text_match: ColumnElement[bool] = literal_column("messages.rowid").in_(
            text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :phrase").bindparams(phrase=phrase)
        )
    elif conn.dialect.name == "sqlite":
        text_match = func.instr(messages.c.search_text, needle) > 0
    else:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        text_match = messages.c.search_text.like(f"%{escaped}%", escape="\\")
    statuses = statuses_matching(needle)
    if statuses:
        return or_(text_match, messages.c.status.in_([int(status) for status in statuses]))
    return text_match


def list_messages(
    conn: Connection, account_id: str, *, limit: int, page: int, search: str
) -> tuple[int, Sequence[Row[Any]]]:
    """(total matching, the page's rows), newest first."""
    condition = and_(messages.c.account_id == account_id, messages.c.deleted_at.is_(None))
    if search:
        condition = and_(condition, _search_filter(conn, account_id, search.casefold()))
    total = (conn.execute(select(func.count()).select_from(messages).where(condition))).scalar_one()
    rows: Sequence[Row[Any]] = []
    if total > (page - 1) * limit:
        query = (
            select(messages)
            .where(condition)
            .order_by(messages.c.id.desc())
            .limit(limit)
            .offset((page - 1) * limit)
        )
        rows = (conn.execute(query)).all()
    return total, rows


def count_by_status(conn: Connection) -> dict[int, int]:
    """SMS per status over all accounts (deleted ones included), for the metrics endpoint."""
    query = select(messages.c.status, func.count()).group_by(messages.c.status)
    return {row[0]: row[1] for row in (conn.execute(query)).all()}
