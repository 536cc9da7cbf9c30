"""Group commit for accepted SMS: concurrent sends share one transaction.

`/sms/send` answers 200 only after its message is committed. Committing each message on
its own makes the commit the bottleneck, so sends queue here and one writer task stores
everything queued in a single transaction, then wakes every waiting request. The latency
of one send stays one commit; throughput grows with concurrency.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from simrelay.errors import ApiError, ErrorCode
from simrelay.sms import events, repository
from simrelay.storage.batch import BatchWriter
from simrelay.storage.database import Database


@dataclass(slots=True)
class Submission:
    row: dict[str, Any]
    """The messages row to insert (id, account_id, ...)."""
    idempotency_key: str | None = None
    body_hash: str = ""
    also: Callable[[Connection], None] | None = None
    """More to store with the message, in its transaction, if it is stored (an SMPP receipt's
    addresses)."""


@dataclass(slots=True)
class Batch:
    """Many SMS of one request (a bulk send), stored together in one transaction of their own:
    all of them or none."""

    account_id: str
    answer: str
    """The id the request answers (its campaign's), which an Idempotency-Key remembers."""
    rows: list[dict[str, Any]]
    idempotency_key: str | None = None
    body_hash: str = ""
    also: Callable[[Connection], None] | None = None
    """More to store in the same transaction (the campaign)."""


BATCH_CHUNK = 1000
"""Rows per INSERT of a batch: bounded statements, whatever the batch's size."""


def month_of(now: float) -> int:
    moment = time.gmtime(now)
    return moment.tm_year * 100 + moment.tm_mon


class Intake:
    def __init__(
        self,
        db: Database,
        *,
        idempotency_ttl: float,
        on_stored: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        self._ttl = idempotency_ttl
        self._writer: BatchWriter[Submission, str] = BatchWriter(db, self._store, name="sms-intake")
        self._inflight: set[tuple[str, str]] = set()
        self._on_stored = on_stored
        """Told the account of each stored SMS: new work for its devices."""

    @property
    def batches(self) -> int:
        return self._writer.batches

    @property
    def items(self) -> int:
        return self._writer.items

    def start(self) -> None:
        self._writer.start()

    async def stop(self) -> None:
        """Stores what is queued, then stops: no accepted request is left unanswered."""
        await self._writer.stop()

    async def submit(self, submission: Submission) -> str:
        """The stored message id (or the first one, for a repeated Idempotency-Key)."""
        account_id = submission.row["account_id"]
        with self._running(account_id, submission.idempotency_key):
            message_id = await self._writer.submit(submission)
        if self._on_stored is not None and message_id == submission.row["id"]:
            self._on_stored(account_id)
        return message_id

    async def submit_batch(self, batch: Batch) -> str:
        """Stores every row of `batch` or none: its `answer`, or the first one's for a repeated
        Idempotency-Key. Refused whole (1006) when the quota has no room for them all."""
        with self._running(batch.account_id, batch.idempotency_key):
            answer = await self._db.run(lambda conn: self._store_batch(conn, batch))
        if self._on_stored is not None and answer == batch.answer and batch.rows:
            self._on_stored(batch.account_id)
        return answer

    @contextlib.contextmanager
    def _running(self, account_id: str, idempotency_key: str | None) -> Iterator[None]:
        """1014 while a request with the same Idempotency-Key is being stored by this process."""
        if not idempotency_key:
            yield
            return
        inflight = (account_id, idempotency_key)
        if inflight in self._inflight:
            raise ApiError(ErrorCode.IDEMPOTENCY_IN_PROGRESS)
        self._inflight.add(inflight)
        try:
            yield
        finally:
            self._inflight.discard(inflight)

    def _store_batch(self, conn: Connection, batch: Batch) -> str:
        now = time.time()
        month = month_of(now)
        not_before = now - self._ttl
        account_id, key = batch.account_id, batch.idempotency_key
        if key and (first := repository.find_idempotency_key(conn, account_id, key, not_before=not_before)):
            return _answer(_replay(first, batch.body_hash))
        fact = repository.fetch_account_facts(conn, {account_id}, month=month)[account_id]
        count, quota = len(batch.rows), fact.monthly_quota
        if quota is not None and fact.used_this_month + count > quota:
            raise ApiError(ErrorCode.QUOTA_EXCEEDED)
        if not fact.has_device:
            raise ApiError(ErrorCode.NO_DEVICE)
        if (
            quota is not None
            and count
            and not repository.reserve_quota(conn, account_id, month=month, quota=quota, count=count)
        ):
            raise ApiError(ErrorCode.QUOTA_EXCEEDED)
        if key and not repository.claim_idempotency_key(
            conn,
            account_id,
            key,
            body_hash=batch.body_hash,
            message_id=batch.answer,
            now=now,
            not_before=not_before,
        ):
            first = repository.find_idempotency_key(conn, account_id, key, not_before=not_before)
            return _answer(_replay(first, batch.body_hash) if first else ApiError(ErrorCode.INTERNAL))
        if batch.also is not None:
            batch.also(conn)
        for start in range(0, count, BATCH_CHUNK):
            repository.insert_messages(conn, batch.rows[start : start + BATCH_CHUNK])
        if fact.has_webhook:
            events.announce_created(conn, batch.rows, now=now)
        if count:
            if quota is None:
                repository.add_usage(conn, account_id, month=month, count=count)
            repository.add_to_total(conn, account_id, count=count)
        return batch.answer

    def _store(self, conn: Connection, batch: list[Submission]) -> list[str | BaseException]:
        now = time.time()
        month = month_of(now)
        not_before = now - self._ttl
        facts = repository.fetch_account_facts(conn, {item.row["account_id"] for item in batch}, month=month)
        outcomes: list[str | BaseException] = []
        rows: list[dict[str, Any]] = []
        stored: list[Submission] = []
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
            stored.append(item)
            outcomes.append(item.row["id"])
        if rows:
            repository.insert_messages(conn, rows)
            for item in stored:
                if item.also is not None:
                    item.also(conn)
            watched = [row for row in rows if facts[row["account_id"]].has_webhook]
            events.announce_created(conn, watched, now=now)
        for account_id, count in unlimited.items():
            repository.add_usage(conn, account_id, month=month, count=count)
        for account_id, count in Counter(row["account_id"] for row in rows).items():
            repository.add_to_total(conn, account_id, count=count)
        return outcomes


def _answer(outcome: str | ApiError) -> str:
    if isinstance(outcome, ApiError):
        raise outcome
    return outcome


def _replay(first: tuple[str, str], body_hash: str) -> str | ApiError:
    stored_hash, message_id = first
    if stored_hash != body_hash:
        return ApiError(ErrorCode.IDEMPOTENCY_MISMATCH)
    return message_id
