"""Device use cases: pairing, the records' add, read, edit, delete, list, and USSD requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Row

from simrelay.accounts import guessing
from simrelay.accounts.guessing import Guesses
from simrelay.devices import pairing, repository, ussd
from simrelay.devices.pacing import Pacing
from simrelay.devices.pairing import IssuedCode
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import new_object_id
from simrelay.storage.database import Database

T = TypeVar("T")


def _new_device(
    *, account_id: str, name: str, active: bool, pacing: Pacing | None, token_hash: str | None = None
) -> dict[str, Any]:
    pacing = pacing or Pacing.defaults()
    return {
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
        "token_hash": token_hash,
        "kind": "native",
        "can_cancel": True,
        "can_ussd": False,
        "app_version": "",
        "signal": -1,
        "send_interval_min": pacing.interval_min,
        "send_interval_max": pacing.interval_max,
        "limit_per_minute": pacing.per_minute,
        "limit_per_hour": pacing.per_hour,
        "limit_per_day": pacing.per_day,
    }


async def add_device(
    db: Database, *, account_id: str, name: str = "", active: bool = False, pacing: Pacing | None = None
) -> str:
    """A device record (no token: it cannot connect); a new device is inactive until activated."""
    row = _new_device(account_id=account_id, name=name, active=active, pacing=pacing)
    await db.run(lambda conn: repository.insert_device(conn, row))
    return str(row["id"])


async def issue_pairing_code(db: Database, *, account_id: str, uses: int, server_url: str) -> IssuedCode:
    return await db.run(lambda conn: pairing.issue_code(conn, account_id, uses=uses, server_url=server_url))


def pairing_keys(code: str, client_host: str) -> list[str]:
    """What a pairing attempt is throttled by: the client's address and the code tried."""
    code_key = "pair:code:" + pairing.hash_secret(pairing.normalise_code(code))[:32]
    return [guessing.address_key("pair", client_host), code_key]


async def redeem_guarded(
    db: Database, guesses: Guesses, code: str, client_host: str, work: Callable[[Connection, str], T]
) -> T:
    """Runs `work(conn, account id)` in the transaction that uses the pairing code up. Raises
    TooManyGuesses while this client or this code must wait, PairingError for a bad code
    (counted as a failed guess)."""
    keys = pairing_keys(code, client_host)
    await guessing.check(guesses, keys)

    def redeem(conn: Connection) -> T:
        return work(conn, pairing.redeem_code(conn, code, now=time.time()))

    try:
        result = await db.run(redeem)
    except pairing.PairingError:
        await guesses.failed(keys)
        raise
    await guesses.succeeded(keys[1:])
    return result


async def pair_device(
    db: Database,
    guesses: Guesses,
    *,
    code: str,
    client_host: str,
    name: str,
    model: str,
    app_version: str,
    pacing: Pacing | None = None,
) -> tuple[str, str]:
    """Trades a pairing code for a new, active device: (device id, device token).

    Raises PairingError, TooManyGuesses. Pairing activates: the account holder made the code
    for this.
    """
    token = pairing.new_device_token()

    def work(conn: Connection, account_id: str) -> str:
        return enrol_device(
            conn,
            account_id=account_id,
            token=token,
            name=name,
            model=model,
            app_version=app_version,
            pacing=pacing,
        )

    return await redeem_guarded(db, guesses, code, client_host, work), token


def enrol_device(
    conn: Connection,
    *,
    account_id: str,
    token: str,
    name: str,
    model: str,
    app_version: str,
    pacing: Pacing | None,
    sims: list[dict[str, Any]] | None = None,
    kind: str = "native",
    can_cancel: bool = True,
) -> str:
    """A new, active device that connects with `token`; its id."""
    row = _new_device(
        account_id=account_id,
        name=name or model or "phone",
        active=True,
        pacing=pacing,
        token_hash=pairing.hash_secret(token),
    )
    row.update(model=model, app_version=app_version, sim_list=sims or [], kind=kind, can_cancel=can_cancel)
    repository.insert_device(conn, row)
    return str(row["id"])


