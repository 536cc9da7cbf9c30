"""GoSMS wire shapes of the SMS endpoints: requests with their field rules, and responses."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import ValidationInfo, WithJsonSchema, field_validator

from simrelay.errors import ErrorCode
from simrelay.schemas import (
    ObjectId,
    OptionalObjectId,
    Out,
    OutId,
    OutOptionalId,
    Pagination,
    Request,
    UnixTime,
    nullable,
)
from simrelay.sms.status import STATUS_TEXT, Status

PHONE = re.compile(r"\+?([0-9]{3,30})")
CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
"""C0 and C1 control characters but tab, newline and carriage return (a regex class body)."""
CONTROL = re.compile(f"[{CONTROL_CHARS}]")
WHITESPACE_CHARS = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What `str.strip()` removes, as a regex class body (a unit test compares it with str.isspace)."""
SIM_MAX = 2**31 - 1
"""The largest `to_sim` a database integer holds; larger is no SIM slot either (2008, not 1000)."""
UNIX_TIME_MAX = 2**31 - 1
"""Times are stored as database integers; later than 2038 is refused with 2010."""
MAX_MESSAGE_LENGTH = "max_message_length"
"""The validation context's key for the longest message (the setting of the same name)."""
DEFAULT_MAX_MESSAGE_LENGTH = 1000

# The rules above as JSON Schema (ECMA 262 patterns: `^...$` mean the whole string), for the
# OpenAPI document. Each is written from the same constants its validator uses; unit tests
# check that values generated from them pass the validators and values outside them do not.
PHONE_PATTERN = f"^{PHONE.pattern}$"
MESSAGE_PATTERN = f"^[^{CONTROL_CHARS}]*[^{CONTROL_CHARS}{WHITESPACE_CHARS}][^{CONTROL_CHARS}]*$"
LENGTH_SETTING = "x-max-length-setting"
"""Marks a `maxLength` that is a setting: the document states the server's configured value."""

PHONE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": PHONE_PATTERN,
    "description": "3 to 30 digits; one leading `+` is tolerated and dropped",
}
MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": DEFAULT_MAX_MESSAGE_LENGTH,
    LENGTH_SETTING: MAX_MESSAGE_LENGTH,
    "pattern": MESSAGE_PATTERN,
    "description": "A non-space character; no control characters but `\\n`, `\\r`, `\\t`",
}
SIM_SCHEMA = nullable({"type": "integer", "minimum": -2, "maximum": SIM_MAX}) | {
    "description": "SIM slot: -2 the device's default, -1 random, 0.. a slot"
}
UNIX_TIME_SCHEMA = nullable({"type": "integer", "minimum": 0, "maximum": UNIX_TIME_MAX})


def check_sim(value: int | None) -> int | None:
    """`to_sim`: -2 device default, -1 random, 0.. a slot."""
    if value is not None and not -2 <= value <= SIM_MAX:
        raise ValueError("to_sim outside -2..SIM_MAX")
    return value


def check_message(value: str, info: ValidationInfo) -> str:
    """An SMS text: a non-space character, no control characters but newline and tab, at most
    the `max_message_length` of the validation context (1000 without one)."""
    limit = (info.context or {}).get(MAX_MESSAGE_LENGTH, DEFAULT_MAX_MESSAGE_LENGTH)
    if not is_valid_message(value, limit=limit):
        raise ValueError("invalid message")
    return value


def is_valid_message(value: str, *, limit: int) -> bool:
    """check_message's rule, for texts made on the server (a bulk send's filled templates)."""
    return bool(value.strip()) and len(value) <= limit and not CONTROL.search(value)


def check_phone(value: str) -> str:
    """3 to 30 digits, one leading `+` tolerated and dropped."""
    match = PHONE.fullmatch(value)  # not `$`: it would let a trailing newline through
    if match is None:
        raise ValueError("invalid phone number")
    return match.group(1)


SimSlot = Annotated[int | None, WithJsonSchema(SIM_SCHEMA)]
"""`to_sim` as documented; the models check it with check_sim (2008)."""


class SendMessageRequest(Request):
    message: Annotated[str, WithJsonSchema(MESSAGE_SCHEMA)]
    phone_number: Annotated[str, WithJsonSchema(PHONE_SCHEMA)]
    device_id: OptionalObjectId = None
    callback_id: OptionalObjectId = None
    to_sim: SimSlot = None
    valid_until: Annotated[int | None, WithJsonSchema(UNIX_TIME_SCHEMA)] = None
    """Unix time: not sent by then → status 3, reason "expired" (simrelay's own field)."""
    send_at: Annotated[int | None, WithJsonSchema(UNIX_TIME_SCHEMA)] = None
    """Unix time: not offered to a device before (simrelay's own field)."""
    no_store: bool = False
    """Keep only metadata: the text is blanked once the SMS is final and never goes into
    webhook payloads (the GoSMS ext API's field, also taken here)."""

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
        return check_message(value, info)

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, value: str) -> str:
        return check_phone(value)

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


StatusNumber = Annotated[int, WithJsonSchema({"type": "integer", "enum": [int(s) for s in Status]})]
StatusText = Annotated[str, WithJsonSchema({"type": "string", "enum": [STATUS_TEXT[s] for s in Status]})]


class SendMessageResponse(Out):
    id: OutId


class MessageOut(Out):
    """The SMS object of get, list and webhook payloads, keys in the documented order."""

    id: OutId
    message: str
    status: StatusNumber
    callback_id: OutOptionalId
    device_id: OutOptionalId
    phone_number: str
    message_status: StatusText
    time_create: UnixTime
    to_sim: SimSlot


class MessageList(Out):
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


class StatusChangeOut(Out):
    status: StatusNumber
    message_status: StatusText
    time: UnixTime
    """Unix seconds."""
    time_ms: UnixTime
    """The same moment in milliseconds: several steps can share a second."""
    device_id: OutOptionalId
    sim: int | None
    reason: str


class MessageHistoryOut(Out):
    id: OutId
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
