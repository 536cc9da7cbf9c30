"""Panel pages through HTTP on both databases: keys, devices and pairing, the SMS log with
send, search, history, delete and the live status stream, webhooks and their log; every form
refused without its CSRF token; nothing of another account reachable."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, update

from simrelay.accounts import login
from simrelay.accounts.models import Account
from simrelay.config import Settings
from simrelay.devices.models import Device
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.factories import Caller, make_device
from tests.integration.api.helpers import set_status

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OBJECT_ID = re.compile(r"[0-9a-f]{24}")


class Browser:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, path: str, **params: str) -> httpx.Response:
        response = await self.client.get(path, params=params)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf
        return await self.client.post(path, data=form)


async def account(settings: Settings, email: str) -> str:
    db = Database(settings.resolved_database_url())
    try:
        made = await login.sign_up(db, email, PASSWORD)
    finally:
        await db.dispose()
    assert made
    return made


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Browser]:
    await account(settings, "pages@example.com")
    async with running_client(settings.model_copy(update={"webhook_allow_private": True})) as client:
        page = Browser(client)
        await page.get("/panel/login")
        response = await page.post("/panel/login", {"email": "pages@example.com", "password": PASSWORD})
        assert response.status_code == 303
        await page.get("/panel")
        yield page


async def test_keys_create_show_the_token_once_and_it_works(browser: Browser) -> None:
    await browser.get("/panel/keys")
    page = await browser.post("/panel/keys", {"name": "ci", "can_send": "on", "can_read": "on"})
    assert page.status_code == 200
    token = re.search(r'<textarea id="token" readonly rows="3">([^<]+)</textarea>', page.text).group(1)
    listed = await browser.client.get("/v1/sms?limit=1", headers={"authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    again = await browser.get("/panel/keys")
    assert token not in again.text and "ci" in again.text
    key_id = re.search(r'action="/panel/keys/([0-9a-f]{24})"', again.text).group(1)
    assert (await browser.post(f"/panel/keys/{key_id}", {"action": "deactivate"})).status_code == 303
    refused = await browser.client.get("/v1/sms?limit=1", headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    await browser.get("/panel/keys")
    assert (await browser.post(f"/panel/keys/{key_id}", {"action": "delete"})).status_code == 303
    assert key_id not in (await browser.get("/panel/keys")).text


async def test_pairing_shows_a_qr_code_the_native_protocol_accepts(browser: Browser) -> None:
    await browser.get("/panel/devices")
    page = await browser.post("/panel/devices/pair")
    assert page.status_code == 200 and "<svg" in page.text
    payload = re.search(r'data-payload="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    code = re.search(r'id="pairing-code">([^<]+)<', page.text).group(1)
    assert payload.startswith("simrelay://pair?") and code.replace(" ", "") in payload
    assert "/mobile/v1" in page.text
    paired = await browser.client.post(
        "/device/v1/pair", json={"code": code, "name": "from the QR", "model": "x"}
    )
    assert paired.status_code == 200
    listed = await browser.get("/panel/devices")
    assert "from the QR" in listed.text


async def account_id_of(settings: Settings, email: str = "pages@example.com") -> str:
    db = Database(settings.resolved_database_url())
    try:
        return str((await db.read(lambda conn: login.find_by_email(conn, email))).id)
    finally:
        await db.dispose()


async def test_send_search_history_live_and_delete(browser: Browser, engine, settings: Settings) -> None:
    account_id = await account_id_of(settings)
    from tests.factories import Caller

    await make_device(engine, Caller(account_id, "pages@example.com", "", ""))
    await browser.get("/panel/messages")
    sent = await browser.post(
        "/panel/messages", {"phone_number": "79990001122", "message": "Привет из панели"}
    )
    assert sent.status_code == 303
    message_id = OBJECT_ID.search(sent.headers["location"]).group(0)
    found = await browser.get("/panel/messages", search="привет")
    assert message_id in found.text and "Ждет обработки" in found.text
    # A waiting SMS's badge follows the live stream (htmx's SSE extension swaps it).
    assert f'sse-connect="/panel/messages/live?ids={message_id}"' in found.text
    assert f'sse-swap="s{message_id}"' in found.text
    assert message_id not in (await browser.get("/panel/messages", search="nothing-like-it")).text
    history = await browser.get(f"/panel/messages/{message_id}")
    assert history.status_code == 200 and "Привет из панели" in history.text
    # The live stream ends once every SMS it follows is final (the in-process client reads
    # whole responses, so the SMS is made final first).
    await set_status(engine, message_id, 4, device_id="")
    live = await browser.client.get("/panel/messages/live", params={"ids": message_id})
    assert live.headers["content-type"].startswith("text/event-stream")
    delivered = f'event: s{message_id}\ndata: <span class="badge s4" data-status="4">'
    assert delivered in live.text and "event: done" in live.text
    bad = await browser.post("/panel/messages", {"phone_number": "12", "message": "x"})
    assert bad.status_code == 400 and "2001" in bad.text
    await browser.get("/panel/messages")
    assert (await browser.post(f"/panel/messages/{message_id}/delete")).status_code == 303
    assert message_id not in (await browser.get("/panel/messages")).text
    # A stream following only SMS that are gone ends at once.
    gone = await browser.client.get("/panel/messages/live", params={"ids": message_id}, timeout=5)
    assert gone.text.strip().endswith("event: done\ndata: {}")


async def test_webhooks_create_test_and_log(browser: Browser) -> None:
    await browser.get("/panel/webhooks")
    page = await browser.post("/panel/webhooks", {"url": "http://127.0.0.1:9/hook", "sms.status": "on"})
    assert page.status_code == 200 and "whsec_" in page.text
    webhook_id = re.search(r'data-webhook="([0-9a-f]{24})"', page.text).group(1)
    tested = await browser.post(f"/panel/webhooks/{webhook_id}", {"action": "test"})
    assert tested.status_code == 303
    for _ in range(100):
        log = await browser.get(f"/panel/webhooks/{webhook_id}")
        if "ping" in log.text:
            break
        import asyncio

        await asyncio.sleep(0.05)
    assert "ping" in log.text
    refused = await browser.post("/panel/webhooks", {"url": "ftp://example.com/"})
    assert refused.status_code == 400 and "2009" in refused.text


@pytest.mark.parametrize(
    "path",
    ["/panel/keys", "/panel/devices/pair", "/panel/messages", "/panel/webhooks", "/panel/logout"],
)
async def test_every_form_needs_its_csrf_token(browser: Browser, path: str) -> None:
    refused = await browser.post(
        path, {"name": "x", "url": "http://127.0.0.1:9/", "phone_number": "7999", "message": "x"}, csrf=False
    )
    assert refused.status_code == 403


async def test_another_accounts_things_cannot_be_changed(
    browser: Browser, settings: Settings, engine
) -> None:
    other_id = await account(settings, "other@example.com")
    from tests.factories import Caller

    device_id = await make_device(engine, Caller(other_id, "other@example.com", "", ""), name="theirs")
    await browser.get("/panel/devices")
    await browser.post(f"/panel/devices/{device_id}", {"action": "delete"})
    await browser.post(f"/panel/devices/{device_id}", {"action": "save", "name": "mine now", "to_sim": "-2"})
    db = Database(settings.resolved_database_url())
    try:
        from simrelay.devices import repository as devices

        row = await db.read(lambda conn: devices.find_by_id(conn, device_id))
    finally:
        await db.dispose()
    assert row is not None and row.name == "theirs"
    assert "theirs" not in (await browser.get("/panel/devices")).text
    assert (await browser.get(f"/panel/messages/{'0' * 24}")).status_code == 404


async def test_inbox_usage_and_admin(browser: Browser, settings: Settings, engine) -> None:
    db = Database(settings.resolved_database_url())
    try:
        me = await db.read(lambda conn: login.find_by_email(conn, "pages@example.com"))
        from simrelay.inbox import service as inbox

        await db.run(
            lambda conn: inbox.store_received(
                conn,
                account_id=me.id,
                device_id="6b0971c94db7a4915c3be388",
                external_id="in-1",
                phone_number="+79995554433",
                message="входящее сообщение",
                received_at=1795781066,
                sim=None,
                now=1795781066.0,
            )
        )
    finally:
        await db.dispose()
    page = await browser.get("/panel/inbox")
    assert "входящее сообщение" in page.text and "79995554433" in page.text
    usage = await browser.get("/panel/usage")
    assert usage.status_code == 200 and '<svg id="chart"' in usage.text
    assert (await browser.get("/panel/admin")).status_code == 404  # not an admin
    other = await account(settings, "someone@example.com")
    db = Database(settings.resolved_database_url())
    try:
        from sqlalchemy import update

        from simrelay.accounts.models import Account

        await db.run(
            lambda conn: conn.execute(update(Account).where(Account.id == me.id).values(is_admin=True))
        )
        admin = await browser.get("/panel/admin")
        assert admin.status_code == 200 and "someone@example.com" in admin.text
        assert (
            await browser.post(f"/panel/admin/{other}", {"action": "quota", "quota": "50"})
        ).status_code == 303
        assert (await browser.post(f"/panel/admin/{other}", {"action": "block"})).status_code == 303
        await browser.get("/panel/admin")
        assert (
            await browser.post(f"/panel/admin/{me.id}", {"action": "block"})
        ).status_code == 303  # not oneself
        rows = await db.read(lambda conn: {r.id: r for r in conn.execute(Account.__table__.select())})
    finally:
        await db.dispose()
    assert rows[other].monthly_quota == 50 and rows[other].is_blocked
    assert not rows[me.id].is_blocked


async def test_a_webhook_can_be_edited(browser: Browser) -> None:
    await browser.get("/panel/webhooks")
    page = await browser.post("/panel/webhooks", {"url": "http://127.0.0.1:9/hook"})
    webhook_id = re.search(r'data-webhook="([0-9a-f]{24})"', page.text).group(1)
    await browser.get(f"/panel/webhooks/{webhook_id}")
    edited = await browser.post(
        f"/panel/webhooks/{webhook_id}",
        {"action": "edit", "url": "http://127.0.0.1:10/other", "sms.received": "on"},
    )
    assert edited.status_code == 303
    shown = await browser.get(f"/panel/webhooks/{webhook_id}")
    assert 'value="http://127.0.0.1:10/other"' in shown.text
    assert re.search(r'name="sms.received" checked', shown.text) and not re.search(
        r'name="sms.status" checked', shown.text
    )
    refused = await browser.post(f"/panel/webhooks/{webhook_id}", {"action": "edit", "url": "ftp://x/"})
    assert refused.status_code == 400 and "2009" in refused.text


async def test_usage_chart_counts_each_day_of_the_last_30(
    browser: Browser, engine, settings: Settings
) -> None:
    from sqlalchemy import update

    from simrelay.sms.models import Message
    from tests.factories import Caller

    await make_device(engine, Caller(await account_id_of(settings), "pages@example.com", "", ""))
    await browser.get("/panel/messages")
    day = 86400
    today = int(time.time()) // day
    made = []
    for text in ("месяц назад", "давно", "сегодня"):
        sent = await browser.post("/panel/messages", {"phone_number": "79990001122", "message": text})
        made.append(sent.headers["location"].split("sent=")[1])
    # One SMS from the chart's first day, whose id was made half a minute before its
    # time_create, on the day before (the slack the id range allows); one 40 days old.
    moments = {made[0]: (today - 29) * day + 10, made[1]: (today - 40) * day}
    async with engine.begin() as conn:
        for message_id, moment in moments.items():
            new_id = (moment - 30).to_bytes(4, "big").hex() + message_id[8:]
            await conn.execute(
                update(Message).where(Message.id == message_id).values(id=new_id, time_create=moment)
            )
    page = (await browser.get("/panel/usage")).text

    def title(number: int) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(number * day))

    assert f"<title>{title(today)}: 1</title>" in page
    assert f"<title>{title(today - 29)}: 1</title>" in page
    assert title(today - 40) not in page


async def test_devices_page_shows_the_app_version_and_warns_about_apps_that_cannot_cancel(
    browser: Browser, engine, settings: Settings
) -> None:
    caller = Caller(await account_id_of(settings), "pages@example.com", "", "")
    versions = {"old app": "1.66.2", "new app": "1.68.0", "native": "1.66.2"}
    ids = {name: await make_device(engine, caller, name=name) for name in versions}
    async with engine.begin() as conn:
        for name, version in versions.items():
            app = name != "native"
            await conn.execute(
                update(Device)
                .where(Device.id == ids[name])
                .values(
                    kind="smsgate" if app else "native",
                    model="SMS Gateway for Android" if app else "Pixel 7",
                    app_version=version,
                    can_cancel=version != "1.66.2",
                )
            )

    def rows(page: httpx.Response) -> dict[str, str]:
        found = {
            name: re.search(rf'<tr data-device="{device_id}">(.*?)</tr>', page.text, re.DOTALL)
            for name, device_id in ids.items()
        }
        assert all(found.values()), page.text
        return {name: match.group(1) for name, match in found.items() if match}

    russian = rows(await browser.get("/panel/devices"))
    assert 'class="app-warning"' in russian["old app"] and "не может отменить" in russian["old app"]
    english = rows(await browser.get("/panel/devices", lang="en"))
    assert "SMS Gateway for Android 1.66.2" in english["old app"]
    assert 'class="app-warning"' in english["old app"] and "cannot cancel" in english["old app"]
    assert "SMS Gateway for Android 1.68.0" in english["new app"]
    assert "app-warning" not in english["new app"]
    # The version is the SMSGate app's: a native device is shown by its model alone.
    assert "Pixel 7" in english["native"] and "1.66.2" not in english["native"]
    assert "app-warning" not in english["native"]


async def test_resend_lost_is_off_by_default_and_the_overview_form_switches_it(
    browser: Browser, settings: Settings
) -> None:
    account_id = await account_id_of(settings)

    async def resend_lost() -> bool:
        db = Database(settings.resolved_database_url())
        try:
            stored = await db.read(
                lambda conn: conn.execute(
                    select(Account.resend_lost).where(Account.id == account_id)
                ).scalar_one()
            )
        finally:
            await db.dispose()
        return bool(stored)

    async def checkbox() -> str:
        page = await browser.get("/panel")
        found = re.search(r'<input type="checkbox" name="resend_lost"[^>]*>', page.text)
        assert found, page.text
        return found.group(0)

    assert "checked" not in await checkbox()
    assert await resend_lost() is False
    refused = await browser.post("/panel/settings", {"resend_lost": "on"}, csrf=False)
    assert refused.status_code == 403
    assert await resend_lost() is False
    assert (await browser.post("/panel/settings", {"resend_lost": "on"})).status_code == 303
    assert await resend_lost() is True
    assert "checked" in await checkbox()
    assert (await browser.post("/panel/settings", {}, csrf=False)).status_code == 403
    assert await resend_lost() is True
    assert (await browser.post("/panel/settings", {})).status_code == 303
    assert await resend_lost() is False
    assert "checked" not in await checkbox()
