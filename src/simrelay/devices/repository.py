"""Queries on devices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, select, update
from sqlalchemy.engine import Connection

from simrelay.devices.models import Device

devices = cast(Table, Device.__table__)


def insert_device(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(devices.insert().values(**row))


def get_device(conn: Connection, *, account_id: str, device_id: str) -> Row[Any] | None:
    query = select(devices).where(devices.c.id == device_id, devices.c.account_id == account_id)
    return (conn.execute(query)).first()


def update_device(conn: Connection, *, account_id: str, device_id: str, values: dict[str, Any]) -> bool:
    result = conn.execute(
        update(devices).where(devices.c.id == device_id, devices.c.account_id == account_id).values(**values)
    )
    return bool(result.rowcount)


def delete_device(conn: Connection, *, account_id: str, device_id: str) -> bool:
    result = conn.execute(
        delete(devices).where(devices.c.id == device_id, devices.c.account_id == account_id)
    )
    return bool(result.rowcount)


def list_devices(
    conn: Connection, *, account_id: str, limit: int, page: int
) -> tuple[int, Sequence[Row[Any]]]:
    condition = devices.c.account_id == account_id
    total = (conn.execute(select(func.count()).select_from(devices).where(condition))).scalar_one()
    query = (
        select(devices).where(condition).order_by(devices.c.id.desc()).limit(limit).offset((page - 1) * limit)
    )
    return total, (conn.execute(query)).all()


def all_devices(conn: Connection, *, account_id: str) -> Sequence[Row[Any]]:
    """Every device of the account, oldest first."""
    query = select(devices).where(devices.c.account_id == account_id).order_by(devices.c.id)
    return conn.execute(query).all()


def update_device_by_id(conn: Connection, device_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(devices).where(devices.c.id == device_id).values(**values))


def find_by_id(conn: Connection, device_id: str) -> Row[Any] | None:
    return conn.execute(select(devices).where(devices.c.id == device_id)).first()


def find_by_token_hash(conn: Connection, token_hash: str) -> Row[Any] | None:
    return conn.execute(select(devices).where(devices.c.token_hash == token_hash)).first()
