"""Queries on accounts and API keys. No rules here, only reads and writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts.models import Account, ApiKey
from simrelay.storage.direct import Direct


async def get_account_by_email(session: AsyncSession, email: str) -> Account | None:
    return (await session.execute(select(Account).where(Account.email == email))).scalar_one_or_none()


async def get_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_keys(session: AsyncSession, account_id: str) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id)
    return (await session.execute(query)).scalars().all()


async def delete_key(session: AsyncSession, key_id: str) -> bool:
    result = await session.execute(delete(ApiKey).where(ApiKey.id == key_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


_PRINCIPALS = Direct(
    select(
        ApiKey.id,
        ApiKey.account_id,
        ApiKey.token_hash,
        ApiKey.is_active,
        ApiKey.can_send,
        ApiKey.can_read,
        Account.is_blocked,
    )
    .join(Account, Account.id == ApiKey.account_id)
    .where(ApiKey.id == bindparam("key_id"))
)


def fetch_principals(conn: Connection, key_ids: Iterable[str]) -> list[tuple[Any, ...]]:
    """(key id, account id, token hash, active, can send, can read, account blocked) of each
    key that exists: the authentication hot path, one indexed lookup per key."""
    return [row for key_id in key_ids for row in _PRINCIPALS.rows(conn, {"key_id": key_id})]


def touch_keys(conn: Connection, key_ids: Iterable[str], *, at: float) -> None:
    conn.execute(update(ApiKey).where(ApiKey.id.in_(list(key_ids))).values(last_used_at=at))


def newest_accounts(conn: Connection, *, limit: int) -> Sequence[Row[Any]]:
    """The most recently created accounts, newest first (the admin page)."""
    return conn.execute(select(Account.__table__).order_by(Account.created_at.desc()).limit(limit)).all()


def set_blocked(conn: Connection, account_id: str, *, blocked: bool) -> None:
    conn.execute(update(Account).where(Account.id == account_id).values(is_blocked=blocked))


def set_quota(conn: Connection, account_id: str, *, quota: int | None) -> None:
    """`None` is unlimited."""
    conn.execute(update(Account).where(Account.id == account_id).values(monthly_quota=quota))


def set_resend_lost(conn: Connection, account_id: str, *, resend: bool) -> None:
    """See Account.resend_lost."""
    conn.execute(update(Account).where(Account.id == account_id).values(resend_lost=resend))
