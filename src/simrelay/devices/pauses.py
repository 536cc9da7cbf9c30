"""SIMs paused after repeated carrier refusals (sync Core): stored, so that a reconnect, another
node and the panel know of them, and announced once per pause (device.sim_paused). While paused
a SIM is offered nothing (devices/assignment.py), as if it failed."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Connection

from simrelay.devices import repository
from simrelay.devices.contacts import loaded, stored
from simrelay.devices.models import Device, SimPause
from simrelay.devices.schemas import device_object
from simrelay.webhooks.outbox import Event, Kind, queue_events

pauses = cast(Table, SimPause.__table__)
devices = cast(Table, Device.__table__)


def pause(
    conn: Connection, device_id: str, sim: int | None, *, until: float, reason: str, now: float
) -> None:
    """Pauses the SIM until `until` and queues device.sim_paused."""
    row = repository.find_by_id(conn, device_id)
    if row is None:
        return
    conn.execute(delete(pauses).where(pauses.c.device_id == device_id, pauses.c.sim == stored(sim)))
    conn.execute(
        pauses.insert().values(
            device_id=device_id, sim=stored(sim), paused_at=now, until=until, reason=reason
        )
    )
    data = device_object(row) | {"paused_sim": {"sim": sim, "paused_until": int(until), "reason": reason}}
    queue_events(conn, [Event(row.account_id, Kind.DEVICE_SIM_PAUSED, data, at=now, subject=device_id)])


def paused_sims(conn: Connection, device_id: str, *, now: float) -> dict[int | None, float]:
    """The device's SIMs paused now, and until when."""
    query = select(pauses.c.sim, pauses.c.until).where(pauses.c.device_id == device_id, pauses.c.until > now)
    return {loaded(row.sim): float(row.until) for row in conn.execute(query)}


def paused_for_account(conn: Connection, account_id: str, *, now: float) -> list[dict[str, Any]]:
    """The account's SIMs paused now (the panel's banner): device id and name, sim (None for a
    device's own default), until, reason."""
    query = (
        select(pauses.c.device_id, devices.c.name, pauses.c.sim, pauses.c.until, pauses.c.reason)
        .select_from(pauses.join(devices, devices.c.id == pauses.c.device_id))
        .where(devices.c.account_id == account_id, pauses.c.until > now)
        .order_by(pauses.c.until)
    )
    return [
        {
            "device_id": row.device_id,
            "device": row.name or row.device_id,
            "sim": loaded(row.sim),
            "until": row.until,
            "reason": row.reason,
        }
        for row in conn.execute(query)
    ]


def lift(conn: Connection, device_id: str, sim: int | None) -> bool:
    """Ends a pause early (the panel's "resume now"); False if there was none."""
    result = conn.execute(delete(pauses).where(pauses.c.device_id == device_id, pauses.c.sim == stored(sim)))
    return bool(result.rowcount)
