"""Panel: SMPP routes (issue 19), the same as `simrelay smpp route`: the carriers' SMSCs the account
sends through, each a device of kind "smpp". The carrier's password is typed once and never
rendered again, not even into a refused form."""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.devices import service as devices
from simrelay.smpp import routes
from simrelay.smpp.models import PASSWORD_MAX, SYSTEM_ID_MAX
from simrelay.text import scrub_text
from simrelay.web.common import SignedIn, form_view, page_view

FIELDS = ("name", "host", "port", "system_id", "source_addr", "tps", "window")
"""The form's fields that go back into a refused form; the password is not one of them."""

NAME_MAX = 200
"""As a device's name on the devices page."""


@page_view
async def routes_page(page: SignedIn) -> Response:
    return await _render(page, deleted=page.request.query_params.get("deleted") == "1")


async def _render(page: SignedIn, status: int = 200, **context: Any) -> Response:
    found = await routes.list_routes(page.app.db, account_id=page.account_id)
    rows = {row.id: row for row in await devices.all_devices(page.app.db, account_id=page.account_id)}
    # Online as the devices page says it: a route's device is connected while it is bound.
    offline_after = 2 * page.app.settings.heartbeat_seconds
    now = time.time()
    listed = []
    for route in found:
        row = rows.get(route.device_id)
        seen = row.last_online_at if row is not None else None
        listed.append(
            {
                "route": route,
                "online": seen is not None and now - seen < offline_after,
                "active": row is None or bool(row.is_active),
            }
        )
    form: dict[str, str] = context.pop("form", {})
    return page.render(
        "smpp_routes.html",
        status,
        smpp_routes=listed,
        form={"window": "10", **form},
        system_id_max=SYSTEM_ID_MAX,
        password_max=PASSWORD_MAX,
        name_max=NAME_MAX,
        **context,
    )


def _settings(form: FormData) -> routes.RouteSettings:
    """The form as the CLI's options; RouteError for a number that is not one."""
    try:
        port = int(str(form.get("port", "")))
    except ValueError:
        raise routes.RouteError("port must be 1 to 65535", reason="port") from None
    try:
        tps = float(str(form.get("tps", "")).strip() or "0")
    except ValueError:
        raise routes.RouteError("tps must be 0 (no limit) or more", reason="tps") from None
    try:
        window = int(str(form.get("window", "")).strip() or "10")
    except ValueError:
        raise routes.RouteError("window must be 1 to 1000", reason="window") from None
    return routes.RouteSettings(
        host=str(form.get("host", "")).strip(),
        port=port,
        system_id=str(form.get("system_id", "")),
        password=str(form.get("password", "")),
        source_addr=str(form.get("source_addr", "")),
        tps=tps,
        window=window,
    )


@form_view
async def create_route(page: SignedIn, form: FormData) -> Response:
    name = scrub_text(str(form.get("name", "")))[:NAME_MAX]
    try:
        device_id = await routes.create_route(
            page.app.db, account_id=page.account_id, name=name, settings=_settings(form)
        )
    except routes.RouteError as exc:
        kept = {field: str(form.get(field, "")) for field in FIELDS}
        return await _render(page, 400, error=f"smpp_route_bad_{exc.reason}", form=kept)
    route = await routes.get_route(page.app.db, device_id)
    return await _render(page, created=route.name if route is not None else device_id)


@form_view
async def change_route(page: SignedIn, form: FormData) -> Response:
    if form.get("action") == "delete":
        device_id = page.request.path_params["device_id"]
        try:
            await routes.delete_route(page.app.db, account_id=page.account_id, device_id=device_id)
        except routes.RouteError:
            return await _render(page, 404, error="smpp_route_bad_unknown")
        page.app.signals.device_changed(device_id)
        return page.back("/panel/smpp/routes?deleted=1")
    return page.back("/panel/smpp/routes")


ROUTES = [
    Route("/panel/smpp/routes", routes_page, methods=["GET"]),
    Route("/panel/smpp/routes", create_route, methods=["POST"]),
    Route("/panel/smpp/routes/{device_id}", change_route, methods=["POST"]),
]
