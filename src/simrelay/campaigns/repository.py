"""Queries on campaigns (their SMS are counted in sms/repository.py; sync Core)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, func, insert, select, update
from sqlalchemy.engine import Connection

from simrelay.campaigns.models import Campaign

campaigns = cast(Table, Campaign.__table__)
c = campaigns.c


def insert_campaign(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(campaigns), row)


def get_campaign(
    conn: Connection, account_id: str, campaign_id: str, *, lock: bool = False
) -> Row[Any] | None:
    """The account's campaign, or None (another account's is none too); `lock`: held until the
    transaction ends (PostgreSQL; SQLite's writer holds the database)."""
    query = select(campaigns).where(c.id == campaign_id, c.account_id == account_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def set_state(conn: Connection, campaign_id: str, state: str) -> None:
    conn.execute(update(campaigns).where(c.id == campaign_id).values(state=state))


def list_campaigns(
    conn: Connection, account_id: str, *, limit: int, page: int
) -> tuple[int, Sequence[Row[Any]]]:
    """(the account's campaigns, the page's rows), newest first."""
    total = int(conn.execute(select(func.count()).where(c.account_id == account_id)).scalar_one())
    offset = (page - 1) * limit
    if total <= offset:
        return total, []
    query = (
        select(campaigns).where(c.account_id == account_id).order_by(c.id.desc()).limit(limit).offset(offset)
    )
    return total, conn.execute(query).all()


def get_campaigns(conn: Connection, account_id: str, campaign_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """The account's campaigns among these ids, newest first (another account's are left out)."""
    query = select(campaigns).where(c.account_id == account_id, c.id.in_(campaign_ids)).order_by(c.id.desc())
    return conn.execute(query).all()
