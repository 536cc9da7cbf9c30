"""Which SIM sent to which number (sync Core): what the new-recipients cap and the sticky
strategy read. A row is written when a SIM is offered an SMS to a number, in the round's own
transaction, and only for devices that use either (devices/budgets.py: knows_recipients): a
route to an SMSC offering hundreds a second writes nothing here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from simrelay.devices.models import Device, SimContact

contacts = cast(Table, SimContact.__table__)
devices = cast(Table, Device.__table__)
NO_SIM = -1
"""Stands for the device's own default SIM (offers name None): a key column cannot be NULL."""


def stored(sim: int | None) -> int:
    return NO_SIM if sim is None else sim


def loaded(sim: int) -> int | None:
    return None if sim == NO_SIM else sim


@dataclass(frozen=True, slots=True)
class Binding:
    """The SIM a recipient stays with under the sticky strategy."""

    device_id: str
    sim: int | None
    last_at: float
    connected: bool
    """Some node holds a session of the device (it may be this one, busy)."""


@dataclass(slots=True)
class Contacts:
    """What one assignment round knows of its SMS's numbers."""

    known: set[tuple[str, str, int | None]]
    """(number, device, SIM) pairs that have met."""
    bound: dict[str, Binding]
    made: list[tuple[str, str, int | None]] = field(default_factory=list)
    """This round's offers, to be written (touch)."""

    def is_new(self, phone: str, device_id: str, sim: int | None) -> bool:
        return (phone, device_id, sim) not in self.known

    def meet(self, phone: str, device_id: str, sim: int | None, *, sticky: bool) -> None:
        """An offer of this round: the next SMS to the number in it knows the pair (and, for a
        sticky device, stays with it)."""
        self.known.add((phone, device_id, sim))
        self.made.append((phone, device_id, sim))
        if sticky:
            self.bound[phone] = Binding(device_id, sim, float("inf"), True)


def read(
    conn: Connection, account_id: str, phones: Collection[str], *, now: float, online_since: float
) -> Contacts:
    """The account's SIMs that met these numbers, and the sticky devices' bindings within their
    `sticky_days` (the latest contact wins). A device counts as connected if a node holds its
    session and it was heard from since `online_since` (a node that died leaves the first)."""
    known: set[tuple[str, str, int | None]] = set()
    bound: dict[str, Binding] = {}
    if not phones:
        return Contacts(known, bound)
    query = (
        select(
            contacts.c.phone_number,
            contacts.c.device_id,
            contacts.c.sim,
            contacts.c.last_at,
            devices.c.sim_strategy,
            devices.c.sticky_days,
            devices.c.is_active,
            devices.c.connection_id,
            devices.c.last_online_at,
        )
        .select_from(contacts.join(devices, devices.c.id == contacts.c.device_id))
        .where(contacts.c.account_id == account_id, contacts.c.phone_number.in_(sorted(phones)))
    )
    for row in conn.execute(query):
        sim = loaded(row.sim)
        known.add((row.phone_number, row.device_id, sim))
        fresh = row.last_at >= now - row.sticky_days * 86400.0
        if row.sim_strategy != "sticky" or not row.is_active or not fresh:
            continue
        current = bound.get(row.phone_number)
        if current is None or row.last_at > current.last_at:
            connected = row.connection_id is not None and (row.last_online_at or 0) >= online_since
            bound[row.phone_number] = Binding(row.device_id, sim, row.last_at, connected)
    return Contacts(known, bound)


def touch(
    conn: Connection, account_id: str, met: Sequence[tuple[str, str, int | None]], *, now: float
) -> None:
    """Records that each (number, device, SIM) met now."""
    if not met:
        return
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(contacts).values(
        account_id=account_id,
        phone_number=bindparam("b_phone"),
        device_id=bindparam("b_device"),
        sim=bindparam("b_sim"),
        first_at=now,
        last_at=now,
    )
    statement = insert.on_conflict_do_update(
        index_elements=["account_id", "phone_number", "device_id", "sim"], set_={"last_at": now}
    )
    rows = {(phone, device_id, stored(sim)) for phone, device_id, sim in met}
    conn.execute(
        statement,
        [{"b_phone": phone, "b_device": device_id, "b_sim": sim} for phone, device_id, sim in sorted(rows)],
    )


def newcomers_since(conn: Connection, device_id: str, *, since: float) -> list[tuple[int | None, float]]:
    """(SIM, when) of each number the device's SIMs first met since `since`."""
    query = select(contacts.c.sim, contacts.c.first_at).where(
        and_(contacts.c.device_id == device_id, contacts.c.first_at >= since)
    )
    return [(loaded(row.sim), float(row.first_at)) for row in conn.execute(query)]
