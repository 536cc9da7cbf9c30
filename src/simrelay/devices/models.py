"""Table: devices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Integer, String
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
    created_at: Mapped[float] = mapped_column(Double)
