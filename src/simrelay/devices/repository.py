"""Queries on devices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from simrelay.devices.models import Device

devices = cast(Table, Device.__table__)


async def device_exists(conn: AsyncConnection, *, account_id: str, device_id: str) -> bool:
    query = select(devices.c.id).where(devices.c.id == device_id, devices.c.account_id == account_id)
    return (await conn.execute(query)).first() is not None


async def insert_device(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(devices.insert().values(**row))


async def get_device(conn: AsyncConnection, *, account_id: str, device_id: str) -> Row[Any] | None:
    query = select(devices).where(devices.c.id == device_id, devices.c.account_id == account_id)
    return (await conn.execute(query)).first()


async def update_device(
    conn: AsyncConnection, *, account_id: str, device_id: str, values: dict[str, Any]
) -> bool:
    result = await conn.execute(
        update(devices).where(devices.c.id == device_id, devices.c.account_id == account_id).values(**values)
    )
    return bool(result.rowcount)


async def delete_device(conn: AsyncConnection, *, account_id: str, device_id: str) -> bool:
    result = await conn.execute(
        delete(devices).where(devices.c.id == device_id, devices.c.account_id == account_id)
    )
    return bool(result.rowcount)


async def list_devices(
    conn: AsyncConnection, *, account_id: str, limit: int, page: int
) -> tuple[int, Sequence[Row[Any]]]:
    condition = devices.c.account_id == account_id
    total = (await conn.execute(select(func.count()).select_from(devices).where(condition))).scalar_one()
    query = (
        select(devices).where(condition).order_by(devices.c.id.desc()).limit(limit).offset((page - 1) * limit)
    )
    return total, (await conn.execute(query)).all()
