"""Queries on accounts and API keys. No rules here, only reads and writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Row, bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts.models import Account, ApiKey


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


_PRINCIPALS = (
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
    .where(ApiKey.id.in_(bindparam("key_ids", expanding=True)))
)
"""Built once: this runs for every request (batched), so construction cost matters."""


def fetch_principals(
    conn: Connection, key_ids: Iterable[str]
) -> Sequence[Row[str, str, str, bool, bool, bool, bool]]:
    """Key and account state for many keys in one query (the authentication hot path)."""
    return conn.execute(_PRINCIPALS, {"key_ids": list(key_ids)}).all()


def touch_keys(conn: Connection, key_ids: Iterable[str], *, at: float) -> None:
    conn.execute(update(ApiKey).where(ApiKey.id.in_(list(key_ids))).values(last_used_at=at))
