"""SMPP routes: a carrier's SMSC as a device of the account (kind "smpp"), with what binding to it
takes, and the record of every submit_sm written to it (smpp/route.py sends, smpp/supervisor.py
decides which process runs each route)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from simrelay.devices import pairing
from simrelay.devices.models import Device
from simrelay.devices.pacing import Pacing
from simrelay.devices.service import enrol_device
from simrelay.smpp.models import SmppRoute, SmppRoutePart
from simrelay.smpp.users import SmppUserError, check_credentials
from simrelay.storage.database import Database

routes = cast(Table, SmppRoute.__table__)
parts = cast(Table, SmppRoutePart.__table__)
devices = cast(Table, Device.__table__)

KIND = "smpp"
MODEL = "SMPP route"


class RouteError(ValueError):
    """A route that cannot be created or deleted (bad option, unknown id). `reason` names the
    option at fault ("system_id", "password", "host", "port", "source_addr", "tps", "window") or
    "unknown" (no such route), for a caller that words the refusal itself (the panel)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteSettings:
    host: str
    port: int
    system_id: str
    password: str
    source_addr: str = ""
    tps: float = 0.0
    window: int = 10

    def check(self) -> None:
        """RouteError for a value SMPP or TCP cannot carry."""
        try:
            check_credentials(self.system_id, self.password)
        except SmppUserError as exc:
            raise RouteError(str(exc), reason=exc.reason) from None
        if not self.host or len(self.host) > 255:
            raise RouteError("host must be 1 to 255 characters", reason="host")
        if not 1 <= self.port <= 65535:
            raise RouteError("port must be 1 to 65535", reason="port")
        if len(self.source_addr) > 20 or not all(" " <= char <= "~" for char in self.source_addr):
            raise RouteError(
                "source_addr must be at most 20 printable ASCII characters (SMPP 3.4 §4.4.1)",
                reason="source_addr",
            )
        # NaN passes `< 0` and would make the dispatcher's send interval NaN (_pacing).
        if not math.isfinite(self.tps) or self.tps < 0:
            raise RouteError("tps must be 0 (no limit) or more", reason="tps")
        if not 1 <= self.window <= 1000:
            raise RouteError("window must be 1 to 1000", reason="window")


@dataclass(frozen=True, slots=True)
class Route:
    device_id: str
    account_id: str
    name: str
    settings: RouteSettings


def _pacing(tps: float) -> Pacing:
    # The dispatcher offers a device its SMS no faster than its send interval: 1/tps makes it
    # offer at the route's rate, so the SMSC is never sent more than it allows.
    gap = 1.0 / tps if tps > 0 else 0.0
    return Pacing(interval_min=gap, interval_max=gap)


async def create_route(db: Database, *, account_id: str, name: str, settings: RouteSettings) -> str:
    """A new route of the account, active at once; its device id. RouteError for a bad option."""
    settings.check()

    def work(conn: Connection) -> str:
        # The route talks to the dispatcher in-process (smpp/route.py): its token is never used,
        # and nobody sees it.
        device_id = enrol_device(
            conn,
            account_id=account_id,
            token=pairing.new_device_token(),
            name=name or f"SMPP {settings.host}",
            model=MODEL,
            app_version="",
            pacing=_pacing(settings.tps),
            kind=KIND,
        )
        conn.execute(
            insert(routes).values(
                device_id=device_id,
                account_id=account_id,
                host=settings.host,
                port=settings.port,
                system_id=settings.system_id,
                password=settings.password,
                source_addr=settings.source_addr,
                tps=settings.tps,
                window=settings.window,
                holder=None,
                held_until=0.0,
                created_at=time.time(),
            )
        )
        return device_id

    return await db.run(work)


def _route_of(row: Row[Any]) -> Route:
    settings = RouteSettings(
        host=row.host,
        port=int(row.port),
        system_id=row.system_id,
        password=row.password,
        source_addr=row.source_addr,
        tps=float(row.tps),
        window=int(row.window),
    )
    return Route(device_id=row.device_id, account_id=row.account_id, name=row.name, settings=settings)


_ROUTE_QUERY = select(routes, devices.c.name).join(devices, devices.c.id == routes.c.device_id)


async def list_routes(db: Database, *, account_id: str) -> list[Route]:
    query = _ROUTE_QUERY.where(routes.c.account_id == account_id).order_by(
        routes.c.created_at, routes.c.device_id
    )
    rows = await db.read(lambda conn: conn.execute(query).all())
    return [_route_of(row) for row in rows]


async def get_route(db: Database, device_id: str) -> Route | None:
    row = await db.read(
        lambda conn: conn.execute(_ROUTE_QUERY.where(routes.c.device_id == device_id)).first()
    )
    return _route_of(row) if row is not None else None


