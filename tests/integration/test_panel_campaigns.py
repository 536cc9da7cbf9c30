"""The panel's campaigns page on both databases: a CSV upload previewed (nothing stored), then sent
once however often the confirm form is posted; the list with its counts and the live progress
stream; pause, resume and cancel (each needing its CSRF token); every bad file refused on the page
with nothing stored; and nothing of another account's campaigns to see or change."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from simrelay.campaigns.models import Campaign
from simrelay.config import Settings
from simrelay.sms.models import Message
from tests.conftest import running_client
from tests.factories import Caller, make_device
from tests.integration.api.helpers import set_status
from tests.integration.test_panel_pages import PASSWORD, Browser, account

pytestmark = pytest.mark.integration

EMAIL = "campaigns@example.com"
CSV = (
    "name,phone_number,code\n"
    "Ann,+79990000001,11\n"
    "Bob,12,22\n"  # not a number: rejected (2001)
    "Cid,+79990000003\n"  # no code: rejected (2002)
    "Dan,+79990000004,44\n"
)
TEMPLATE = "Hi {name}, your code is {code}"
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


async def signed_in(client: httpx.AsyncClient, email: str) -> Browser:
    page = Browser(client)
    client.headers["accept-language"] = "en"
    await page.get("/panel/login")
    response = await page.post("/panel/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303
    await page.get("/panel/campaigns")
    return page


@pytest.fixture
async def browser(settings: Settings, engine) -> AsyncIterator[Browser]:
    me = await account(settings, EMAIL)
    await make_device(engine, Caller(me, EMAIL, "", ""), name="Office phone")
    async with running_client(settings) as client:
        yield await signed_in(client, EMAIL)


async def upload(
    browser: Browser, data: bytes | None, *, message: str = TEMPLATE, csrf: bool = True, **fields: str
) -> httpx.Response:
    form = {"message": message, **fields}
    if csrf:
        form["csrf_token"] = browser.csrf
    files = {"file": ("recipients.csv", data, "text/csv")} if data is not None else None
    return await browser.client.post("/panel/campaigns/preview", data=form, files=files)


def confirm_form(preview: httpx.Response) -> dict[str, str]:
    form = preview.text.split('id="confirm-form"', 1)[1].split("</form>", 1)[0]
    import html

    return {name: html.unescape(value) for name, value in HIDDEN.findall(form)}


async def confirm(browser: Browser, form: dict[str, str]) -> httpx.Response:
    # multipart, as the page's form posts it (the CSV is not percent-encoded)
    return await browser.client.post("/panel/campaigns/send", files={k: (None, v) for k, v in form.items()})


async def stored(engine) -> tuple[int, int]:
    """(campaigns, SMS) in the database."""
    async with engine.connect() as conn:
        campaigns = (await conn.execute(select(func.count()).select_from(Campaign))).scalar_one()
        messages = (await conn.execute(select(func.count()).select_from(Message))).scalar_one()
    return campaigns, messages


async def state_of(engine, campaign_id: str) -> str:
    async with engine.connect() as conn:
        return (await conn.execute(select(Campaign.state).where(Campaign.id == campaign_id))).scalar_one()


def counts_on(page: str, campaign_id: str) -> dict[str, int]:
    block = page.split(f'id="progress-{campaign_id}"', 1)[1].split("</div>\n", 2)[1]
    return {key: int(n) for key, n in re.findall(r'data-status="(\d)">[^<]*<b>(\d+)</b>', block)}


async def start(browser: Browser, engine) -> str:
    preview = await upload(browser, CSV.encode())
    assert preview.status_code == 200, preview.text
    sent = await confirm(browser, confirm_form(preview))
    assert sent.status_code == 303, sent.text
    return re.search(r"sent=([0-9a-f]{24})", sent.headers["location"]).group(1)


async def test_the_preview_counts_explains_and_renders_but_stores_nothing(browser: Browser, engine) -> None:
    preview = await upload(browser, CSV.encode())
    assert preview.status_code == 200
    text = preview.text
    assert re.search(r'id="preview-recipients">4<', text) and re.search(r'id="preview-accepted">2<', text)
    assert re.search(r'id="preview-rejected">2<', text)
    # The lines of the file (the header is line 1) and the bulk API's own codes and texts.
    assert '<tr data-line="3"><td>3</td><td>2001: ' in text
    assert '<tr data-line="4"><td>4</td><td>2002: ' in text
    examples = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", text.split('id="examples"')[1])
    assert examples == [
        ("79990000001", "Hi Ann, your code is 11"),
        ("79990000004", "Hi Dan, your code is 44"),
    ]
    form = confirm_form(preview)
    assert form["csv"] == CSV and form["message"] == TEMPLATE and form["key"].startswith("panel-")
    assert await stored(engine) == (0, 0)


async def test_the_confirm_sends_once_however_often_it_is_posted(browser: Browser, engine) -> None:
    preview = await upload(browser, "\ufeff".encode() + CSV.encode())  # a spreadsheet's BOM
    form = confirm_form(preview)
    first = await confirm(browser, form)
    again = await confirm(browser, form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert await stored(engine) == (1, 2)
    campaign_id = re.search(r"sent=([0-9a-f]{24})", first.headers["location"]).group(1)
    page = await browser.client.get(first.headers["location"])
    assert page.status_code == 200 and 'id="campaign-sent"' in page.text
    assert f'data-campaign="{campaign_id}"' in page.text and "Hi {name}, your code is {code}" in page.text
    assert counts_on(page.text, campaign_id) == {"0": 2, "1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    # A fresh preview of the same file is a new campaign: its key is new.
    await confirm(browser, confirm_form(await upload(browser, CSV.encode())))
    assert await stored(engine) == (2, 4)


async def test_the_list_counts_and_the_live_stream_follows_until_done(browser: Browser, engine) -> None:
    campaign_id = await start(browser, engine)
    page = await browser.get("/panel/campaigns")
    assert f'sse-connect="/panel/campaigns/live?ids={campaign_id}"' in page.text
    assert f'sse-swap="c{campaign_id}"' in page.text and 'data-state="running"' in page.text
    async with engine.connect() as conn:
        found = await conn.execute(select(Message.id).where(Message.campaign_id == campaign_id))
        ids = found.scalars().all()
    await set_status(engine, ids[0], 4)
    assert counts_on((await browser.get("/panel/campaigns")).text, campaign_id) == {
        "0": 1, "1": 0, "2": 0, "3": 0, "4": 1, "5": 0
    }  # fmt: skip
    # The in-process client reads whole responses: the stream must end, so the campaign is done.
    await set_status(engine, ids[1], 3)
    live = await browser.client.get("/panel/campaigns/live", params={"ids": campaign_id}, timeout=10)
    assert live.headers["content-type"].startswith("text/event-stream")
    event = live.text.split(f"event: c{campaign_id}\n", 1)[1].split("\n\n", 1)[0]
    block = "\n".join(line.removeprefix("data: ") for line in event.splitlines())
    assert 'data-state="done"' in block and "sse-swap" not in block  # final: it swaps no more
    assert counts_on(block + "\n", campaign_id) == {"0": 0, "1": 0, "2": 0, "3": 1, "4": 1, "5": 0}
    assert live.text.strip().endswith("event: done\ndata: {}")
    page = await browser.get("/panel/campaigns")
    assert "sse-connect" not in page.text and 'data-state="done"' in page.text


async def test_pause_resume_and_cancel_each_need_the_csrf_token(browser: Browser, engine) -> None:
    campaign_id = await start(browser, engine)
    base = f"/panel/campaigns/{campaign_id}"
    assert (await browser.post(f"{base}/pause", csrf=False)).status_code == 403
    assert await state_of(engine, campaign_id) == "running"
    assert (await browser.post(f"{base}/pause")).status_code == 303
    assert await state_of(engine, campaign_id) == "paused"
    page = await browser.get("/panel/campaigns")
    assert 'data-state="paused"' in page.text and f'action="{base}/resume"' in page.text
    assert (await browser.post(f"{base}/resume", csrf=False)).status_code == 403
    assert await state_of(engine, campaign_id) == "paused"
    assert (await browser.post(f"{base}/resume")).status_code == 303
    assert await state_of(engine, campaign_id) == "running"
    assert (await browser.post(f"{base}/cancel", csrf=False)).status_code == 403
    assert await state_of(engine, campaign_id) == "running"
    assert (await browser.post(f"{base}/cancel")).status_code == 303
    assert await state_of(engine, campaign_id) == "cancelled"
    page = await browser.get("/panel/campaigns")
    assert 'data-state="cancelled"' in page.text and f'action="{base}/pause"' not in page.text
    assert counts_on(page.text, campaign_id)["3"] == 2  # its waiting SMS ended "cancelled"
    assert (await browser.post(f"{base}/explode")).status_code == 404


@pytest.mark.parametrize(
    ("data", "message", "status", "says"),
    [
        (b"name,number\nAnn,+79990000001\n", TEMPLATE, 400, "no phone_number (or phone) column"),
        (b"", TEMPLATE, 400, "The file has no recipients"),
        (b"phone,name\n", TEMPLATE, 400, "The file has no recipients"),
        ("phone,name\n+79990000001,Аня\n".encode("cp1251"), TEMPLATE, 400, "not UTF-8"),
        (b"phone\n" + b"+79990000001\n" * 10_001, TEMPLATE, 400, "More than 10,000 recipients"),
        (b'phone\n"+79990000001\n', TEMPLATE, 400, "not valid CSV"),
        (CSV.encode(), "Hi {name", 400, "2002: "),
        (CSV.encode(), "   ", 400, "2002: "),
        (b"x" * 5000, TEMPLATE, 413, "The file is too large; the limit in bytes: 4096"),
        (None, TEMPLATE, 400, "Choose a CSV file"),
    ],
)
async def test_a_bad_upload_is_told_on_the_page_and_nothing_is_stored(
    settings: Settings, engine, data: bytes | None, message: str, status: int, says: str
) -> None:
    me = await account(settings, EMAIL)
    await make_device(engine, Caller(me, EMAIL, "", ""))
    small = settings.model_copy(update={"max_bulk_body_bytes": 4096})  # for the file too large
    async with running_client(small if status == 413 else settings) as client:
        browser = await signed_in(client, EMAIL)
        refused = await upload(browser, data, message=message)
        assert refused.status_code == status
        assert says in refused.text and 'role="alert"' in refused.text
        assert 'id="confirm-form"' not in refused.text
        if "UTF-8" not in says:  # (a form's fields are text: only the file can be another encoding)
            # A confirm form forged with such a file is refused alike.
            forged = {"csrf_token": browser.csrf, "key": "panel-x", "message": message}
            forged["csv"] = (data or b"").decode()
            assert (await confirm(browser, forged)).status_code == status
    assert await stored(engine) == (0, 0)


async def test_a_body_past_the_limit_is_refused_before_it_is_read(settings: Settings, engine) -> None:
    me = await account(settings, EMAIL)
    await make_device(engine, Caller(me, EMAIL, "", ""))
    async with running_client(settings.model_copy(update={"max_bulk_body_bytes": 4096})) as client:
        browser = await signed_in(client, EMAIL)
        huge = b"phone\n" + b"+79990000001\n" * 10_000  # past the bulk limit and a form's worth
        refused = await upload(browser, huge)
        assert refused.status_code == 413 and "The file is too large" in refused.text
    assert await stored(engine) == (0, 0)


async def test_no_upload_or_confirm_without_the_csrf_token(browser: Browser, engine) -> None:
    assert (await upload(browser, CSV.encode(), csrf=False)).status_code == 403
    form = confirm_form(await upload(browser, CSV.encode()))
    del form["csrf_token"]
    assert (await confirm(browser, form)).status_code == 403
    assert await stored(engine) == (0, 0)


async def test_another_account_can_neither_see_nor_change_a_campaign(
    browser: Browser, settings: Settings, engine
) -> None:
    campaign_id = await start(browser, engine)
    await account(settings, "stranger@example.com")
    async with running_client(settings) as other:
        stranger = await signed_in(other, "stranger@example.com")
        page = await stranger.get("/panel/campaigns")
        assert page.status_code == 200 and campaign_id not in page.text and "No campaigns yet" in page.text
        for action in ("pause", "cancel"):
            refused = await stranger.post(f"/panel/campaigns/{campaign_id}/{action}")
            assert refused.status_code == 404
            assert await state_of(engine, campaign_id) == "running"
        live = await stranger.client.get("/panel/campaigns/live", params={"ids": campaign_id}, timeout=5)
        assert campaign_id not in live.text and live.text.strip() == "event: done\ndata: {}"
    assert (await browser.post(f"/panel/campaigns/{'0' * 24}/pause")).status_code == 404


async def test_a_device_not_the_accounts_is_refused_at_the_preview(
    browser: Browser, settings: Settings, engine
) -> None:
    stranger = await account(settings, "stranger@example.com")
    theirs = await make_device(engine, Caller(stranger, "stranger@example.com", "", ""), name="Theirs")
    page = await browser.get("/panel/campaigns")
    assert "Office phone" in page.text and "Theirs" not in page.text  # the device list
    refused = await upload(browser, CSV.encode(), device_id=theirs)
    assert refused.status_code == 400 and "1009: " in refused.text and 'id="confirm-form"' not in refused.text
    mine = re.search(r'<option value="([0-9a-f]{24})" >Office phone</option>', page.text).group(1)
    pinned = await upload(browser, CSV.encode(), device_id=mine, to_sim="1")
    form = confirm_form(pinned)
    assert form["device_id"] == mine and form["to_sim"] == "1"
    assert (await confirm(browser, form)).status_code == 303
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Message.requested_device_id, Message.to_sim))).all()
    assert sorted(rows) == [(mine, 1), (mine, 1)]
