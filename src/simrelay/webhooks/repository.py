"""Queries on webhooks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from simrelay.webhooks.models import Webhook


async def webhook_exists(conn: AsyncConnection, *, account_id: str, webhook_id: str) -> bool:
    query = select(Webhook.id).where(Webhook.id == webhook_id, Webhook.account_id == account_id)
    return (await conn.execute(query)).first() is not None
