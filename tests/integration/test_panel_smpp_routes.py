"""The panel's SMPP routes page through HTTP on both databases: routes listed with their state,
created with the CLI's rules (every refusal a clear form error in both languages, never a 500),
deleted after a question; the carrier's password never in any page; no CSRF token, no change;
another account's routes out of reach."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, update

from simrelay.accounts import login
from simrelay.config import Settings
from simrelay.devices import service as devices
from simrelay.devices.models import Device
from simrelay.smpp import routes
from simrelay.smpp.models import SmppRoute
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.fakes.smsc import FakeSmsc
from tests.integration.test_panel_smpp import EMAIL, PASSWORD, Panel, signed_in

pytestmark = pytest.mark.integration


@pytest.fixture
async def me(db: Database) -> str:
    """The signed-in account (test_panel_smpp's `signed_in` signs in as EMAIL)."""
    account_id = await login.sign_up(db, EMAIL, PASSWORD)
    assert account_id
    return account_id


@pytest.fixture
async def other(db: Database) -> str:
    account_id = await login.sign_up(db, "someone-else@example.com", PASSWORD)
    assert account_id
    return account_id


SECRET = "Pw7!sEcR"
"""The carrier's password: never in any page."""

ROUTE_ID = re.compile(r'action="/panel/smpp/routes/([0-9a-f]{24})"')


def good(**changes: str) -> dict[str, str]:
    form = {
        "name": "Carrier A",
        "host": "127.0.0.1",
        "port": "2775",
        "system_id": "acme",
        "password": SECRET,
        "source_addr": "Acme",
        "tps": "50",
        "window": "20",
    }
    return {**form, **changes}


@pytest.fixture
async def panel(settings: Settings, me: str) -> AsyncIterator[Panel]:
    async with running_client(settings) as client:
        yield await signed_in(client)


async def create(panel: Panel, form: dict[str, str]) -> httpx.Response:
    await panel.get("/panel/smpp/routes")
    return await panel.post("/panel/smpp/routes", form)


async def stored(db: Database) -> list[tuple[str, str, int, str, str, str, float, int, str]]:
    """Every route on the server: account, host, port, system_id, password, source_addr, tps,
    window, its device's name."""
    query = select(
        SmppRoute.account_id,
        SmppRoute.host,
        SmppRoute.port,
        SmppRoute.system_id,
        SmppRoute.password,
        SmppRoute.source_addr,
        SmppRoute.tps,
        SmppRoute.window,
        Device.name,
    ).join(Device, Device.id == SmppRoute.device_id)
    rows = await db.read(lambda conn: conn.execute(query).all())
    return sorted(tuple(row) for row in rows)  # type: ignore[misc]


def listed(page: httpx.Response) -> list[str]:
    return re.findall(r'<tr data-route="([0-9a-f]{24})">', page.text)


def row_of(page: httpx.Response, device_id: str) -> str:
    found = re.search(rf'<tr data-route="{device_id}">(.*?)</tr>', page.text, re.S)
    assert found is not None
    return found.group(1)


def settings_of(**changes: object) -> routes.RouteSettings:
    values: dict[str, object] = {"host": "127.0.0.1", "port": 2775, "system_id": "acme", "password": SECRET}
    return routes.RouteSettings(**{**values, **changes})  # type: ignore[arg-type]


async def test_signed_out_visitors_go_to_the_sign_in_page(settings: Settings) -> None:
    async with running_client(settings) as client:
        for response in (
            await client.get("/panel/smpp/routes"),
            await client.post("/panel/smpp/routes", data=good()),
            await client.post("/panel/smpp/routes/0123456789abcdef01234567", data={"action": "delete"}),
        ):
            assert response.status_code == 303 and response.headers["location"] == "/panel/login"


async def test_the_smpp_page_links_to_the_routes_page(panel: Panel) -> None:
    page = await panel.get("/panel/smpp")
    assert '<a href="/panel/smpp/routes" id="smpp-routes-link">' in page.text
    routes_page = await panel.get("/panel/smpp/routes")
    assert routes_page.status_code == 200 and "<h1>SMPP routes</h1>" in routes_page.text
    assert "No SMPP routes yet." in routes_page.text


async def test_a_created_route_is_stored_listed_offline_and_its_password_never_shown(
    panel: Panel,
    db: Database,
    me: str,
) -> None:
    created = await create(panel, good())
    assert created.status_code == 200
    assert 'id="route-created"' in created.text and "<code>Carrier A</code>" in created.text
    assert await stored(db) == [(me, "127.0.0.1", 2775, "acme", SECRET, "Acme", 50.0, 20, "Carrier A")]
    (device_id,) = listed(created)
    again = await panel.get("/panel/smpp/routes")
    assert listed(again) == [device_id]
    row = row_of(again, device_id)
    assert (
        '<code class="nowrap">127.0.0.1:2775</code>' in row
        and "<code>acme</code>" in row
        and "<code>Acme</code>" in row
    )
    assert "<td>50.0</td>" in row and "<td>20</td>" in row
    assert '<span class="badge off">offline</span>' in row  # nothing has bound it
    devices_page = await panel.get("/panel/devices")  # a route is a device like any other
    for page in (created, again, devices_page, await panel.get("/panel/smpp"), await panel.get("/panel")):
        assert SECRET not in page.text
    assert 'name="password" type="password"' in again.text and 'name="password" value' not in again.text


async def test_a_bound_route_shows_online_as_its_device_does(
    panel: Panel,
    db: Database,
    me: str,
    settings: Settings,
) -> None:
    device_id = await routes.create_route(db, account_id=me, name="", settings=settings_of(tps=0.0))
    seen = update(Device).where(Device.id == device_id).values(last_online_at=time.time())
    await db.run(lambda conn: conn.execute(seen))
    row = row_of(await panel.get("/panel/smpp/routes"), device_id)
    assert '<span class="badge ok">online</span>' in row
    assert "SMPP 127.0.0.1" in row and "no limit" in row  # the default name; tps 0
    stale = time.time() - 2 * settings.heartbeat_seconds - 1
    await db.run(
        lambda conn: conn.execute(update(Device).where(Device.id == device_id).values(last_online_at=stale))
    )
    assert '<span class="badge off">offline</span>' in row_of(
        await panel.get("/panel/smpp/routes"), device_id
    )


async def test_a_route_made_here_binds_to_the_smsc_shows_online_and_unbinds_when_deleted(
    settings: Settings, db: Database, me: str
) -> None:
    fake = FakeSmsc(system_id="carrier", password="Qx9!rtZ")
    await fake.start()
    quick = settings.model_copy(update={"smpp_route_check_seconds": 0.3, "smpp_route_reconnect_seconds": 0.2})
    try:
        async with running_client(quick) as client:  # the app's route supervisor runs in this loop
            panel = await signed_in(client)
            form = good(port=str(fake.port), system_id=fake.system_id, password=fake.password)
            (device_id,) = listed(await create(panel, form))
            await fake.wait_for(lambda: fake.bound)  # the password reached the SMSC
            for _ in range(100):
                page = await panel.get("/panel/smpp/routes")
                if '<span class="badge ok">online</span>' in row_of(page, device_id):
                    break
                await asyncio.sleep(0.1)
            assert '<span class="badge ok">online</span>' in row_of(page, device_id)
            assert fake.password not in page.text
            deleted = await panel.post(f"/panel/smpp/routes/{device_id}", {"action": "delete"})
            assert deleted.status_code == 303
            await fake.wait_for(lambda: not fake.bound)
    finally:
        await fake.stop()


async def test_empty_optional_fields_take_the_clis_defaults(panel: Panel, db: Database, me: str) -> None:
    created = await create(panel, good(name="", source_addr="", tps="", window=""))
    assert created.status_code == 200
    assert await stored(db) == [(me, "127.0.0.1", 2775, "acme", SECRET, "", 0.0, 10, "SMPP 127.0.0.1")]


REFUSED = [
    pytest.param({"host": ""}, "The host must be 1 to 255 characters", id="host-empty"),
    pytest.param({"host": "h" * 256}, "The host must be 1 to 255 characters", id="host-long"),
    pytest.param({"port": "0"}, "The port must be a number from 1 to 65535", id="port-0"),
    pytest.param({"port": "65536"}, "The port must be a number from 1 to 65535", id="port-high"),
    pytest.param({"port": "smsc"}, "The port must be a number from 1 to 65535", id="port-text"),
    pytest.param({"port": ""}, "The port must be a number from 1 to 65535", id="port-empty"),
    pytest.param({"system_id": "a" * 16}, "The system_id must be 1 to 15", id="system_id-long"),
    pytest.param({"system_id": ""}, "The system_id must be 1 to 15", id="system_id-empty"),
    pytest.param({"system_id": "äcme"}, "The system_id must be 1 to 15", id="system_id-ascii"),
    pytest.param({"password": "123456789"}, "The password must be 1 to 8", id="password-long"),
    pytest.param({"password": ""}, "The password must be 1 to 8", id="password-empty"),
    pytest.param({"password": "пароль"}, "The password must be 1 to 8", id="password-ascii"),
    pytest.param({"source_addr": "x" * 21}, "The source_addr must be at most 20", id="source-long"),
    pytest.param({"source_addr": "Acmé"}, "The source_addr must be at most 20", id="source-ascii"),
    pytest.param({"tps": "-1"}, "The TPS must be a number: 0", id="tps-negative"),
    pytest.param({"tps": "fast"}, "The TPS must be a number: 0", id="tps-text"),
    pytest.param({"tps": "nan"}, "The TPS must be a number: 0", id="tps-nan"),
    pytest.param({"tps": "inf"}, "The TPS must be a number: 0", id="tps-inf"),
    pytest.param({"window": "0"}, "The window must be a number from 1 to 1000", id="window-0"),
    pytest.param({"window": "1001"}, "The window must be a number from 1 to 1000", id="window-high"),
    pytest.param({"window": "2.5"}, "The window must be a number from 1 to 1000", id="window-fraction"),
]


@pytest.mark.parametrize(("changes", "message"), REFUSED)
async def test_options_the_cli_refuses_are_a_form_error(
    panel: Panel, db: Database, changes: dict[str, str], message: str
) -> None:
    form = good(**changes)
    refused = await create(panel, form)
    assert refused.status_code == 400
    assert f'<p class="error" role="alert">{message}' in refused.text
    assert await stored(db) == [] and listed(refused) == []
    if form["password"]:
        assert form["password"] not in refused.text  # not even the refused one
    assert 'name="password" type="password"' in refused.text and 'name="password" value' not in refused.text
    if changes.get("host") == "" or "port" in changes:  # the other fields kept to correct
        assert (
            'name="system_id" required maxlength="15" pattern="[ -~]+" autocomplete="off" value="acme"'
            in (refused.text)
        )


async def test_the_refusal_is_in_russian_too(panel: Panel, db: Database) -> None:
    panel.client.headers["accept-language"] = "ru"
    refused = await create(panel, good(port="70000"))
    assert refused.status_code == 400
    assert "Порт должен быть числом от 1 до 65535" in refused.text
    assert "<h1>Маршруты SMPP</h1>" in refused.text
    refused = await create(panel, good(tps="nan"))
    assert "TPS должен быть числом" in refused.text
    assert await stored(db) == []


async def test_delete_asks_first_and_removes_the_route_and_its_device(
    panel: Panel,
    db: Database,
    me: str,
) -> None:
    created = await create(panel, good())
    (device_id,) = listed(created)
    assert re.search(
        r'<details class="confirm">\s*<summary>[^<]+</summary>\s*<form method="post" '
        rf'action="/panel/smpp/routes/{device_id}"',
        created.text,
    )
    other_action = await panel.post(f"/panel/smpp/routes/{device_id}", {"action": "rename"})
    assert other_action.status_code == 303 and other_action.headers["location"] == "/panel/smpp/routes"
    assert len(await stored(db)) == 1  # only "delete" deletes
    deleted = await panel.post(f"/panel/smpp/routes/{device_id}", {"action": "delete"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/panel/smpp/routes?deleted=1"
    shown = await panel.get(deleted.headers["location"])
    assert 'id="route-deleted"' in shown.text and listed(shown) == []
    assert await stored(db) == [] and await routes.get_route(db, device_id) is None
    gone = await db.read(lambda conn: conn.execute(select(Device.id).where(Device.id == device_id)).first())
    assert gone is None
    again = await panel.post(f"/panel/smpp/routes/{device_id}", {"action": "delete"})
    assert again.status_code == 404 and "No such SMPP route" in again.text


async def test_a_post_without_its_csrf_token_changes_nothing(panel: Panel, db: Database, me: str) -> None:
    device_id = await routes.create_route(db, account_id=me, name="mine", settings=settings_of())
    before = await stored(db)
    await panel.get("/panel/smpp/routes")
    for token in ("", "guess"):
        made = await panel.post("/panel/smpp/routes", good(system_id="forged"), csrf=token)
        deleted = await panel.post(f"/panel/smpp/routes/{device_id}", {"action": "delete"}, csrf=token)
        assert made.status_code == deleted.status_code == 403
        assert SECRET not in made.text
    without_field = await panel.client.post("/panel/smpp/routes", data=good(system_id="forged"))
    assert without_field.status_code == 403
    assert await stored(db) == before


async def test_another_accounts_route_is_not_listed_and_cannot_be_deleted(
    panel: Panel,
    db: Database,
    me: str,
    other: str,
) -> None:
    theirs = await routes.create_route(
        db, account_id=other, name="Theirs", settings=settings_of(host="theirs.example", system_id="them")
    )
    page = await panel.get("/panel/smpp/routes")
    assert listed(page) == [] and "theirs.example" not in page.text and "Theirs" not in page.text
    before = await stored(db)
    refused = await panel.post(f"/panel/smpp/routes/{theirs}", {"action": "delete"})
    assert refused.status_code == 404 and "No such SMPP route" in refused.text
    assert await stored(db) == before
    made = await panel.post("/panel/smpp/routes", {**good(), "account_id": other})
    assert made.status_code == 200
    assert [row[0] for row in await stored(db)].count(me) == 1  # the form's account is not how it picks


async def test_a_plain_device_is_not_deleted_as_a_route(panel: Panel, db: Database, me: str) -> None:
    device_id = await devices.add_device(db, account_id=me, name="phone", active=True)
    await panel.get("/panel/smpp/routes")
    refused = await panel.post(f"/panel/smpp/routes/{device_id}", {"action": "delete"})
    assert refused.status_code == 404
    kept = await db.read(lambda conn: conn.execute(select(Device.id).where(Device.id == device_id)).first())
    assert kept is not None


async def test_markup_in_a_route_is_shown_as_text(panel: Panel, db: Database) -> None:
    created = await create(panel, good(name="<b>x</b>", source_addr='<i>"&'))
    assert created.status_code == 200
    assert "<b>x</b>" not in created.text and "&lt;b&gt;x&lt;/b&gt;" in created.text
    assert "<code>&lt;i&gt;&#34;&amp;</code>" in created.text
