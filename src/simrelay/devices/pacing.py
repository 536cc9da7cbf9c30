"""Pacing: how fast one SIM may send, so that operators do not flag it.

Each SIM of a device keeps its own budget: a random gap between two SMS (drawn between the
device's min and max interval) and limits per rolling minute, hour and day; and its calendar
budgets (devices/budgets.py: per day and month on the device's calendar, warm-up, quiet
hours). The server enforces them by timing its offers; a device never has to.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from simrelay.config import Settings
from simrelay.devices.budgets import Calendar, CalendarRules, parse_quiet_hours, zone

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass(frozen=True, slots=True)
class Pacing:
    interval_min: float = 0.0
    interval_max: float = 0.0
    per_minute: int = 0
    per_hour: int = 0
    per_day: int = 0
    """0 turns a limit (or, for both intervals, the gap) off."""
    calendar: CalendarRules = field(default_factory=CalendarRules)

    @property
    def is_off(self) -> bool:
        """No gap and no rolling limit (the calendar's budgets are counted apart)."""
        return not (self.interval_max or self.per_minute or self.per_hour or self.per_day)

    @classmethod
    def from_settings(cls, settings: Settings) -> Pacing:
        """The defaults for new devices."""
        return cls(
            interval_min=settings.send_interval_min,
            interval_max=settings.send_interval_max,
            per_minute=settings.limit_per_minute,
            per_hour=settings.limit_per_hour,
            per_day=settings.limit_per_day,
        )

    @classmethod
    def defaults(cls) -> Pacing:
        """The built-in defaults, where no settings are at hand (tests, tools)."""
        return cls.from_settings(Settings.model_construct())

    @classmethod
    def of(cls, device: object) -> Pacing:
        """From a devices row."""
        return cls(
            interval_min=float(getattr(device, "send_interval_min", 0.0)),
            interval_max=float(getattr(device, "send_interval_max", 0.0)),
            per_minute=int(getattr(device, "limit_per_minute", 0)),
            per_hour=int(getattr(device, "limit_per_hour", 0)),
            per_day=int(getattr(device, "limit_per_day", 0)),
            calendar=calendar_rules(device),
        )


def calendar_rules(device: object) -> CalendarRules:
    """From a devices row; values it could not have stored (the API validates them) count as off."""
    try:
        quiet = parse_quiet_hours(str(getattr(device, "quiet_hours", "") or ""))
    except ValueError:
        quiet = None
    try:
        timezone = zone(str(getattr(device, "timezone", "") or "UTC"))
    except ValueError:
        timezone = zone("UTC")
    return CalendarRules(
        per_day=int(getattr(device, "sim_limit_per_day", 0) or 0),
        per_month=int(getattr(device, "sim_limit_per_month", 0) or 0),
        warmup_days=int(getattr(device, "sim_warmup_days", 0) or 0),
        quiet=quiet,
        timezone=timezone,
        strategy=str(getattr(device, "sim_strategy", "") or "random"),
        new_per_day=int(getattr(device, "sim_new_recipients_per_day", 0) or 0),
    )


class SimBudget:
    def __init__(self, pacing: Pacing, rng: random.Random) -> None:
        self.pacing = pacing
        self._rng = rng
        self._sends: deque[float] = deque()
        self._next_gap_ends = 0.0

    def record(self, at: float) -> None:
        self._sends.append(at)
        low, high = self.pacing.interval_min, max(self.pacing.interval_min, self.pacing.interval_max)
        gap = self._rng.uniform(low, high) if high > 0 else 0.0
        self._next_gap_ends = max(self._next_gap_ends, at + gap)

    def ready_at(self, now: float) -> float:
        """The earliest time this SIM may send next (`now` or earlier: right away)."""
        while self._sends and self._sends[0] <= now - DAY:
            self._sends.popleft()
        ready = self._next_gap_ends
        for limit, window in (
            (self.pacing.per_minute, MINUTE),
            (self.pacing.per_hour, HOUR),
            (self.pacing.per_day, DAY),
        ):
            if limit and len(self._sends) >= limit:
                recent = [at for at in self._sends if at > now - window]
                if len(recent) >= limit:
                    # Free again when the oldest send that keeps the window full leaves it.
                    ready = max(ready, recent[-limit] + window)
        return ready


class Pacer:
    """The budgets of one device's SIMs."""

    def __init__(
        self,
        pacing: Pacing,
        *,
        rng: random.Random | None = None,
        spent: Iterable[tuple[int | None, float]] = (),
        first_uses: Mapping[int | None, float] | None = None,
    ) -> None:
        self.pacing = pacing
        self._rng = rng or random.Random()
        self._sims: dict[int | None, SimBudget] = {}
        self._calendars: dict[int | None, Calendar] = {}
        self._first_uses: dict[int | None, float] = dict(first_uses or {})
        self.seed(spent, first_uses=self._first_uses)

    def seed(
        self,
        spent: Iterable[tuple[int | None, float]],
        *,
        first_uses: Mapping[int | None, float],
        newcomers: Iterable[tuple[int | None, float]] = (),
    ) -> None:
        """What the SIMs spent before this session (the history's takes), when each first
        sent (a warm-up's first day), and when each lately sent to a number new to it."""
        self._first_uses.update(first_uses)
        for sim, at in sorted(spent, key=lambda item: item[1]):
            self.record(sim, at)
        for sim, at in newcomers:
            self._calendar(sim).record_new(at)

    def _budget(self, sim: int | None) -> SimBudget:
        budget = self._sims.get(sim)
        if budget is None:
            budget = self._sims[sim] = SimBudget(self.pacing, self._rng)
        return budget

    def _calendar(self, sim: int | None) -> Calendar:
        calendar = self._calendars.get(sim)
        if calendar is None:
            calendar = self._calendars[sim] = Calendar(
                self.pacing.calendar, first_use=self._first_uses.get(sim)
            )
        return calendar

    def ready_at(self, sim: int | None, now: float) -> float:
        ready = now if self.pacing.is_off else self._budget(sim).ready_at(now)
        if self.pacing.calendar.is_off:
            return ready
        return self._calendar(sim).ready_at(max(now, ready))

    def allowance(self, sim: int | None, now: float) -> float:
        """SMS the SIM may send now under its calendar budgets (math.inf without any)."""
        if self.pacing.calendar.is_off:
            return math.inf
        return self._calendar(sim).allowance(now)

    def new_allowance(self, sim: int | None, now: float) -> float:
        """Recipients new to the SIM that it may still take today (math.inf without the cap)."""
        return self._calendar(sim).new_allowance(now) if self.pacing.calendar.new_per_day else math.inf

    def record_new(self, sim: int | None, at: float) -> None:
        if self.pacing.calendar.new_per_day:
            self._calendar(sim).record_new(at)

    def why_waiting(self, sim: int | None, now: float) -> str:
        """Why its calendar budgets hold the SIM now, in words ("" if they do not)."""
        return "" if self.pacing.calendar.is_off else self._calendar(sim).why_waiting(now)

    def sent_today(self, sim: int | None, now: float) -> int:
        """Offers to the SIM today on the device's calendar (the least_used strategy's measure;
        0 where nothing is counted)."""
        if not self.pacing.calendar.counts:
            return 0
        return self._calendar(sim).sent_today(now)

    def record(self, sim: int | None, at: float) -> None:
        if not self.pacing.is_off:
            self._budget(sim).record(at)
        # Counted only where something reads the counts: a route to an SMSC offers hundreds a
        # second. A cap set later counts from then on, and from the history at the next connection.
        if self.pacing.calendar.counts:
            self._calendar(sim).record(at)

    def update(self, pacing: Pacing) -> None:
        """New settings; what was spent stays spent."""
        self.pacing = pacing
        for budget in self._sims.values():
            budget.pacing = pacing
        for calendar in self._calendars.values():
            calendar.rules = pacing.calendar
