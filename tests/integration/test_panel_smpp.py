"""The panel's SMPP page through HTTP on both databases: users listed, created (stored hashed,
the password never shown back, a user made here binds) and deleted; every refusal a clear form
error, never a 500; no CSRF token, no change; another account's users out of reach; and how to
connect, with the SMPP server on and off."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import smpplib.client  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]
from sqlalchemy import select

from simrelay.accounts import login
from simrelay.accounts.passwords import verify_password
from simrelay.config import Settings
from simrelay.smpp import users
from simrelay.smpp.codes import CommandStatus
from simrelay.smpp.models import SmppUser
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.integration.server import free_port

pytestmark = pytest.mark.integration

EMAIL = "smpp-panel@example.com"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
USER_ID = re.compile(r'action="/panel/smpp/([0-9a-f]{24})"')


class Panel:
    """A signed-in browser on the panel: the CSRF token of the last page it read goes with posts."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, path: str) -> httpx.Response:
        response = await self.client.get(path)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str], *, csrf: str | None = None) -> httpx.Response:
        form = {**data, "csrf_token": self.csrf if csrf is None else csrf}
        return await self.client.post(path, data=form)

    async def create(self, system_id: str, password: str) -> httpx.Response:
        await self.get("/panel/smpp")
        return await self.post("/panel/smpp", {"system_id": system_id, "password": password})


@pytest.fixture
async def me(db: Database) -> str:
    account_id = await login.sign_up(db, EMAIL, PASSWORD)
    assert account_id
    return account_id


@pytest.fixture
async def other(db: Database) -> str:
    account_id = await login.sign_up(db, "someone-else@example.com", PASSWORD)
    assert account_id
    return account_id


