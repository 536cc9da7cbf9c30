"""Delivery: each server process runs a Courier that claims due events, POSTs them signed and
records every attempt. At least once: an event stays queued until a 2xx, retries stop only
after the whole schedule (over a day), and an attempt cut short by a crash is made again once
its claim lapses, under the same `webhook-id`."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from sqlalchemy.engine import Connection

from simrelay import __version__
from simrelay.config import Settings
from simrelay.storage.batch import BatchWriter
from simrelay.storage.database import Database
from simrelay.tasks import cancel_and_wait
from simrelay.webhooks import repository, signing
from simrelay.webhooks.client import WebhookClient
from simrelay.webhooks.outbox import Kind, State

log = structlog.get_logger(__name__)

RESPONSE_KEPT = 1024
"""Bytes of each answer kept in the delivery log."""
RETRY_AFTER_MAX = 86400.0
USER_AGENT = f"simrelay/{__version__}"
GONE = 410


@dataclass(frozen=True, slots=True)
class Policy:
    secret_key: str
    timeout: float = 10.0
    concurrency: int = 32
    retry_delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    disable_after: float = 5 * 86400.0
    tick: float = 1.0
    secret_overlap: float = 86400.0
    """How long the secret before a rotation still signs (a second signature)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            secret_key=settings.resolved_secret_key(),
            timeout=settings.webhook_timeout_seconds,
            concurrency=settings.webhook_concurrency,
            retry_delays=tuple(settings.webhook_retry_delays),
            disable_after=settings.webhook_disable_after_seconds,
            tick=settings.webhook_tick_seconds,
        )

    @property
    def lock_seconds(self) -> float:
        """How long a claim lasts: an attempt plus time to record it, with room to spare. An
        attempt cut short by a crash is made again (by any node) once this has passed."""
        return 2 * self.timeout + 5.0

    def signing_keys(self, row: Any, *, now: float) -> list[bytes]:
        keys = [signing.derive_key(self.secret_key, row.secret_salt)]
        if row.previous_salt and row.rotated_at is not None and now - row.rotated_at < self.secret_overlap:
            keys.append(signing.derive_key(self.secret_key, row.previous_salt))
        return keys


@dataclass(frozen=True, slots=True)
class Outcome:
    http_status: int | None
    latency_ms: float
    response: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


