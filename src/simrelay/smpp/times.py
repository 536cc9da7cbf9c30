"""SMPP time strings (SMPP 3.4 §7.1.1): schedule_delivery_time and validity_period, absolute
("YYMMDDhhmmsstnn+" or "-", nn quarter hours from UTC) or relative ("YYMMDDhhmmss000R", an
interval from now), and "" for none."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

_FORMAT = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([-+R])", re.ASCII)
_QUARTER = timedelta(minutes=15)


def parse_time(value: str, *, now: float) -> float | None:
    """The moment an SMPP time names, as UTC seconds; None for "". A relative time counts
    years, months, days, hours, minutes and seconds from `now`, calendar-wise (a month from
    31 January ends on the last day of February). ValueError for anything else; the session
    answers ESME_RINVSCHED or ESME_RINVEXPIRY by the field."""
    if value == "":
        return None
    match = _FORMAT.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not an SMPP time (YYMMDDhhmmsstnnp)")
    years, months, days, hours, minutes, seconds, tenths, quarters = (
        int(part) for part in match.groups()[:8]
    )
    sign = match[9]
    if sign == "R":
        # The spec asks for t and nn to be 0 and 00 here, and ignores them.
        return (
            _add_months(now, 12 * years + months)
            + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds()
        )
    if quarters > 48:
        raise ValueError(f"{value!r} is {quarters} quarter hours from UTC, more than 48")
    try:
        local = datetime(2000 + years, months, days, hours, minutes, seconds, tenths * 100_000, tzinfo=UTC)
    except ValueError as error:
        raise ValueError(f"{value!r} is no date: {error}") from None
    # nn quarter hours "advanced" (+) means local time is ahead of UTC.
    offset = quarters * _QUARTER
    return (local - offset if sign == "+" else local + offset).timestamp()


def _add_months(now: float, months: int) -> float:
    start = datetime.fromtimestamp(now, UTC)
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day).timestamp()


def format_time(timestamp: float) -> str:
    """An absolute SMPP time in UTC ("...00+") for a moment of 2000-2099, to the tenth of a
    second (truncated)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if not 2000 <= moment.year <= 2099:
        raise ValueError(f"{moment.isoformat()} has no SMPP time: years are 2000-2099")
    return moment.strftime("%y%m%d%H%M%S") + f"{moment.microsecond // 100_000}00+"
