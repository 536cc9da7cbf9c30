"""Panel: SMPP users (issue 19), the same as `simrelay smpp user`, and how to connect. The
password is typed once and never shown back; smpp/users.py checks and hashes it."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.smpp import users
from simrelay.smpp.models import PASSWORD_MAX, SYSTEM_ID_MAX
from simrelay.web.common import SignedIn, form_view, page_view

WILDCARDS = ("", "0.0.0.0", "::")
"""Listen addresses that mean every interface: no address a client could dial."""


@page_view
async def smpp_page(page: SignedIn) -> Response:
    return await _render(page, deleted=page.request.query_params.get("deleted") == "1")


async def _render(page: SignedIn, status: int = 200, **context: Any) -> Response:
    rows = await users.list_users(page.app.db, account_id=page.account_id)
    settings = page.app.settings
    host = settings.smpp_host
    if host in WILDCARDS:  # the name this browser reached the server by is a fair guess
        host = page.request.url.hostname or host
    return page.render(
        "smpp.html",
        status,
        smpp_users=[{"id": i, "system_id": s, "created_at": c} for i, s, c in rows],
        smpp_host=host,
        smpp_port=settings.smpp_port,
        system_id_max=SYSTEM_ID_MAX,
        password_max=PASSWORD_MAX,
        **context,
    )


@form_view
async def create_user(page: SignedIn, form: FormData) -> Response:
    system_id = str(form.get("system_id", ""))
    try:
        await users.create_user(
            page.app.db,
            account_id=page.account_id,
            system_id=system_id,
            password=str(form.get("password", "")),
        )
    except users.SmppUserError as exc:
        # The system_id goes back into the field to correct it; the password never does.
        return await _render(page, 400, error=f"smpp_bad_{exc.reason}", system_id=system_id)
    return await _render(page, created=system_id)


@form_view
async def change_user(page: SignedIn, form: FormData) -> Response:
    if form.get("action") == "delete":
        try:
            await users.delete_user_by_id(
                page.app.db, account_id=page.account_id, user_id=page.request.path_params["user_id"]
            )
        except users.SmppUserError:
            return await _render(page, 404, error="smpp_bad_unknown")
        return page.back("/panel/smpp?deleted=1")
    return page.back("/panel/smpp")


ROUTES = [
    Route("/panel/smpp", smpp_page, methods=["GET"]),
    Route("/panel/smpp", create_user, methods=["POST"]),
    Route("/panel/smpp/{user_id}", change_user, methods=["POST"]),
]
