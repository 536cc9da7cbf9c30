"""Wire shapes of the inbox and opt-out endpoints."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, WithJsonSchema

from simrelay.errors import ErrorCode
from simrelay.schemas import Out, OutId, Pagination, Request, UnixTime
from simrelay.sms.schemas import PHONE_SCHEMA, check_phone


class PhoneNumberRequest(Request):
    phone_number: Annotated[str, AfterValidator(check_phone), WithJsonSchema(PHONE_SCHEMA)]
    """A `phone_number` as on send."""

    field_errors: ClassVar[dict[str, ErrorCode]] = {"phone_number": ErrorCode.INVALID_PHONE}


class ReceivedMessageOut(Out):
    """One inbox item. `phone_number` is the sender: digits, or a sender name as the network gave it."""

    id: OutId
    device_id: OutId
    phone_number: str
    message: str
    sim: int | None
    received_at: UnixTime


class InboxList(Out):
    pagination: Pagination
    inbox_list: list[ReceivedMessageOut]


class OptOutOut(Out):
    """One number on the opt-out list; `source` is "sms" (it texted STOP) or "api"."""

    phone_number: str
    source: str
    created_at: UnixTime


class OptOutList(Out):
    pagination: Pagination
    optout_list: list[OptOutOut]


def received_object(row: Any) -> dict[str, Any]:
    """The inbox item from a received_messages row."""
    return {
        "id": row.id,
        "device_id": row.device_id,
        "phone_number": row.phone_number,
        "message": row.message,
        "sim": row.sim,
        "received_at": row.received_at,
    }


def optout_object(row: Any) -> dict[str, Any]:
    return {"phone_number": row.phone_number, "source": row.source, "created_at": int(row.created_at)}
