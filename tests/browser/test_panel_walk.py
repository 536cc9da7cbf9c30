"""The panel in headless Chromium (Playwright driving Debian's chromium): sign in, create a key,
add an SMPP user, an SMPP route (to a loopback port where nothing listens: it stays offline)
and a sender mapping of the user to that route, then delete the user, pair a simulated phone
through the QR code's payload, send an SMS from the form and watch its badge turn to delivered
without reloading, find it by search, add a webhook and see a delivery in its log, sign out;
and a form post without its CSRF token refused. Screenshots of the main pages go to
docs/screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from simrelay.agent.simulator import Ledger, SimulatedPhone
from tests.conftest import REQUIRE_SERVICES
from tests.integration.gateway import QUICK, gateway_env
from tests.integration.receiver import Receiver
from tests.integration.server import Server, free_port_besides, run_cli

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EMAIL = "browser@example.com"
PASSWORD = "a long browser password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    env = gateway_env(tmp_path, "sqlite", webhook_allow_private="1", webhook_tick_seconds="0.2")
    run_cli(env, "account", "create", EMAIL, "--password", PASSWORD)
    running = Server(env, tmp_path / "logs")
    running.options = ("--smpp-port", str(free_port_besides(running.port)))
    with running:
        yield running


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(server: Server, chromium) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    context = await chromium.new_context(
        base_url=server.base_url, locale="en-GB", viewport={"width": 1200, "height": 900}
    )
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def sign_in(page) -> None:  # type: ignore[no-untyped-def]
    await page.goto("/panel")
    await page.fill("input[name=email]", EMAIL)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_url("**/panel")


async def test_walk_every_page(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    phones: list[SimulatedPhone] = []
    with Receiver() as hook:
        try:
            # Sign in.
            await sign_in(page)
            assert EMAIL in await page.content()
            await page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

            # An API key, its token shown once.
            await page.click("header >> text=API keys")
            await page.fill("input[name=name]", "from the browser")
            await page.click("text=Create key")
            token = await page.input_value("#token")
            assert token.count(".") == 2  # JWT-shaped
            await page.screenshot(path=str(SHOTS / "keys.png"), full_page=True)

            # An SMPP user: listed, its password never shown back; deleting asks first.
            await page.click("header >> text=SMPP")
            await expect(page.locator("#smpp-port")).to_have_text(server.options[-1])
            await page.fill("input[name=system_id]", "browser")
            await page.fill("input[name=password]", "pw4smpp")
            await page.click("text=Create user")
            await expect(page.locator("#smpp-created")).to_contain_text("browser")
            await expect(page.locator("#smpp-users tr[data-system-id='browser']")).to_have_count(1)
            assert "pw4smpp" not in await page.content()
            await page.screenshot(path=str(SHOTS / "smpp.png"), full_page=True)

            # An SMPP route to a carrier that is not there: listed offline, its password nowhere.
            await page.click("#smpp-routes-link")
            await page.wait_for_url("**/panel/smpp/routes")
            await page.fill("input[name=name]", "Carrier A")
            await page.fill("input[name=host]", "127.0.0.1")
            await page.fill("input[name=port]", str(free_port_besides(server.port, int(server.options[-1]))))
            await page.fill("input[name=system_id]", "acme")
            await page.fill("input[name=password]", "rt4smsc")
            await page.fill("input[name=source_addr]", "Acme")
            await page.fill("input[name=tps]", "5")
            await page.click("text=Create route")
            await expect(page.locator("#route-created")).to_contain_text("Carrier A")
            route = page.locator("#smpp-routes tr[data-route]")
            await expect(route).to_have_count(1)
            await expect(route.locator(".badge")).to_have_text("offline")
            assert "rt4smsc" not in await page.content()
            await page.screenshot(path=str(SHOTS / "smpp-routes.png"), full_page=True)

            # The user's SMS from source_addr "Shop" go out through that route.
            await page.click("a:has-text('SMPP users')")
            senders = page.locator("section.senders[data-system-id='browser']")
            await senders.locator("input[name=source_addr]").fill("Shop")
            await senders.locator("select[name=device_id]").select_option(label="Carrier A (smpp)")
            await senders.locator("button:has-text('Map')").click()
            await expect(page.locator("#sender-added")).to_contain_text("Shop")
            mapping = page.locator("section.senders[data-system-id='browser'] tr[data-source-addr='Shop']")
            await expect(mapping).to_contain_text("Carrier A")
            assert "rt4smsc" not in await page.content()
            await page.screenshot(path=str(SHOTS / "smpp-senders.png"), full_page=True)

            row = page.locator("#smpp-users tr[data-system-id='browser']")
            confirm = row.locator("button:has-text('Yes, delete')")
            await expect(confirm).to_be_hidden()  # until the question is opened
            await row.locator("summary").click()
            await confirm.click()
            await expect(page.locator("#smpp-deleted")).to_be_visible()
            await expect(page.locator("#smpp-users tr[data-system-id]")).to_have_count(0)

            # Pair a simulated phone through the QR code's payload.
            await page.click("header >> text=Devices")
            await page.click("button:has-text('Pair a device')")
            payload = await page.get_attribute(".qr", "data-payload")
            assert payload is not None and payload.startswith("simrelay://pair?")
            query = parse_qs(urlparse(payload).query)
            phone = await SimulatedPhone.pair(
                server.base_url, query["code"][0], options=QUICK, ledger=Ledger()
            )
            phones.append(phone)
            phone.start()
            await page.screenshot(path=str(SHOTS / "pairing.png"), full_page=True)
            await page.goto("/panel/devices")
            await page.wait_for_selector("text=online")

            # Dial a USSD code; htmx swaps the phone's answer into the box without a reload.
            await page.click("details.ussd summary")
            await page.fill("details.ussd input[name=code]", "*100#")
            navigations: list[str] = []
            page.on("framenavigated", lambda frame: navigations.append(frame.url))
            await page.click("details.ussd button[type=submit]")
            answer = page.locator(".ussd-answer [data-status='done'] .ussd-response")
            await expect(answer).to_contain_text("*100#")
            assert navigations == []
            await page.screenshot(path=str(SHOTS / "devices.png"), full_page=True)

            # A webhook; its test event shows in the delivery log.
            await page.click("header >> text=Webhooks")
            await page.fill("input[name=url]", hook.url)
            await page.click("text=Add webhook")
            assert (await page.input_value("#secret")).startswith("whsec_")
            await page.click(f"a:has-text('{hook.url}')")
            await page.click("button:has-text('Send test event')")
            for _ in range(50):
                if await page.locator("#deliveries td:has-text('ping')").count():
                    break
                await page.wait_for_timeout(200)
                await page.reload()
            assert await page.locator("#deliveries td:has-text('ping')").count() == 1
            await page.screenshot(path=str(SHOTS / "webhook-log.png"), full_page=True)

            # Send from the form; the badge turns to delivered without a reload.
            await page.click("header >> text=Messages")
            await page.fill("input[name=phone_number]", "79990001122")
            await page.fill("textarea[name=message]", "Hello from the panel")
            await page.click("#send-form button[type=submit]")
            await page.wait_for_url("**/panel/messages?sent=*")
            badge = page.locator("#messages tr:has-text('Hello from the panel') [data-status]")
            navigations.clear()
            await badge.and_(page.locator("[data-status='4']")).wait_for(timeout=20_000)
            assert navigations == []  # no reload: the server-sent events changed it
            await page.screenshot(path=str(SHOTS / "messages.png"), full_page=True)
            await hook.arrived(1, where=lambda r: r.json["event"] == "sms.status")

            # Search as you type (htmx swaps the results and puts the search in the address),
            # and with the button.
            await page.fill("input[name=search]", "hello from")
            await expect(page.locator("#messages tr[data-id]")).to_have_count(1)
            await expect(page.locator("#messages tr:has-text('Hello from the panel')")).to_have_count(1)
            await page.wait_for_url("**/panel/messages?search=hello%20from")
            await page.fill("input[name=search]", "no such text")
            await page.click("form.search button")
            await expect(page.locator("#messages tr[data-id]")).to_have_count(0)

            # A post without the CSRF token is refused, with the session's own cookie.
            refused = await page.request.post(
                "/panel/keys", form={"name": "forged", "can_send": "on"}, max_redirects=0
            )
            assert refused.status == 403

            # Sign out.
            await page.click("header button:has-text('Sign out')")
            await page.wait_for_url("**/panel/login")
            await page.goto("/panel")
            assert "/panel/login" in page.url
            await page.screenshot(path=str(SHOTS / "sign-in.png"))
        finally:
            for phone in phones:
                await phone.stop()


PHONE_PAGES = [
    "/panel",
    "/panel/devices",
    "/panel/messages",
    "/panel/campaigns",
    "/panel/keys",
    "/panel/smpp",
    "/panel/smpp/routes",
    "/panel/webhooks",
    "/panel/inbox",
    "/panel/usage",
]


async def test_phone_layout(server: Server, chromium) -> None:  # type: ignore[no-untyped-def]
    """On a 390 px wide phone no page scrolls sideways (wide tables scroll inside themselves),
    and every header link stays on screen."""
    run_cli(server.env, "device", "add", EMAIL, "--name", "A phone with a rather long name", "--active")
    context = await chromium.new_context(
        base_url=server.base_url,
        locale="ru-RU",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = await context.new_page()
        await sign_in(page)
        await page.goto("/panel/messages")
        await page.fill("input[name=phone_number]", "79990001122")
        await page.fill("textarea[name=message]", "Длинное сообщение, чтобы таблица была шире экрана " * 2)
        await page.click("#send-form button[type=submit]")
        await page.wait_for_url("**/panel/messages?sent=*")
        for path in PHONE_PAGES:
            await page.goto(path)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
            for link in await page.locator("header a").all():
                box = await link.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, path
        await page.goto("/panel/messages")
        await page.screenshot(path=str(SHOTS / "phone-messages.png"), full_page=True)
    finally:
        await context.close()
