"""Device record use cases: add, read, edit, delete, list."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from simrelay.devices import repository
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import new_object_id


async def add_device(conn: AsyncConnection, *, account_id: str, name: str = "", active: bool = False) -> str:
    """A device record; a new device is inactive until activated."""
    device_id = new_object_id()
    await repository.insert_device(
        conn,
        {
            "id": device_id,
            "account_id": account_id,
            "name": name,
            "model": "",
            "is_active": active,
            "battery": 0,
            "is_charging": False,
            "low_battery_alert": False,
            "to_sim": -2,
            "sim_list": [],
            "last_online_at": None,
            "created_at": time.time(),
        },
    )
    return device_id


async def get_device(conn: AsyncConnection, *, account_id: str, device_id: str) -> Row[Any]:
    row = await repository.get_device(conn, account_id=account_id, device_id=device_id)
    if row is None:
        raise ApiError(ErrorCode.DEVICE_NOT_FOUND)
    return row


async def edit_device(
    conn: AsyncConnection, *, account_id: str, device_id: str, changes: dict[str, Any]
) -> None:
    """Applies the given settings; fields left out stay as they are."""
    if not changes:
        await get_device(conn, account_id=account_id, device_id=device_id)
        return
    if not await repository.update_device(conn, account_id=account_id, device_id=device_id, values=changes):
        raise ApiError(ErrorCode.DEVICE_NOT_FOUND)


async def delete_device(conn: AsyncConnection, *, account_id: str, device_id: str) -> None:
    """Removes the device. Its pinned waiting SMS stay in status 0, visible to the account."""
    if not await repository.delete_device(conn, account_id=account_id, device_id=device_id):
        raise ApiError(ErrorCode.DEVICE_NOT_FOUND)


async def list_devices(
    conn: AsyncConnection, *, account_id: str, limit: int, page: int
) -> tuple[int, list[Row[Any]]]:
    total, rows = await repository.list_devices(conn, account_id=account_id, limit=limit, page=page)
    return total, list(rows)
