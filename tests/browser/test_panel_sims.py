"""SIM limits and a paused SIM in headless Chromium (as test_panel_walk.py runs it): set a phone's
limits in its form, let its carrier refuse a send so that the SIM pauses, see the banner on the
overview with the refusal's reason, and resume the SIM from it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from simrelay.agent.simulator import Ledger, SimulatedPhone, SimulatorOptions
from tests.browser import test_panel_walk as walk
from tests.integration.gateway import QUICK
from tests.integration.server import Server

pytestmark = pytest.mark.integration

server = walk.server
chromium = walk.chromium
page = walk.page


async def test_sim_limits_a_refusal_pause_and_resume(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await walk.sign_in(page)
    await page.click("header >> text=Devices")
    await page.click("button:has-text('Pair a device')")
    payload = await page.get_attribute(".qr", "data-payload")
    assert payload is not None
    options = SimulatorOptions(**{**QUICK.__dict__, "refuse_after": 1})  # its carrier takes one SMS
    phone = await SimulatedPhone.pair(
        server.base_url, parse_qs(urlparse(payload).query)["code"][0], options=options, ledger=Ledger()
    )
    try:
        phone.start()
        for _ in range(50):  # the page shows what was true when it was drawn
            await page.goto("/panel/devices")
            if await page.locator(".badge.ok").count():
                break
            await page.wait_for_timeout(200)
        await page.click("details.sims summary")
        form = page.locator("form.sim-settings")
        await form.locator("input[name=pause_after_failures]").fill("1")
        await form.locator("input[name=pause_minutes]").fill("30")
        await form.locator("input[name=sim_new_recipients_per_day]").fill("50")
        await form.locator("select[name=sim_strategy]").select_option("least_used")
        await form.locator("button[type=submit]").click()
        await page.wait_for_url("**/panel/devices")
        await page.click("details.sims summary")
        await expect(form.locator("input[name=pause_after_failures]")).to_have_value("1")
        await expect(form.locator("input[name=sim_new_recipients_per_day]")).to_have_value("50")
        await expect(form.locator("select[name=sim_strategy]")).to_have_value("least_used")

        for text in ("first goes out", "second is refused"):
            await page.click("header >> text=Messages")
            await page.fill("input[name=phone_number]", "79990001122")
            await page.fill("textarea[name=message]", text)
            await page.click("#send-form button[type=submit]")
            await page.wait_for_url("**/panel/messages?sent=*")
            badge = page.locator(f"#messages tr:has-text('{text}') [data-status]")
            await badge.and_(page.locator("[data-status='4'], [data-status='3']")).wait_for(timeout=20_000)

        await page.click("header a.brand")  # the overview
        banner = page.locator(".paused-sim")
        await expect(banner).to_have_count(1)
        await expect(banner).to_contain_text(
            "carrier refused: sending limit reached (RESULT_ERROR_LIMIT_EXCEEDED)"
        )
        await page.screenshot(path=str(walk.SHOTS / "sim-paused.png"), full_page=True)
        await banner.locator("button[type=submit]").click()
        await page.wait_for_url("**/panel")
        await expect(page.locator(".paused-sim")).to_have_count(0)
    finally:
        await phone.stop()
