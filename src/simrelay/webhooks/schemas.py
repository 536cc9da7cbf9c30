"""GoSMS-style wire shapes of the webhook endpoints."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AliasChoices, Field, WithJsonSchema

from simrelay.errors import ErrorCode
from simrelay.schemas import (
    OBJECT_ID_SCHEMA,
    PAGE_LIMIT_MAX,
    PAGE_MAX,
    Out,
    OutId,
    Pagination,
    Request,
    UnixTime,
    check_required_id,
    nullable,
)
from simrelay.timestamps import iso_millis
from simrelay.webhooks.guard import MAX_URL_LENGTH, URL, URL_PATTERN
from simrelay.webhooks.outbox import SUBSCRIBABLE, Kind
from simrelay.webhooks.signing import PREFIX

EVENT_ID = re.compile(r"msg_[0-9a-f]{24}")
URL_MAX = MAX_URL_LENGTH
EVENT_ID_SCHEMA = {"type": "string", "pattern": f"^{EVENT_ID.pattern}$"}
URL_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": URL_MAX,
    "pattern": URL_PATTERN,
    "description": "http(s); refused (2009) when its host resolves to a loopback, private, "
    "link-local or metadata address, unless the server allows private webhooks",
}
EVENTS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "enum": list(SUBSCRIBABLE)},
    "description": "Default: all",
}


def check_events(value: list[str] | None) -> list[str] | None:
    """Known event names, each once, in the documented order; an empty list is refused (a
    webhook that hears of nothing is a mistake; switch it off with is_active instead)."""
    if value is None:
        return None
    if not value or any(name not in SUBSCRIBABLE for name in value):
        raise ValueError(f"events must be a non-empty list of {', '.join(SUBSCRIBABLE)}")
    return [name for name in SUBSCRIBABLE if name in value]


def check_url(value: str) -> str:
    """Only the shape here (2009): URL_PATTERN, as documented; where it points is checked by
    the service (webhooks/guard.py)."""
    if len(value) > URL_MAX or not URL.fullmatch(value):
        raise ValueError("url empty, too long or not an http(s) URL as documented")
    return value


def check_event_id(value: str) -> str:
    if not EVENT_ID.fullmatch(value):
        raise ValueError("not an event id")
    return value


WebhookId = Annotated[str, AfterValidator(check_required_id), WithJsonSchema(OBJECT_ID_SCHEMA)]
Events = Annotated[list[str] | None, AfterValidator(check_events), WithJsonSchema(nullable(EVENTS_SCHEMA))]
Url = Annotated[str, AfterValidator(check_url), WithJsonSchema(URL_SCHEMA)]
EventId = Annotated[str, AfterValidator(check_event_id), WithJsonSchema(EVENT_ID_SCHEMA)]

_ID_CHOICES = AliasChoices("webhook_id", "id")
"""`webhook_id` as devices have `device_id`; plain `id` as the create answer names it."""
ID_CHOICES_SCHEMA: dict[str, Any] = {
    # The first of the two names present is the one read: `id` counts only without `webhook_id`.
    "properties": {"id": {"description": "The same as `webhook_id`, read only when that is absent"}},
    "anyOf": [
        {"required": ["webhook_id"]},
        {"required": ["id"], "properties": {"id": OBJECT_ID_SCHEMA}},
    ],
}


def _either_id(schema: dict[str, Any]) -> None:
    schema["required"] = [name for name in schema.get("required", []) if name != "webhook_id"]
    if not schema["required"]:
        del schema["required"]
    schema["properties"] |= ID_CHOICES_SCHEMA["properties"]
    schema["anyOf"] = ID_CHOICES_SCHEMA["anyOf"]


class CreateWebhookRequest(Request):
    url: Url
    events: Events = None
    is_active: bool = True

    field_errors: ClassVar[dict[str, ErrorCode]] = {"url": ErrorCode.INVALID_WEBHOOK_URL}


class WebhookIdRequest(Request):
    model_config = Request.model_config | {"json_schema_extra": _either_id}

    webhook_id: WebhookId = Field(validation_alias=_ID_CHOICES)

    field_errors: ClassVar[dict[str, ErrorCode]] = {"webhook_id": ErrorCode.INVALID_CALLBACK_ID}


class EditWebhookRequest(WebhookIdRequest):
    url: Url | None = None
    events: Events = None
    is_active: bool | None = None
    rotate_secret: bool = False

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "webhook_id": ErrorCode.INVALID_CALLBACK_ID,
        "url": ErrorCode.INVALID_WEBHOOK_URL,
    }


class DeliveriesRequest(WebhookIdRequest):
    limit: int = Field(default=20, ge=1, le=PAGE_LIMIT_MAX)
    offset: int = Field(default=1, ge=1, le=PAGE_MAX, description="The page number, from 1")
    event_id: EventId | None = None

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "webhook_id": ErrorCode.INVALID_CALLBACK_ID,
        "limit": ErrorCode.INVALID_LIMIT,
        "offset": ErrorCode.INVALID_OFFSET,
    }


class EventIdRequest(Request):
    event_id: EventId


class WebhookSecretOut(Out):
    """The answer of create (and of edit with rotate_secret): the secret is shown only here."""

    id: OutId
    secret: str = Field(
        pattern=f"^{PREFIX}", description=f"`{PREFIX}…`, the Standard Webhooks signing secret"
    )


class WebhookOut(Out):
    id: OutId
    url: str
    events: list[str] = Field(json_schema_extra={"items": {"type": "string", "enum": list(SUBSCRIBABLE)}})
    is_active: bool
    time_create: UnixTime
    disabled_reason: str = Field(description='Why simrelay switched it off ("" if it did not)')
    disabled_date: str = Field(description='When it did, ISO 8601 ("" if it did not)')
    failing_since: str = Field(description='First failed delivery since the last success ("" if none)')


class WebhookList(Out):
    pagination: Pagination
    webhook_list: list[WebhookOut]


class QueuedEventOut(Out):
    event_id: str = Field(pattern=f"^{EVENT_ID.pattern}$")


class DeliveryOut(Out):
    """One attempt of one event."""

    id: int
    event_id: str = Field(pattern=f"^{EVENT_ID.pattern}$")
    event: str = Field(json_schema_extra={"enum": [kind.value for kind in Kind]})
    time: str
    http_status: int | None
    latency_ms: float
    response: str
    error: str
    success: bool


class DeliveryList(Out):
    pagination: Pagination
    delivery_list: list[DeliveryOut]


def webhook_object(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": list(row.events),
        "is_active": row.is_active,
        "time_create": int(row.created_at),
        "disabled_reason": row.disabled_reason,
        "disabled_date": iso_millis(row.disabled_at),
        "failing_since": iso_millis(row.failing_since),
    }


def delivery_object(row: Any) -> dict[str, Any]:
    status = row.http_status
    return {
        "id": row.id,
        "event_id": row.event_id,
        "event": row.event,
        "time": iso_millis(row.at),
        "http_status": status,
        "latency_ms": row.latency_ms,
        "response": row.response,
        "error": row.error,
        "success": status is not None and 200 <= status < 300,
    }
