"""The panel's "Export CSV" links on both databases: the SMS log's and the inbox's carry the page's
search and download the API's CSV for the signed-in account only; nothing without a session."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from simrelay.accounts import login
from simrelay.config import Settings
from simrelay.ids import new_object_id
from simrelay.inbox import service as inbox
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.factories import Caller, make_device
from tests.integration.test_panel_pages import PASSWORD, Browser, account

pytestmark = pytest.mark.integration

EXPORT_LINK = re.compile(r'<a id="export" href="([^"]+)" download>')


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Browser]:
    await account(settings, "exports@example.com")
    async with running_client(settings) as client:
        page = Browser(client)
        await page.get("/panel/login")
        response = await page.post("/panel/login", {"email": "exports@example.com", "password": PASSWORD})
        assert response.status_code == 303
        await page.get("/panel")
        yield page


async def account_id_of(settings: Settings, email: str) -> str:
    db = Database(settings.resolved_database_url())
    try:
        found = await db.read(lambda conn: login.find_by_email(conn, email))
    finally:
        await db.dispose()
    return str(found.id)


def link_on(page: httpx.Response) -> str:
    found = EXPORT_LINK.search(page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def csv_rows(response: httpx.Response, name: str) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    day = time.strftime("%Y%m%d", time.gmtime())
    assert response.headers["content-disposition"] == f'attachment; filename="{name}-{day}.csv"'
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))


async def receive(settings: Settings, account_id: str, message: str) -> None:
    db = Database(settings.resolved_database_url())
    try:
        await db.run(
            lambda conn: inbox.store_received(
                conn,
                account_id=account_id,
                device_id=new_object_id(),
                external_id=new_object_id(),
                phone_number="79995554433",
                message=message,
                received_at=int(time.time()),
                sim=None,
                now=time.time(),
            )
        )
    finally:
        await db.dispose()


async def test_the_sms_logs_link_downloads_what_the_search_found(
    browser: Browser, settings: Settings, engine
) -> None:
    me = await account_id_of(settings, "exports@example.com")
    await make_device(engine, Caller(me, "exports@example.com", "", ""))
    await browser.get("/panel/messages")
    for text in ("Счёт №1 оплачен", "=1+1 счёт", "привет"):
        sent = await browser.post("/panel/messages", {"phone_number": "79990001122", "message": text})
        assert sent.status_code == 303
    stranger = await account(settings, "stranger@example.com")
    async with running_client(settings) as other:
        elsewhere = Browser(other)
        await elsewhere.get("/panel/login")
        await elsewhere.post("/panel/login", {"email": "stranger@example.com", "password": PASSWORD})
        await make_device(engine, Caller(stranger, "stranger@example.com", "", ""))
        await elsewhere.get("/panel/messages")
        theirs = await elsewhere.post(
            "/panel/messages", {"phone_number": "79990001122", "message": "чужой счёт"}
        )
        assert theirs.status_code == 303

    page = await browser.get("/panel/messages", search="СЧЁТ")
    link = link_on(page)
    assert link == "/panel/messages/export.csv?search=%D0%A1%D0%A7%D0%81%D0%A2"
    rows = csv_rows(await browser.client.get(link), "sms")
    assert [row["message"] for row in rows] == ["Счёт №1 оплачен", "'=1+1 счёт"]
    everything = csv_rows(await browser.client.get(link_on(await browser.get("/panel/messages"))), "sms")
    assert len(everything) == 3 and "чужой счёт" not in {row["message"] for row in everything}


async def test_the_inboxs_link_downloads_the_accounts_inbox(browser: Browser, settings: Settings) -> None:
    me = await account_id_of(settings, "exports@example.com")
    stranger = await account(settings, "stranger@example.com")
    await receive(settings, me, "STOP")
    await receive(settings, me, "Здравствуйте")
    await receive(settings, stranger, "stop please")
    link = link_on(await browser.get("/panel/inbox", search="stop"))
    assert link == "/panel/inbox/export.csv?search=stop"
    assert [row["message"] for row in csv_rows(await browser.client.get(link), "inbox")] == ["STOP"]
    everything = csv_rows(await browser.client.get(link_on(await browser.get("/panel/inbox"))), "inbox")
    assert [row["message"] for row in everything] == ["STOP", "Здравствуйте"]


@pytest.mark.parametrize("path", ["/panel/messages/export.csv", "/panel/inbox/export.csv"])
async def test_no_csv_without_a_session(settings: Settings, path: str) -> None:
    async with running_client(settings) as client:
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/panel/login"
        assert "text/csv" not in response.headers.get("content-type", "")
        client.cookies.set("simrelay_session", "forged", path="/panel")
        forged = await client.get(path)
        assert forged.status_code == 303 and forged.headers["location"] == "/panel/login"


@pytest.mark.parametrize(
    ("path", "name"), [("/panel/messages/export.csv", "sms"), ("/panel/inbox/export.csv", "inbox")]
)
async def test_bad_bounds_are_refused_with_the_apis_code(browser: Browser, path: str, name: str) -> None:
    refused = await browser.client.get(
        path, params={"from": "10", "to": "5"}, headers={"Accept-Language": "en"}
    )
    assert refused.status_code == 400 and "2010: Invalid field to" in refused.text
    period = csv_rows(await browser.client.get(path, params={"from": "0", "to": "1"}), name)
    assert period == []
