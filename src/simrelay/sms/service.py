"""SMS use cases: send, get, delete, list. Raise ApiError; know nothing of HTTP."""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.engine import Connection, Row

from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import new_object_id
from simrelay.sms import history, leases, repository, search
from simrelay.sms.encoding import encoding_of
from simrelay.sms.intake import Intake, Submission
from simrelay.sms.models import Hold
from simrelay.sms.schemas import SendMessageRequest
from simrelay.sms.status import Status
from simrelay.storage.database import Database
from simrelay.webhooks import repository as webhooks


async def send_message(
    db: Database,
    intake: Intake,
    request: SendMessageRequest,
    *,
    account_id: str,
    raw_body: bytes,
    idempotency_key: str | None,
    message_id: str | None = None,
    also: Callable[..., None] | None = None,
) -> str:
    """Stores a new SMS in status 0 and returns its id once it is durably committed.
    `message_id`: the id to give it, when the caller had to name it before (SMPP answers the
    first parts of a long message before the last arrives); a new one otherwise. `also(conn,
    message_id=id)`: more to store in the same transaction, if the SMS is stored."""
    if request.device_id or request.callback_id:
        await check_targets(
            db, account_id=account_id, device_id=request.device_id, callback_id=request.callback_id
        )
    row = message_row(
        account_id=account_id,
        phone_number=request.phone_number,
        message=request.message,
        device_id=request.device_id or "",
        callback_id=request.callback_id or "",
        to_sim=request.to_sim,
        valid_until=request.valid_until,
        send_at=request.send_at,
        no_store=request.no_store,
        message_id=message_id,
    )
    submission = Submission(
        row,
        idempotency_key=idempotency_key,
        body_hash=body_hash(raw_body) if idempotency_key else "",
        also=functools.partial(also, message_id=row["id"]) if also is not None else None,
    )
    return await intake.submit(submission)


def message_row(
    *,
    account_id: str,
    phone_number: str,
    message: str,
    device_id: str = "",
    callback_id: str = "",
    to_sim: int | None = None,
    valid_until: int | None = None,
    send_at: int | None = None,
    no_store: bool = False,
    message_id: str | None = None,
    campaign_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The messages row of a new SMS in status 0, every column set (the intake inserts them
    with one precompiled statement); `phone_number` and `message` checked already."""
    encoding = encoding_of(message)
    return {
        "id": message_id or new_object_id(),
        "account_id": account_id,
        "phone_number": phone_number,
        "message": message,
        "status": int(Status.WAITING),
        "callback_id": callback_id,
        "requested_device_id": device_id,
        "device_id": "",
        "to_sim": to_sim,
        "time_create": int(time.time() if now is None else now),
        "search_text": search.search_text(message, phone_number),
        "deleted_at": None,
        "valid_until": valid_until,
        "send_at": send_at,
        "encoding": encoding.name,
        "parts": encoding.parts,
        "part_states": "",
        "reason": "",
        "attempts": 0,
        "declines": 0,
        "sim": None,
        "lease_device_id": "",
        "lease_until": None,
        "lease_expires": None,
        "lease_drop": False,
        "lease_handed": True,
        "let_go_by": "",
        "no_store": no_store,
        "campaign_id": campaign_id,
        "hold": int(Hold.NONE),
    }


def body_hash(raw_body: bytes) -> str:
    """Hash of the body as JSON: key order and spacing don't make it another request."""
    canonical = orjson.dumps(orjson.loads(raw_body), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


async def check_targets(
    db: Database, *, account_id: str, device_id: str | None, callback_id: str | None
) -> None:
    """The device an SMS is pinned to (1009) and the webhook it names (1010) are the account's."""

    def work(conn: Connection) -> None:
        if device_id and not repository.device_exists(conn, account_id=account_id, device_id=device_id):
            raise ApiError(ErrorCode.DEVICE_NOT_FOUND)
        if callback_id and not webhooks.webhook_exists(conn, account_id=account_id, webhook_id=callback_id):
            raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)

    await db.read(work)


async def forget_idempotency_keys(db: Database, *, older_than: float) -> None:
    """Drops Idempotency-Keys past their lifetime (they are ignored already; this frees space)."""
    before = time.time() - older_than
    await db.run(lambda conn: repository.purge_idempotency_keys(conn, before=before))


async def index_for_search(db: Database) -> int:
    """Brings the SQLite full-text index up to date (PostgreSQL maintains its own)."""
    if not db.is_sqlite:
        return 0
    return await db.run(repository.index_queued_messages)


async def get_message(db: Database, *, account_id: str, message_id: str) -> Row[Any]:
    row = await db.read(lambda conn: repository.get_message(conn, account_id, message_id))
    if row is None:
        raise ApiError(ErrorCode.MESSAGE_NOT_FOUND)
    return row


async def delete_message(db: Database, *, account_id: str, message_id: str, max_attempts: int) -> str:
    """Hides the SMS from the API; one still waiting is never offered to a device. Returns the
    device holding it ("" if none), which has been asked to drop it and must be told.

    Refused (1016), and nothing changes, when the SMS was handed to a device that cannot let
    it go (the SMSGate app before 1.67): it may still be sent, so no cancellation is claimed."""
    now = time.time()

    def work(conn: Connection) -> str | None:
        if not repository.mark_deleted(conn, account_id, message_id, now=now):
            return None
        try:
            return leases.request_drop(conn, message_id, now=now, max_attempts=max_attempts)
        except leases.CannotCancel as refusal:
            version = f" {refusal.app_version}" if refusal.app_version else ""
            raise ApiError(
                ErrorCode.DEVICE_CANNOT,
                why=f"the SMS is on device {refusal.device_id}, whose app{version} cannot cancel "
                "an SMS it was handed; it may still be sent",
            ) from None

    holder = await db.run(work)
    if holder is None:
        raise ApiError(ErrorCode.MESSAGE_NOT_FOUND)
    return holder


async def message_history(
    db: Database, *, account_id: str, message_id: str
) -> tuple[Row[Any], list[dict[str, Any]]]:
    """The SMS and its status changes, oldest first."""

    def work(conn: Connection) -> tuple[Row[Any] | None, list[dict[str, Any]]]:
        row = repository.get_message(conn, account_id, message_id)
        return row, history.changes_of(conn, message_id) if row is not None else []

    row, changes = await db.read(work)
    if row is None:
        raise ApiError(ErrorCode.MESSAGE_NOT_FOUND)
    return row, changes


@dataclass(frozen=True)
class MessagePage:
    """A page of SMS and the count of all that match; `exact` is False when `total` is a floor
    (a search with more than repository.SEARCH_COUNT_CAP matches)."""

    total: int
    exact: bool
    rows: list[Row[Any]]


async def list_messages(db: Database, *, account_id: str, limit: int, page: int, query: str) -> MessagePage:
    """A page of the account's SMS, newest first; `query` is the API's `search` parameter."""
    found = search.needle(query) if query else ""
    if found is None:
        return MessagePage(0, True, [])
    total, exact, rows = await db.run(
        lambda conn: repository.list_messages(conn, account_id, limit=limit, page=page, needle=found)
    )
    return MessagePage(total, exact, list(rows))
