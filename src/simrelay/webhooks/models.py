"""Tables: webhooks (subscriptions), the outbox of events queued for them, and the log of
delivery attempts."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Double)
    secret_salt: Mapped[str] = mapped_column(String(64), default="")
    """The signing secret is derived from the server's secret key and this salt, so a copy of
    the database alone cannot sign (see webhooks/signing.py)."""
    previous_salt: Mapped[str] = mapped_column(String(64), default="")
    """The salt before the last rotation: its secret also signs for a day, so receivers can
    switch without losing events."""
    rotated_at: Mapped[float | None] = mapped_column(Double)
    failing_since: Mapped[float | None] = mapped_column(Double)
    """First failed attempt since the last success; None while deliveries succeed."""
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    """Why simrelay switched it off (410 Gone, failing for days); "" if it did not."""
    disabled_at: Mapped[float | None] = mapped_column(Double)


class WebhookEvent(Base):
    """The outbox: one event to deliver to one webhook. Written in the transaction of the
    change that causes it; its id is the `webhook-id` header of every attempt."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index(
            "ix_webhook_events_due",
            "next_attempt_at",
            sqlite_where=text("state = 0"),
            postgresql_where=text("state = 0"),
        ),
        Index("ix_webhook_events_webhook_id_created_at", "webhook_id", "created_at"),
        Index("ix_webhook_events_created_at", "created_at"),
        Index(
            "ix_webhook_events_subject",
            "webhook_id",
            "subject",
            sqlite_where=text("state = 0"),
            postgresql_where=text("state = 0"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(24))
    event: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(32), default="")
    """The SMS or device the event is about: events about one subject reach a webhook in the
    order they happened. "" for events that need no order (pings)."""
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Double)
    state: Mapped[int] = mapped_column(SmallInteger, default=0)
    """See webhooks/outbox.py, State."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float | None] = mapped_column(Double)
    locked_until: Mapped[float | None] = mapped_column(Double)
    """A node is attempting it until then; past it (the node died) another node may."""


class Delivery(Base):
    """One POST attempt of an event: the delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    webhook_id: Mapped[str] = mapped_column(String(24))
    at: Mapped[float] = mapped_column(Double)
    http_status: Mapped[int | None] = mapped_column(Integer)
    """None when no answer came (refused, timed out, connection failed)."""
    latency_ms: Mapped[float] = mapped_column(Double)
    response: Mapped[str] = mapped_column(Text, default="")
    """The first 1 KiB of the answer's body."""
    error: Mapped[str] = mapped_column(String(300), default="")
