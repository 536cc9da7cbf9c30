"""GoSMS wire shapes of the device endpoints."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, WithJsonSchema

from simrelay.devices import budgets
from simrelay.devices.ussd import CODE_MAX, CODE_PATTERN, UssdStatus, check_code
from simrelay.errors import ErrorCode
from simrelay.schemas import (
    OBJECT_ID_SCHEMA,
    ObjectId,
    Out,
    OutId,
    Pagination,
    Request,
    UnixTime,
    check_required_id,
    nullable,
)
from simrelay.sms.schemas import SimSlot, check_sim
from simrelay.timestamps import iso_millis

DeviceId = Annotated[str, AfterValidator(check_required_id), WithJsonSchema(OBJECT_ID_SCHEMA)]


class DeviceIdRequest(Request):
    device_id: DeviceId

    field_errors: ClassVar[dict[str, ErrorCode]] = {"device_id": ErrorCode.INVALID_DEVICE_ID}


INTERVAL_MAX = 86400.0
LIMIT_MAX = 1_000_000


def check_interval(value: float | None) -> float | None:
    if value is not None and not 0 <= value <= INTERVAL_MAX:
        raise ValueError("seconds outside 0..86400")
    return value


def check_limit(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= LIMIT_MAX:
        raise ValueError("limit outside 0..1000000")
    return value


Interval = Annotated[
    float | None,
    AfterValidator(check_interval),
    WithJsonSchema(nullable({"type": "number", "minimum": 0, "maximum": INTERVAL_MAX})),
]
Limit = Annotated[
    int | None,
    AfterValidator(check_limit),
    WithJsonSchema(nullable({"type": "integer", "minimum": 0, "maximum": LIMIT_MAX})),
]
WARMUP_DAYS_MAX = 365
STICKY_DAYS_MAX = 365
PAUSE_MINUTES_MAX = 7 * 24 * 60


def within(low: int, high: int, unit: str) -> AfterValidator:
    """An optional whole number from `low` to `high` (2010 naming the field otherwise)."""

    def check(value: int | None) -> int | None:
        if value is not None and not low <= value <= high:
            raise ValueError(f"{unit} outside {low}..{high}")
        return value

    return AfterValidator(check)


def whole(low: int, high: int) -> WithJsonSchema:
    return WithJsonSchema(nullable({"type": "integer", "minimum": low, "maximum": high}))


WarmupDays = Annotated[int | None, within(0, WARMUP_DAYS_MAX, "days"), whole(0, WARMUP_DAYS_MAX)]
StickyDays = Annotated[int | None, within(1, STICKY_DAYS_MAX, "days"), whole(1, STICKY_DAYS_MAX)]
PauseMinutes = Annotated[int | None, within(1, PAUSE_MINUTES_MAX, "minutes"), whole(1, PAUSE_MINUTES_MAX)]


def check_quiet_hours(value: str | None) -> str | None:
    if value is not None:
        budgets.parse_quiet_hours(value)
    return value


def check_timezone(value: str | None) -> str | None:
    if value is not None:
        if not value:
            raise ValueError("a time zone is required; UTC if in doubt")
        budgets.zone(value)
    return value


QuietHours = Annotated[
    str | None,
    AfterValidator(check_quiet_hours),
    WithJsonSchema(nullable({"type": "string", "pattern": f"^(?:{budgets.QUIET_HOURS.pattern})?$"})),
]
TimeZone = Annotated[
    str | None,
    AfterValidator(check_timezone),
    WithJsonSchema(nullable({"type": "string", "enum": budgets.time_zone_names()})),
]
PACING_FIELDS = (
    "send_interval_min",
    "send_interval_max",
    "limit_per_minute",
    "limit_per_hour",
    "limit_per_day",
)


def check_strategy(value: str | None) -> str | None:
    if value is not None and value not in budgets.STRATEGIES:
        raise ValueError(f"one of {', '.join(budgets.STRATEGIES)}")
    return value


Strategy = Annotated[
    str | None,
    AfterValidator(check_strategy),
    WithJsonSchema(nullable({"type": "string", "enum": list(budgets.STRATEGIES)})),
]
SIM_FIELDS = (
    "sim_limit_per_day",
    "sim_limit_per_month",
    "sim_warmup_days",
    "sim_strategy",
    "quiet_hours",
    "timezone",
    "sim_new_recipients_per_day",
    "sticky_days",
    "pause_after_failures",
    "pause_minutes",
)
"""Calendar budgets of each of the device's SIMs (devices/budgets.py), how a SIM is chosen, and
when one is paused (devices/refusals.py)."""


class EditDeviceRequest(Request):
    device_id: DeviceId
    is_active: bool | None = None
    to_sim: Annotated[SimSlot, AfterValidator(check_sim)] = None
    low_battery_alert: bool | None = None
    send_interval_min: Interval = None
    """Seconds between two sends of the device, at least."""
    send_interval_max: Interval = None
    """At most; not below the minimum (this request's, or the stored one when left out): 2010."""
    limit_per_minute: Limit = None
    limit_per_hour: Limit = None
    limit_per_day: Limit = None
    """Per rolling 24 hours, for each SIM; `sim_limit_per_day` counts the calendar day."""
    sim_limit_per_day: Limit = None
    """SMS per SIM per calendar day in the device's `timezone` (0: no cap)."""
    sim_limit_per_month: Limit = None
    """SMS per SIM per calendar month in the device's `timezone` (0: no cap)."""
    sim_warmup_days: WarmupDays = None
    """A new SIM's daily cap ramps up to `sim_limit_per_day` over this many days (0: off)."""
    sim_new_recipients_per_day: Limit = None
    """Numbers a SIM never sent to before, per SIM per calendar day (0: no cap)."""
    sim_strategy: Strategy = None
    """Which of its SIMs ready to send takes the next SMS: `random`, `round_robin` (in slot
    order), `least_used` (the fewest sent today) or `sticky` (the SIM that last sent to the
    number, within `sticky_days`, while it may send; else the least used)."""
    sticky_days: StickyDays = None
    """How long a number stays with its SIM under `sticky` (days since the last SMS to it)."""
    pause_after_failures: Limit = None
    """Carrier refusals in a row that pause a SIM for `pause_minutes` (0: never)."""
    pause_minutes: PauseMinutes = None
    quiet_hours: QuietHours = None
    """`HH:MM-HH:MM` in the device's `timezone` (`22:00-08:00` wraps past midnight): no SIM of
    the device sends then; `""`: none. One that ends when it starts is refused (2010)."""
    timezone: TimeZone = None
    """An IANA time zone (`Europe/Moscow`); the calendar of the limits and quiet hours."""

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "device_id": ErrorCode.INVALID_DEVICE_ID,
        "to_sim": ErrorCode.INVALID_SIM,
    }


