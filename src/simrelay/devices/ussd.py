"""USSD requests: a code a device dials for its account, and the network's answer.

A request is sent to its device at most once, never again, because a USSD code can be an
action (a transfer, a subscription) rather than a question. The node holding the device's
session claims a request by setting `sent_at` where it is still unset, and only then sends the
frame; a frame lost with its connection leaves the request pending until it times out.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, select, update
from sqlalchemy.engine import Connection

from simrelay.devices.models import UssdRequest
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import new_object_id
from simrelay.storage.database import Database
from simrelay.webhooks.outbox import Event, Kind, queue_events

requests = cast(Table, UssdRequest.__table__)
r = requests.c

FEATURE = "ussd"
"""What a native device lists in its hello's `features` when it can dial USSD."""
CODE_MAX = 182
"""GSM 02.90: a USSD string is at most 182 characters."""
CODE = re.compile(f"[0-9*#+]{{1,{CODE_MAX}}}")
CODE_PATTERN = f"^{CODE.pattern}$"
"""The rule as JSON Schema states it (ECMA 262: the whole string)."""


class UssdStatus(StrEnum):
    PENDING = "pending"
    """Not answered yet: waiting to be sent, or sent and waiting for the device's answer."""
    DONE = "done"
    """The network answered; `response` is its text."""
    ERROR = "error"
    """The device or the network refused it; `response` may say why."""
    TIMEOUT = "timeout"
    """No answer before it expired."""


def check_code(value: str) -> str:
    """A USSD string: `*`, `#`, `+` and digits, 1 to 182 of them."""
    if not CODE.fullmatch(value):  # fullmatch: `$` would let a trailing newline through
        raise ValueError("not a USSD string")
    return value


def is_connected(device: Any, *, heartbeat_seconds: float, now: float) -> bool:
    """A node holds a session of the device, and it was heard from within two heartbeats (a
    node that died leaves `connection_id` set; the silence then tells)."""
    last = device.last_online_at
    return device.connection_id is not None and last is not None and now - last < 2 * heartbeat_seconds


def choose_sim(device: Any, to_sim: int | None, *, rng: random.Random | None = None) -> int | None:
    """The slot to dial from (None: the device's own default), as an SMS chooses its SIM:
    -2 or left out is the device's `to_sim`, -1 any slot it reported. 1016 for a slot it lacks."""
    wanted = to_sim if to_sim is not None and to_sim != -2 else int(device.to_sim)
    slots = [int(sim.get("slot_index", 0)) for sim in (device.sim_list or [])]
    if not slots or wanted == -2:
        return None
    if wanted == -1:
        return (rng or random).choice(slots)
    if wanted not in slots:
        raise ApiError(ErrorCode.DEVICE_CANNOT, why=f"it has no SIM in slot {wanted}")
    return wanted


def check_device(device: Any, *, heartbeat_seconds: float, now: float) -> None:
    """1016 for a device kind without USSD (the SMSGate app: its API has none), 1015 for a device
    no node holds a session of, 1016 for one whose last hello did not offer USSD."""
    if device.kind != "native":
        raise ApiError(ErrorCode.DEVICE_CANNOT, why="no USSD on SMS Gateway for Android")
    if not is_connected(device, heartbeat_seconds=heartbeat_seconds, now=now):
        raise ApiError(ErrorCode.DEVICE_OFFLINE)
    if not device.can_ussd:
        raise ApiError(ErrorCode.DEVICE_CANNOT, why='its connection does not offer USSD ("features")')


def insert_request(
    conn: Connection, device: Any, *, code: str, sim: int | None, now: float, expire_seconds: float
) -> Row[Any]:
    values = {
        "id": new_object_id(),
        "account_id": device.account_id,
        "device_id": device.id,
        "code": code,
        "sim": sim,
        "status": UssdStatus.PENDING.value,
        "response": "",
        "time_create": now,
        "time_done": None,
        "sent_at": None,
        "expires_at": now + expire_seconds,
    }
    conn.execute(requests.insert().values(**values))
    row = find_request(conn, account_id=device.account_id, request_id=values["id"])
    assert row is not None
    return row


