"""device.online, device.offline and device.low_battery: each announced once per change, in
the transaction that stores what the device said (or the sweep that finds it silent)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, or_, select, update
from sqlalchemy.engine import Connection

from simrelay.devices import repository
from simrelay.devices.health import LOW_BATTERY
from simrelay.devices.models import Device
from simrelay.devices.schemas import device_object
from simrelay.webhooks.outbox import Event, Kind, queue_events

devices = cast(Table, Device.__table__)
d = devices.c


def store_device_status(conn: Connection, device_id: str, values: dict[str, Any], *, now: float) -> None:
    """Stores a hello or heartbeat. Being heard from makes an offline device online; a battery
    report below the low mark, not charging, alerts once as it crosses (if the device asks)."""
    before = conn.execute(
        select(d.battery, d.is_charging, d.low_battery_alert, d.online).where(d.id == device_id)
    ).first()
    if before is None:
        return
    repository.update_device_by_id(conn, device_id, values)
    kinds: list[Kind] = []
    if "last_online_at" in values and not before.online:
        came_online = conn.execute(
            update(devices).where(d.id == device_id, d.online.is_(False)).values(online=True)
        ).rowcount
        if came_online:
            kinds.append(Kind.DEVICE_ONLINE)
    battery = values.get("battery")
    charging = values.get("is_charging", before.is_charging)
    if (
        before.low_battery_alert
        and battery is not None
        and battery < LOW_BATTERY <= before.battery
        and not charging
    ):
        kinds.append(Kind.DEVICE_LOW_BATTERY)
    if kinds:
        row = repository.find_by_id(conn, device_id)
        assert row is not None
        queue_events(conn, [Event(row.account_id, kind, device_object(row), at=now) for kind in kinds])


def release_connection(conn: Connection, device_id: str, connection_id: str) -> None:
    """The session `connection_id` ended; a newer one (the device reconnected, perhaps to another
    node, before this one noticed) keeps its own."""
    conn.execute(
        update(devices).where(d.id == device_id, d.connection_id == connection_id).values(connection_id=None)
    )


def mark_offline(conn: Connection, *, silent_since: float, now: float) -> Sequence[Row[Any]]:
    """Devices last heard from before `silent_since` (two heartbeat intervals: the contract's
    offline) go offline, announced once: the conditional update lets one node win."""
    rows = conn.execute(
        update(devices)
        .where(d.online.is_(True), or_(d.last_online_at.is_(None), d.last_online_at < silent_since))
        .values(online=False)
        .returning(*devices.c)
    ).all()
    queue_events(
        conn,
        [
            Event(row.account_id, Kind.DEVICE_OFFLINE, device_object(row), at=now, subject=row.id)
            for row in rows
        ],
    )
    return rows
