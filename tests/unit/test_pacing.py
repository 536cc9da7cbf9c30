"""Pacing (simrelay.devices.pacing): the gap between two SMS of a SIM, the per-minute, hour and
day limits, and what a device has already spent."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from simrelay.devices.pacing import DAY, HOUR, MINUTE, Pacer, Pacing, SimBudget

T = 1_800_000_000.0
"""Some moment; every time in these tests is T plus seconds."""


class FixedRandom(random.Random):
    """Draws `value` for every gap and remembers the bounds it was asked for."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value
        self.bounds: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.bounds.append((a, b))
        return self.value


def test_pacing_is_off_only_when_every_interval_and_limit_is_zero() -> None:
    assert Pacing().is_off
    for field in ("interval_max", "per_minute", "per_hour", "per_day"):
        assert not Pacing(**{field: 1}).is_off, field


def test_a_pacer_that_is_off_never_holds_a_sim_back() -> None:
    pacer = Pacer(Pacing(), spent=[(0, T + second) for second in range(100)])
    for second in range(100):
        pacer.record(0, T + 100 + second)
    assert pacer.ready_at(0, T + 200) == T + 200
    assert pacer.ready_at(None, T + 200) == T + 200


def test_the_gap_after_a_send_is_drawn_between_the_minimum_and_the_maximum() -> None:
    rng = FixedRandom(3.5)
    budget = SimBudget(Pacing(interval_min=2, interval_max=5), rng)
    budget.record(T)
    assert rng.bounds == [(2, 5)]
    assert budget.ready_at(T) == T + 3.5

    real = Pacer(Pacing(interval_min=2, interval_max=5), rng=random.Random(1))
    gaps = []
    for n in range(200):
        at = T + 100 * n
        real.record(0, at)
        gaps.append(real.ready_at(0, at) - at)
    assert all(2 <= gap <= 5 for gap in gaps)
    assert max(gaps) - min(gaps) > 2, "drawn, not fixed"


def test_equal_minimum_and_maximum_give_a_fixed_gap() -> None:
    pacer = Pacer(Pacing(interval_min=1, interval_max=1))
    pacer.record(None, T)
    assert pacer.ready_at(None, T + 0.5) == T + 1
    assert pacer.ready_at(None, T + 1) == T + 1


@pytest.mark.parametrize(("limit", "window"), [("per_minute", MINUTE), ("per_hour", HOUR), ("per_day", DAY)])
def test_a_window_limit_frees_a_send_when_its_oldest_send_leaves_the_window(
    limit: str, window: float
) -> None:
    pacer = Pacer(Pacing(**{limit: 3}))
    for offset in (0, 10, 20):
        pacer.record(0, T + offset)
    assert pacer.ready_at(0, T + 21) == T + window, "full: free when the send at T leaves"
    assert pacer.ready_at(0, T + window) <= T + window
    pacer.record(0, T + window)
    assert pacer.ready_at(0, T + window + 1) == T + 10 + window


def test_two_sends_below_the_limit_leave_the_sim_ready() -> None:
    pacer = Pacer(Pacing(per_minute=3, per_hour=10, per_day=20))
    pacer.record(0, T)
    pacer.record(0, T + 1)
    assert pacer.ready_at(0, T + 2) <= T + 2


def test_the_strictest_window_decides() -> None:
    pacer = Pacer(Pacing(per_minute=5, per_hour=2))
    pacer.record(0, T)
    pacer.record(0, T + 1)
    assert pacer.ready_at(0, T + 2) == T + HOUR


def test_sends_older_than_a_day_are_forgotten() -> None:
    pacer = Pacer(Pacing(per_day=2))
    pacer.record(0, T)
    pacer.record(0, T + 1)
    assert pacer.ready_at(0, T + DAY + 2) <= T + DAY + 2
    pacer.record(0, T + DAY + 2)
    assert pacer.ready_at(0, T + DAY + 3) <= T + DAY + 3, "only one send in the last day"


def test_each_sim_has_a_budget_of_its_own() -> None:
    pacer = Pacer(Pacing(per_minute=1))
    pacer.record(0, T)
    assert pacer.ready_at(0, T + 1) == T + MINUTE
    assert pacer.ready_at(1, T + 1) <= T + 1
    assert pacer.ready_at(None, T + 1) <= T + 1


def test_the_spent_history_is_loaded_in_time_order() -> None:
    spent = [(0, T + 20), (0, T), (1, T + 5), (0, T + 40)]
    pacer = Pacer(Pacing(per_minute=2), spent=spent)
    assert pacer.ready_at(0, T + 45) == T + 20 + MINUTE, "the two latest sends of SIM 0 fill its minute"
    assert pacer.ready_at(1, T + 45) <= T + 45


def test_the_spent_history_counts_its_gap() -> None:
    pacer = Pacer(Pacing(interval_min=10, interval_max=10), spent=[(None, T + 5), (None, T)])
    assert pacer.ready_at(None, T + 6) == T + 15


def test_new_settings_keep_what_was_spent() -> None:
    pacer = Pacer(Pacing(per_minute=5))
    for offset in (0, 1, 2):
        pacer.record(0, T + offset)
    assert pacer.ready_at(0, T + 3) <= T + 3
    pacer.update(Pacing(per_minute=3))
    assert pacer.pacing == Pacing(per_minute=3)
    assert pacer.ready_at(0, T + 3) == T + MINUTE
    pacer.update(Pacing())
    assert pacer.ready_at(0, T + 3) == T + 3, "off"
    pacer.update(Pacing(per_minute=3))
    assert pacer.ready_at(0, T + 3) == T + MINUTE, "the sends made before are still counted"


def test_pacing_of_a_device_row_and_of_the_settings() -> None:
    row = SimpleNamespace(
        send_interval_min=5,
        send_interval_max=15,
        limit_per_minute=4,
        limit_per_hour=60,
        limit_per_day=300,
    )
    pacing = Pacing.of(row)
    assert pacing == Pacing(interval_min=5.0, interval_max=15.0, per_minute=4, per_hour=60, per_day=300)
    assert Pacing.defaults() == pacing, "the built-in defaults"
    assert Pacing.of(SimpleNamespace()).is_off
