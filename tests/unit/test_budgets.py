"""devices/budgets.py: a SIM's calendar budgets on the device's own calendar."""

from __future__ import annotations

import math
from datetime import datetime, time

import pytest

from simrelay.devices.budgets import Calendar, CalendarRules, parse_quiet_hours, zone
from simrelay.devices.pacing import Pacer, Pacing

MOSCOW = zone("Europe/Moscow")
BERLIN = zone("Europe/Berlin")


def at(text: str, tz=MOSCOW) -> float:
    """A wall-clock moment in `tz`, as unix seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def test_a_daily_cap_counts_the_devices_calendar_day_and_frees_at_its_midnight() -> None:
    calendar = Calendar(CalendarRules(per_day=2, timezone=MOSCOW))
    calendar.record(at("2026-12-06 23:00"))
    calendar.record(at("2026-12-06 23:30"))
    assert calendar.allowance(at("2026-12-06 23:45")) == 0
    assert calendar.ready_at(at("2026-12-06 23:45")) == at("2026-12-07 00:00")
    # In UTC it is still 20:45 on the 6th there: Moscow's day is what counts.
    assert calendar.allowance(at("2026-12-07 00:00")) == 2


def test_a_monthly_cap_frees_on_the_first_of_the_next_month() -> None:
    calendar = Calendar(CalendarRules(per_month=3, timezone=MOSCOW))
    for day in (1, 10, 30):
        calendar.record(at(f"2026-11-{day:02d} 12:00"))
    assert calendar.allowance(at("2026-11-30 13:00")) == 0
    assert calendar.ready_at(at("2026-11-30 13:00")) == at("2026-12-01 00:00")


def test_the_tighter_of_the_daily_and_monthly_caps_wins() -> None:
    calendar = Calendar(CalendarRules(per_day=10, per_month=12, timezone=MOSCOW))
    for minute in range(10):
        calendar.record(at(f"2026-12-05 10:{minute:02d}"))
    assert calendar.allowance(at("2026-12-06 10:00")) == 2  # the day has room for 10, the month 2


def test_quiet_hours_past_midnight_hold_every_send_until_they_end() -> None:
    calendar = Calendar(CalendarRules(quiet=parse_quiet_hours("22:00-08:00"), timezone=MOSCOW))
    assert calendar.ready_at(at("2026-12-06 21:59")) == at("2026-12-06 21:59")
    assert calendar.ready_at(at("2026-12-06 23:00")) == at("2026-12-07 08:00")
    assert calendar.ready_at(at("2026-12-07 03:00")) == at("2026-12-07 08:00")
    assert calendar.allowance(at("2026-12-07 07:59")) == 0
    assert calendar.allowance(at("2026-12-07 08:00")) == math.inf


def test_a_cap_reached_late_and_quiet_morning_hours_add_up() -> None:
    rules = CalendarRules(per_day=1, quiet=parse_quiet_hours("00:00-09:00"), timezone=MOSCOW)
    calendar = Calendar(rules)
    calendar.record(at("2026-12-06 20:00"))
    # Midnight frees the cap, but the quiet hours then run until nine.
    assert calendar.ready_at(at("2026-12-06 20:01")) == at("2026-12-07 09:00")


def test_warm_up_ramps_a_new_sims_daily_cap_from_its_first_day() -> None:
    rules = CalendarRules(per_day=100, warmup_days=4, timezone=MOSCOW)
    assert [rules.daily_cap(day) for day in (1, 2, 3, 4, 5, 30)] == [25, 50, 75, 100, 100, 100]
    calendar = Calendar(rules, first_use=at("2026-12-01 12:00"))
    assert calendar.allowance(at("2026-12-02 10:00")) == 50  # its second day
    fresh = Calendar(rules)
    assert fresh.allowance(at("2026-12-02 10:00")) == 25  # never sent: today is its first day
    assert CalendarRules(per_day=3, warmup_days=10).daily_cap(1) == 1  # never a cap of 0


def test_days_follow_daylight_saving_time() -> None:
    calendar = Calendar(CalendarRules(per_day=1, timezone=BERLIN))
    calendar.record(at("2026-03-28 12:00", BERLIN))
    # The night the clocks go forward: the next day still begins at local midnight.
    assert calendar.ready_at(at("2026-03-28 13:00", BERLIN)) == at("2026-03-29 00:00", BERLIN)


@pytest.mark.parametrize("text", ["22:00", "24:00-08:00", "8:00-9:00", "22:00-22:00", "22:00 - 08:00"])
def test_quiet_hours_must_be_two_different_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quiet_hours(text)


def test_quiet_hours_parse_and_empty_means_none() -> None:
    assert parse_quiet_hours("22:30-07:15") == (time(22, 30), time(7, 15))
    assert parse_quiet_hours("") is None


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        zone("Mars/Olympus")


def test_the_pacer_holds_a_sim_to_its_calendar_and_counts_only_what_is_read() -> None:
    now = at("2026-12-06 12:00")
    pacer = Pacer(Pacing(calendar=CalendarRules(per_day=2, timezone=MOSCOW)))
    pacer.seed([(0, now - 60), (0, now - 30), (1, now - 30)], first_uses={})
    assert pacer.allowance(0, now) == 0 and pacer.allowance(1, now) == 1
    assert pacer.ready_at(0, now) == at("2026-12-07 00:00")
    assert pacer.ready_at(1, now) == now
    off = Pacer(Pacing())
    off.record(0, now)
    assert off.allowance(0, now) == math.inf and off.sent_today(0, now) == 0
    off.update(Pacing(calendar=CalendarRules(per_day=1, timezone=MOSCOW)))
    assert off.allowance(0, now) == 1  # counted from the cap on (the history, at a reconnect)
    off.record(0, now + 1)
    assert off.allowance(0, now + 2) == 0
    least = Pacer(Pacing(calendar=CalendarRules(strategy="least_used", timezone=MOSCOW)))
    least.record(1, now)
    assert least.sent_today(1, now) == 1 and least.allowance(1, now) == math.inf


def test_new_recipients_are_capped_per_calendar_day() -> None:
    calendar = Calendar(CalendarRules(new_per_day=2, timezone=MOSCOW))
    assert calendar.new_allowance(at("2026-12-06 10:00")) == 2
    calendar.record_new(at("2026-12-06 10:00"))
    calendar.record_new(at("2026-12-06 23:59"))
    assert calendar.new_allowance(at("2026-12-06 23:59")) == 0
    assert calendar.new_allowance(at("2026-12-07 00:00")) == 2
    assert Calendar(CalendarRules()).new_allowance(at("2026-12-06 10:00")) == math.inf


def test_why_a_sim_waits_names_the_budget_and_when_it_frees() -> None:
    quiet = Calendar(CalendarRules(quiet=parse_quiet_hours("22:00-08:00"), timezone=MOSCOW))
    assert quiet.why_waiting(at("2026-12-06 23:00")) == (
        "quiet hours 22:00-08:00; sends again at 2026-12-07 08:00 Europe/Moscow"
    )
    assert quiet.why_waiting(at("2026-12-06 12:00")) == ""
    daily = Calendar(CalendarRules(per_day=1, per_month=5, timezone=MOSCOW))
    daily.record(at("2026-12-06 09:00"))
    assert daily.why_waiting(at("2026-12-06 12:00")) == (
        "daily limit of 1 SMS per SIM reached; sends again at 2026-12-07 00:00 Europe/Moscow"
    )
    monthly = Calendar(CalendarRules(per_day=5, per_month=1, timezone=MOSCOW))
    monthly.record(at("2026-12-06 09:00"))
    assert monthly.why_waiting(at("2026-12-06 12:00")) == (
        "monthly limit of 1 SMS per SIM reached; sends again at 2027-01-01 00:00 Europe/Moscow"
    )
