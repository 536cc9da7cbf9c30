"""Tables: messages, monthly usage counters and idempotency keys."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_account_id_id", "account_id", "id"),)

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
