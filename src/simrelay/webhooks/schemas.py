"""GoSMS-style wire shapes of the webhook endpoints."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AliasChoices, BaseModel, Field

from simrelay.errors import ErrorCode
from simrelay.sms.schemas import Pagination, Request, check_required_id
from simrelay.timestamps import iso_millis
from simrelay.webhooks.outbox import SUBSCRIBABLE
from simrelay.webhooks.signing import PREFIX

EVENT_ID = re.compile(r"msg_[0-9a-f]{24}")
URL_MAX = 2000


def check_events(value: list[str] | None) -> list[str] | None:
    """Known event names, each once, in the documented order; an empty list is refused (a
    webhook that hears of nothing is a mistake; switch it off with is_active instead)."""
    if value is None:
        return None
    if not value or any(name not in SUBSCRIBABLE for name in value):
        raise ValueError(f"events must be a non-empty list of {', '.join(SUBSCRIBABLE)}")
    return [name for name in SUBSCRIBABLE if name in value]


def check_url(value: str) -> str:
    """Only the shape here (2009); where it points is checked by the service (webhooks/guard.py)."""
    value = value.strip()
    if not value or len(value) > URL_MAX:
        raise ValueError("url empty or too long")
    return value


def check_event_id(value: str) -> str:
    if not EVENT_ID.fullmatch(value):
        raise ValueError("not an event id")
    return value


WebhookId = Annotated[str, AfterValidator(check_required_id)]
Events = Annotated[list[str] | None, AfterValidator(check_events)]
Url = Annotated[str, AfterValidator(check_url)]

_ID_CHOICES = AliasChoices("webhook_id", "id")
"""`webhook_id` as devices have `device_id`; plain `id` as the create answer names it."""


class CreateWebhookRequest(Request):
    url: Url
    events: Events = None
    is_active: bool = True

    field_errors: ClassVar[dict[str, ErrorCode]] = {"url": ErrorCode.INVALID_WEBHOOK_URL}


class WebhookIdRequest(Request):
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
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=1, ge=1)
    event_id: Annotated[str, AfterValidator(check_event_id)] | None = None

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "webhook_id": ErrorCode.INVALID_CALLBACK_ID,
        "limit": ErrorCode.INVALID_LIMIT,
        "offset": ErrorCode.INVALID_OFFSET,
    }


class EventIdRequest(Request):
    event_id: Annotated[str, AfterValidator(check_event_id)]


class WebhookSecretOut(BaseModel):
    """The answer of create (and of edit with rotate_secret): the secret is shown only here."""

    id: str
    secret: str = Field(description=f"`{PREFIX}…`, the Standard Webhooks signing secret")


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    is_active: bool
    time_create: int
    disabled_reason: str = Field(description='Why simrelay switched it off ("" if it did not)')
    disabled_date: str = Field(description='When it did, ISO 8601 ("" if it did not)')
    failing_since: str = Field(description='First failed delivery since the last success ("" if none)')


class WebhookList(BaseModel):
    pagination: Pagination
    webhook_list: list[WebhookOut]


class QueuedEventOut(BaseModel):
    event_id: str


class DeliveryOut(BaseModel):
    """One attempt of one event."""

    id: int
    event_id: str
    event: str
    time: str
    http_status: int | None
    latency_ms: float
    response: str
    error: str
    success: bool


class DeliveryList(BaseModel):
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
