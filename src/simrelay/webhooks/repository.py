"""Queries on webhooks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from simrelay.webhooks.models import Webhook


def webhook_exists(conn: Connection, *, account_id: str, webhook_id: str) -> bool:
    query = select(Webhook.id).where(Webhook.id == webhook_id, Webhook.account_id == account_id)
    return conn.execute(query).first() is not None
