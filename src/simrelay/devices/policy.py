"""The dispatcher's policy, from the settings: lease times, attempts, each device's window and
heartbeat.

A module of its own, under the other dispatch modules: devices/session.py reads the window and
the heartbeat, and sits below devices/assignment.py and devices/dispatch.py, which use the rest."""

from __future__ import annotations

from dataclasses import dataclass

from simrelay.config import Settings


@dataclass(frozen=True, slots=True)
class Policy:
    lease_seconds: float = 60.0
    lease_hard_seconds: float = 600.0
    max_attempts: int = 3
    window: int = 8
    heartbeat_seconds: float = 30.0
    tick_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            lease_seconds=settings.lease_seconds,
            lease_hard_seconds=max(settings.lease_hard_seconds, settings.lease_seconds),
            max_attempts=settings.max_attempts,
            window=settings.device_window,
            heartbeat_seconds=settings.heartbeat_seconds,
            tick_seconds=settings.dispatch_tick_seconds,
        )
