"""Panel: SMPP users (issue 19), the same as `simrelay smpp user`, their senders (`simrelay smpp
sender`: source_addr → device and SIM), and how to connect. The password is typed once and
never shown back; smpp/users.py checks and hashes it."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.devices import service as devices
from simrelay.smpp import senders, users
from simrelay.smpp.models import PASSWORD_MAX, SYSTEM_ID_MAX
from simrelay.web.common import SignedIn, form_view, page_view

WILDCARDS = ("", "0.0.0.0", "::")
"""Listen addresses that mean every interface: no address a client could dial."""


@page_view
async def smpp_page(page: SignedIn) -> Response:
    query = page.request.query_params
    return await _render(page, deleted=query.get("deleted") == "1", unmapped=query.get("unmapped") == "1")


async def _render(page: SignedIn, status: int = 200, **context: Any) -> Response:
    db, account_id = page.app.db, page.account_id
    rows = await users.list_users(db, account_id=account_id)
    owned = await devices.all_devices(db, account_id=account_id)
    names = {row.id: row.name or row.id for row in owned}
    mappings: dict[str, list[dict[str, Any]]] = {}
    for user_id, system_id, _ in rows:
        try:
            found = await senders.list_senders(db, account_id=account_id, system_id=system_id)
        except senders.SenderError:  # the user was deleted a moment ago
            found = []
        mappings[user_id] = [
            {"source_addr": source_addr, "device": names.get(target.device_id), "to_sim": target.to_sim}
            for source_addr, target in found
        ]
    settings = page.app.settings
    host = settings.smpp_host
    if host in WILDCARDS:  # the name this browser reached the server by is a fair guess
        host = page.request.url.hostname or host
    return page.render(
        "smpp.html",
        status,
        smpp_users=[{"id": i, "system_id": s, "created_at": c, "senders": mappings[i]} for i, s, c in rows],
        smpp_devices=[{"id": row.id, "name": names[row.id], "kind": row.kind} for row in owned],
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


def _sim(value: str) -> int | None:
    """The form's SIM: empty for none (the device's default), else the API's to_sim."""
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise senders.SenderError("to_sim is not a number", reason="sim") from None


SENDER_STATUS = {"user": 404, "device": 404, "unknown": 404, "busy": 409}
"""A forged or stale id is 404, as a page that is not there; an ill-formed value is 400."""


@form_view
async def add_sender(page: SignedIn, form: FormData) -> Response:
    user_id = page.request.path_params["user_id"]
    source_addr = str(form.get("source_addr", ""))
    try:
        system_id = await users.find_system_id(page.app.db, account_id=page.account_id, user_id=user_id)
        if system_id is None:
            raise senders.SenderError(f"no SMPP user with id {user_id}", reason="user")
        await senders.add_sender(
            page.app.db,
            account_id=page.account_id,
            system_id=system_id,
            source_addr=source_addr,
            device_id=str(form.get("device_id", "")),
            to_sim=_sim(str(form.get("to_sim", ""))),
        )
    except senders.SenderError as exc:
        status = SENDER_STATUS.get(exc.reason, 400)
        error = "smpp_bad_unknown" if exc.reason == "user" else f"smpp_sender_bad_{exc.reason}"
        return await _render(page, status, error=error, sender_user=user_id, sender_source_addr=source_addr)
    return await _render(page, mapped=source_addr, sender_user=user_id)


@form_view
async def delete_sender(page: SignedIn, form: FormData) -> Response:
    user_id = page.request.path_params["user_id"]
    system_id = await users.find_system_id(page.app.db, account_id=page.account_id, user_id=user_id)
    if system_id is None:
        return await _render(page, 404, error="smpp_bad_unknown")
    try:
        await senders.delete_sender(
            page.app.db,
            account_id=page.account_id,
            system_id=system_id,
            source_addr=str(form.get("source_addr", "")),
        )
    except senders.SenderError:
        return await _render(page, 404, error="smpp_sender_bad_unknown")
    return page.back("/panel/smpp?unmapped=1")


ROUTES = [
    Route("/panel/smpp", smpp_page, methods=["GET"]),
    Route("/panel/smpp", create_user, methods=["POST"]),
    Route("/panel/smpp/{user_id}", change_user, methods=["POST"]),
    Route("/panel/smpp/{user_id}/senders", add_sender, methods=["POST"]),
    Route("/panel/smpp/{user_id}/senders/delete", delete_sender, methods=["POST"]),
]
