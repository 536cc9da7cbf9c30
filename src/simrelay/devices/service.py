"""Device record use cases: add, read, edit, delete, list."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.engine import Row

from simrelay.devices import repository
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import new_object_id
from simrelay.storage.database import Database


async def add_device(db: Database, *, account_id: str, name: str = "", active: bool = False) -> str:
    """A device record; a new device is inactive until activated."""
    row: dict[str, Any] = {
        "id": new_object_id(),
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
    }
    await db.run(lambda conn: repository.insert_device(conn, row))
    return str(row["id"])


async def get_device(db: Database, *, account_id: str, device_id: str) -> Row[Any]:
    row = await db.read(lambda conn: repository.get_device(conn, account_id=account_id, device_id=device_id))
    if row is None:
        raise ApiError(ErrorCode.DEVICE_NOT_FOUND)
    return row


async def edit_device(db: Database, *, account_id: str, device_id: str, changes: dict[str, Any]) -> None:
    """Applies the given settings; fields left out stay as they are."""
    if not changes:
        await get_device(db, account_id=account_id, device_id=device_id)
        return
    found = await db.run(
        lambda conn: repository.update_device(
            conn, account_id=account_id, device_id=device_id, values=changes
        )
    )
    if not found:
        raise ApiError(ErrorCode.DEVICE_NOT_FOUND)


async def delete_device(db: Database, *, account_id: str, device_id: str) -> None:
    """Removes the device. Its pinned waiting SMS stay in status 0, visible to the account."""
    found = await db.run(
        lambda conn: repository.delete_device(conn, account_id=account_id, device_id=device_id)
    )
    if not found:
        raise ApiError(ErrorCode.DEVICE_NOT_FOUND)


async def list_devices(db: Database, *, account_id: str, limit: int, page: int) -> tuple[int, list[Row[Any]]]:
    total, rows = await db.read(
        lambda conn: repository.list_devices(conn, account_id=account_id, limit=limit, page=page)
    )
    return total, list(rows)
