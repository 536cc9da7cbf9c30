"""`Ledger`: what simulated phones did, shared by a fleet (or several), for tests to count and await."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Event kinds that count something, and the Ledger counter each goes to (counted per message id).
_COUNTERS = {
    "offer": "received_offers",
    "taken": "taken",
    "sent": "sent",
    "failed": "failed",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "dropped": "dropped",
    "drop": "drops",
    "received": "inbox",
    "confirmed": "confirmed",
}


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    kind: str
    """offer, taken, sent, failed, delivered, undelivered, dropped, drop, received, confirmed (a
    sent/failed report was acknowledged), rejected (a report was answered with `error`),
    connected, disconnected or stopped (a terminal close)."""
    device_id: str
    message_id: str = ""
    detail: str = ""


@dataclass(eq=False)
class Ledger:
    """Counters keyed by message id. `sent[id]` counts real sends by any phone: the chaos test
    wants every value to be 1. Listeners are called synchronously with every `LedgerEvent`."""

    received_offers: Counter[str] = field(default_factory=Counter)
    """`offer` frames received, repeats included."""
    taken: Counter[str] = field(default_factory=Counter)
    """New offers a phone took (answered `taken`)."""
    sent: Counter[str] = field(default_factory=Counter)
    """Messages handed to the (simulated) network."""
    failed: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    """Parts reported delivered."""
    undelivered: Counter[str] = field(default_factory=Counter)
    """Parts reported not delivered."""
    dropped: Counter[str] = field(default_factory=Counter)
    """`dropped` reports: a phone let the message go without sending it."""
    drops: Counter[str] = field(default_factory=Counter)
    """`drop` frames received and answered (with `dropped` or with the final report)."""
    inbox: Counter[str] = field(default_factory=Counter)
    """`received` reports (incoming SMS), by the phone's inbox id."""
    confirmed: Counter[str] = field(default_factory=Counter)
    """`sent`/`failed` reports the server acknowledged with `ack`."""
    listeners: list[Callable[[LedgerEvent], None]] = field(default_factory=list)
    _changed: asyncio.Event | None = field(default=None, init=False, repr=False)

    def record(self, kind: str, *, device_id: str, message_id: str = "", detail: str = "") -> None:
        counter = _COUNTERS.get(kind)
        if counter is not None:
            getattr(self, counter)[message_id] += 1
        event = LedgerEvent(kind=kind, device_id=device_id, message_id=message_id, detail=detail)
        for listener in list(self.listeners):
            listener(event)
        self.notify()

    def notify(self) -> None:
        """Wakes every `wait_for` so it checks its predicate again."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def duplicates(self) -> dict[str, int]:
        """Message ids sent more than once, with their count."""
        return {message_id: n for message_id, n in self.sent.items() if n > 1}

    async def wait_for(self, predicate: Callable[[], bool], *, timeout: float = 5.0) -> None:
        """Returns once `predicate()` is true; raises TimeoutError after `timeout` seconds. Checked on
        every ledger event and every 20 ms, so predicates over phone state work too."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            if self._changed is None:
                self._changed = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.02)):
                    await self._changed.wait()
