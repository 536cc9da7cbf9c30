"""GoSMS wire shapes of the SMS endpoints: requests with their field rules, and responses."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator

from simrelay.errors import ErrorCode
from simrelay.ids import is_object_id
from simrelay.sms.status import Status

PHONE = re.compile(r"\+?([0-9]{3,30})")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SIM_MAX = 2**31 - 1
UNIX_TIME_MAX = 2**31 - 1
"""Times are stored as database integers; later than 2038 is refused with 2010."""
"""The largest `to_sim` a database integer holds; larger is no SIM slot either (2008, not 1000)."""


class Request(BaseModel):
    """A JSON request body. Type errors map to 1001; value errors to the field's own code."""

    model_config = ConfigDict(strict=True, extra="ignore")
    field_errors: ClassVar[dict[str, ErrorCode]] = {}


def check_object_id(value: str | None) -> str:
    """Optional ids: "" or null mean not set; anything else must be an ObjectID (lower-cased)."""
    if not value:
        return ""
    if not is_object_id(value):
        raise ValueError("not an ObjectID")
    return value.lower()


def check_sim(value: int | None) -> int | None:
    """`to_sim`: -2 device default, -1 random, 0.. a slot."""
    if value is not None and not -2 <= value <= SIM_MAX:
        raise ValueError("to_sim outside -2..SIM_MAX")
    return value


def check_required_id(value: str) -> str:
    if not is_object_id(value):
        raise ValueError("not an ObjectID")
    return value.lower()


OptionalObjectId = Annotated[str | None, AfterValidator(check_object_id)]
ObjectId = Annotated[str, AfterValidator(check_required_id)]


class SendMessageRequest(Request):
    message: str
    phone_number: str
    device_id: OptionalObjectId = None
    callback_id: OptionalObjectId = None
    to_sim: int | None = None
    valid_until: int | None = None
    """Unix time: not sent by then → status 3, reason "expired" (simrelay's own field)."""
    send_at: int | None = None
    """Unix time: not offered to a device before (simrelay's own field)."""

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "message": ErrorCode.INVALID_MESSAGE,
        "phone_number": ErrorCode.INVALID_PHONE,
        "callback_id": ErrorCode.INVALID_CALLBACK_ID,
        "device_id": ErrorCode.INVALID_DEVICE_ID,
        "to_sim": ErrorCode.INVALID_SIM,
    }

    @field_validator("message")
    @classmethod
    def _message(cls, value: str, info: ValidationInfo) -> str:
        limit = (info.context or {}).get("max_message_length", 1000)
        if not value.strip() or len(value) > limit or CONTROL.search(value):
            raise ValueError("invalid message")
        return value

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, value: str) -> str:
        match = PHONE.fullmatch(value)  # not `$`: it would let a trailing newline through
        if match is None:
            raise ValueError("invalid phone number")
        return match.group(1)

    @field_validator("to_sim")
    @classmethod
    def _to_sim(cls, value: int | None) -> int | None:
        return check_sim(value)

    @field_validator("valid_until", "send_at")
    @classmethod
    def _unix_time(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= UNIX_TIME_MAX:
            raise ValueError("not a unix time")
        return value


class MessageIdRequest(Request):
    id: ObjectId

    field_errors: ClassVar[dict[str, ErrorCode]] = {"id": ErrorCode.INVALID_ID}


class SendMessageResponse(BaseModel):
    id: str


class MessageOut(BaseModel):
    """The SMS object of get, list and webhook payloads, keys in the documented order."""

    id: str
    message: str
    status: int
    callback_id: str
    device_id: str
    phone_number: str
    message_status: str
    time_create: int
    to_sim: int | None


class Pagination(BaseModel):
    total_records: int
    limit: int
    offset: int


class MessageList(BaseModel):
    pagination: Pagination
    sms_list: list[MessageOut]


def message_object(row: Any) -> dict[str, Any]:
    """The SMS object from a messages row (ORM object or Core row)."""
    return {
        "id": row.id,
        "message": row.message,
        "status": row.status,
        "callback_id": row.callback_id,
        "device_id": row.device_id or row.requested_device_id,
        "phone_number": row.phone_number,
        "message_status": Status(row.status).text,
        "time_create": row.time_create,
        "to_sim": row.to_sim,
    }


class StatusChangeOut(BaseModel):
    status: int
    message_status: str
    time: int
    """Unix seconds."""
    time_ms: int
    """The same moment in milliseconds: several steps can share a second."""
    device_id: str
    sim: int | None
    reason: str


class MessageHistoryOut(BaseModel):
    id: str
    history: list[StatusChangeOut]


def _change(status: int, at: float, device_id: str, sim: int | None, reason: str) -> dict[str, Any]:
    return {
        "status": status,
        "message_status": Status(status).text,
        "time": int(at),
        "time_ms": int(at * 1000),
        "device_id": device_id,
        "sim": sim,
        "reason": reason,
    }


def history_object(row: Any, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Creation (status 0, from time_create) and then every recorded change."""
    created = _change(int(Status.WAITING), row.time_create, row.requested_device_id, None, "")
    return {
        "id": row.id,
        "history": [
            created,
            *(_change(c["status"], c["at"], c["device_id"], c["sim"], c["reason"]) for c in changes),
        ],
    }