def find_request(conn: Connection, *, account_id: str, request_id: str) -> Row[Any] | None:
    """Only the account's own: another account's id is as unknown as one never made."""
    return conn.execute(select(requests).where(r.id == request_id, r.account_id == account_id)).first()


def _unsent(device_id: str | None, *, now: float) -> list[ColumnElement[bool]]:
    condition = [r.status == UssdStatus.PENDING.value, r.expires_at > now, r.sent_at.is_(None)]
    if device_id is not None:
        condition.append(r.device_id == device_id)
    return condition


def claim(conn: Connection, request_ids: list[str], *, now: float) -> list[Row[Any]]:
    """Marks these requests sent, each only if no node has: the conditional update lets one
    node win each, so a request goes out once even when two nodes try."""
    claimed = []
    for request_id in request_ids:
        row = conn.execute(
            update(requests)
            .where(r.id == request_id, r.sent_at.is_(None), r.status == UssdStatus.PENDING.value)
            .values(sent_at=now)
            .returning(*requests.c)
        ).first()
        if row is not None:
            claimed.append(row)
    return claimed


async def send_unsent(db: Database, device_id: str, send: Callable[[dict[str, Any]], None]) -> int:
    """Sends the device (whose session is on this node) its requests that no node has sent; how
    many. A read first: most calls (every change of the device signals it) find none."""
    now = time.time()
    ids = await db.read(
        lambda conn: list(conn.execute(select(r.id).where(*_unsent(device_id, now=now))).scalars())
    )
    if not ids:
        return 0
    rows = await db.run(lambda conn: claim(conn, ids, now=now))
    for row in rows:
        send(ussd_frame(row, now=now))
    return len(rows)


def devices_with_unsent(conn: Connection, *, now: float) -> set[str]:
    """Devices with a request waiting to be sent (the safety net for a lost signal)."""
    return set(conn.execute(select(r.device_id).where(*_unsent(None, now=now))).scalars())


def ussd_frame(row: Any, *, now: float) -> dict[str, Any]:
    return {
        "type": "ussd",
        "id": row.id,
        "code": row.code,
        "sim": row.sim,
        "timeout_seconds": max(1, round(row.expires_at - now)),
    }


def store_result(
    conn: Connection, *, device_id: str, request_id: str, status: UssdStatus, response: str, now: float
) -> bool:
    """A device's answer, stored if the request is still pending (a repeat, or an answer after
    the timeout, changes nothing). False if the device has no such request."""
    row = conn.execute(select(requests).where(r.id == request_id, r.device_id == device_id)).first()
    if row is None:
        return False
    done = conn.execute(
        update(requests)
        .where(r.id == request_id, r.status == UssdStatus.PENDING.value)
        .values(status=status.value, response=response, time_done=now)
        .returning(*requests.c)
    ).all()
    _announce(conn, done, now=now)
    return True


def expire(conn: Connection, *, now: float, request_id: str | None = None) -> Sequence[Row[Any]]:
    """Pending requests past `expires_at` time out (all of them, or the one named)."""
    condition = [r.status == UssdStatus.PENDING.value, r.expires_at <= now]
    if request_id is not None:
        condition.append(r.id == request_id)
    rows = conn.execute(
        update(requests)
        .where(*condition)
        .values(status=UssdStatus.TIMEOUT.value, time_done=now)
        .returning(*requests.c)
    ).all()
    _announce(conn, rows, now=now)
    return rows


def _announce(conn: Connection, rows: Sequence[Row[Any]], *, now: float) -> None:
    queue_events(
        conn,
        [Event(row.account_id, Kind.DEVICE_USSD, ussd_object(row), at=now, subject=row.id) for row in rows],
    )


def ussd_object(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "device_id": row.device_id,
        "code": row.code,
        "status": row.status,
        "response": row.response,
        "time_create": int(row.time_create),
    }
