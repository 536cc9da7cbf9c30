"""Calendar budgets of a SIM, the limits carriers watch: SMS per day and per month counted on the
device's own calendar (its time zone, midnight to midnight), a warm-up that ramps a new SIM's
daily cap up over its first days, and quiet hours in which none of the device's SIMs sends.

They sit beside pacing's rolling windows (devices/pacing.py); `Calendar.ready_at` says when a
SIM may send next under them, `Calendar.allowance` how many it may send now.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = ZoneInfo("UTC")
QUIET_HOURS = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")
"""`22:00-08:00`: from the first moment to the second, wrapping past midnight when it is earlier."""
SEARCH_STEPS = 8
"""Moves of `ready_at` at most: past quiet hours, a full day, a full month, and back again."""


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """`HH:MM-HH:MM` as (start, end); "" is none. Raises ValueError otherwise, and for an empty
    window (start equal to end)."""
    if not text:
        return None
    match = QUIET_HOURS.fullmatch(text)
    if match is None:
        raise ValueError("quiet hours are HH:MM-HH:MM, such as 22:00-08:00, or empty")
    hour, minute, end_hour, end_minute = (int(part) for part in match.groups())
    start, end = time(hour, minute), time(end_hour, end_minute)
    if start == end:
        raise ValueError("quiet hours must not start and end at the same minute")
    return start, end


def time_zone_names() -> list[str]:
    """Every IANA name `zone` accepts (the tzdata package's, or the system's where newer)."""
    return sorted(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA time zone; ValueError if there is none of that name."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Moscow") from None


STRATEGIES = ("random", "round_robin", "least_used", "sticky")
"""How a device chooses among its SIMs ready to send (devices/assignment.py: Planner.pick_sim);
`sticky` keeps a recipient on the SIM that last sent to it (devices/contacts.py)."""


@dataclass(frozen=True, slots=True)
class CalendarRules:
    per_day: int = 0
    per_month: int = 0
    warmup_days: int = 0
    """The daily cap ramps from per_day / warmup_days on the SIM's first day to per_day."""
    quiet: tuple[time, time] | None = None
    timezone: ZoneInfo = UTC
    strategy: str = "random"
    new_per_day: int = 0
    """Distinct recipients per calendar day that the SIM never sent to before."""

    @property
    def is_off(self) -> bool:
        return not (self.per_day or self.per_month or self.quiet)

    @property
    def counts(self) -> bool:
        """Sends must be counted: for a cap, or for the least_used and sticky strategies (the
        sticky one spreads new recipients as least_used does)."""
        return bool(self.per_day or self.per_month or self.strategy in ("least_used", "sticky"))

    @property
    def knows_recipients(self) -> bool:
        """Which SIM sent to which number must be kept (devices/contacts.py)."""
        return bool(self.new_per_day or self.strategy == "sticky")

    @property
    def lookback_seconds(self) -> float:
        """How far back sends count: the month so far, at most 31 days."""
        return 31 * 86400.0 if self.per_month else 86400.0 * 2

    def daily_cap(self, day: int) -> int:
        """The cap on the SIM's `day`-th day of use (1 the first); 0 is no cap."""
        if not self.per_day:
            return 0
        if self.warmup_days and day <= self.warmup_days:
            return max(1, math.ceil(self.per_day * day / self.warmup_days))
        return self.per_day


