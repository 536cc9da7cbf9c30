"""The retry schedule: what each attempt's outcome does to its event."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from simrelay.config import Settings
from simrelay.webhooks.courier import Finished, Outcome, Policy, next_step
from simrelay.webhooks.outbox import State

POLICY = Policy("key", retry_delays=(5, 300, 1800))


def step(
    *, status: int | None, attempts: int = 0, event: str = "sms.status", retry_after: float | None = None
):
    row = SimpleNamespace(id="msg_1", attempts=attempts, event=event)
    outcome = Outcome(status, 1.0, retry_after=retry_after)
    return next_step(Finished(row, outcome, lock=50.0, at=1000.0), POLICY)


def test_the_default_schedule_retries_for_more_than_a_day_with_growing_delays() -> None:
    delays = Settings().webhook_retry_delays
    assert sum(delays) >= 24 * 3600
    assert delays == sorted(delays) and delays[0] > 0


@pytest.mark.parametrize(("attempts", "due"), [(0, 1005.0), (1, 1300.0), (2, 2800.0)])
def test_a_failure_is_due_again_after_the_next_delay(attempts: int, due: float) -> None:
    assert step(status=500, attempts=attempts) == {
        "b_id": "msg_1",
        "b_lock": 50.0,
        "b_state": int(State.PENDING),
        "b_attempts": attempts + 1,
        "b_due": due,
    }


def test_after_the_last_delay_the_event_fails() -> None:
    result = step(status=None, attempts=3)
    assert result["b_state"] == State.FAILED and result["b_due"] is None and result["b_attempts"] == 4


def test_a_2xx_delivers() -> None:
    result = step(status=204, attempts=2)
    assert result["b_state"] == State.DELIVERED and result["b_due"] is None


def test_410_and_a_failed_ping_are_not_retried() -> None:
    assert step(status=410)["b_state"] == State.FAILED
    assert step(status=500, event="ping")["b_state"] == State.FAILED


def test_retry_after_only_lengthens_the_wait() -> None:
    assert step(status=429, retry_after=60)["b_due"] == 1060.0
    assert step(status=429, retry_after=1)["b_due"] == 1005.0
