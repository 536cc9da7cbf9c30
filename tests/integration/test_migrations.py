"""The Alembic migrations produce exactly the tables the models describe, on both back ends, and
move the data they must."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from simrelay.sms.models import OFFERABLE
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


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_0015_leaves_existing_sms_free_to_go_and_goes_back(kind: str, tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else reset_postgres2()
    config = alembic_config(url)
    command.upgrade(config, "0014")

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
        await conn.execute(
            sa.text(
                "INSERT INTO messages (id, account_id, phone_number, message, status, callback_id, "
                "requested_device_id, device_id, time_create, search_text) "
                "VALUES (:id, :account, '79990001122', 'old', 0, '', '', '', 0, 'old')"
            ),
            {"id": "b" * 24, "account": "a" * 24},
        )

    async def offerable(conn) -> list[tuple[str, int | None, str | None]]:
        # The dispatcher's own condition, as the partial index after 0015 states it.
        query = sa.text(f"SELECT id, hold, campaign_id FROM messages WHERE {OFFERABLE}")
        return [tuple(row) for row in await conn.execute(query)]

    async def offerable_before(conn) -> list[str]:
        query = sa.text(
            "SELECT id FROM messages WHERE status = 0 AND lease_device_id = '' AND deleted_at IS NULL"
        )
        return [row[0] for row in await conn.execute(query)]

    async def columns(conn) -> set[str]:
        return set(
            await conn.run_sync(lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("messages")])
        )

    asyncio.run(run(seed))
    command.upgrade(config, "0015")
    assert asyncio.run(run(offerable)) == [("b" * 24, 0, None)]
    command.downgrade(config, "0014")
    assert not {"hold", "campaign_id"} & asyncio.run(run(columns))
    assert asyncio.run(run(offerable_before)) == ["b" * 24]
