"""The usage page's per-SIM chart on both databases: SMS taken per device and SIM per day for 30
days, from the status history's takes, for the signed-in account's devices only."""

from __future__ import annotations

import time

import pytest

from simrelay.config import Settings
from simrelay.ids import new_object_id
from simrelay.sms.models import MessageHistory
from tests.conftest import running_client
from tests.factories import Caller, make_device
from tests.integration.test_panel_campaigns import signed_in
from tests.integration.test_panel_pages import account

pytestmark = pytest.mark.integration

DAY = 86400
TAKEN, SENT = 1, 2


async def took(engine, device_id: str, sim: int | None, at: float, status: int = TAKEN) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            MessageHistory.__table__.insert().values(
                message_id=new_object_id(), status=status, at=at, device_id=device_id, sim=sim, reason=""
            )
        )


def day_of(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


async def test_the_chart_has_a_series_per_sim_of_the_accounts_devices_only(
    settings: Settings, engine
) -> None:
    me = Caller(await account(settings, "sims@example.com"), "sims@example.com", "", "")
    office = await make_device(engine, me, name="Office phone")
    old = await make_device(engine, me, name="Old phone")
    stranger = Caller(await account(settings, "stranger@example.com"), "stranger@example.com", "", "")
    theirs = await make_device(engine, stranger, name="Stranger phone")
    today = int(time.time() // DAY) * DAY
    await took(engine, office, 0, today + 1)
    await took(engine, office, 0, today + 2)
    await took(engine, office, 0, today - 3 * DAY)
    await took(engine, office, 1, today - 0.4)  # just before midnight: yesterday's, on both databases
    await took(engine, office, 1, today + 5, status=SENT)  # only takes count
    await took(engine, office, 1, today - 40 * DAY)  # before the 30 days
    await took(engine, old, None, today + 3)  # the device's default SIM
    await took(engine, theirs, 0, today + 4)
    async with running_client(settings) as client:
        browser = await signed_in(client, "sims@example.com")
        page = (await browser.get("/panel/usage")).text
    legend = page.split('id="sim-legend">', 1)[1].split("</ul>", 1)[0]
    assert [item.split("</span> ", 1)[1] for item in legend.split("</li>") if "</span>" in item] == [
        "Office phone · SIM 0: 3",
        "Office phone · SIM 1: 1",
        "Old phone · default SIM: 1",
    ]
    chart = page.split('<svg id="sim-chart"', 1)[1].split("</svg>", 1)[0]
    assert f"<title>{day_of(today)} Office phone · SIM 0: 2</title>" in chart
    assert f"<title>{day_of(today - 3 * DAY)} Office phone · SIM 0: 1</title>" in chart
    assert f"<title>{day_of(today - DAY)} Office phone · SIM 1: 1</title>" in chart
    assert f"<title>{day_of(today)} Old phone · default SIM: 1</title>" in chart
    assert chart.count("<rect") == 4
    assert "Stranger phone" not in page


async def test_no_takes_no_chart(settings: Settings, engine) -> None:
    me = Caller(await account(settings, "quiet@example.com"), "quiet@example.com", "", "")
    await make_device(engine, me, name="Idle phone")
    async with running_client(settings) as client:
        browser = await signed_in(client, "quiet@example.com")
        page = (await browser.get("/panel/usage")).text
    assert 'id="sim-chart"' not in page and "No device has taken an SMS in 30 days." in page
