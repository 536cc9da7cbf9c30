"""Assignment rounds under wake-ups: at most one round per ROUND_GAP, an idle wake-up served at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from simrelay.devices import dispatch
from simrelay.devices.dispatch import Dispatcher
from simrelay.devices.policy import Policy
from simrelay.storage.signals import Signals

GAP = 0.05
"""Wider than the real gap, so that a busy test machine's scheduling noise stays well inside it."""


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch) -> tuple[Dispatcher, list[float]]:
    monkeypatch.setattr(dispatch, "ROUND_GAP", GAP)
    dispatcher = Dispatcher(None, Signals(), Policy())  # type: ignore[arg-type]
    dispatcher._by_account["a"] = {"d"}
    starts: list[float] = []

    async def assign(account_id: str) -> None:
        starts.append(time.monotonic())

    monkeypatch.setattr(dispatcher, "_assign", assign)
    return dispatcher, starts


async def _running(dispatcher: Dispatcher) -> asyncio.Task[Any]:
    task = asyncio.create_task(dispatcher._assign_loop())
    await asyncio.sleep(0)
    return task


async def test_a_burst_of_wakeups_is_served_by_rounds_at_least_a_gap_apart(
    rounds: tuple[Dispatcher, list[float]],
) -> None:
    dispatcher, starts = rounds
    task = await _running(dispatcher)
    began = time.monotonic()
    try:
        for _ in range(300):  # one wake-up per millisecond for 0.3 s (longer on a busy machine)
            dispatcher.wake("a")
            await asyncio.sleep(0.001)
        await asyncio.sleep(2 * GAP)
    finally:
        task.cancel()
    lasted = time.monotonic() - began
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    # At most one round per gap over the time the burst really took, not one per wake-up.
    assert 2 <= len(starts) <= lasted / GAP + 1, (lasted, starts)
    assert min(gaps) >= GAP * 0.9, gaps


async def test_a_wakeup_after_a_quiet_spell_is_served_at_once(rounds: tuple[Dispatcher, list[float]]) -> None:
    dispatcher, starts = rounds
    task = await _running(dispatcher)
    try:
        dispatcher.wake("a")
        await asyncio.sleep(2 * GAP)
        woken = time.monotonic()
        dispatcher.wake("a")
        await asyncio.sleep(GAP / 2)
    finally:
        task.cancel()
    assert len(starts) == 2
    assert starts[1] - woken < GAP / 2


async def test_a_wakeup_for_an_account_without_devices_here_starts_no_round(
    rounds: tuple[Dispatcher, list[float]],
) -> None:
    dispatcher, starts = rounds
    task = await _running(dispatcher)
    try:
        dispatcher.wake("other")
        await asyncio.sleep(GAP)
    finally:
        task.cancel()
    assert starts == []