class Courier:
    def __init__(self, db: Database, policy: Policy, *, client: WebhookClient | None = None) -> None:
        """`client`: by default one that refuses private addresses, with a kept-alive connection
        per attempt in flight (fewer would reconnect under load)."""
        self.db = db
        self.policy = policy
        self.client = client or WebhookClient(
            allow_private=False, connections=policy.concurrency, user_agent=USER_AGENT
        )
        # Outcomes are stored with group commit: one transaction (one fsync on SQLite) for
        # every attempt that finished meanwhile, not one each.
        self._outcomes: BatchWriter[Finished, None] = BatchWriter(db, self._store, name="webhook-outcomes")
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.attempts = 0
        self.delivered = 0

    def start(self) -> None:
        self._outcomes.start()
        self._task = asyncio.create_task(self._run(), name="webhook-courier")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Stops claiming; attempts in flight finish (each is bounded by the timeout)."""
        await cancel_and_wait(self._task)
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=self.policy.timeout + 5)
        await self._outcomes.stop()
        await self.client.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            more = False
            try:
                more = await self._claim_round()
            except Exception:
                log.exception("webhook_claim_failed")
            if not more:
                # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancel that arrives as
                # the wake-up does, and stop() then waits on a loop that never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.policy.tick):
                        await self._wake.wait()

    async def _claim_round(self) -> bool:
        """Claims what fits in the free slots; True if there may be more due right now. Waits
        for a quarter of the slots to be free, so that claims come in batches, not one by one."""
        free = self.policy.concurrency - len(self._inflight)
        if free <= 0 or (self._inflight and free < max(1, self.policy.concurrency // 4)):
            return False
        now = time.time()
        lock = now + self.policy.lock_seconds
        rows = await self.db.run(lambda conn: claim(conn, now=now, lock=lock, limit=free))
        for row in rows:
            task = asyncio.create_task(self._attempt(row, lock))
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        return len(rows) == free

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free

    async def _attempt(self, row: Any, lock: float) -> None:
        try:
            body = row.payload.encode()
            now = time.time()
            keys = self.policy.signing_keys(row, now=now)
            headers = signing.headers(keys, event_id=row.id, timestamp=int(now), body=body)
            outcome = await self.post(row.url, body, headers)
            self.attempts += 1
            self.delivered += outcome.ok
            await self._outcomes.submit(Finished(row, outcome, lock, time.time()))
        except Exception:
            log.exception("webhook_attempt_failed", event_id=row.id)

    def _store(self, conn: Connection, batch: list[Finished]) -> list[None | BaseException]:
        record_outcomes(conn, batch, policy=self.policy)
        return [None] * len(batch)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.policy.timeout):
                answer = await self.client.post(url, body, headers, keep=RESPONSE_KEPT)
        except TimeoutError:
            return Outcome(None, _millis(started), error=f"no answer within {self.policy.timeout:g} s")
        except (OSError, aiohttp.ClientError) as exc:
            return Outcome(None, _millis(started), error=_describe(exc)[:300])
        return Outcome(
            answer.status,
            _millis(started),
            response=answer.head.decode("utf-8", errors="replace"),
            retry_after=retry_after_seconds(answer.retry_after),
        )


@dataclass(frozen=True, slots=True)
class Finished:
    row: Any
    outcome: Outcome
    lock: float
    at: float


def claim(conn: Connection, *, now: float, lock: float, limit: int) -> list[Any]:
    """Due events to attempt now. Those of a webhook switched off meanwhile end cancelled
    (a test ping is still sent: people test a webhook before switching it on)."""
    rows = repository.claim_due(conn, now=now, lock_until=lock, limit=limit)
    off = {row.id for row in rows if not row.is_active and row.event != Kind.PING.value}
    for event_id in off:
        repository.finish_attempt(
            conn, event_id, lock=lock, values={"state": int(State.CANCELLED), "next_attempt_at": None}
        )
    return [row for row in rows if row.id not in off]


def record_outcomes(conn: Connection, batch: list[Finished], *, policy: Policy) -> None:
    """Logs the attempts and moves each event on: delivered, due again later, or failed. 410
    Gone switches the webhook off; so does failing without a break for `disable_after`. A
    test ping is tried once and never changes the webhook."""
    repository.log_attempts(
        conn,
        [
            {
                "event_id": item.row.id,
                "webhook_id": item.row.webhook_id,
                "at": item.at,
                "http_status": item.outcome.http_status,
                "latency_ms": round(item.outcome.latency_ms, 3),
                "response": item.outcome.response,
                "error": item.outcome.error,
            }
            for item in batch
        ],
    )
    repository.finish_attempts(conn, [next_step(item, policy) for item in batch])
    verdicts: dict[str, Finished] = {}
    for item in batch:  # the webhook's state follows its last outcome here (or a 410 among them)
        prior = verdicts.get(item.row.webhook_id)
        if item.row.event != Kind.PING.value and (prior is None or prior.outcome.http_status != GONE):
            verdicts[item.row.webhook_id] = item
    for webhook_id, item in verdicts.items():
        if item.outcome.ok:
            repository.forgive_failures(conn, webhook_id)
        elif item.outcome.http_status == GONE:
            disable_webhook(conn, webhook_id, reason="the receiver answered 410 Gone", now=item.at)
        else:
            _note_failure(conn, webhook_id, now=item.at, policy=policy)


def next_step(item: Finished, policy: Policy) -> dict[str, Any]:
    attempts = item.row.attempts + 1
    state, due = State.PENDING, None
    if item.outcome.ok:
        state = State.DELIVERED
    elif (
        item.outcome.http_status == GONE
        or item.row.event == Kind.PING.value
        or attempts > len(policy.retry_delays)
    ):
        state = State.FAILED
    else:
        delay = policy.retry_delays[attempts - 1]
        if item.outcome.retry_after is not None:
            delay = max(delay, item.outcome.retry_after)
        due = item.at + delay
    return {
        "b_id": item.row.id,
        "b_lock": item.lock,
        "b_state": int(state),
        "b_attempts": attempts,
        "b_due": due,
    }


def _note_failure(conn: Connection, webhook_id: str, *, now: float, policy: Policy) -> None:
    since = repository.failing_since(conn, webhook_id)
    if since is None:
        repository.update_webhook(conn, webhook_id, {"failing_since": now})
    elif now - since >= policy.disable_after:
        days = policy.disable_after / 86400
        disable_webhook(conn, webhook_id, reason=f"every delivery failed for {days:g} days", now=now)


def disable_webhook(conn: Connection, webhook_id: str, *, reason: str, now: float) -> None:
    repository.update_webhook(
        conn, webhook_id, {"is_active": False, "disabled_reason": reason, "disabled_at": now}
    )
    repository.cancel_pending(conn, webhook_id)
    log.warning("webhook_disabled", webhook_id=webhook_id, reason=reason)


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds (a number or an HTTP date), capped at a day; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return min(max(moment.timestamp() - time.time(), 0.0), RETRY_AFTER_MAX)


def _describe(exc: BaseException) -> str:
    """The delivery log's error: the guard's refusal as it is, other errors with their type; aiohttp
    wraps a resolver's OSError (the guard's) in its connector errors."""
    cause = getattr(exc, "os_error", None) or exc.__cause__
    if isinstance(cause, OSError) and str(cause).startswith("refused: "):
        return str(cause)
    if str(exc).startswith("refused: "):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _millis(started: float) -> float:
    return (time.perf_counter() - started) * 1000
