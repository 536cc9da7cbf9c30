"""Tables: received messages (the inbox) and opt-outs."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base


class ReceivedMessage(Base):
    """One SMS a device received; stored once however often the device reports it."""

    __tablename__ = "received_messages"
    __table_args__ = (
        # Named by the convention after its first column, like every unique constraint here.
        UniqueConstraint("account_id", "device_id", "external_id"),
        Index("ix_received_messages_account_id_id", "account_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(24))
    """The device that received it; no foreign key, so the inbox outlives a deleted device."""
    external_id: Mapped[str] = mapped_column(String(64))
    """The device's own id for this SMS: what makes a repeated report a duplicate."""
    phone_number: Mapped[str] = mapped_column(String(64))
    """The sender: digits for a number, else the alphanumeric sender name as given."""
    message: Mapped[str] = mapped_column(Text)
    sim: Mapped[int | None] = mapped_column(Integer)
    """The SIM slot it arrived on; None when the device does not say."""
    received_at: Mapped[int] = mapped_column(Integer)
    """Unix seconds by the device's clock."""
    created_at: Mapped[float] = mapped_column(Double)
    search_text: Mapped[str] = mapped_column(Text)
    """casefold(message), a separator, the sender: what search matches (see sms/search.py)."""


class OptOut(Base):
    """A number that asked not to be texted (a STOP reply) or was put on the list by the API."""

    __tablename__ = "optouts"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    phone_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[float] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(16))
    """Who put it there: "sms" when the number sent STOP, "api" when added through the API."""
