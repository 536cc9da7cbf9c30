"""A campaign from the panel in headless Chromium (as test_panel_walk.py runs it): pair a simulated
phone, upload a small CSV through the file input, read the preview, confirm, and watch the
campaign's counts reach delivered on the campaigns page without reloading."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from simrelay.agent.simulator import Ledger, SimulatedPhone
from tests.browser import test_panel_walk as walk
from tests.integration.gateway import QUICK
from tests.integration.server import Server

pytestmark = pytest.mark.integration

# The walk's fixtures: a server process on SQLite with one account, Chromium, a page on it.
server = walk.server
chromium = walk.chromium
page = walk.page

CSV = "phone_number,name\n+79990000001,Ann\n+79990000002,Bob\nnot-a-number,Cid\n"


async def test_upload_preview_confirm_and_watch_the_counts(server: Server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    recipients = tmp_path / "recipients.csv"
    recipients.write_text(CSV, encoding="utf-8")
    await walk.sign_in(page)
    await page.click("header >> text=Devices")
    await page.click("button:has-text('Pair a device')")
    payload = await page.get_attribute(".qr", "data-payload")
    assert payload is not None
    phone = await SimulatedPhone.pair(
        server.base_url, parse_qs(urlparse(payload).query)["code"][0], options=QUICK, ledger=Ledger()
    )
    try:
        await page.click("header >> text=Campaigns")
        await expect(page.locator("#campaigns")).to_contain_text("No campaigns yet")
        await page.set_input_files("#upload-form input[type=file]", str(recipients))
        await page.fill("#upload-form textarea[name=message]", "Hello {name}")
        await page.click("#upload-form button[type=submit]")
        await expect(page.locator("#preview-recipients")).to_have_text("3")
        await expect(page.locator("#preview-accepted")).to_have_text("2")
        await expect(page.locator("#preview-rejected")).to_have_text("1")
        await expect(page.locator("#rejections tr[data-line='4']")).to_contain_text("2001")
        await expect(page.locator("#examples")).to_contain_text("Hello Ann")
        await expect(page.locator("#examples")).to_contain_text("Hello Bob")
        await page.screenshot(path=str(walk.SHOTS / "campaign-preview.png"), full_page=True)

        await page.click("#confirm-form button[type=submit]")
        await page.wait_for_url("**/panel/campaigns?sent=*")
        campaign = page.locator("#campaigns article.campaign")
        await expect(campaign).to_have_count(1)
        await expect(campaign).to_contain_text("Hello {name}")
        await expect(campaign.locator(".counts [data-status='0'] b")).to_have_text("2")

        # The phone connects now: the counts follow over the live stream, with no reload.
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        phone.start()
        delivered = page.locator("#campaigns .counts [data-status='4'] b")
        await expect(delivered).to_have_text("2", timeout=20_000)
        await expect(campaign.locator(".progress")).to_have_attribute("data-state", "done")
        await expect(campaign.locator(".counts [data-status='0'] b")).to_have_text("0")
        assert navigations == []
        await page.screenshot(path=str(walk.SHOTS / "campaigns.png"), full_page=True)
    finally:
        await phone.stop()
