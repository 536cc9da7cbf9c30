"""The reference device: N virtual phones speaking docs/device-protocol.md, for tests, demos,
benchmarks and chaos tests. `Fleet` pairs and runs them; the pieces live in `_`-modules.

    ledger = Ledger()
    fleet = await Fleet.pair("http://127.0.0.1:8000", "48210937", count=10, ledger=ledger)
    fleet.start()
    await ledger.wait_for(lambda: len(ledger.sent) >= 100, timeout=30)
    await fleet.stop()
    assert not ledger.duplicates()
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from simrelay.agent._handset import LIMIT_EXCEEDED
from simrelay.agent._ledger import Ledger, LedgerEvent
from simrelay.agent._options import SimulatorOptions, count_parts
from simrelay.agent._pairing import PairingError
from simrelay.agent._phone import DEFAULT_MODEL, SimulatedPhone

__all__ = [
    "LIMIT_EXCEEDED",
    "Fleet",
    "Ledger",
    "LedgerEvent",
    "PairingError",
    "SimulatedPhone",
    "SimulatorOptions",
    "count_parts",
]


@dataclass(eq=False)
class Fleet:
    phones: list[SimulatedPhone]
    ledger: Ledger

    @classmethod
    async def pair(
        cls,
        base_url: str,
        code: str,
        *,
        count: int = 1,
        options: SimulatorOptions | None = None,
        ledger: Ledger | None = None,
        name_prefix: str = "sim",
        model: str = DEFAULT_MODEL,
        concurrency: int = 50,
        client: httpx.AsyncClient | None = None,
    ) -> Fleet:
        """Pairs `count` phones with one code (which must allow that many uses), at most
        `concurrency` at a time. Raises the first PairingError (or httpx error) if any fails."""
        ledger = ledger if ledger is not None else Ledger()
        limit = asyncio.Semaphore(concurrency)

        async def pair_one(http: httpx.AsyncClient, number: int) -> SimulatedPhone:
            async with limit:
                return await SimulatedPhone.pair(
                    base_url,
                    code,
                    name=f"{name_prefix}-{number}",
                    model=model,
                    options=options,
                    ledger=ledger,
                    client=http,
                )

        async def pair_all(http: httpx.AsyncClient) -> list[SimulatedPhone]:
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(pair_one(http, n)) for n in range(1, count + 1)]
            except ExceptionGroup as errors:
                raise errors.exceptions[0] from errors
            return [task.result() for task in tasks]

        if client is not None:
            return cls(phones=await pair_all(client), ledger=ledger)
        async with httpx.AsyncClient(timeout=30.0) as http:
            return cls(phones=await pair_all(http), ledger=ledger)

    def start(self) -> None:
        for phone in self.phones:
            phone.start()

    async def stop(self) -> None:
        await asyncio.gather(*(phone.stop() for phone in self.phones))

    def stats(self) -> dict[str, int]:
        """Phone state of this fleet, and the ledger's totals (of every fleet sharing it)."""
        ledger = self.ledger
        return {
            "phones": len(self.phones),
            "connected": sum(phone.connected for phone in self.phones),
            "held": sum(len(phone.held) for phone in self.phones),
            "unacked_reports": sum(phone.pending_reports for phone in self.phones),
            "offers": ledger.received_offers.total(),
            "taken": ledger.taken.total(),
            "sent": ledger.sent.total(),
            "failed": ledger.failed.total(),
            "delivered_parts": ledger.delivered.total(),
            "undelivered_parts": ledger.undelivered.total(),
            "drops": ledger.drops.total(),
            "dropped": ledger.dropped.total(),
            "sent_twice": len(ledger.duplicates()),
            "unconfirmed": sum(len(phone.unconfirmed) for phone in self.phones),
            "inbox": ledger.inbox.total(),
        }
