"""Tables: messages, their status history, monthly usage counters and idempotency keys; and the
columns of devices that SMS queries read."""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base

OFFERABLE = "status = 0 AND lease_device_id = '' AND deleted_at IS NULL AND hold = 0"
"""The SMS a device could be offered (literal SQL: the planners match partial indexes by text)."""


class Hold(IntEnum):
    """Why a waiting SMS is not offered, whatever else allows it: its campaign's state."""

    NONE = 0
    """Free to go."""
    PAUSED = 1
    """Its campaign is paused: it waits, unoffered, until resumed."""
    CANCELLED = 2
    """Its campaign was cancelled: a lease of it that ends, ends it in status 3 "cancelled"."""


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_account_id_id", "account_id", "id"),
        # Exactly the SMS a device could be offered now (or once `send_at` comes).
        Index(
            "ix_messages_offerable",
            "account_id",
            "id",
            sqlite_where=text(OFFERABLE),
            postgresql_where=text(OFFERABLE),
        ),
        # A campaign's SMS by status: its counts are one GROUP BY read off this index alone.
        Index(
            "ix_messages_campaign",
            "campaign_id",
            "status",
            sqlite_where=text("campaign_id IS NOT NULL"),
            postgresql_where=text("campaign_id IS NOT NULL"),
        ),
        Index(
            "ix_messages_expiring",
            "valid_until",
            sqlite_where=text("status = 0 AND valid_until IS NOT NULL"),
            postgresql_where=text("status = 0 AND valid_until IS NOT NULL"),
        ),
        Index(
            "ix_messages_leased",
            "lease_device_id",
            "lease_expires",
            sqlite_where=text("lease_device_id <> ''"),
            postgresql_where=text("lease_device_id <> ''"),
        ),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    phone_number: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(SmallInteger, default=0)
    callback_id: Mapped[str] = mapped_column(String(24), default="")
    requested_device_id: Mapped[str] = mapped_column(String(24), default="")
    """The device pinned on send; "" lets any active device take it."""
    device_id: Mapped[str] = mapped_column(String(24), default="")
    """The device that took it; "" while nobody holds it."""
    to_sim: Mapped[int | None] = mapped_column(Integer)
    time_create: Mapped[int] = mapped_column(Integer)
    search_text: Mapped[str] = mapped_column(Text)
    """casefold(message), a separator, the phone: what search matches (see sms/search.py)."""
    deleted_at: Mapped[float | None] = mapped_column(Double)
    valid_until: Mapped[int | None] = mapped_column(Integer)
    """Unix time; not sent by then → status 3, reason "expired"."""
    send_at: Mapped[int | None] = mapped_column(Integer)
    """Unix time; not offered to a device before."""
    encoding: Mapped[str] = mapped_column(String(8), default="gsm7")
    parts: Mapped[int] = mapped_column(SmallInteger, default=1)
    """Computed on send; replaced by what the device reports in `sent`."""
    part_states: Mapped[str] = mapped_column(String(255), default="")
    """One character per part once delivery reports arrive: "." none yet, "D" delivered, "N" not."""
    reason: Mapped[str] = mapped_column(String(200), default="")
    """Why it failed (status 3) or was taken back."""
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Offers made so far (leases granted: each offer's `attempt` is this, plus one)."""
    declines: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Of those, offers a device declined unstarted because its SIM was failing: no attempts."""
    sim: Mapped[int | None] = mapped_column(Integer)
    """The SIM slot of the current or last offer; None for the device's own default."""
    lease_device_id: Mapped[str] = mapped_column(String(24), default="")
    """The device holding the lease: offered (status 0) or taken (1); "" when none does."""
    lease_until: Mapped[float | None] = mapped_column(Double)
    """Past this, unreported, the device is asked to drop it."""
    lease_expires: Mapped[float | None] = mapped_column(Double)
    """Past this, the lease ends even without the device's confirmation."""
    lease_drop: Mapped[bool] = mapped_column(Boolean, default=False)
    """The device was asked to drop it and has not confirmed yet."""
    lease_handed: Mapped[bool] = mapped_column(Boolean, default=True)
    """The device may have it: a push device from the offer on, a pull device (the Android
    app) once a fetch listed it. Only an SMS never handed over goes back to the queue without
    the device's word (the lease rule, docs/device-protocol.md)."""
    let_go_by: Mapped[str] = mapped_column(Text, default="")
    """Devices that held this SMS and let it go unsent, comma-separated: one that cannot take
    an SMS back (the Android app keeps a cancelled id for good) is not offered it again."""
    no_store: Mapped[bool] = mapped_column(Boolean, default=False)
    """Asked on send (the GoSMS ext API's `no_store`): once the SMS is final its text is blanked
    and only its metadata stays (sms/retention.py); webhooks never carry its text."""
    campaign_id: Mapped[str | None] = mapped_column(String(24))
    """The campaign it was sent in (`POST /v1/sms/bulk`); None for one sent alone."""
    hold: Mapped[int] = mapped_column(SmallInteger, default=0)
    """A `Hold`: set and cleared for a whole campaign at once, so that an offer never joins
    the campaigns table."""


class MessageHistory(Base):
    """Every status change of an SMS (creation, status 0, is implied by `time_create`)."""

    __tablename__ = "message_history"
    __table_args__ = (Index("ix_message_history_device_id_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(24), index=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[float] = mapped_column(Double)
    device_id: Mapped[str] = mapped_column(String(24), default="")
    sim: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")


class MonthlyUsage(Base):
    """SMS accepted per account per calendar month (UTC): the quota counter."""

    __tablename__ = "monthly_usage"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    """yyyymm"""
    count: Mapped[int] = mapped_column(Integer, default=0)


class MessageTotal(Base):
    """Live (not deleted) SMS per account, kept in step by send and delete: the unfiltered
    list's total_records without counting a million rows."""

    __tablename__ = "message_totals"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[float] = mapped_column(Double, index=True)


# The devices table (devices/models.py) named, not imported: the devices package sits above sms
# and imports it. SMS queries read these columns: whether an account has a device, whether the
# device to pin an SMS to is the account's, and of a lease's holder whether it can let go and
# when it was last heard. The model's types (they decide PostgreSQL's parameter casts), which
# tests/unit/test_table_names.py holds them to; a MetaData of its own, so that migrations and
# create_all know only the model's table.
devices = Table(
    "devices",
    MetaData(),
    Column("id", String(24), primary_key=True),
    Column("account_id", String(24)),
    Column("can_cancel", Boolean),
    Column("app_version", String(200)),
    Column("last_online_at", Double),
)
