"""Account and API key use cases (the CLI and, later, the panel call these)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts import keys, repository
from simrelay.accounts.models import Account, ApiKey
from simrelay.accounts.passwords import hash_password
from simrelay.ids import new_object_id


class AccountError(Exception):
    """An administrative action that cannot be done (unknown email, duplicate account...)."""


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str
    """Shown once; only its hash is stored."""


async def create_account(
    session: AsyncSession,
    email: str,
    *,
    password: str | None = None,
    monthly_quota: int | None = None,
    is_admin: bool = False,
) -> Account:
    email = email.strip().lower()
    if await repository.get_account_by_email(session, email) is not None:
        raise AccountError(f"account {email} already exists")
    account = Account(
        id=new_object_id(),
        email=email,
        password_hash=hash_password(password) if password else None,
        is_blocked=False,
        is_admin=is_admin,
        monthly_quota=monthly_quota,
        created_at=time.time(),
    )
    session.add(account)
    await session.flush()
    return account


async def require_account(session: AsyncSession, email: str) -> Account:
    account = await repository.get_account_by_email(session, email.strip().lower())
    if account is None:
        raise AccountError(f"no account {email}")
    return account


async def set_blocked(session: AsyncSession, email: str, *, blocked: bool) -> Account:
    account = await require_account(session, email)
    account.is_blocked = blocked
    await session.flush()
    return account


async def set_resend_lost(session: AsyncSession, email: str, *, resend: bool) -> Account:
    account = await require_account(session, email)
    account.resend_lost = resend
    await session.flush()
    return account


async def create_key(
    session: AsyncSession,
    account: Account,
    *,
    secret_key: str,
    name: str = "",
    can_send: bool = True,
    can_read: bool = True,
) -> IssuedKey:
    row, token = keys.new_key(
        account_id=account.id, secret_key=secret_key, name=name, can_send=can_send, can_read=can_read
    )
    key = ApiKey(**row)
    session.add(key)
    await session.flush()
    return IssuedKey(key, token)


async def set_key_active(session: AsyncSession, key_id: str, *, active: bool) -> ApiKey:
    key = await repository.get_key(session, key_id)
    if key is None:
        raise AccountError(f"no API key {key_id}")
    key.is_active = active
    await session.flush()
    return key


async def delete_key(session: AsyncSession, key_id: str) -> None:
    if not await repository.delete_key(session, key_id):
        raise AccountError(f"no API key {key_id}")
