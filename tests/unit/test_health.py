"""Device health (simrelay.devices.health): when a failing device rests, and the order in which
connected devices get the next SMS."""

from __future__ import annotations

from typing import Any

from simrelay.devices.health import (
    FAILING_MIN_OUTCOMES,
    LOW_BATTERY,
    RECENT,
    REST_SECONDS,
    Candidate,
    Health,
    rank,
)

NOW = 1_800_000_000.0


def record(health: Health, outcomes: str, *, now: float = NOW) -> None:
    """`outcomes`: one letter per send, "o" ok and "x" failed."""
    for letter in outcomes:
        health.record(ok=letter == "o", now=now)


def candidate(device_id: str, **fields: Any) -> Candidate:
    values: dict[str, Any] = {
        "failure_rate": 0.0,
        "outstanding": 0,
        "ready_at": NOW,
        "battery": 80,
        "charging": False,
        **fields,
    }
    return Candidate(device_id=device_id, **values)


def order(*candidates: Candidate) -> list[str]:
    return [c.device_id for c in sorted(candidates, key=lambda c: rank(c, NOW))]


def test_a_device_whose_recent_sends_mostly_failed_rests() -> None:
    health = Health()
    record(health, "x" * FAILING_MIN_OUTCOMES)
    assert health.failure_rate == 1.0
    assert health.is_resting(NOW)
    assert health.is_resting(NOW + REST_SECONDS - 0.1)
    assert not health.is_resting(NOW + REST_SECONDS)


def test_half_of_the_sends_failing_is_enough_to_rest() -> None:
    health = Health()
    record(health, "ooxx")
    assert health.failure_rate == 0.5
    assert health.is_resting(NOW)


def test_a_few_failures_or_mostly_successes_do_not_rest() -> None:
    too_few = Health()
    record(too_few, "x" * (FAILING_MIN_OUTCOMES - 1))
    assert not too_few.is_resting(NOW)
    mostly_ok = Health()
    record(mostly_ok, "oooxx")
    assert mostly_ok.failure_rate == 0.4
    assert not mostly_ok.is_resting(NOW)


def test_a_success_ends_the_rest() -> None:
    health = Health()
    record(health, "xxxx")
    assert health.is_resting(NOW)
    health.record(ok=True, now=NOW + 1)
    assert not health.is_resting(NOW + 1)
    assert health.failure_rate == 0.8, "the failures are still remembered"


def test_only_recent_outcomes_count() -> None:
    health = Health()
    assert health.failure_rate == 0.0
    record(health, "x" * RECENT)
    record(health, "o" * RECENT)
    assert health.failure_rate == 0.0
    assert not health.is_resting(NOW)


def test_fewer_failures_come_first_whatever_else() -> None:
    assert order(
        candidate("flaky", failure_rate=0.3, battery=100, charging=True),
        candidate("steady", failure_rate=0.0, battery=LOW_BATTERY - 5, outstanding=7, ready_at=NOW + 30),
    ) == ["steady", "flaky"]


def test_failure_rates_are_compared_to_a_tenth() -> None:
    assert order(
        candidate("almost_none", failure_rate=0.04, outstanding=0),
        candidate("none", failure_rate=0.0, outstanding=1),
    ) == ["almost_none", "none"]


def test_low_battery_comes_after_more_outstanding_work() -> None:
    low = candidate("low", battery=LOW_BATTERY - 1, outstanding=0)
    busy = candidate("busy", battery=90, outstanding=5)
    assert order(low, busy) == ["busy", "low"]
    charging = candidate("charging", battery=LOW_BATTERY - 1, charging=True, outstanding=0)
    assert order(charging, busy) == ["charging", "busy"], "a charging phone is not low"
    unknown = candidate("unknown", battery=0, outstanding=0)
    assert order(unknown, busy) == ["unknown", "busy"], "0 means not reported, not empty"


def test_less_outstanding_work_comes_before_a_sooner_ready_sim() -> None:
    assert order(
        candidate("busy", outstanding=2, ready_at=NOW),
        candidate("idle", outstanding=1, ready_at=NOW + 10),
    ) == ["idle", "busy"]


def test_a_sim_ready_sooner_comes_before_more_battery() -> None:
    assert order(
        candidate("later", ready_at=NOW + 5, battery=100),
        candidate("sooner", ready_at=NOW + 1, battery=20),
    ) == ["sooner", "later"]
    past = candidate("past", ready_at=NOW - 100, battery=50)
    present = candidate("present", ready_at=NOW, battery=60)
    assert order(past, present) == ["present", "past"], "ready in the past is ready now"


def test_more_battery_comes_first_and_charging_counts_as_full() -> None:
    assert order(
        candidate("half", battery=50),
        candidate("full", battery=95),
        candidate("charging", battery=30, charging=True),
    ) == ["charging", "full", "half"]
