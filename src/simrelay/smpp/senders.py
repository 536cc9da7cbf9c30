"""source_addr → device (and SIM): an SMPP user may name, per source_addr it submits with, the
device its SMS go out through, as `device_id` and `to_sim` do for `POST /v1/sms/send`. A
source_addr with no mapping goes through any of the account's devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from simrelay.devices.models import Device
from simrelay.ids import new_object_id
from simrelay.smpp.models import ADDRESS_MAX, SmppSender, SmppUser
from simrelay.sms.schemas import check_sim
from simrelay.storage.database import Database

senders = cast(Table, SmppSender.__table__)
users = cast(Table, SmppUser.__table__)
devices = cast(Table, Device.__table__)


class SenderError(ValueError):
    """A mapping that cannot be added or removed. `reason` names which rule, for a caller that
    words the refusal itself (the panel): "source_addr" or "sim" (an ill-formed value), "device"
    (not one of the account's devices), "user" (no such SMPP user), "unknown" (no such mapping),
    "busy" (mapped by someone else at the same moment)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Target:
    device_id: str
    to_sim: int | None = None


def _user_id(conn: Connection, account_id: str, system_id: str) -> str:
    query = select(users.c.id).where(users.c.account_id == account_id, users.c.system_id == system_id)
    user_id = conn.execute(query).scalar_one_or_none()
    if user_id is None:
        raise SenderError(f"no SMPP user {system_id}", reason="user")
    return str(user_id)


def check_source_addr(source_addr: str) -> None:
    if not 1 <= len(source_addr) <= ADDRESS_MAX or not all(" " <= char <= "~" for char in source_addr):
        raise SenderError(
            f"source_addr must be 1 to {ADDRESS_MAX} printable ASCII characters", reason="source_addr"
        )


async def add_sender(
    db: Database,
    *,
    account_id: str,
    system_id: str,
    source_addr: str,
    device_id: str,
    to_sim: int | None = None,
) -> None:
    """Maps the user's `source_addr` to the account's device (and SIM), replacing a mapping
    it had. SenderError for another account's device, an unknown user or a bad value."""
    check_source_addr(source_addr)
    try:
        check_sim(to_sim)  # as the API's to_sim: a slot from 0, -1 random, -2 the device's default
    except ValueError as exc:
        raise SenderError(str(exc), reason="sim") from None

    def work(conn: Connection) -> None:
        user_id = _user_id(conn, account_id, system_id)
        owned = select(devices.c.id).where(devices.c.id == device_id, devices.c.account_id == account_id)
        if conn.execute(owned).first() is None:
            raise SenderError(f"the account has no device {device_id}", reason="device")
        conn.execute(
            delete(senders).where(senders.c.smpp_user_id == user_id, senders.c.source_addr == source_addr)
        )
        conn.execute(
            insert(senders).values(
                id=new_object_id(),
                smpp_user_id=user_id,
                source_addr=source_addr,
                device_id=device_id,
                to_sim=to_sim,
            )
        )

    try:
        await db.run(work)
    except IntegrityError:
        raise SenderError(f"{source_addr} was mapped at the same moment: try again", reason="busy") from None


async def list_senders(db: Database, *, account_id: str, system_id: str) -> list[tuple[str, Target]]:
    def work(conn: Connection) -> list[tuple[str, Target]]:
        user_id = _user_id(conn, account_id, system_id)
        query = (
            select(senders.c.source_addr, senders.c.device_id, senders.c.to_sim)
            .where(senders.c.smpp_user_id == user_id)
            .order_by(senders.c.source_addr)
        )
        return [(row.source_addr, Target(row.device_id, row.to_sim)) for row in conn.execute(query)]

    return await db.read(work)


async def delete_sender(db: Database, *, account_id: str, system_id: str, source_addr: str) -> None:
    def work(conn: Connection) -> int:
        user_id = _user_id(conn, account_id, system_id)
        query = delete(senders).where(senders.c.smpp_user_id == user_id, senders.c.source_addr == source_addr)
        return int(conn.execute(query).rowcount or 0)

    if not await db.run(work):
        raise SenderError(f"{system_id} has no mapping for {source_addr}", reason="unknown")


async def targets_of(db: Database, user_id: str) -> dict[str, Target]:
    """The user's mappings, as a bound session keeps them (and reloads now and then)."""
    query = select(senders.c.source_addr, senders.c.device_id, senders.c.to_sim).where(
        senders.c.smpp_user_id == user_id
    )
    rows = await db.read(lambda conn: list(conn.execute(query)))
    return {row.source_addr: Target(row.device_id, row.to_sim) for row in rows}
