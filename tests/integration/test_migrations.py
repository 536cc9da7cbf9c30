"""The Alembic migrations produce exactly the tables the models describe, on both back ends, and
move the data they must."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from simrelay.storage.all_models import Base
from simrelay.storage.db import create_engine
from simrelay.storage.migrate import alembic_config
from tests.conftest import Backend
from tests.integration.server import reset_postgres2

pytestmark = pytest.mark.integration


async def test_migrated_schema_matches_the_models(backend: Backend, engine) -> None:
    def compare(conn: sa.Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(compare)
    # The search index (FTS5 table, trigram GIN index) is made by hand and lives outside the models.
    assert [d for d in differences if "search" not in str(d) and "fts" not in str(d)] == []


EVERY_EVENT_BEFORE_USSD = [
    "sms.status",
    "sms.received",
    "device.online",
    "device.offline",
    "device.low_battery",
]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_0010_gives_device_ussd_to_webhooks_that_took_every_event(kind: str, tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else reset_postgres2()
    config = alembic_config(url)
    command.upgrade(config, "0009")
    webhooks = sa.table(
        "webhooks",
        *(sa.column(name) for name in ("id", "account_id", "url", "is_active", "created_at", "secret_salt")),
        sa.column("events", sa.JSON),
    )

    async def run(work):
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    async def seed(conn) -> None:
        await conn.execute(
            sa.text(
                "INSERT INTO accounts (id, email, created_at, is_blocked, is_admin, resend_lost) "
                "VALUES (:id, 'old@example.com', 0, false, false, false)"
            ),
            {"id": "a" * 24},
        )
        for webhook_id, events in (("1" * 24, EVERY_EVENT_BEFORE_USSD), ("2" * 24, ["sms.status"])):
            await conn.execute(
                webhooks.insert().values(
                    id=webhook_id,
                    account_id="a" * 24,
                    url="http://127.0.0.1:9/hook",
                    is_active=True,
                    created_at=0.0,
                    secret_salt="",
                    events=events,
                )
            )

    async def events(conn) -> list[tuple[str, list[str]]]:
        query = sa.select(webhooks.c.id, webhooks.c.events).order_by(webhooks.c.id)
        return [(row.id, row.events) for row in await conn.execute(query)]

    asyncio.run(run(seed))
    command.upgrade(config, "0010")
    assert asyncio.run(run(events)) == [
        ("1" * 24, [*EVERY_EVENT_BEFORE_USSD, "device.ussd"]),
        ("2" * 24, ["sms.status"]),
    ]
    command.downgrade(config, "0009")
    assert asyncio.run(run(events)) == [("1" * 24, EVERY_EVENT_BEFORE_USSD), ("2" * 24, ["sms.status"])]