class DeviceSettingsOut(Out):
    device_id: OutId
    send_interval_min: float = Field(ge=0)
    send_interval_max: float = Field(ge=0)
    limit_per_minute: int = Field(ge=0)
    limit_per_hour: int = Field(ge=0)
    limit_per_day: int = Field(ge=0)
    sim_limit_per_day: int = Field(ge=0)
    sim_limit_per_month: int = Field(ge=0)
    sim_warmup_days: int = Field(ge=0)
    sim_strategy: str
    quiet_hours: str
    timezone: str
    sim_new_recipients_per_day: int = Field(ge=0)
    sticky_days: int = Field(ge=0)
    pause_after_failures: int = Field(ge=0)
    pause_minutes: int = Field(ge=0)


def settings_object(row: Any) -> dict[str, Any]:
    return {"device_id": row.id, **{name: getattr(row, name) for name in (*PACING_FIELDS, *SIM_FIELDS)}}


class SimOut(Out):
    slot_index: int
    display_name: str


class DeviceOut(Out):
    device_id: OutId
    device_battery_state: int
    """Per cent."""
    device_name: str
    is_active: bool
    is_charging: bool
    last_online_date: str
    """ISO 8601 UTC with milliseconds and `Z`; `""` if never heard from."""
    device_name_type: str
    low_battery_alert: bool
    to_sim: int = Field(ge=-2, description="-2 the device's default SIM, -1 random, 0.. a slot")
    sim_list: list[SimOut]


class DeviceList(Out):
    pagination: Pagination
    device_list: list[DeviceOut]


def device_type(row: Any) -> str:
    """`device_name_type`: the model; for the SMSGate app ("SMS Gateway for Android") its
    version too, which decides what it can do (docs/android.md, minimum versions)."""
    if getattr(row, "kind", "native") == "smsgate" and row.app_version:
        return f"{row.model} {row.app_version}"
    return str(row.model)


def device_object(row: Any) -> dict[str, Any]:
    return {
        "device_id": row.id,
        "device_battery_state": row.battery,
        "device_name": row.name,
        "is_active": row.is_active,
        "is_charging": row.is_charging,
        "last_online_date": iso_millis(row.last_online_at),
        "device_name_type": device_type(row),
        "low_battery_alert": row.low_battery_alert,
        "to_sim": row.to_sim,
        "sim_list": [
            {"slot_index": sim.get("slot_index", 0), "display_name": sim.get("display_name", "")}
            for sim in (row.sim_list or [])
        ],
    }


USSD_CODE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": CODE_MAX,
    "pattern": CODE_PATTERN,
    "description": "A USSD string (GSM 02.90): `*`, `#`, `+` and digits, such as `*100#`",
}


class SendUssdRequest(Request):
    device_id: DeviceId
    code: Annotated[str, AfterValidator(check_code), WithJsonSchema(USSD_CODE_SCHEMA)]
    to_sim: Annotated[SimSlot, AfterValidator(check_sim)] = None
    """-2 or left out: the device's `to_sim`; -1 any of its SIMs; 0.. that slot (1016 if it has
    none there)."""

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "device_id": ErrorCode.INVALID_DEVICE_ID,
        "code": ErrorCode.INVALID_USSD_CODE,
        "to_sim": ErrorCode.INVALID_SIM,
    }


class UssdIdRequest(Request):
    id: ObjectId

    field_errors: ClassVar[dict[str, ErrorCode]] = {"id": ErrorCode.INVALID_ID}


class UssdObjectOut(Out):
    id: OutId
    device_id: OutId
    code: str
    status: UssdStatus
    """`pending` until the device answers (`done`, `error`) or the request expires (`timeout`)."""
    response: str
    """The network's answer (`done`), or why not (`error`); `""` otherwise."""
    time_create: UnixTime


class UssdOut(Out):
    ussd: UssdObjectOut
