"""SMPP routes in the database (SQLite and PostgreSQL): creating one makes an active device of
kind "smpp" paced by its TPS; claims give each route to one holder until they lapse; the part
records the lease rule and receipts rely on."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.devices.models import Device
from simrelay.smpp import routes
from simrelay.smpp.routes import RouteError, RouteSettings, WrittenPart
from simrelay.storage.database import Database
from tests.factories import make_caller

pytestmark = pytest.mark.integration

SETTINGS = RouteSettings(
    host="127.0.0.1", port=2775, system_id="carrier", password="secret", tps=4.0, window=3
)
ID = "65f0c1e2a1b2c3d4e5f60720"


async def test_create_list_get_delete(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine, with_device=False)
    other = await make_caller(engine, with_device=False)
    route_id = await routes.create_route(db, account_id=caller.account_id, name="", settings=SETTINGS)
    async with engine.connect() as conn:
        device = (await conn.execute(select(Device).where(Device.id == route_id))).one()
    assert (device.kind, device.is_active, device.name, device.model) == (
        "smpp",
        True,
        "SMPP 127.0.0.1",
        "SMPP route",
    )
    assert (device.send_interval_min, device.send_interval_max) == (0.25, 0.25)

    listed = await routes.list_routes(db, account_id=caller.account_id)
    assert [(r.device_id, r.settings) for r in listed] == [(route_id, SETTINGS)]
    assert await routes.list_routes(db, account_id=other.account_id) == []
    assert (await routes.get_route(db, route_id)) == listed[0]

    with pytest.raises(RouteError, match="no SMPP route"):
        await routes.delete_route(db, account_id=other.account_id, device_id=route_id)
    await routes.delete_route(db, account_id=caller.account_id, device_id=route_id)
    assert await routes.get_route(db, route_id) is None
    with pytest.raises(RouteError, match="no SMPP route") as raised:
        await routes.delete_route(db, account_id=caller.account_id, device_id=route_id)
    assert raised.value.reason == "unknown"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"port": 0}, "port must be"),
        ({"host": ""}, "host must be"),
        ({"password": "123456789"}, "password must be"),
        ({"system_id": ""}, "system_id must be"),
        ({"source_addr": "x" * 21}, "source_addr must be"),
        ({"tps": -1.0}, "tps must be"),
        ({"tps": float("nan")}, "tps must be"),
        ({"tps": float("inf")}, "tps must be"),
        ({"window": 0}, "window must be"),
    ],
)
async def test_refuses_what_smpp_cannot_carry(
    engine: AsyncEngine, changes: dict[str, object], error: str
) -> None:
    caller = await make_caller(engine, with_device=False)
    settings = replace(SETTINGS, **changes)  # type: ignore[arg-type]
    with pytest.raises(RouteError, match=error) as raised:
        await routes.create_route(
            Database.on_engine(engine), account_id=caller.account_id, name="", settings=settings
        )
    assert raised.value.reason == error.split()[0]  # the option the panel names in its refusal


async def test_claims_give_each_route_to_one_holder_until_it_lapses(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine, with_device=False)
    first = await routes.create_route(db, account_id=caller.account_id, name="a", settings=SETTINGS)
    second = await routes.create_route(db, account_id=caller.account_id, name="b", settings=SETTINGS)
    assert set(await routes.claim_routes(db, holder="one", seconds=30, now=1000.0)) == {first, second}
    assert await routes.claim_routes(db, holder="two", seconds=30, now=1010.0) == []
    # Renewed by its holder, a claim stays; not renewed, it lapses and another takes it.
    assert set(await routes.claim_routes(db, holder="one", seconds=30, now=1020.0)) == {first, second}
    assert await routes.claim_routes(db, holder="two", seconds=30, now=1049.0) == []
    assert set(await routes.claim_routes(db, holder="two", seconds=30, now=1051.0)) == {first, second}
    assert await routes.claim_routes(db, holder="one", seconds=30, now=1052.0) == []
    # A clean stop lets them go at once.
    await routes.release_routes(db, holder="two", device_ids=[first])
    assert await routes.claim_routes(db, holder="one", seconds=30, now=1053.0) == [first]


async def test_part_records(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine, with_device=False)
    route_id = await routes.create_route(db, account_id=caller.account_id, name="", settings=SETTINGS)
    other = await routes.create_route(db, account_id=caller.account_id, name="", settings=SETTINGS)
    for index in range(2):
        await routes.mark_written(db, device_id=route_id, message_id=ID, part=index, parts_total=2)
    await routes.mark_answered(db, device_id=route_id, message_id=ID, part=0, state="throttled")
    await routes.mark_written(db, device_id=route_id, message_id=ID, part=0, parts_total=2)
    await routes.mark_answered(db, device_id=route_id, message_id=ID, part=0, state="accepted", smsc_id="1f")
    assert await routes.written_parts(db, device_id=route_id, message_ids=[ID]) == [
        WrittenPart(ID, 0, 2, "accepted", "1f"),
        WrittenPart(ID, 1, 2, "written", None),
    ]
    assert await routes.written_parts(db, device_id=other, message_ids=[ID]) == []
    assert await routes.written_parts(db, device_id=route_id, message_ids=[]) == []
    assert await routes.part_of_receipt(db, device_id=route_id, smsc_id="1f") == WrittenPart(
        ID, 0, 2, "accepted", "1f"
    )
    assert await routes.part_of_receipt(db, device_id=route_id, smsc_id="2f") is None
    assert await routes.part_of_receipt(db, device_id=other, smsc_id="1f") is None
    # Deleting the route's device takes its records with it.
    await routes.delete_route(db, account_id=caller.account_id, device_id=route_id)
    assert await routes.written_parts(db, device_id=route_id, message_ids=[ID]) == []
