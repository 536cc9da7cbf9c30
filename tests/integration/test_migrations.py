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


def on_database(url: str, work):
    """`work(conn)` in one transaction on the database at `url` (a coroutine for asyncio.run)."""

    async def run():
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return run()


async def insert_old_account(conn) -> None:
    """An account row as an old schema holds it (columns named: later ones have defaults)."""
    await conn.execute(
        sa.text(
            "INSERT INTO accounts (id, email, created_at, is_blocked, is_admin, resend_lost) "
            "VALUES (:id, 'old@example.com', 0, false, false, false)"
        ),
        {"id": "a" * 24},
    )


EVERY_EVENT_BEFORE_USSD = [
    "sms.status",
    "sms.received",
    "device.online",
    "device.offline",
    "device.low_battery",
]


WEBHOOKS = sa.table(
    "webhooks",
    *(sa.column(name) for name in ("id", "account_id", "url", "is_active", "created_at", "secret_salt")),
    sa.column("events", sa.JSON),
)


async def insert_webhooks(conn, events_by_id: dict[str, list[str]]) -> None:
    """Webhooks of the old account, each taking the events given."""
    for webhook_id, events in events_by_id.items():
        await conn.execute(
            WEBHOOKS.insert().values(
                id=webhook_id,
                account_id="a" * 24,
                url="http://127.0.0.1:9/hook",
                is_active=True,
                created_at=0.0,
                secret_salt="",
                events=events,
            )
        )


async def webhook_events(conn) -> list[tuple[str, list[str]]]:
    query = sa.select(WEBHOOKS.c.id, WEBHOOKS.c.events).order_by(WEBHOOKS.c.id)
    return [(row.id, row.events) for row in await conn.execute(query)]


async def insert_old_device(conn) -> None:
    """Device "d"*24 of the old account, with a plain value of its type in each column the
    schema at hand requires."""
    required = await conn.run_sync(
        lambda sync: [
            (column["name"], column["type"])
            for column in sa.inspect(sync).get_columns("devices")
            if not column["nullable"] and column.get("default") is None
        ]
    )
    plain = {sa.Boolean: False, sa.Integer: 0, sa.Float: 0.0, sa.JSON: "[]"}
    values = {
        name: next((v for kind, v in plain.items() if isinstance(kind_of, kind)), "")
        for name, kind_of in required
    }
    values |= {"id": "d" * 24, "account_id": "a" * 24}
    names = ", ".join(values)
    await conn.execute(sa.text(f"INSERT INTO devices ({names}) VALUES (:{', :'.join(values)})"), values)


async def columns_of(conn, table: str) -> set[str]:
    return set(await conn.run_sync(lambda sync: [c["name"] for c in sa.inspect(sync).get_columns(table)]))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_0010_gives_device_ussd_to_webhooks_that_took_every_event(kind: str, tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else reset_postgres2()
    config = alembic_config(url)
    command.upgrade(config, "0009")

    async def seed(conn) -> None:
        await insert_old_account(conn)
        await insert_webhooks(conn, {"1" * 24: EVERY_EVENT_BEFORE_USSD, "2" * 24: ["sms.status"]})

    asyncio.run(on_database(url, seed))
    command.upgrade(config, "0010")
    assert asyncio.run(on_database(url, webhook_events)) == [
        ("1" * 24, [*EVERY_EVENT_BEFORE_USSD, "device.ussd"]),
        ("2" * 24, ["sms.status"]),
    ]
    command.downgrade(config, "0009")
    assert asyncio.run(on_database(url, webhook_events)) == [
        ("1" * 24, EVERY_EVENT_BEFORE_USSD),
        ("2" * 24, ["sms.status"]),
    ]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_0015_leaves_existing_sms_free_to_go_and_goes_back(kind: str, tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else reset_postgres2()
    config = alembic_config(url)
    command.upgrade(config, "0014")

    async def seed(conn) -> None:
        await insert_old_account(conn)
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

    asyncio.run(on_database(url, seed))
    command.upgrade(config, "0015")
    assert asyncio.run(on_database(url, offerable)) == [("b" * 24, 0, None)]
    command.downgrade(config, "0014")
    assert not {"hold", "campaign_id"} & asyncio.run(
        on_database(url, lambda conn: columns_of(conn, "messages"))
    )
    assert asyncio.run(on_database(url, offerable_before)) == ["b" * 24]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_0016_gives_existing_devices_no_sim_budgets_and_goes_back(kind: str, tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else reset_postgres2()
    config = alembic_config(url)
    command.upgrade(config, "0015")
    budgets = ("sim_limit_per_day", "sim_limit_per_month", "sim_warmup_days", "sim_strategy", "quiet_hours")

    async def seed(conn) -> None:
        await insert_old_account(conn)
        await insert_old_device(conn)

    async def settings(conn) -> tuple[object, ...]:
        query = sa.text(f"SELECT {', '.join(budgets)}, timezone FROM devices")
        return tuple((await conn.execute(query)).one())

    asyncio.run(on_database(url, seed))
    command.upgrade(config, "0016")
    assert asyncio.run(on_database(url, settings)) == (0, 0, 0, "random", "", "UTC")
    command.downgrade(config, "0015")
    assert not {*budgets, "timezone"} & asyncio.run(
        on_database(url, lambda conn: columns_of(conn, "devices"))
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_0017_gives_devices_sim_care_defaults_and_sim_paused_to_every_event_webhooks(
    kind: str, tmp_path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else reset_postgres2()
    config = alembic_config(url)
    command.upgrade(config, "0016")
    every = [*EVERY_EVENT_BEFORE_USSD, "device.ussd"]
    added = ("sim_new_recipients_per_day", "sticky_days", "pause_after_failures", "pause_minutes")

    async def seed(conn) -> None:
        await insert_old_account(conn)
        await insert_old_device(conn)
        await insert_webhooks(conn, {"1" * 24: every, "2" * 24: ["sms.status"]})

    async def settings(conn) -> tuple[object, ...]:
        return tuple((await conn.execute(sa.text(f"SELECT {', '.join(added)} FROM devices"))).one())

    async def tables(conn) -> set[str]:
        return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))

    asyncio.run(on_database(url, seed))
    command.upgrade(config, "0017")
    assert asyncio.run(on_database(url, settings)) == (0, 30, 0, 60)
    assert {"sim_contacts", "sim_pauses"} <= asyncio.run(on_database(url, tables))
    assert asyncio.run(on_database(url, webhook_events)) == [
        ("1" * 24, [*every, "device.sim_paused"]),
        ("2" * 24, ["sms.status"]),
    ]
    command.downgrade(config, "0016")
    assert not set(added) & asyncio.run(on_database(url, lambda conn: columns_of(conn, "devices")))
    assert not {"sim_contacts", "sim_pauses"} & asyncio.run(on_database(url, tables))
    assert asyncio.run(on_database(url, webhook_events)) == [("1" * 24, every), ("2" * 24, ["sms.status"])]
