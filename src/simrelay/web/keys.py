"""Panel: API keys. A new key's token is shown once, with a copy button."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simrelay.accounts import keys
from simrelay.web.common import SignedIn, checked_form, signed_in


async def keys_page(request: Request) -> Response:
    page = await signed_in(request)
    if not isinstance(page, SignedIn):
        return page
    return await _render(page)


async def _render(page: SignedIn, status: int = 200, **context: object) -> Response:
    rows = await page.app.db.read(lambda conn: keys.list_keys(conn, page.account_id))
    return page.render("keys.html", status, keys=rows, **context)


async def create_key(request: Request) -> Response:
    page = await signed_in(request)
    if not isinstance(page, SignedIn):
        return page
    form = await checked_form(page)
    if isinstance(form, Response):
        return form
    row, token = keys.new_key(
        account_id=page.account_id,
        secret_key=page.app.settings.resolved_secret_key(),
        name=str(form.get("name", ""))[:200],
        can_send=form.get("can_send") == "on",
        can_read=form.get("can_read") == "on",
    )
    await page.app.db.run(lambda conn: keys.insert_key(conn, row))
    return await _render(page, token=token)


async def change_key(request: Request) -> Response:
    page = await signed_in(request)
    if not isinstance(page, SignedIn):
        return page
    form = await checked_form(page)
    if isinstance(form, Response):
        return form
    key_id = request.path_params["key_id"]
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
