"""The panel's SIM limits form and paused-SIM banner through HTTP, on both databases: the form
saves through the API's checks (a bad value is refused with its code and changes nothing), a
paused SIM shows on the overview and devices pages until "resume now", and another account's
device can be neither set nor resumed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from simrelay.config import Settings
from simrelay.devices import pauses
from simrelay.devices import repository as devices
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.factories import Caller, make_device
from tests.integration.test_panel_pages import PASSWORD, Browser, account

pytestmark = pytest.mark.integration

FORM = {
    "sim_limit_per_day": "200",
    "sim_limit_per_month": "3000",
    "sim_new_recipients_per_day": "25",
    "sim_warmup_days": "7",
    "pause_after_failures": "3",
    "pause_minutes": "45",
    "sim_strategy": "sticky",
    "sticky_days": "14",
    "quiet_hours": "22:00-08:00",
    "timezone": "Europe/Moscow",
}


@pytest.fixture
async def panel(settings: Settings, engine) -> AsyncIterator[tuple[Browser, str, Database]]:
    account_id = await account(settings, "sims@example.com")
    device_id = await make_device(engine, Caller(account_id, "sims@example.com", "", ""), name="kitchen")
    db = Database(settings.resolved_database_url())
    async with running_client(settings) as client:
        page = Browser(client)
        await page.get("/panel/login")
        assert (
            await page.post("/panel/login", {"email": "sims@example.com", "password": PASSWORD})
        ).status_code == 303
        await page.get("/panel/devices")
        yield page, device_id, db
    await db.dispose()


async def device(db: Database, device_id: str) -> Any:
    return await db.read(lambda conn: devices.find_by_id(conn, device_id))


async def test_the_sim_limits_form_saves_every_setting(panel: tuple[Browser, str, Database]) -> None:
    browser, device_id, db = panel
    page = await browser.get("/panel/devices")
    assert f'action="/panel/devices/{device_id}/sims"' in page.text
    saved = await browser.post(f"/panel/devices/{device_id}/sims", FORM)
    assert saved.status_code == 303
    row = await device(db, device_id)
    assert {name: str(getattr(row, name)) for name in FORM} == FORM
    shown = (await browser.get("/panel/devices")).text
    assert 'name="sim_new_recipients_per_day" type="number" min="0" value="25"' in shown
    assert '<option value="sticky" selected>' in shown


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("quiet_hours", "08:00-08:00", "2010"),
        ("timezone", "Mars/Olympus", "2010"),
        ("sticky_days", "0", "2010"),
        ("sim_limit_per_day", "lots", "2010"),
        ("sim_strategy", "stickiest", "2010"),
    ],
)
async def test_a_bad_sim_setting_is_refused_with_its_code_and_changes_nothing(
    panel: tuple[Browser, str, Database], field: str, value: str, code: str
) -> None:
    browser, device_id, db = panel
    before = await device(db, device_id)
    refused = await browser.post(f"/panel/devices/{device_id}/sims", {**FORM, field: value})
    assert refused.status_code == 400 and f"{code}:" in refused.text and field in refused.text
    assert 'class="sims" open' in refused.text, "the form stays open to correct it"
    assert await device(db, device_id) == before


async def test_the_form_needs_its_csrf_token(panel: tuple[Browser, str, Database]) -> None:
    browser, device_id, db = panel
    refused = await browser.post(f"/panel/devices/{device_id}/sims", FORM, csrf=False)
    assert refused.status_code == 403
    assert (await device(db, device_id)).sim_limit_per_day == 0


async def test_a_paused_sim_shows_a_banner_until_resumed(panel: tuple[Browser, str, Database]) -> None:
    browser, device_id, db = panel
    until = time.time() + 1800
    await db.run(
        lambda conn: pauses.pause(
            conn, device_id, 1, until=until, reason="carrier refusals in a row: 3; last: …", now=time.time()
        )
    )
    for path in ("/panel", "/panel/devices"):
        page = await browser.get(path)
        assert (
            f'class="card warning paused-sim" role="status" data-device="{device_id}" data-sim="1"'
            in page.text
        )
        assert "kitchen · SIM 2" in page.text and "carrier refusals in a row: 3" in page.text
    for garbage in ("", "one", "-5"):
        await browser.post(f"/panel/devices/{device_id}/sims/resume", {"sim": garbage})
    assert "paused-sim" in (await browser.get("/panel")).text, "a form without a real slot lifts nothing"
    resumed = await browser.post(f"/panel/devices/{device_id}/sims/resume", {"sim": "1", "back": "/panel"})
    assert resumed.status_code == 303 and resumed.headers["location"].endswith("/panel")
    assert await db.read(lambda conn: pauses.paused_sims(conn, device_id, now=time.time())) == {}
    assert "paused-sim" not in (await browser.get("/panel")).text


async def test_another_accounts_device_can_be_neither_set_nor_resumed(
    panel: tuple[Browser, str, Database], settings: Settings, engine
) -> None:
    browser, _, db = panel
    other = await account(settings, "other-sims@example.com")
    theirs = await make_device(engine, Caller(other, "other-sims@example.com", "", ""), name="theirs")
    await db.run(
        lambda conn: pauses.pause(conn, theirs, 0, until=time.time() + 600, reason="r", now=time.time())
    )
    refused = await browser.post(f"/panel/devices/{theirs}/sims", FORM)
    assert refused.status_code == 400 and "1009:" in refused.text
    assert (await device(db, theirs)).sim_limit_per_day == 0
    await browser.post(f"/panel/devices/{theirs}/sims/resume", {"sim": "0"})
    assert await db.read(lambda conn: pauses.paused_sims(conn, theirs, now=time.time())) != {}
    assert "theirs" not in (await browser.get("/panel")).text
