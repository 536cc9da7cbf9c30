"""Wire shapes of the bulk send and the campaign endpoints."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationInfo, WithJsonSchema, field_validator

from simrelay.campaigns.template import MalformedTemplate, parse_template
from simrelay.errors import ErrorCode
from simrelay.schemas import ObjectId, OptionalObjectId, Out, OutId, Pagination, Request, UnixTime
from simrelay.sms.schemas import (
    CONTROL,
    MESSAGE_SCHEMA,
    PHONE_SCHEMA,
    SimSlot,
    check_sim,
)
from simrelay.sms.status import Status

RECIPIENTS_MAX = 10_000
"""Recipients of one bulk send; more are refused whole (2010)."""

BRACES_PATTERN = r"^(?:[^{}]|\{\{|\}\}|\{[^{}]+\})*$"
"""Braces as templates/parse_template takes them: `{{`, `}}` or `{name}`, none alone."""
TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "allOf": [{"pattern": MESSAGE_SCHEMA["pattern"]}, {"pattern": BRACES_PATTERN}],
    "description": "The text of every SMS, `{name}` replaced by the recipient's `vars[name]`; "
    "`{{` and `}}` are literal braces, any other brace is 2002. Each filled text must be a "
    "valid `message` (a recipient whose text is not, or lacks a variable, is rejected with 2002)",
}
RECIPIENT_PHONE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "description": f"{PHONE_SCHEMA['description']}; checked per recipient: an invalid one is "
    "rejected (2001) and the others go",
}


class State(StrEnum):
    RUNNING = "running"
    """Its SMS go to devices as they are free."""
    PAUSED = "paused"
    """Its waiting SMS are not offered until it is resumed."""
    CANCELLED = "cancelled"
    """Its waiting SMS ended in status 3 "cancelled"; what devices held may still end otherwise."""
    DONE = "done"
    """None of its SMS is waiting or taken (read off its SMS, never stored)."""


class Recipient(Request):
    phone_number: Annotated[str, WithJsonSchema(RECIPIENT_PHONE_SCHEMA)] = ""
    """Checked per recipient: an invalid one is rejected (2001), the others go."""
    vars: dict[str, str] | None = None
    """Values of the template's variables; strings only (another type is 1001)."""


class BulkSendRequest(Request):
    message: Annotated[str, WithJsonSchema(TEMPLATE_SCHEMA)]
    recipients: Annotated[list[Recipient], Field(min_length=1, max_length=RECIPIENTS_MAX)]
    device_id: OptionalObjectId = None
    callback_id: OptionalObjectId = None
    to_sim: SimSlot = None

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "message": ErrorCode.INVALID_MESSAGE,
        "callback_id": ErrorCode.INVALID_CALLBACK_ID,
        "device_id": ErrorCode.INVALID_DEVICE_ID,
        "to_sim": ErrorCode.INVALID_SIM,
    }

    @field_validator("message")
    @classmethod
    def _message(cls, value: str, info: ValidationInfo) -> str:
        # The length is the filled text's to check, per recipient: a variable may be long or "".
        if not value.strip() or CONTROL.search(value):
            raise ValueError("invalid message")
        try:
            parse_template(value)
        except MalformedTemplate:
            raise ValueError("malformed template") from None
        return value

    @field_validator("to_sim")
    @classmethod
    def _to_sim(cls, value: int | None) -> int | None:
        return check_sim(value)


class CampaignIdRequest(Request):
    campaign_id: ObjectId
    """2010 if not an ObjectID."""


class RejectedOut(Out):
    index: int = Field(ge=0)
    """The recipient's position in `recipients`, from 0."""
    code: int
    """The error code a send of it alone would have had (2001 number, 2002 text)."""
    message: str


class BulkSendResponse(Out):
    campaign_id: OutId
    accepted: int = Field(ge=0)
    """Recipients whose SMS were stored (in status 0), each a normal SMS."""
    rejected: list[RejectedOut]


STATUS_KEYS = [str(int(status)) for status in Status]
Counts = Annotated[
    dict[str, int],
    WithJsonSchema(
        {
            "type": "object",
            "properties": {key: {"type": "integer", "minimum": 0} for key in STATUS_KEYS},
            "required": STATUS_KEYS,
            "additionalProperties": False,
            "description": "The campaign's SMS per status number (deleted ones not counted)",
        }
    ),
]


class CampaignOut(Out):
    campaign_id: OutId
    state: Annotated[str, WithJsonSchema({"type": "string", "enum": [str(state) for state in State]})]
    message: str
    """The template as sent."""
    time_create: UnixTime
    recipients: int = Field(ge=0)
    """Recipients in the request: `accepted` were stored, the rest rejected."""
    accepted: int = Field(ge=0)
    counts: Counts


class CampaignList(Out):
    pagination: Pagination
    campaign_list: list[CampaignOut]


def campaign_object(row: Any, counts: dict[int, int]) -> dict[str, Any]:
    """The campaign object from its row and its SMS per status; `state` read off both."""
    state = State(row.state)
    if state is not State.CANCELLED and not counts.get(Status.WAITING) and not counts.get(Status.TAKEN):
        state = State.DONE
    return {
        "campaign_id": row.id,
        "state": str(state),
        "message": row.message,
        "time_create": row.time_create,
        "recipients": row.recipients,
        "accepted": row.accepted,
        "counts": {str(int(status)): counts.get(status, 0) for status in Status},
    }
