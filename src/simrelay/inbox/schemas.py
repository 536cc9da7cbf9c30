"""Wire shapes of the inbox and opt-out endpoints."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel

from simrelay.errors import ErrorCode
from simrelay.sms.schemas import PHONE, Pagination, Request


def check_phone(value: str) -> str:
    """A `phone_number` as on send: 3 to 30 digits, one leading `+` tolerated and dropped."""
    match = PHONE.fullmatch(value)  # not `$`: it would let a trailing newline through
    if match is None:
        raise ValueError("invalid phone number")
    return match.group(1)


class PhoneNumberRequest(Request):
    phone_number: Annotated[str, AfterValidator(check_phone)]

    field_errors: ClassVar[dict[str, ErrorCode]] = {"phone_number": ErrorCode.INVALID_PHONE}


class ReceivedMessageOut(BaseModel):
    """One inbox item. `phone_number` is the sender: digits, or a sender name as the network gave it."""

    id: str
    device_id: str
    phone_number: str
    message: str
    sim: int | None
    received_at: int


class InboxList(BaseModel):
    pagination: Pagination
    inbox_list: list[ReceivedMessageOut]


class OptOutOut(BaseModel):
    """One number on the opt-out list; `source` is "sms" (it texted STOP) or "api"."""

    phone_number: str
    source: str
    created_at: int


class OptOutList(BaseModel):
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
