"""Tables: the SMPP users that applications bind as (system_id and password, per account)."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, String
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
