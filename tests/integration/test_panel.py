"""The panel's sign-in, sign-out and sign-up through HTTP on both databases: CSRF tokens on
every form, a refused post without one, the sign-in limit, sessions that rotate, languages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from simrelay.accounts import login
from simrelay.config import Settings
from simrelay.storage.database import Database
from tests.conftest import running_client

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def panel(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings.model_copy(update={"open_signup": True})) as client:
        yield client


async def make_account(settings: Settings, email: str = "panel@example.com") -> str:
    db = Database(settings.resolved_database_url())
    try:
        account_id = await login.sign_up(db, email, PASSWORD)
    finally:
        await db.dispose()
    assert account_id
    return account_id


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, *, password: str = PASSWORD, email: str = "panel@example.com"):
    token = await form_token(client, "/panel/login")
    return await client.post("/panel/login", data={"csrf_token": token, "email": email, "password": password})


async def test_signed_out_visitors_go_to_the_sign_in_page(panel: httpx.AsyncClient) -> None:
    response = await panel.get("/panel")
    assert response.status_code == 303 and response.headers["location"] == "/panel/login"


async def test_sign_in_shows_the_overview_and_sign_out_ends_it(
    panel: httpx.AsyncClient, settings: Settings
) -> None:
    await make_account(settings)
    response = await sign_in(panel)
    assert response.status_code == 303 and response.headers["location"] == "/panel"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    overview = await panel.get("/panel")
    assert overview.status_code == 200 and "panel@example.com" in overview.text
    token = CSRF.search(overview.text).group(1)
    out = await panel.post("/panel/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert (await panel.get("/panel")).status_code == 303


async def test_a_post_without_the_csrf_token_is_refused(panel: httpx.AsyncClient, settings: Settings) -> None:
    await make_account(settings)
    await panel.get("/panel/login")
    refused = await panel.post("/panel/login", data={"email": "panel@example.com", "password": PASSWORD})
    assert refused.status_code == 403
    forged = await panel.post(
        "/panel/login", data={"csrf_token": "guess", "email": "panel@example.com", "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert (await panel.get("/panel")).status_code == 303  # still signed out
    assert (await sign_in(panel)).status_code == 303
    overview = await panel.get("/panel")
    assert (await panel.post("/panel/logout", data={})).status_code == 403  # sign-out needs it too
    assert (await panel.get("/panel")).status_code == 200
    assert overview.status_code == 200


async def test_the_session_token_changes_at_sign_in(panel: httpx.AsyncClient, settings: Settings) -> None:
    await make_account(settings)
    before = await form_token(panel, "/panel/login")
    assert (await sign_in(panel)).status_code == 303
    after = CSRF.search((await panel.get("/panel")).text).group(1)
    assert after != before


async def test_wrong_passwords_are_limited(panel: httpx.AsyncClient, settings: Settings) -> None:
    await make_account(settings)
    for _ in range(5):  # accounts/guessing.py: 5 free failures
        assert (await sign_in(panel, password="wrong password")).status_code == 401
    limited = await sign_in(panel)  # even the right one, while this address waits
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


async def test_a_tampered_cookie_is_a_signed_out_visitor(
    panel: httpx.AsyncClient, settings: Settings
) -> None:
    await make_account(settings)
    assert (await sign_in(panel)).status_code == 303
    cookie = panel.cookies.get("simrelay_session")
    panel.cookies.set(
        "simrelay_session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"), path="/panel"
    )
    assert (await panel.get("/panel")).status_code == 303


async def test_sign_up_when_open(panel: httpx.AsyncClient) -> None:
    token = await form_token(panel, "/panel/signup")
    short = await panel.post(
        "/panel/signup", data={"csrf_token": token, "email": "new@example.com", "password": "short"}
    )
    assert short.status_code == 400
    made = await panel.post(
        "/panel/signup", data={"csrf_token": token, "email": "new@example.com", "password": PASSWORD}
    )
    assert made.status_code == 303
    assert "new@example.com" in (await panel.get("/panel")).text
    panel.cookies.clear()
    token = await form_token(panel, "/panel/signup")
    taken = await panel.post(
        "/panel/signup", data={"csrf_token": token, "email": "NEW@example.com", "password": PASSWORD}
    )
    assert taken.status_code == 409


async def test_sign_up_is_closed_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/panel/signup")).status_code == 404
    assert (await client.post("/panel/signup", data={})).status_code == 404


async def test_russian_by_default_english_on_request(panel: httpx.AsyncClient) -> None:
    assert "Войти" in (await panel.get("/panel/login")).text
    assert "Sign in" in (await panel.get("/panel/login", headers={"accept-language": "en-GB,en;q=0.9"})).text
    chosen = await panel.get("/panel/login?lang=en")
    assert "Sign in" in chosen.text
    assert "Sign in" in (await panel.get("/panel/login")).text  # remembered in a cookie


async def test_a_disabled_webhook_is_shown_on_the_overview(
    panel: httpx.AsyncClient, settings: Settings
) -> None:
    account_id = await make_account(settings)
    db = Database(settings.resolved_database_url())
    try:
        from simrelay.webhooks import repository as hooks

        await db.run(
            lambda conn: hooks.insert_webhook(
                conn,
                {
                    "id": "6b0971c94db7a4915c3be38b",
                    "account_id": account_id,
                    "url": "https://example.com/gone",
                    "events": ["sms.status"],
                    "is_active": False,
                    "created_at": 0.0,
                    "disabled_reason": "the receiver answered 410 Gone",
                },
            )
        )
    finally:
        await db.dispose()
    assert (await sign_in(panel)).status_code == 303
    page = (await panel.get("/panel")).text
    assert "https://example.com/gone" in page and "410 Gone" in page
