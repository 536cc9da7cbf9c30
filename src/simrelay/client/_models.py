"""Typed results: frozen dataclasses built from the API's JSON, fields named as on the wire."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Generic, Self, TypeVar

T = TypeVar("T")


class SmsStatus(IntEnum):
    """The `status` of an SMS; 3, 4 and 5 are final."""

    WAITING = 0
    """Accepted, waiting for a device."""
    TAKEN = 1
    """A device took it."""
    SENT = 2
    """The device handed it to the network; a delivery report may follow."""
    SEND_FAILED = 3
    """The device could not send it (or it expired, or the number opted out)."""
    DELIVERED = 4
    """Delivery report: delivered."""
    NOT_DELIVERED = 5
    """Delivery report: not delivered."""

    @property
    def is_final(self) -> bool:
        return self >= SmsStatus.SEND_FAILED


class _Wire:
    """`from_json`: the dataclass's fields taken from a JSON object (unknown keys ignored, a
    missing key takes the field's default, so a plain GoSMS server's answers work too)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            if field.name in data:
                values[field.name] = data[field.name]
        return cls(**values)


@dataclass(frozen=True)
class Sms(_Wire):
    """One SMS (`/sms/get`, list items, webhook payloads)."""

    id: str
    message: str
    status: int
    callback_id: str
    device_id: str
    phone_number: str
    message_status: str
    time_create: int
    to_sim: int | None = None

    @property
    def is_final(self) -> bool:
        """Status 3, 4 or 5: nothing more will happen to it."""
        return self.status >= SmsStatus.SEND_FAILED


@dataclass(frozen=True)
class StatusChange(_Wire):
    """One step of an SMS's history (`/sms/history`)."""

    status: int
    message_status: str
    time: int
    time_ms: int
    device_id: str
    sim: int | None
    reason: str


@dataclass(frozen=True)
class Sim(_Wire):
    slot_index: int
    display_name: str


@dataclass(frozen=True)
class Device(_Wire):
    """One device (`/devices/get/info`, list items)."""

    device_id: str
    device_battery_state: int
    device_name: str
    is_active: bool
    is_charging: bool
    last_online_date: str
    device_name_type: str
    low_battery_alert: bool
    to_sim: int
    sim_list: tuple[Sim, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        device = super().from_json(data)
        sims = tuple(Sim.from_json(sim) for sim in data.get("sim_list") or ())
        return dataclasses.replace(device, sim_list=sims)


@dataclass(frozen=True)
class DeviceSettings(_Wire):
    """A device's pacing (`/devices/settings`): seconds between two SMS of one SIM, drawn between
    min and max, and SMS per SIM per rolling minute, hour and day (0: no limit)."""

    device_id: str
    send_interval_min: float
    send_interval_max: float
    limit_per_minute: int
    limit_per_hour: int
    limit_per_day: int


@dataclass(frozen=True)
class Ussd(_Wire):
    """A USSD request (`/devices/ussd`): `status` is `pending` (no answer yet), `done` (`response`
    is the network's answer), `error` (`response` may say why) or `timeout`."""

    id: str
    device_id: str
    code: str
    status: str
    response: str
    time_create: int


@dataclass(frozen=True)
class ReceivedSms(_Wire):
    """An SMS a device received (`/inbox`); `phone_number` is the sender."""

    id: str
    device_id: str
    phone_number: str
    message: str
    sim: int | None
    received_at: int


@dataclass(frozen=True)
class OptOut(_Wire):
    """A number not to text; `source` is "sms" (it texted STOP) or "api"."""

    phone_number: str
    source: str
    created_at: int


@dataclass(frozen=True)
class Webhook(_Wire):
    """A webhook subscription (never its secret)."""

    id: str
    url: str
    events: tuple[str, ...]
    is_active: bool
    time_create: int
    disabled_reason: str = ""
    disabled_date: str = ""
    failing_since: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return dataclasses.replace(super().from_json(data), events=tuple(data.get("events") or ()))


@dataclass(frozen=True)
class CreatedWebhook(_Wire):
    """A new webhook's id and its signing secret (`whsec_...`), shown only once."""

    id: str
    secret: str


@dataclass(frozen=True)
class Delivery(_Wire):
    """One delivery attempt of one webhook event (`/webhooks/deliveries`)."""

    id: int
    event_id: str
    event: str
    time: str
    http_status: int | None
    latency_ms: float
    response: str
    error: str
    success: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: `items`, `total` matching records, `limit`, and `offset` (the page
    number, from 1)."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any], key: str, item: Callable[[Mapping[str, Any]], T]) -> Page[T]:
        pagination = data["pagination"]
        return cls(
            items=tuple(item(entry) for entry in data[key]),
            total=int(pagination["total_records"]),
            limit=int(pagination["limit"]),
            offset=int(pagination["offset"]),
        )
