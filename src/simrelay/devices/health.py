"""Device health: which of an account's connected devices should get the next SMS.

Offline devices get nothing (only connected devices are candidates at all). A device whose
recent sends mostly failed rests for a while and takes only SMS pinned to it, so its
unpinned work goes to the others. Among the rest, the order is: fewer recent failures,
less outstanding work, a SIM ready sooner, more battery (or charging).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

RECENT = 20
"""Outcomes remembered per device."""
FAILING_RATE = 0.5
FAILING_MIN_OUTCOMES = 4
REST_SECONDS = 60.0
"""How long a failing device takes no unpinned work before it is tried again."""
LOW_BATTERY = 15


class Health:
    def __init__(self) -> None:
        self._outcomes: deque[bool] = deque(maxlen=RECENT)
        self._rest_until = 0.0

    def record(self, *, ok: bool, now: float) -> None:
        self._outcomes.append(ok)
        if not ok and self.failure_rate >= FAILING_RATE and len(self._outcomes) >= FAILING_MIN_OUTCOMES:
            self._rest_until = now + REST_SECONDS
        if ok:
            self._rest_until = 0.0

    @property
    def failure_rate(self) -> float:
        if not self._outcomes:
            return 0.0
        return self._outcomes.count(False) / len(self._outcomes)

    def is_resting(self, now: float) -> bool:
        return now < self._rest_until


@dataclass(frozen=True, slots=True)
class Candidate:
    device_id: str
    failure_rate: float
    outstanding: int
    ready_at: float
    battery: int
    charging: bool


def rank(candidate: Candidate, now: float) -> tuple[float, ...]:
    """Sort key: lower is better."""
    low_battery = candidate.battery < LOW_BATTERY and not candidate.charging and candidate.battery > 0
    return (
        round(candidate.failure_rate, 1),
        float(low_battery),
        float(candidate.outstanding),
        max(candidate.ready_at - now, 0.0),
        -float(candidate.battery if not candidate.charging else 100),
    )
