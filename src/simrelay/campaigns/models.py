"""Table: campaigns (the SMS of one are messages rows with its campaign_id, in sms/models.py)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from simrelay.storage.db import Base


class Campaign(Base):
    """One `POST /v1/sms/bulk`: what it was asked, what it stored, and what it was told since."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_account_id_id", "account_id", "id"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    """The template, `{name}` placeholders unfilled."""
    recipients: Mapped[int] = mapped_column(Integer)
    """Recipients in the request: `accepted` of them were stored, the rest rejected."""
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[str] = mapped_column(Text)
    """JSON `[[index, error name], ...]`: an Idempotency-Key's replay answers them again, its
    texts in the language of the replay."""
    state: Mapped[str] = mapped_column(String(16))
    """A `State` as asked: running, paused or cancelled (`done` is read off its SMS)."""
    time_create: Mapped[int] = mapped_column(Integer)
