"""Panel: API keys. A new key's token is shown once, with a copy button."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.accounts import keys
from simrelay.text import scrub_text
from simrelay.web.common import SignedIn, form_view, page_view


@page_view
async def keys_page(page: SignedIn) -> Response:
    return await _render(page)


async def _render(page: SignedIn, status: int = 200, **context: object) -> Response:
    rows = await page.app.db.read(lambda conn: keys.list_keys(conn, page.account_id))
    return page.render("keys.html", status, keys=rows, **context)


@form_view
async def create_key(page: SignedIn, form: FormData) -> Response:
    row, token = keys.new_key(
        account_id=page.account_id,
        secret_key=page.app.settings.resolved_secret_key(),
        name=scrub_text(str(form.get("name", "")))[:200],
        can_send=form.get("can_send") == "on",
        can_read=form.get("can_read") == "on",
    )
    await page.app.db.run(lambda conn: keys.insert_key(conn, row))
    return await _render(page, token=token)


@form_view
async def change_key(page: SignedIn, form: FormData) -> Response:
    key_id = page.request.path_params["key_id"]
    action = str(form.get("action", ""))
    if action == "delete":
        await page.app.db.run(lambda conn: keys.remove(conn, page.account_id, key_id))
    elif action in ("activate", "deactivate"):
        active = action == "activate"
        await page.app.db.run(lambda conn: keys.set_active(conn, page.account_id, key_id, active=active))
    return page.back("/panel/keys")


ROUTES = [
    Route("/panel/keys", keys_page, methods=["GET"]),
    Route("/panel/keys", create_key, methods=["POST"]),
    Route("/panel/keys/{key_id}", change_key, methods=["POST"]),
]