async def delete_route(db: Database, *, account_id: str, device_id: str) -> None:
    """Removes the route and its device (RouteError if the account has none of that id). SMS it
    holds end as a deleted device's do; the process running it stops within a claim period."""
    query = delete(devices).where(
        devices.c.id == device_id, devices.c.account_id == account_id, devices.c.kind == KIND
    )
    if not await db.run(lambda conn: conn.execute(query).rowcount):
        raise RouteError(f"no SMPP route {device_id}", reason="unknown")


# Which process runs a route: a claim that lapses unless renewed.


async def claim_routes(db: Database, *, holder: str, seconds: float, now: float | None = None) -> list[str]:
    """Takes (or renews) every route that is this holder's or nobody's (a lapsed claim counts as
    nobody's) until now + seconds; the ids this holder runs now. One UPDATE decides, so two
    processes never both win a route."""
    moment = time.time() if now is None else now
    free = or_(routes.c.holder == holder, routes.c.holder.is_(None), routes.c.held_until < moment)
    claim = update(routes).where(free).values(holder=holder, held_until=moment + seconds)
    mine = select(routes.c.device_id).where(and_(routes.c.holder == holder, routes.c.held_until > moment))

    def work(conn: Connection) -> list[str]:
        conn.execute(claim)
        return [row.device_id for row in conn.execute(mine)]

    return await db.run(work)


async def release_routes(db: Database, *, holder: str, device_ids: Sequence[str]) -> None:
    """Lets the routes go at once (a clean stop), so another process takes them without waiting."""
    if device_ids:
        query = (
            update(routes)
            .where(routes.c.holder == holder, routes.c.device_id.in_(list(device_ids)))
            .values(holder=None, held_until=0.0)
        )
        await db.run(lambda conn: conn.execute(query))


# The submit_sm written to a route.


@dataclass(frozen=True, slots=True)
class WrittenPart:
    message_id: str
    part: int
    parts: int
    state: str
    smsc_id: str | None


async def mark_written(db: Database, *, device_id: str, message_id: str, part: int, parts_total: int) -> None:
    """Stored (committed) before the submit_sm is written: from here on the SMS may have gone out."""
    found = select(parts.c.id).where(
        parts.c.device_id == device_id, parts.c.message_id == message_id, parts.c.part == part
    )
    values = {"state": "written", "smsc_id": None}

    def work(conn: Connection) -> None:
        row = conn.execute(found).first()
        if row is None:
            conn.execute(
                insert(parts).values(
                    device_id=device_id,
                    message_id=message_id,
                    part=part,
                    parts=parts_total,
                    created_at=time.time(),
                    **values,
                )
            )
        else:
            conn.execute(update(parts).where(parts.c.id == row.id).values(**values))

    await db.run(work)


async def mark_answered(
    db: Database, *, device_id: str, message_id: str, part: int, state: str, smsc_id: str | None = None
) -> None:
    query = (
        update(parts)
        .where(parts.c.device_id == device_id, parts.c.message_id == message_id, parts.c.part == part)
        .values(state=state, smsc_id=smsc_id)
    )
    await db.run(lambda conn: conn.execute(query))


async def written_parts(db: Database, *, device_id: str, message_ids: Sequence[str]) -> list[WrittenPart]:
    if not message_ids:
        return []
    query = (
        select(parts.c.message_id, parts.c.part, parts.c.parts, parts.c.state, parts.c.smsc_id)
        .where(parts.c.device_id == device_id, parts.c.message_id.in_(list(message_ids)))
        .order_by(parts.c.message_id, parts.c.part)
    )
    rows = await db.read(lambda conn: conn.execute(query).all())
    return [WrittenPart(row.message_id, row.part, row.parts, row.state, row.smsc_id) for row in rows]


async def part_of_receipt(db: Database, *, device_id: str, smsc_id: str) -> WrittenPart | None:
    """The part an SMSC's message_id stands for, spelled as its submit_sm_resp gave it. Some
    SMSCs write the receipt's id in another base (Kannel has a per-SMSC setting for it,
    msg-id-type: smpp_msg_id_type in gw/smsc/smsc_smpp.c); that is not guessed here, since a
    guess could match another part's id."""
    query = (
        select(parts.c.message_id, parts.c.part, parts.c.parts, parts.c.state, parts.c.smsc_id)
        .where(parts.c.device_id == device_id, parts.c.smsc_id == smsc_id)
        .order_by(parts.c.id.desc())
    )
    row = await db.read(lambda conn: conn.execute(query).first())
    return WrittenPart(row.message_id, row.part, row.parts, row.state, row.smsc_id) if row else None
