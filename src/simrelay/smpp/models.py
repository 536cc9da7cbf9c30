"""Tables: the SMPP users that applications bind as (system_id and password, per account), and
the routes to carriers' SMSCs with the submit_sm written to them."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base

SYSTEM_ID_MAX = 15
"""SMPP 3.4 §4.1.1: system_id is a C-Octet String of at most 16 octets, its NUL included."""
PASSWORD_MAX = 8
"""SMPP 3.4 §4.1.1: password, at most 9 octets with the NUL."""


class SmppUser(Base):
    __tablename__ = "smpp_users"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[str] = mapped_column(String(SYSTEM_ID_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Double)


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
