"""Stopping the courier: it ends even when a wake-up arrives with the stop (the CI hang of the
switched-off test: Python 3.11's wait_for returned the wake-up and dropped the cancel)."""

from __future__ import annotations

import asyncio
from typing import Any

from simrelay.webhooks.courier import Courier, Policy


class NothingDue:
    """A database with no event due: every claim comes back empty."""

    async def run(self, work: Any) -> list[Any]:
        return []


async def test_stop_ends_the_courier_when_a_wake_up_comes_with_it() -> None:
    courier = Courier(NothingDue(), Policy("key", tick=30.0))  # type: ignore[arg-type]
    courier.start()
    for _ in range(10):  # one empty claim round, then the courier waits for a wake-up
        await asyncio.sleep(0)
    courier.wake()  # an attempt finished and freed a slot, as the stop comes
    stopping = asyncio.ensure_future(courier.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    if not done:  # leave nothing running for the next test
        stopping.cancel()
        await asyncio.wait({stopping})
    assert done, "stop() still waiting on the courier's loop"
