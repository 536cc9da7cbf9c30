"""Group commit for accepted SMS: concurrent sends share one transaction.

`/sms/send` answers 200 only after its message is committed. Committing each message on
its own makes the commit the bottleneck, so sends queue here and one writer task stores
everything queued in a single transaction, then wakes every waiting request. The latency
of one send stays one commit; throughput grows with concurrency.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.engine import Connection

from simrelay.errors import ApiError, ErrorCode
from simrelay.sms import repository
from simrelay.storage.database import Database

log = structlog.get_logger(__name__)

MAX_BATCH = 512


@dataclass(slots=True)
class Submission:
    row: dict[str, Any]
    """The messages row to insert (id, account_id, ...)."""
    idempotency_key: str | None = None
    body_hash: str = ""


@dataclass(slots=True)
class _Pending:
    submission: Submission
    future: asyncio.Future[str]


def month_of(now: float) -> int:
    moment = time.gmtime(now)
    return moment.tm_year * 100 + moment.tm_mon


class Intake:
    def __init__(self, db: Database, *, idempotency_ttl: float) -> None:
        self._db = db
        self._ttl = idempotency_ttl
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writers: list[asyncio.Task[None]] = []
        self._inflight: set[tuple[str, str]] = set()
        self.batches = 0
        """Transactions committed (metrics: items / batches is the group-commit factor)."""
        self.items = 0

    def start(self) -> None:
        # One writer: parallel batches of one account would only queue on its counter rows
        # (measured: slower on PostgreSQL, and SQLite has a single writer anyway).
        self._writers = [asyncio.create_task(self._run(), name="sms-intake")]

    async def stop(self) -> None:
        """Stores what is queued, then stops: no accepted request is left unanswered."""
        await self._queue.join()
        for writer in self._writers:
            writer.cancel()
        for writer in self._writers:
            try:
                await writer
            except asyncio.CancelledError:
                pass

    async def submit(self, submission: Submission) -> str:
        """The stored message id (or the first one, for a repeated Idempotency-Key)."""
        account_id = submission.row["account_id"]
        inflight = (account_id, submission.idempotency_key) if submission.idempotency_key else None
        if inflight is not None:
            if inflight in self._inflight:
                raise ApiError(ErrorCode.IDEMPOTENCY_IN_PROGRESS)
            self._inflight.add(inflight)
        try:
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._queue.put_nowait(_Pending(submission, future))
            return await asyncio.shield(future)
        finally:
            if inflight is not None:
                self._inflight.discard(inflight)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            submissions = [pending.submission for pending in batch]
            outcomes = await self._db.run(lambda conn: self._store(conn, submissions))
        except Exception as exc:
            if len(batch) > 1:
                # Isolate the item that broke the batch; the others are stored on their own.
                log.warning("intake_batch_failed", size=len(batch), error=repr(exc))
                for pending in batch:
                    await self._commit([pending])
                return
            log.exception("intake_store_failed")
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

    def _store(self, conn: Connection, batch: list[Submission]) -> list[str | BaseException]:
        now = time.time()
        month = month_of(now)
        not_before = now - self._ttl
        facts = repository.fetch_account_facts(conn, {item.row["account_id"] for item in batch}, month=month)
        outcomes: list[str | BaseException] = []
        rows: list[dict[str, Any]] = []
        unlimited: Counter[str] = Counter()
        reserved: Counter[str] = Counter()
        for item in batch:
            account_id = item.row["account_id"]
            if item.idempotency_key:
                first = repository.find_idempotency_key(
                    conn, account_id, item.idempotency_key, not_before=not_before
                )
                if first is not None:
                    outcomes.append(_replay(first, item.body_hash))
                    continue
            fact = facts[account_id]
            quota = fact.monthly_quota
            # Contract order: quota (1006) before devices (1004).
            if quota is not None and fact.used_this_month + reserved[account_id] >= quota:
                outcomes.append(ApiError(ErrorCode.QUOTA_EXCEEDED))
                continue
            if not fact.has_device:
                outcomes.append(ApiError(ErrorCode.NO_DEVICE))
                continue
            if quota is not None:
                # The facts may be stale with several nodes: the reservation is the real check.
                if not repository.reserve_quota(conn, account_id, month=month, quota=quota):
                    outcomes.append(ApiError(ErrorCode.QUOTA_EXCEEDED))
                    continue
                reserved[account_id] += 1
            if item.idempotency_key and not repository.claim_idempotency_key(
                conn,
                account_id,
                item.idempotency_key,
                body_hash=item.body_hash,
                message_id=item.row["id"],
                now=now,
                not_before=not_before,
            ):
                # Another node stored this key meanwhile: answer as it did.
                first = repository.find_idempotency_key(
                    conn, account_id, item.idempotency_key, not_before=not_before
                )
                outcomes.append(_replay(first, item.body_hash) if first else ApiError(ErrorCode.INTERNAL))
                continue
            if quota is None:
                unlimited[account_id] += 1
            rows.append(item.row)
            outcomes.append(item.row["id"])
        if rows:
            repository.insert_messages(conn, rows)
        for account_id, count in unlimited.items():
            repository.add_usage(conn, account_id, month=month, count=count)
        for account_id, count in Counter(row["account_id"] for row in rows).items():
            repository.add_to_total(conn, account_id, count=count)
        return outcomes


def _replay(first: tuple[str, str], body_hash: str) -> str | ApiError:
    stored_hash, message_id = first
    if stored_hash != body_hash:
        return ApiError(ErrorCode.IDEMPOTENCY_MISMATCH)
    return message_id
