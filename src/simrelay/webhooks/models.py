"""Table: webhooks (subscriptions). Delivery comes with the webhooks issue."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Double, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[float] = mapped_column(Double)
