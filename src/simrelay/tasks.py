"""Ending background tasks."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancels the tasks and waits until each has ended. The tasks' own cancellations stay
    theirs; a cancel of the caller still reaches the caller (suppressing CancelledError
    around `await task` would swallow both)."""
    running = {task for task in tasks if task is not None}
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running)
