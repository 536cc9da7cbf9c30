"""Tables: the SMPP users that applications bind as (system_id and password, per account),
the receipts they asked for, the deliver_sm waiting for them and the source_addrs mapped to
devices; the routes to carriers' SMSCs with the submit_sm written to them."""

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


class SmppRoute(Base):
    """A carrier's SMSC that the account sends through: a device of kind "smpp" (`device_id`)
    plus what binding to it takes. `password` is kept as given, since it is sent at every bind:
    it is the carrier's credential, never logged or listed."""

    __tablename__ = "smpp_routes"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    system_id: Mapped[str] = mapped_column(String(SYSTEM_ID_MAX))
    password: Mapped[str] = mapped_column(String(PASSWORD_MAX))
    source_addr: Mapped[str] = mapped_column(String(21), default="")
    tps: Mapped[float] = mapped_column(Double, default=0.0)
    """submit_sm per second at most; 0: no limit."""
    window: Mapped[int] = mapped_column(Integer, default=10)
    """submit_sm awaiting their response at most."""
    holder: Mapped[str | None] = mapped_column(String(32))
    """The process running the route (smpp/supervisor.py), while `held_until` lies ahead."""
    held_until: Mapped[float] = mapped_column(Double, default=0.0)
    created_at: Mapped[float] = mapped_column(Double)


class SmppRoutePart(Base):
    """One submit_sm written to a route: stored before it is written, so that a restart knows
    the SMS may have gone out (the lease rule), and with the SMSC's message_id once answered,
    so that a receipt finds its SMS and part."""

    __tablename__ = "smpp_route_parts"
    __table_args__ = (
        UniqueConstraint("device_id", "message_id", "part"),
        Index("ix_smpp_route_parts_device_id_smsc_id", "device_id", "smsc_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(24))
    part: Mapped[int] = mapped_column(Integer)
    parts: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    """written (no answer yet), accepted, rejected, throttled (to be written again)."""
    smsc_id: Mapped[str | None] = mapped_column(String(65))
    """The submit_sm_resp's message_id."""
    created_at: Mapped[float] = mapped_column(Double)