async def device_for_token(db: Database, token: str) -> Row[Any] | None:
    """The device a token belongs to; None for an unknown (or deleted device's) token."""
    if not token.startswith(pairing.TOKEN_PREFIX):
        return None
    token_hash = pairing.hash_secret(token)
    return await db.read(lambda conn: repository.find_by_token_hash(conn, token_hash))


async def get_device(db: Database, *, account_id: str, device_id: str) -> Row[Any]:
    row = await db.read(lambda conn: repository.get_device(conn, account_id=account_id, device_id=device_id))
    if row is None:
        raise ApiError(ErrorCode.DEVICE_NOT_FOUND)
    return row


async def edit_device(db: Database, *, account_id: str, device_id: str, changes: dict[str, Any]) -> None:
    """Applies the given settings; fields left out stay as they are. A send interval whose
    minimum would exceed its maximum is refused (2010) and nothing changes."""

    def work(conn: Connection) -> None:
        row = repository.get_device(conn, account_id=account_id, device_id=device_id)
        if row is None:
            raise ApiError(ErrorCode.DEVICE_NOT_FOUND)
        low = changes.get("send_interval_min", row.send_interval_min)
        high = changes.get("send_interval_max", row.send_interval_max)
        if low > high:
            raise ApiError(ErrorCode.INVALID_FIELD, field="send_interval_max")
        if changes:
            repository.update_device(conn, account_id=account_id, device_id=device_id, values=changes)

    await db.run(work)


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


async def all_devices(db: Database, *, account_id: str) -> list[Row[Any]]:
    """Every device of the account, oldest first (the GoSMS ext API lists them unpaged)."""
    rows = await db.read(lambda conn: repository.all_devices(conn, account_id=account_id))
    return list(rows)


USSD_POLL_SECONDS = (0.1, 0.25)
"""How often a waiting USSD request is read: quickly at first (an answer takes a few seconds),
then more calmly (the answer is read from the database: any node may store it)."""


async def request_ussd(
    db: Database,
    *,
    account_id: str,
    device_id: str,
    code: str,
    to_sim: int | None,
    heartbeat_seconds: float,
    expire_seconds: float,
) -> Row[Any]:
    """Stores a pending USSD request for a connected device that can dial it; the caller then
    signals the device (storage/signals.py), whose node sends it. Raises 1009, 1015, 1016."""

    def work(conn: Connection) -> Row[Any]:
        now = time.time()
        device = repository.get_device(conn, account_id=account_id, device_id=device_id)
        if device is None:
            raise ApiError(ErrorCode.DEVICE_NOT_FOUND)
        ussd.check_device(device, heartbeat_seconds=heartbeat_seconds, now=now)
        sim = ussd.choose_sim(device, to_sim)
        return ussd.insert_request(conn, device, code=code, sim=sim, now=now, expire_seconds=expire_seconds)

    return await db.run(work)


async def read_ussd(db: Database, *, account_id: str, request_id: str) -> Row[Any]:
    """The request as it is now; one past its expiry times out here, if no sweep came first."""
    row = await db.read(lambda conn: ussd.find_request(conn, account_id=account_id, request_id=request_id))
    if row is None:
        raise ApiError(ErrorCode.USSD_NOT_FOUND)
    if row.status == ussd.UssdStatus.PENDING and row.expires_at <= time.time():

        def work(conn: Connection) -> Row[Any] | None:
            ussd.expire(conn, now=time.time(), request_id=request_id)
            return ussd.find_request(conn, account_id=account_id, request_id=request_id)

        row = await db.run(work) or row
    return row


async def await_ussd(db: Database, row: Row[Any], *, wait_seconds: float) -> Row[Any]:
    """Reads the request until it is no longer pending or `wait_seconds` have passed."""
    deadline = time.monotonic() + wait_seconds
    started = time.monotonic()
    while row.status == ussd.UssdStatus.PENDING:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        quick, calm = USSD_POLL_SECONDS
        await asyncio.sleep(min(left, quick if time.monotonic() - started < 1 else calm))
        row = await read_ussd(db, account_id=row.account_id, request_id=row.id)
    return row
