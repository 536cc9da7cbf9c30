"""Campaign use cases: bulk send, get, list, pause, resume, cancel. Raise ApiError; know
nothing of HTTP."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.engine import Connection, Row

from simrelay.campaigns import repository
from simrelay.campaigns.schemas import BulkSendRequest, State, campaign_object
from simrelay.campaigns.template import MissingVariable, Template, parse_template
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import new_object_id
from simrelay.sms import holds
from simrelay.sms import repository as sms_repository
from simrelay.sms import service as sms
from simrelay.sms.intake import Batch, Intake
from simrelay.sms.models import Hold
from simrelay.sms.schemas import check_phone, is_valid_message
from simrelay.storage.database import Database


@dataclass(frozen=True, slots=True)
class BulkAnswer:
    campaign_id: str
    accepted: int
    rejected: list[tuple[int, ErrorCode]]
    """(index, why) of each recipient not sent to."""


async def send_bulk(
    db: Database,
    intake: Intake,
    request: BulkSendRequest,
    *,
    account_id: str,
    raw_body: bytes,
    idempotency_key: str | None,
    max_message_length: int,
) -> BulkAnswer:
    """Stores one SMS in status 0 per valid recipient, all in one transaction with their
    campaign, and answers once they are committed. A recipient whose number or filled text is
    invalid is rejected (2001, 2002) and the others go; the whole request is refused when the
    device or webhook named is not the account's (1009, 1010), the quota has no room for every
    accepted SMS (1006) or the account has no device (1004). A repeated Idempotency-Key answers
    the first campaign."""
    if request.device_id or request.callback_id:
        await sms.check_targets(
            db, account_id=account_id, device_id=request.device_id, callback_id=request.callback_id
        )
    campaign_id = new_object_id()
    now = time.time()
    rows, rejected = _messages(
        request,
        parse_template(request.message),
        account_id=account_id,
        campaign_id=campaign_id,
        max_message_length=max_message_length,
        now=now,
    )
    campaign = {
        "id": campaign_id,
        "account_id": account_id,
        "message": request.message,
        "recipients": len(request.recipients),
        "accepted": len(rows),
        "rejected": orjson.dumps([[index, error.name] for index, error in rejected]).decode(),
        "state": str(State.RUNNING),
        "time_create": int(now),
    }
    batch = Batch(
        account_id,
        campaign_id,
        rows,
        idempotency_key=idempotency_key,
        body_hash=sms.body_hash(raw_body) if idempotency_key else "",
        also=functools.partial(repository.insert_campaign, row=campaign),
    )
    answered = await intake.submit_batch(batch)
    if answered == campaign_id:
        return BulkAnswer(campaign_id, len(rows), rejected)
    first = await db.read(lambda conn: repository.get_campaign(conn, account_id, answered))
    if first is None:  # an Idempotency-Key of /v1/sms/send with this very body: not a campaign
        raise ApiError(ErrorCode.IDEMPOTENCY_MISMATCH)
    return BulkAnswer(first.id, first.accepted, _rejected(first.rejected))


def _messages(
    request: BulkSendRequest,
    template: Template,
    *,
    account_id: str,
    campaign_id: str,
    max_message_length: int,
    now: float,
) -> tuple[list[dict[str, Any]], list[tuple[int, ErrorCode]]]:
    """The rows of the recipients' SMS, and the recipients rejected."""
    rows: list[dict[str, Any]] = []
    rejected: list[tuple[int, ErrorCode]] = []
    for index, checked in _checked(request, template, max_message_length=max_message_length):
        if isinstance(checked, ErrorCode):
            rejected.append((index, checked))
            continue
        phone_number, text = checked
        rows.append(
            sms.message_row(
                account_id=account_id,
                phone_number=phone_number,
                message=text,
                device_id=request.device_id or "",
                callback_id=request.callback_id or "",
                to_sim=request.to_sim,
                campaign_id=campaign_id,
                now=now,
            )
        )
    return rows, rejected


def _checked(
    request: BulkSendRequest, template: Template, *, max_message_length: int
) -> Iterator[tuple[int, tuple[str, str] | ErrorCode]]:
    """Per recipient, its (number, filled text), or why it is rejected: one rule for the send
    and its preview."""
    for index, recipient in enumerate(request.recipients):
        try:
            phone_number = check_phone(recipient.phone_number)
        except ValueError:
            yield index, ErrorCode.INVALID_PHONE
            continue
        try:
            text = template.fill(recipient.vars or {})
        except MissingVariable:
            yield index, ErrorCode.INVALID_MESSAGE
            continue
        if not is_valid_message(text, limit=max_message_length):
            yield index, ErrorCode.INVALID_MESSAGE
            continue
        yield index, (phone_number, text)


