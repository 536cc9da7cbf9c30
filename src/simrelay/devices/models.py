"""Tables: devices, the pairing codes that enrol them, and USSD requests to them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    """What the device says it is (`device_name_type`)."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    battery: Mapped[int] = mapped_column(Integer, default=0)
    is_charging: Mapped[bool] = mapped_column(Boolean, default=False)
    low_battery_alert: Mapped[bool] = mapped_column(Boolean, default=False)
    to_sim: Mapped[int] = mapped_column(Integer, default=-2)
    sim_list: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    last_online_at: Mapped[float | None] = mapped_column(Double)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    """As last announced in a device.online / device.offline event, so each is sent once."""
    created_at: Mapped[float] = mapped_column(Double)
    token_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    """sha256 of the device token; None for a record that never paired."""
    kind: Mapped[str] = mapped_column(String(16), default="native")
    """How it connects: "native" (docs/device-protocol.md) or "smsgate" (the Android app)."""
    app_version: Mapped[str] = mapped_column(String(200), default="")
    can_cancel: Mapped[bool] = mapped_column(Boolean, default=True)
    """It can let go of an SMS it was handed (the SMSGate app before 1.67 cannot: mobile/versions.py)."""
    signal: Mapped[int] = mapped_column(Integer, default=-1)
    """0..4 bars, -1 unknown."""
    send_interval_min: Mapped[float] = mapped_column(Double, default=0.0)
    send_interval_max: Mapped[float] = mapped_column(Double, default=0.0)
    limit_per_minute: Mapped[int] = mapped_column(Integer, default=0)
    limit_per_hour: Mapped[int] = mapped_column(Integer, default=0)
    limit_per_day: Mapped[int] = mapped_column(Integer, default=0)
    sim_limit_per_day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Calendar budgets of each SIM (devices/budgets.py); 0 is no cap."""
    sim_limit_per_month: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sim_warmup_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sim_strategy: Mapped[str] = mapped_column(String(16), default="random", server_default="random")
    quiet_hours: Mapped[str] = mapped_column(String(16), default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    sim_new_recipients_per_day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sticky_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    pause_after_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Carrier refusals in a row that pause a SIM (devices/refusals.py); 0 is never."""
    pause_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    can_ussd: Mapped[bool] = mapped_column(Boolean, default=False)
    """Its last `hello` listed the "ussd" feature (docs/device-protocol.md)."""
    connection_id: Mapped[str | None] = mapped_column(String(16))
    """The live session's id, set on attach and cleared on detach by that session only (a
    reconnect to another node may come first); None while no node holds it. A node that dies
    leaves it set: last_online_at, refreshed by every heartbeat, then says the device is gone."""


class SimContact(Base):
    """A number one of the account's SIMs was offered an SMS to (devices/contacts.py): the
    new-recipients cap and the sticky strategy read it. Kept only for devices that use either."""

    __tablename__ = "sim_contacts"
    __table_args__ = (Index("ix_sim_contacts_device_id_first_at", "device_id", "first_at"),)

    account_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    phone_number: Mapped[str] = mapped_column(String(30), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    sim: Mapped[int] = mapped_column(Integer, primary_key=True)
    """The slot; -1 for the device's own default (a device that reported no SIMs)."""
    first_at: Mapped[float] = mapped_column(Double)
    last_at: Mapped[float] = mapped_column(Double)


class SimPause(Base):
    """A SIM paused after repeated carrier refusals (devices/refusals.py), until `until`."""

    __tablename__ = "sim_pauses"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    sim: Mapped[int] = mapped_column(Integer, primary_key=True)
    paused_at: Mapped[float] = mapped_column(Double)
    until: Mapped[float] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(String(200))


class PairingCode(Base):
    """A one-time code that enrols up to `uses_left` devices into an account until it expires."""

    __tablename__ = "pairing_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    uses_left: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Double)
    created_at: Mapped[float] = mapped_column(Double)


class UssdRequest(Base):
    """A USSD code sent (at most once) to a device, and the network's answer (devices/ussd.py)."""

    __tablename__ = "ussd_requests"
    __table_args__ = (
        Index("ix_ussd_requests_device_id_status", "device_id", "status"),
        Index("ix_ussd_requests_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(24))
    """No foreign key: the request stays readable after its device is deleted."""
    code: Mapped[str] = mapped_column(String(182))
    sim: Mapped[int | None] = mapped_column(Integer)
    """The slot to dial from; None for the device's own default."""
    status: Mapped[str] = mapped_column(String(16))
    """See devices/ussd.py, UssdStatus."""
    response: Mapped[str] = mapped_column(Text, default="")
    time_create: Mapped[float] = mapped_column(Double)
    time_done: Mapped[float | None] = mapped_column(Double)
    sent_at: Mapped[float | None] = mapped_column(Double)
    """When a node handed it to the device; set once, so it is never sent twice."""
    expires_at: Mapped[float] = mapped_column(Double)
