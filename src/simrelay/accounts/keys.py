"""API keys on the request path (the panel): Core queries over `api_keys`, always scoped to
the account, so one account can never touch another's key."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.engine import Connection

from simrelay.accounts import tokens
from simrelay.accounts.models import ApiKey
from simrelay.ids import new_object_id

api_keys = cast(Table, ApiKey.__table__)
k = api_keys.c


def new_key(
    *, account_id: str, secret_key: str, name: str, can_send: bool, can_read: bool
) -> tuple[dict[str, Any], str]:
    """The api_keys row of a new key, and its token (shown once, stored only as a hash)."""
    key_id = new_object_id()
    token = tokens.issue_token(key_id=key_id, account_id=account_id, secret_key=secret_key)
    row = {
        "id": key_id,
        "account_id": account_id,
        "name": name,
        "token_hash": tokens.hash_token(token),
        "can_send": can_send,
        "can_read": can_read,
        "is_active": True,
        "created_at": time.time(),
        "last_used_at": None,
    }
    return row, token


def insert_key(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(api_keys).values(**row))


def list_keys(conn: Connection, account_id: str) -> Sequence[Row[Any]]:
    query = select(api_keys).where(k.account_id == account_id).order_by(k.created_at.desc())
    return conn.execute(query).all()


def set_active(conn: Connection, account_id: str, key_id: str, *, active: bool) -> bool:
    result = conn.execute(
        update(api_keys).where(k.id == key_id, k.account_id == account_id).values(is_active=active)
    )
    return bool(result.rowcount)


def remove(conn: Connection, account_id: str, key_id: str) -> bool:
    result = conn.execute(delete(api_keys).where(k.id == key_id, k.account_id == account_id))
    return bool(result.rowcount)
