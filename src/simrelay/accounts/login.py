"""Signing in with an email and password (the panel, the Android app's Basic auth), on the
request path: Core queries, and argon2 off the event loop (it costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection, Row

from simrelay.accounts import guessing
from simrelay.accounts.guessing import Guesses
from simrelay.accounts.models import Account
from simrelay.accounts.passwords import hash_password, verify_password
from simrelay.ids import new_object_id
from simrelay.storage.database import Database
from simrelay.text import NUL

accounts = cast(Table, Account.__table__)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(conn: Connection, email: str) -> Row[Any] | None:
    return conn.execute(select(accounts).where(accounts.c.email == normalise_email(email))).first()


def find_by_id(conn: Connection, account_id: str) -> Row[Any] | None:
    return conn.execute(select(accounts).where(accounts.c.id == account_id)).first()


async def authenticate(db: Database, email: str, password: str) -> Row[Any] | None:
    """The account if the password is right (blocked or not: the caller says what that means)."""
    if NUL in email:
        return None  # no account has one (PostgreSQL could not even look it up)
    account = await db.read(lambda conn: find_by_email(conn, email))
    if account is None or not account.password_hash:
        return None
    ok = await asyncio.to_thread(verify_password, password, account.password_hash)
    return account if ok else None


async def check_password(
    db: Database, guesses: Guesses, email: str, password: str, *, client_host: str
) -> Row[Any] | None:
    """`authenticate`, throttled (accounts/guessing.py): raises TooManyGuesses while this address,
    or this account, must wait; a wrong password counts against both."""
    keys = guessing.credential_keys("login", normalise_email(email)[:320], client_host)
    await guessing.check(guesses, keys)
    account = await authenticate(db, email, password)
    if account is None:
        await guesses.failed(keys)
        return None
    await guesses.succeeded(keys[1:])
    return account


async def set_password(db: Database, account_id: str, password: str) -> None:
    password_hash = await asyncio.to_thread(hash_password, password)
    await db.run(
        lambda conn: conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash)
        )
    )


async def sign_up(db: Database, email: str, password: str) -> str | None:
    """A new account with this password; its id, or None if the email is taken."""
    password_hash = await asyncio.to_thread(hash_password, password)
    row = {
        "id": new_object_id(),
        "email": normalise_email(email),
        "password_hash": password_hash,
        "is_blocked": False,
        "is_admin": False,
        "monthly_quota": None,
        "created_at": time.time(),
    }

    def work(conn: Connection) -> str | None:
        if find_by_email(conn, email) is not None:
            return None
        conn.execute(insert(accounts).values(**row))
        return str(row["id"])

    return await db.run(work)
