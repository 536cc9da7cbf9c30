"""Tables: the SMPP users that applications bind as (system_id and password, per account),
the receipts they asked for, and the deliver_sm waiting for them."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base

SYSTEM_ID_MAX = 15
"""SMPP 3.4 §4.1.1: system_id is a C-Octet String of at most 16 octets, its NUL included."""
PASSWORD_MAX = 8
"""SMPP 3.4 §4.1.1: password, at most 9 octets with the NUL."""
ADDRESS_MAX = 20
"""SMPP 3.4 §4.4.1: source_addr and destination_addr, at most 21 octets with the NUL."""


class SmppUser(Base):
    __tablename__ = "smpp_users"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[str] = mapped_column(String(SYSTEM_ID_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Double)


class SmppReceiptWanted(Base):
    """An SMS submitted over SMPP whose registered_delivery asks for a receipt: what the
    receipt's deliver_sm needs, kept from the submit_sm until the SMS's final status."""

    __tablename__ = "smpp_receipts_wanted"

    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(24))
    registered_delivery: Mapped[int] = mapped_column(SmallInteger)
    # The receipt goes from the SMS's destination back to the application's source_addr.
    source_addr: Mapped[str] = mapped_column(String(21))
    source_ton: Mapped[int] = mapped_column(SmallInteger)
    source_npi: Mapped[int] = mapped_column(SmallInteger)
    destination_addr: Mapped[str] = mapped_column(String(21))
    dest_ton: Mapped[int] = mapped_column(SmallInteger)
    dest_npi: Mapped[int] = mapped_column(SmallInteger)
    head: Mapped[str] = mapped_column(String(20))
    """The text's first 20 characters (the receipt's `text:`)."""
    submitted_at: Mapped[float] = mapped_column(Double)


class SmppNotice(Base):
    """A deliver_sm waiting for a receiver or transceiver bind of its account: a receipt or a
    received SMS (MO). Queued in the transaction of the change it tells of; deleted once a
    client answered its deliver_sm."""

    __tablename__ = "smpp_notices"
    __table_args__ = (Index("ix_smpp_notices_account_id_id", "account_id", "id"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    payload: Mapped[str] = mapped_column(Text)
    """The deliver_sm's fields as JSON (smpp/notices.py)."""
    created_at: Mapped[float] = mapped_column(Double)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float] = mapped_column(Double, default=0.0)
    """A session sent it and waits for the answer until then; after that any session may."""


class SmppSender(Base):
    """A source_addr of an SMPP user that picks the device (and SIM) its submit_sm go out
    through; other source_addrs go through any of the account's devices."""

    __tablename__ = "smpp_senders"
    __table_args__ = (UniqueConstraint("smpp_user_id", "source_addr"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    smpp_user_id: Mapped[str] = mapped_column(ForeignKey("smpp_users.id", ondelete="CASCADE"))
    source_addr: Mapped[str] = mapped_column(String(ADDRESS_MAX))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    to_sim: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