async def signed_in(client: httpx.AsyncClient) -> Panel:
    client.headers["accept-language"] = "en"  # the panel's default is Russian
    panel = Panel(client)
    await panel.get("/panel/login")
    response = await panel.post("/panel/login", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/panel"
    return panel


@pytest.fixture
async def smpp_port() -> int:
    return free_port()


@pytest.fixture
async def panel(settings: Settings, me: str, smpp_port: int) -> AsyncIterator[Panel]:
    """The panel of an app whose SMPP server listens, in this process, on `smpp_port`."""
    with_smpp = settings.model_copy(update={"smpp_port": smpp_port, "smpp_host": "127.0.0.1"})
    async with running_client(with_smpp) as client:
        yield await signed_in(client)


async def stored(db: Database) -> dict[str, Any]:
    """Every SMPP user on the server by system_id: (account_id, password_hash)."""
    rows = await db.read(
        lambda conn: conn.execute(
            select(SmppUser.system_id, SmppUser.account_id, SmppUser.password_hash)
        ).all()
    )
    return {row.system_id: (row.account_id, row.password_hash) for row in rows}


def listed(page: httpx.Response) -> list[str]:
    return re.findall(r'<tr data-system-id="([^"]*)">', page.text)


async def bind(port: int, system_id: str, password: str) -> int:
    """The status of a bind_transceiver by smpplib, an SMPP client no one here wrote."""

    def work() -> int:
        client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
        client.connect()
        try:
            client.bind_transceiver(system_id=system_id, password=password)
            return int(CommandStatus.ESME_ROK)
        except smpplib.exceptions.PDUError as error:
            return int(error.args[1])
        finally:
            client.disconnect()

    return await asyncio.to_thread(work)  # the server answers on this test's event loop


async def test_signed_out_visitors_go_to_the_sign_in_page(settings: Settings) -> None:
    async with running_client(settings) as client:
        for response in (
            await client.get("/panel/smpp"),
            await client.post("/panel/smpp", data={"system_id": "x", "password": "y"}),
        ):
            assert response.status_code == 303 and response.headers["location"] == "/panel/login"


async def test_the_page_is_in_the_navigation_and_lists_only_the_accounts_users(
    panel: Panel, db: Database, me: str, other: str
) -> None:
    await users.create_user(db, account_id=me, system_id="billing", password="pw")
    await users.create_user(db, account_id=me, system_id="otp", password="pw")
    await users.create_user(db, account_id=other, system_id="theirs", password="pw")
    overview = await panel.get("/panel")
    assert '<a href="/panel/smpp">SMPP</a>' in overview.text
    page = await panel.get("/panel/smpp")
    assert page.status_code == 200
    assert listed(page) == ["billing", "otp"]  # oldest first, none of another account's
    assert "theirs" not in page.text


async def test_a_created_user_is_listed_stored_hashed_and_binds(
    panel: Panel, db: Database, me: str, smpp_port: int
) -> None:
    created = await panel.create("billing", "s3cr3t!x")
    assert created.status_code == 200
    assert 'id="smpp-created"' in created.text and "<code>billing</code>" in created.text
    assert listed(created) == ["billing"]
    account_id, password_hash = (await stored(db))["billing"]
    assert account_id == me
    assert password_hash != "s3cr3t!x" and verify_password("s3cr3t!x", password_hash)
    again = await panel.get("/panel/smpp")
    for page in (created, again):
        assert "s3cr3t!x" not in page.text
        assert 'name="password" type="password"' in page.text and 'name="password" value' not in page.text
    assert await bind(smpp_port, "billing", "s3cr3t!x") == CommandStatus.ESME_ROK
    assert await bind(smpp_port, "billing", "s3cr3t!y") == CommandStatus.ESME_RINVPASWD


REFUSED = [
    pytest.param("a" * 16, "pw", "The system_id must be 1 to 15", id="system_id-too-long"),
    pytest.param("", "pw", "The system_id must be 1 to 15", id="system_id-empty"),
    pytest.param("bïlling", "pw", "The system_id must be 1 to 15", id="system_id-not-ascii"),
    pytest.param("bill\x00ing", "pw", "The system_id must be 1 to 15", id="system_id-nul"),
    pytest.param("billing", "123456789", "The password must be 1 to 8", id="password-too-long"),
    pytest.param("billing", "", "The password must be 1 to 8", id="password-empty"),
    pytest.param("billing", "пароль", "The password must be 1 to 8", id="password-not-ascii"),
    pytest.param("billing", "tab\there", "The password must be 1 to 8", id="password-control"),
]


@pytest.mark.parametrize(("system_id", "password", "message"), REFUSED)
async def test_credentials_smpp_cannot_carry_are_a_form_error(
    panel: Panel, db: Database, system_id: str, password: str, message: str
) -> None:
    refused = await panel.create(system_id, password)
    assert refused.status_code == 400
    assert f'<p class="error" role="alert">{message}' in refused.text
    assert await stored(db) == {}
    assert listed(refused) == []
    if password:
        assert password not in refused.text  # never shown back, even when refused
    if system_id.isprintable():  # kept in its field to correct
        field = re.search(r'<input name="system_id"[^>]*value="([^"]*)">', refused.text)
        assert field is not None and field.group(1) == html.escape(system_id)


async def test_a_system_id_taken_on_the_server_is_a_form_error(
    panel: Panel, db: Database, me: str, other: str
) -> None:
    await users.create_user(db, account_id=other, system_id="billing", password="theirs")
    before = await stored(db)
    refused = await panel.create("billing", "mine")
    assert refused.status_code == 400
    assert "This system_id is already taken on this server" in refused.text
    assert await stored(db) == before  # theirs, with their password
    assert listed(refused) == []
    await users.create_user(db, account_id=me, system_id="otp", password="pw")
    assert (await panel.create("otp", "pw2")).status_code == 400  # the account's own too


async def test_the_refusal_is_in_russian_too(panel: Panel, db: Database) -> None:
    panel.client.headers["accept-language"] = "ru"
    refused = await panel.create("a" * 16, "pw")
    assert refused.status_code == 400
    assert "system_id должен состоять из 1–15 печатных символов ASCII" in refused.text
    assert "<h1>Пользователи SMPP</h1>" in refused.text


async def test_delete_asks_first_then_the_user_can_no_longer_bind(
    panel: Panel, db: Database, smpp_port: int
) -> None:
    page = await panel.create("billing", "pw")
    user_id = USER_ID.search(page.text).group(1)
    # Without JavaScript the confirmation is a <details>: its button only shows once opened.
    assert re.search(
        r'<details class="confirm">\s*<summary>[^<]+</summary>\s*<form method="post" action="/panel/smpp/'
        + user_id,
        page.text,
    )
    assert await bind(smpp_port, "billing", "pw") == CommandStatus.ESME_ROK
    other_action = await panel.post(f"/panel/smpp/{user_id}", {"action": "rename"})
    assert other_action.status_code == 303 and other_action.headers["location"] == "/panel/smpp"
    assert list(await stored(db)) == ["billing"]  # only "delete" deletes
    deleted = await panel.post(f"/panel/smpp/{user_id}", {"action": "delete"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/panel/smpp?deleted=1"
    shown = await panel.get(deleted.headers["location"])
    assert 'id="smpp-deleted"' in shown.text and listed(shown) == []
    assert await stored(db) == {}
    assert await bind(smpp_port, "billing", "pw") == CommandStatus.ESME_RINVPASWD
    again = await panel.post(f"/panel/smpp/{user_id}", {"action": "delete"})
    assert again.status_code == 404 and "No such SMPP user" in again.text


async def test_a_post_without_its_csrf_token_changes_nothing(panel: Panel, db: Database, me: str) -> None:
    user_id = await users.create_user(db, account_id=me, system_id="billing", password="pw")
    before = await stored(db)
    await panel.get("/panel/smpp")
    for token in ("", "guess"):
        created = await panel.post("/panel/smpp", {"system_id": "forged", "password": "pw"}, csrf=token)
        deleted = await panel.post(f"/panel/smpp/{user_id}", {"action": "delete"}, csrf=token)
        assert created.status_code == deleted.status_code == 403
    without_field = await panel.client.post("/panel/smpp", data={"system_id": "forged", "password": "pw"})
    assert without_field.status_code == 403
    assert await stored(db) == before


async def test_another_accounts_user_cannot_be_deleted_or_taken_over(
    panel: Panel, db: Database, me: str, other: str
) -> None:
    theirs = await users.create_user(db, account_id=other, system_id="theirs", password="pw")
    before = await stored(db)
    await panel.get("/panel/smpp")
    by_id = await panel.post(f"/panel/smpp/{theirs}", {"action": "delete"})
    assert by_id.status_code == 404
    by_name = await panel.post("/panel/smpp/theirs", {"action": "delete", "system_id": "theirs"})
    assert by_name.status_code == 404
    assert await stored(db) == before
    # An account field in the form is not how the page picks the account.
    made = await panel.post("/panel/smpp", {"system_id": "mine", "password": "pw", "account_id": other})
    assert made.status_code == 200
    assert (await stored(db))["mine"][0] == me


async def test_how_to_connect_shows_the_smpp_address(panel: Panel, smpp_port: int) -> None:
    page = await panel.get("/panel/smpp")
    assert '<code id="smpp-host">127.0.0.1</code>' in page.text
    assert f'<code id="smpp-port">{smpp_port}</code>' in page.text
    assert "bind_transceiver" in page.text and "SIMRELAY_SMPP_PORT" not in page.text


async def test_how_to_connect_on_every_interface_names_the_host_the_browser_used(
    settings: Settings, me: str
) -> None:
    port = free_port()
    everywhere = settings.model_copy(update={"smpp_port": port, "smpp_host": "0.0.0.0"})
    async with running_client(everywhere) as client:
        page = await (await signed_in(client)).get("/panel/smpp")
    assert '<code id="smpp-host">simrelay.test</code>' in page.text  # running_client's base URL
    assert f'<code id="smpp-port">{port}</code>' in page.text


async def test_how_to_connect_says_how_to_turn_the_server_on(settings: Settings, me: str) -> None:
    assert settings.smpp_port is None
    async with running_client(settings) as client:
        panel = await signed_in(client)
        page = await panel.get("/panel/smpp")
    assert page.status_code == 200
    assert "The SMPP server is off." in page.text and "<code>SIMRELAY_SMPP_PORT=2775</code>" in page.text
    assert 'id="smpp-port"' not in page.text


async def test_a_system_id_with_markup_is_shown_as_text(panel: Panel, db: Database) -> None:
    created = await panel.create('<i>"&x', "pw")  # printable ASCII, so SMPP allows it
    assert created.status_code == 200
    assert "<i>" not in created.text and "<code>&lt;i&gt;&#34;&amp;x</code>" in created.text
    assert listed(created) == ["&lt;i&gt;&#34;&amp;x"]
    assert '<i>"&x' in await stored(db)
