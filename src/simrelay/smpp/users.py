"""SMPP users: who may bind, as which account. Passwords are argon2 hashes, checked off the
event loop and throttled like every password check (accounts/guessing.py)."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from simrelay.accounts import guessing
from simrelay.accounts.guessing import Guesses
from simrelay.accounts.models import Account
from simrelay.accounts.passwords import hash_password, verify_password
from simrelay.ids import new_object_id
from simrelay.smpp.models import PASSWORD_MAX, SYSTEM_ID_MAX, SmppUser
from simrelay.storage.database import Database

users = cast(Table, SmppUser.__table__)
accounts = cast(Table, Account.__table__)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the system_id is unknown, so that a miss costs what a wrong
    password costs and the answer's timing does not tell which system_ids exist. Made on first
    use: every CLI command imports this module."""
    return hash_password("-")


class SmppUserError(ValueError):
    """A user that cannot be created or deleted. `reason` names which rule, for a caller that
    words the refusal itself (the panel, in two languages): "system_id" or "password" (does not
    fit its SMPP field), "taken" (another user has the system_id), "unknown" (no such user)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BoundUser:
    """Whom a bind authenticated."""

    user_id: str
    account_id: str
    system_id: str
    account_blocked: bool


def check_credentials(system_id: str, password: str) -> None:
    """SmppUserError unless both fit their SMPP 3.4 fields (printable ASCII, no NUL)."""
    if not 1 <= len(system_id) <= SYSTEM_ID_MAX or not _printable(system_id):
        raise SmppUserError(
            f"system_id must be 1 to {SYSTEM_ID_MAX} printable ASCII characters", reason="system_id"
        )
    if not 1 <= len(password) <= PASSWORD_MAX or not _printable(password):
        raise SmppUserError(
            f"password must be 1 to {PASSWORD_MAX} printable ASCII characters", reason="password"
        )


def _printable(value: str) -> bool:
    return all(" " <= char <= "~" for char in value)


async def create_user(db: Database, *, account_id: str, system_id: str, password: str) -> str:
    """A new user of the account; its id. SmppUserError for a taken or ill-formed system_id."""
    check_credentials(system_id, password)
    password_hash = await asyncio.to_thread(hash_password, password)
    row = {
        "id": new_object_id(),
        "account_id": account_id,
        "system_id": system_id,
        "password_hash": password_hash,
        "created_at": time.time(),
    }

    def work(conn: Connection) -> None:
        if _is_taken(conn, system_id):
            raise SmppUserError(f"system_id {system_id} is taken", reason="taken")
        conn.execute(insert(users).values(**row))

    try:
        await db.run(work)
    except IntegrityError:
        # Another create of this system_id committed between the check and the insert (two
        # panels, or the panel and the CLI): the unique index refused it, and the caller gets
        # the same refusal as above, not a server error.
        if not await db.read(lambda conn: _is_taken(conn, system_id)):
            raise
        raise SmppUserError(f"system_id {system_id} is taken", reason="taken") from None
    return str(row["id"])


def _is_taken(conn: Connection, system_id: str) -> bool:
    return conn.execute(select(users.c.id).where(users.c.system_id == system_id)).first() is not None


async def list_users(db: Database, *, account_id: str) -> list[tuple[str, str, float]]:
    """(id, system_id, created_at) of the account's users, oldest first."""
    query = (
        select(users.c.id, users.c.system_id, users.c.created_at)
        .where(users.c.account_id == account_id)
        .order_by(users.c.created_at, users.c.id)
    )
    rows = await db.read(lambda conn: conn.execute(query).all())
    return [(row.id, row.system_id, row.created_at) for row in rows]


async def delete_user(db: Database, *, account_id: str, system_id: str) -> None:
    """SmppUserError if the account has no such user. Sessions already bound stay bound."""
    query = delete(users).where(users.c.account_id == account_id, users.c.system_id == system_id)
    deleted = await db.run(lambda conn: conn.execute(query).rowcount)
    if not deleted:
        raise SmppUserError(f"no SMPP user {system_id}", reason="unknown")


async def delete_user_by_id(db: Database, *, account_id: str, user_id: str) -> str:
    """Deletes the account's user with this id (as the panel names it); its system_id.
    SmppUserError if the account has no such user: another account's id changes nothing."""
    owned = (users.c.account_id == account_id, users.c.id == user_id)

    def work(conn: Connection) -> str:
        system_id = conn.execute(select(users.c.system_id).where(*owned)).scalar_one_or_none()
        if system_id is None:
            raise SmppUserError(f"no SMPP user with id {user_id}", reason="unknown")
        conn.execute(delete(users).where(*owned))
        return str(system_id)

    return await db.run(work)


async def authenticate(
    db: Database, guesses: Guesses, system_id: str, password: str, *, client_host: str
) -> BoundUser | None:
    """The user if the password is right, None if not (or the system_id is unknown). Raises
    TooManyGuesses while this address or this system_id must wait; a miss counts against both."""
    keys = guessing.credential_keys("smpp", system_id, client_host)
    await guessing.check(guesses, keys)
    query = (
        select(users.c.id, users.c.account_id, users.c.password_hash, accounts.c.is_blocked)
        .join(accounts, accounts.c.id == users.c.account_id)
        .where(users.c.system_id == system_id)
    )
    row = await db.read(lambda conn: conn.execute(query).first()) if system_id else None
    ok = await asyncio.to_thread(verify_password, password, row.password_hash if row else _dummy_hash())
    if row is None or not ok:
        await guesses.failed(keys)
        return None
    await guesses.succeeded(keys[1:])
    return BoundUser(row.id, row.account_id, system_id, bool(row.is_blocked))


async def may_stay(db: Database, user_id: str) -> bool:
    """Whether a session bound as this user may go on: the user still exists and its account
    is not blocked (sessions ask now and then, so a delete or a block ends them)."""
    query = (
        select(accounts.c.is_blocked)
        .join(users, accounts.c.id == users.c.account_id)
        .where(users.c.id == user_id)
    )
    blocked = await db.read(lambda conn: conn.execute(query).scalar_one_or_none())
    return blocked is not None and not blocked


async def find_system_id(db: Database, *, account_id: str, user_id: str) -> str | None:
    """The system_id of the account's user with this id (as the panel names it); None for an
    unknown id or another account's user."""
    query = select(users.c.system_id).where(users.c.account_id == account_id, users.c.id == user_id)
    found = await db.read(lambda conn: conn.execute(query).scalar_one_or_none())
    return None if found is None else str(found)