class Calendar:
    """One SIM's sends on the device's calendar."""

    def __init__(self, rules: CalendarRules, *, first_use: float | None = None) -> None:
        self.rules = rules
        self.first_use = first_use
        """When the SIM first sent (the warm-up counts days from it); None: not yet."""
        self._sends: list[float] = []
        self._firsts: list[float] = []
        """When the SIM first sent to each recipient new to it (the new-recipients cap)."""

    def record_new(self, at: float) -> None:
        """It sent to a number for the first time."""
        bisect.insort(self._firsts, at)
        horizon = at - 2 * 86400.0
        if self._firsts[0] < horizon:
            del self._firsts[: bisect.bisect_left(self._firsts, horizon)]

    def new_allowance(self, now: float) -> float:
        """New recipients it may still take today (math.inf without the cap)."""
        if not self.rules.new_per_day:
            return math.inf
        day_start, _ = self._day(now)
        return max(0, self.rules.new_per_day - self._count(day_start, now, self._firsts))

    def why_waiting(self, now: float) -> str:
        """Why it may not send now under its calendar budgets, and until when, in words; "" if
        it may."""
        blocked = self._blocked(now)
        if blocked is None:
            return ""
        return f"{blocked[1]}; sends again at {self.local_text(self.ready_at(now))}"

    def local_text(self, moment: float) -> str:
        """`2026-12-07 08:00 Europe/Moscow`: the device's own calendar."""
        return f"{self._local(moment):%Y-%m-%d %H:%M} {self.rules.timezone.key}"

    def record(self, at: float) -> None:
        if self.first_use is None or at < self.first_use:
            self.first_use = at
        bisect.insort(self._sends, at)
        horizon = at - self.rules.lookback_seconds
        if self._sends[0] < horizon:
            del self._sends[: bisect.bisect_left(self._sends, horizon)]

    def sent_today(self, now: float) -> int:
        day_start, _ = self._day(now)
        return self._count(day_start, now)

    def allowance(self, now: float) -> float:
        """SMS it may send now (math.inf with no caps; 0 in quiet hours or with a cap reached)."""
        if self._quiet_until(now) is not None:
            return 0
        left = math.inf
        day_start, _ = self._day(now)
        cap = self.rules.daily_cap(self._day_of_use(now))
        if cap:
            left = min(left, cap - self._count(day_start, now))
        if self.rules.per_month:
            month_start, _ = self._month(now)
            left = min(left, self.rules.per_month - self._count(month_start, now))
        return max(0, left)

    def ready_at(self, now: float) -> float:
        """The earliest moment from `now` on at which it may send (`now`: right away)."""
        moment = now
        for _ in range(SEARCH_STEPS):
            blocked = self._blocked(moment)
            if blocked is None:
                return moment
            moment = blocked[0]
        return moment

    def _blocked(self, moment: float) -> tuple[float, str] | None:
        """What holds the SIM at `moment`: until when, and in words; None if nothing does. A cap
        reached is named before quiet hours, the month's before the day's: the longer wait."""
        if self.rules.per_month:
            month_start, next_month = self._month(moment)
            if self._count(month_start, moment) >= self.rules.per_month:
                return next_month, f"monthly limit of {self.rules.per_month} SMS per SIM reached"
        day_start, next_day = self._day(moment)
        cap = self.rules.daily_cap(self._day_of_use(moment))
        if cap and self._count(day_start, moment) >= cap:
            return next_day, f"daily limit of {cap} SMS per SIM reached"
        quiet = self.rules.quiet
        if quiet is not None and (quiet_end := self._quiet_until(moment)) is not None:
            return quiet_end, f"quiet hours {quiet[0]:%H:%M}-{quiet[1]:%H:%M}"
        return None

    def _count(self, start: float, end: float, times: list[float] | None = None) -> int:
        """Sends (or other `times`) in [start, end]: the lists are kept sorted, so a round's many
        counts stay cheap."""
        times = self._sends if times is None else times
        return bisect.bisect_right(times, end) - bisect.bisect_left(times, start)

    def _local(self, moment: float) -> datetime:
        return datetime.fromtimestamp(moment, self.rules.timezone)

    def _at(self, local: datetime) -> float:
        """A wall-clock moment in the zone; one a DST change skipped is read as after it."""
        return local.replace(tzinfo=self.rules.timezone).timestamp()

    def _day(self, moment: float) -> tuple[float, float]:
        midnight = self._local(moment).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        return self._at(midnight), self._at(midnight + timedelta(days=1))

    def _month(self, moment: float) -> tuple[float, float]:
        first = self._local(moment).replace(day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        following = (first + timedelta(days=32)).replace(day=1)
        return self._at(first), self._at(following)

    def _day_of_use(self, moment: float) -> int:
        """1 on the calendar day of the SIM's first send (or today, before any), 2 the next..."""
        if self.first_use is None:
            return 1
        first = self._local(self.first_use).date()
        return (self._local(moment).date() - first).days + 1

    def _quiet_until(self, moment: float) -> float | None:
        """The end of the quiet hours `moment` falls in, or None outside them."""
        if self.rules.quiet is None:
            return None
        start, end = self.rules.quiet
        local = self._local(moment).replace(tzinfo=None)
        today = local.date()
        now = local.time()
        if start < end:
            inside = start <= now < end
            end_day = today
        else:  # past midnight: 22:00-08:00
            inside = now >= start or now < end
            end_day = today + timedelta(days=1) if now >= start else today
        if not inside:
            return None
        return self._at(datetime.combine(end_day, end))
