"""`RouteLink`: the device protocol between a route (smpp/route.py) and the dispatcher, in one
process. The route's device session (devices/session.py) runs over it as over a WebSocket, so
dispatch, pacing, health and the lease rule treat a route as they treat any device; the route
sends its reports with `report` and hears offers and drops through its callbacks."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson

Frame = dict[str, Any]

REPORT_TIMEOUT = 30.0
"""How long a report waits for its `ack` (stored and committed) before it counts as lost."""


class LinkClosed(Exception):
    """The session ended (or took too long) before it answered a report."""


class RouteLink:
    def __init__(self, *, on_offer: Callable[[Frame], None], on_drop: Callable[[Frame], None]) -> None:
        self._on_offer = on_offer
        self._on_drop = on_drop
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._waiting: dict[int, asyncio.Future[Frame]] = {}
        self._seq = itertools.count(1)
        self.welcomed = asyncio.Event()
        self.heartbeat_seconds = 30.0
        self.closed = False

    # The Link protocol, as the session sees it.
    async def receive(self) -> str | None:
        return await self._inbox.get()

    async def send(self, text: str) -> None:
        frame = orjson.loads(text)
        kind = frame.get("type")
        if kind in ("ack", "error"):
            waiter = self._waiting.pop(frame.get("seq"), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)
        elif kind == "welcome":
            heartbeat = frame.get("heartbeat_seconds")
            if isinstance(heartbeat, int | float) and heartbeat > 0:
                self.heartbeat_seconds = float(heartbeat)
            self.welcomed.set()
        elif kind == "offer":
            self._on_offer(frame)
        elif kind == "drop":
            self._on_drop(frame)
        # settings: pacing is the dispatcher's; ussd: a route lists no such feature.

    async def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        self._inbox.put_nowait(None)
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(LinkClosed())
        self._waiting.clear()

    # What the route uses.
    def hello(self, frame: Frame) -> None:
        self._inbox.put_nowait(orjson.dumps(frame).decode())

    async def report(self, frame: Frame) -> Frame:
        """Sends a report and returns the session's answer (`ack` or `error`) once it is stored.
        LinkClosed if the session ends first or takes longer than REPORT_TIMEOUT."""
        if self.closed:
            raise LinkClosed
        seq = next(self._seq)
        waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = waiter
        self._inbox.put_nowait(orjson.dumps({**frame, "seq": seq}).decode())
        try:
            async with asyncio.timeout(REPORT_TIMEOUT):
                return await waiter
        except TimeoutError:
            raise LinkClosed from None
        finally:
            self._waiting.pop(seq, None)
