"""Group commit: concurrent writers queue items and one task stores everything queued in a
single transaction, then wakes each waiter with its own outcome.

Committing each item on its own makes the commit (an fsync on SQLite, a round trip on
PostgreSQL) the bottleneck; here one commit serves every item that queued meanwhile, so
latency stays one commit while throughput grows with concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from sqlalchemy.engine import Connection

from simrelay.storage.database import Database
from simrelay.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")

MAX_BATCH = 512

Store = Callable[[Connection, list[I]], list[R | BaseException]]
"""Stores a batch inside one transaction; one outcome per item, in order: a result, or the
exception its waiter gets (the others are still committed)."""


@dataclass(slots=True)
class _Pending(Generic[I, R]):
    item: I
    future: asyncio.Future[R]


class BatchWriter(Generic[I, R]):
    def __init__(self, db: Database, store: Store[I, R], *, name: str, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._store = store
        self._name = name
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending[I, R]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions committed (items / batches is the group-commit factor)."""
        self.items = 0

    def start(self) -> None:
        # One writer: SQLite has a single writer anyway, and on PostgreSQL parallel batches
        # only queue on the same hot rows (measured slower for sends).
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stores what is queued, then stops: no waiter is left unanswered."""
        await self._queue.join()
        await cancel_and_wait(self._task)

    async def submit(self, item: I) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(item, future))
        # Shielded: a waiter that gives up must not cancel the batch other waiters share.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[_Pending[I, R]]) -> None:
        outcomes: list[R | BaseException]
        try:
            items = [pending.item for pending in batch]
            outcomes = await self._db.run(lambda conn: self._store(conn, items))
        except Exception as exc:
            if len(batch) > 1:
                # Isolate the item that broke the batch; the others are stored on their own.
                log.warning("batch_failed", writer=self._name, size=len(batch), error=repr(exc))
                for pending in batch:
                    await self._commit([pending])
                return
            log.exception("batch_item_failed", writer=self._name)
            outcomes = [exc]
        self.batches += 1
        self.items += len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)
