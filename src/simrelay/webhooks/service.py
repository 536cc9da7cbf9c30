"""Webhook use cases: manage subscriptions, read the delivery log, re-send and test."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.engine import Connection, Row

from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import new_object_id
from simrelay.storage.database import Database
from simrelay.webhooks import guard, repository, signing
from simrelay.webhooks.outbox import SUBSCRIBABLE, Event, Kind, State, insert_events, queued_row

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Keys:
    """What creating and editing webhooks needs from the server."""

    secret_key: str
    """The server's secret: each webhook's signing secret is derived from it."""
    allow_private: bool = False
    resolve: guard.Resolver = guard.system_resolve

    def secret(self, salt: str) -> str:
        return signing.format_secret(signing.derive_key(self.secret_key, salt))

    async def check(self, url: str) -> None:
        try:
            await guard.check_url(url, allow_private=self.allow_private, resolver=self.resolve)
        except guard.UrlRefused as exc:
            log.info("webhook_url_refused", reason=exc.reason)
            raise ApiError(ErrorCode.INVALID_WEBHOOK_URL) from None


async def create_webhook(
    db: Database, keys: Keys, *, account_id: str, url: str, events: list[str] | None, is_active: bool
) -> tuple[str, str]:
    """(id, secret) of a new webhook; the secret is not stored and shown only now."""
    await keys.check(url)
    webhook_id = new_object_id()
    salt = signing.new_salt()
    row = {
        "id": webhook_id,
        "account_id": account_id,
        "url": url,
        "events": events or list(SUBSCRIBABLE),
        "is_active": is_active,
        "created_at": time.time(),
        "secret_salt": salt,
    }
    await db.run(lambda conn: repository.insert_webhook(conn, row))
    return webhook_id, keys.secret(salt)


async def get_webhook(db: Database, *, account_id: str, webhook_id: str) -> Row[Any]:
    row = await db.read(
        lambda conn: repository.get_webhook(conn, account_id=account_id, webhook_id=webhook_id)
    )
    if row is None:
        raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)
    return row


async def edit_webhook(
    db: Database,
    keys: Keys,
    *,
    account_id: str,
    webhook_id: str,
    changes: dict[str, Any],
    rotate_secret: bool,
) -> str | None:
    """Applies the given fields (left out: unchanged); the new secret if `rotate_secret`.
    Switching a webhook off cancels what is queued for it; switching it on again forgives
    its past failures (and clears why simrelay had switched it off)."""
    if "url" in changes:
        await keys.check(changes["url"])
    now = time.time()
    salt = signing.new_salt() if rotate_secret else ""

    def work(conn: Connection) -> None:
        row = repository.get_webhook(conn, account_id=account_id, webhook_id=webhook_id)
        if row is None:
            raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)
        values = dict(changes)
        if rotate_secret:
            values.update(secret_salt=salt, previous_salt=row.secret_salt, rotated_at=now)
        active = values.get("is_active", row.is_active)
        if row.is_active and not active:
            repository.cancel_pending(conn, webhook_id)
        elif active and not row.is_active:
            values.update(failing_since=None, disabled_reason="", disabled_at=None)
        if values:
            repository.update_webhook(conn, webhook_id, values)

    await db.run(work)
    return keys.secret(salt) if rotate_secret else None


async def delete_webhook(db: Database, *, account_id: str, webhook_id: str) -> None:
    """Removes the webhook with its queue and log. SMS naming it as `callback_id` notify nobody."""
    found = await db.run(
        lambda conn: repository.delete_webhook(conn, account_id=account_id, webhook_id=webhook_id)
    )
    if not found:
        raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)


async def list_webhooks(
    db: Database, *, account_id: str, limit: int, page: int
) -> tuple[int, list[Row[Any]]]:
    total, rows = await db.read(
        lambda conn: repository.list_webhooks(conn, account_id=account_id, limit=limit, page=page)
    )
    return total, list(rows)


async def list_deliveries(
    db: Database, *, account_id: str, webhook_id: str, event_id: str, limit: int, page: int
) -> tuple[int, list[Row[Any]]]:
    """A page of the webhook's delivery log, newest attempt first (of one event if given)."""

    def work(conn: Connection) -> tuple[int, list[Row[Any]]]:
        if repository.get_webhook(conn, account_id=account_id, webhook_id=webhook_id) is None:
            raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)
        total, rows = repository.list_deliveries(
            conn, webhook_id=webhook_id, event_id=event_id, limit=limit, page=page
        )
        return total, list(rows)

    return await db.read(work)


async def redeliver(db: Database, *, account_id: str, event_id: str) -> None:
    """Sends an event again, now, under its own id, with a fresh retry schedule. An event still
    queued is just made due now. Its webhook must be active (1010 if the event is unknown)."""
    now = time.time()

    def work(conn: Connection) -> None:
        event = repository.get_event(conn, account_id=account_id, event_id=event_id)
        if event is None:
            raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)
        hook = repository.get_webhook(conn, account_id=account_id, webhook_id=event.webhook_id)
        if hook is None or not (hook.is_active or event.event == Kind.PING.value):
            raise ApiError(ErrorCode.INVALID_FIELD, field="event_id")
        if event.state == State.PENDING and event.next_attempt_at is not None:
            repository.requeue_event(conn, event_id, now=min(now, event.next_attempt_at), keep_attempts=True)
        else:
            repository.requeue_event(conn, event_id, now=now)

    await db.run(work)


async def send_test(db: Database, *, account_id: str, webhook_id: str) -> str:
    """Queues a `ping` to the webhook (active or not: people test before switching it on);
    returns its event id, to find it in the delivery log."""
    now = time.time()

    def work(conn: Connection) -> str:
        if repository.get_webhook(conn, account_id=account_id, webhook_id=webhook_id) is None:
            raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND)
        event = Event(account_id, Kind.PING, {"webhook_id": webhook_id}, at=now, webhook_id=webhook_id)
        row = queued_row(event, webhook_id=webhook_id)
        insert_events(conn, [row])
        return str(row["id"])

    return await db.run(work)


async def forget_finished_events(db: Database, *, older_than: float) -> None:
    """Prunes delivered, failed and cancelled events (and their log) past the retention."""
    before = time.time() - older_than
    while await db.run(lambda conn: repository.prune_finished(conn, before=before)):
        pass