@dataclass(frozen=True, slots=True)
class BulkPreview:
    accepted: int
    rejected: list[tuple[int, ErrorCode]]
    examples: list[tuple[str, str]]
    """(number, text) of the first accepted recipients."""


def preview_bulk(request: BulkSendRequest, *, max_message_length: int, examples: int) -> BulkPreview:
    """What send_bulk would store and reject, read from the request alone: nothing is stored, and
    what only storing checks (quota, device, a repeated key) is not told."""
    accepted = 0
    rejected: list[tuple[int, ErrorCode]] = []
    shown: list[tuple[str, str]] = []
    template = parse_template(request.message)
    for index, checked in _checked(request, template, max_message_length=max_message_length):
        if isinstance(checked, ErrorCode):
            rejected.append((index, checked))
        else:
            accepted += 1
            if len(shown) < examples:
                shown.append(checked)
    return BulkPreview(accepted, rejected, shown)


def _rejected(stored: str) -> list[tuple[int, ErrorCode]]:
    return [(int(index), ErrorCode[name]) for index, name in orjson.loads(stored)]


async def get_campaign(db: Database, *, account_id: str, campaign_id: str) -> dict[str, Any]:
    """The campaign object, with its SMS counted per status; 1019 if not the account's."""

    def work(conn: Connection) -> dict[str, Any] | None:
        row = repository.get_campaign(conn, account_id, campaign_id)
        if row is None:
            return None
        return campaign_object(row, sms_repository.count_campaigns_by_status(conn, [row.id])[row.id])

    found = await db.read(work)
    if found is None:
        raise ApiError(ErrorCode.CAMPAIGN_NOT_FOUND)
    return found


async def list_campaigns(
    db: Database, *, account_id: str, limit: int, page: int
) -> tuple[int, list[dict[str, Any]]]:
    """(the account's campaigns, the page's campaign objects), newest first."""

    def work(conn: Connection) -> tuple[int, list[dict[str, Any]]]:
        total, rows = repository.list_campaigns(conn, account_id, limit=limit, page=page)
        counts = sms_repository.count_campaigns_by_status(conn, [row.id for row in rows]) if rows else {}
        return total, [campaign_object(row, counts[row.id]) for row in rows]

    return await db.read(work)


async def follow_campaigns(
    db: Database, *, account_id: str, campaign_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The campaign objects of the account's campaigns among these ids (the panel's live
    progress); unknown ids and other accounts' are left out."""

    def work(conn: Connection) -> list[dict[str, Any]]:
        rows = repository.get_campaigns(conn, account_id, campaign_ids) if campaign_ids else []
        counts = sms_repository.count_campaigns_by_status(conn, [row.id for row in rows]) if rows else {}
        return [campaign_object(row, counts[row.id]) for row in rows]

    return await db.read(work)


def _campaign(conn: Connection, account_id: str, campaign_id: str) -> Row[Any]:
    row = repository.get_campaign(conn, account_id, campaign_id, lock=True)
    if row is None:
        raise ApiError(ErrorCode.CAMPAIGN_NOT_FOUND)
    return row


async def pause_campaign(db: Database, *, account_id: str, campaign_id: str) -> None:
    """A running campaign's waiting SMS are no longer offered (those devices hold go on);
    anything else is left as it is."""

    def work(conn: Connection) -> None:
        if _campaign(conn, account_id, campaign_id).state == State.RUNNING:
            repository.set_state(conn, campaign_id, str(State.PAUSED))
            holds.hold_campaign(conn, campaign_id, hold=Hold.PAUSED, was=Hold.NONE)

    await db.run(work)


async def resume_campaign(db: Database, *, account_id: str, campaign_id: str) -> bool:
    """A paused campaign's SMS are offered again; whether it was paused (devices have work)."""

    def work(conn: Connection) -> bool:
        if _campaign(conn, account_id, campaign_id).state != State.PAUSED:
            return False
        repository.set_state(conn, campaign_id, str(State.RUNNING))
        holds.hold_campaign(conn, campaign_id, hold=Hold.NONE, was=Hold.PAUSED)
        return True

    return await db.run(work)


async def cancel_campaign(db: Database, *, account_id: str, campaign_id: str, max_attempts: int) -> set[str]:
    """Cancels every SMS of the campaign that no device has sent, as a delete cancels one
    (sms/holds.py: cancel_campaign); returns the devices asked to drop one, to be told."""
    now = time.time()

    def work(conn: Connection) -> set[str]:
        if _campaign(conn, account_id, campaign_id).state == State.CANCELLED:
            return set()
        repository.set_state(conn, campaign_id, str(State.CANCELLED))
        return holds.cancel_campaign(
            conn, campaign_id, account_id=account_id, now=now, max_attempts=max_attempts
        )

    return await db.run(work)
