"""Panel: devices. Pairing shows a QR code the native protocol accepts, the code as text and
what to type into SMS Gateway for Android; the list shows each device's state, and each device
can be switched on and off, renamed, given a default SIM, deleted, or asked to dial a USSD code."""

from __future__ import annotations

import io
import time
from typing import Any

import segno
from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.devices import pauses, ussd
from simrelay.devices import service as devices
from simrelay.devices.budgets import STRATEGIES, time_zone_names
from simrelay.devices.schemas import device_type
from simrelay.errors import ApiError, ErrorCode
from simrelay.mobile import service as mobile
from simrelay.mobile import versions
from simrelay.text import scrub_text
from simrelay.web.common import SignedIn, form_view, page_view

PAGE = 100


@page_view
async def devices_page(page: SignedIn) -> Response:
    return await render(page)


async def render(page: SignedIn, status: int = 200, **context: Any) -> Response:
    _, rows = await devices.list_devices(page.app.db, account_id=page.account_id, limit=PAGE, page=1)
    offline_after = 2 * page.app.settings.heartbeat_seconds
    now = time.time()
    paused = await page.app.db.read(lambda conn: pauses.paused_for_account(conn, page.account_id, now=now))
    listed = [
        {
            "row": row,
            "online": row.last_online_at is not None and now - row.last_online_at < offline_after,
            "type": device_type(row),
            "warning": versions.abilities(row.app_version).warning() if row.kind == mobile.KIND else "",
        }
        for row in rows
    ]
    return page.render(
        "devices.html",
        status,
        devices=listed,
        paused=paused,
        strategies=STRATEGIES,
        zones=time_zone_names(),
        **context,
    )


@form_view
async def pair(page: SignedIn, form: FormData) -> Response:
    public_url = page.app.settings.public_url.rstrip("/")
    issued = await devices.issue_pairing_code(
        page.app.db, account_id=page.account_id, uses=1, server_url=public_url
    )
    svg = io.BytesIO()
    segno.make(issued.qr_payload, error="m").save(svg, kind="svg", scale=5, border=2, xmldecl=False)
    return await render(
        page,
        code=issued.code,
        qr_svg=svg.getvalue().decode(),
        qr_payload=issued.qr_payload,
        app_url=f"{public_url}/mobile/v1",
    )


@form_view
async def change_device(page: SignedIn, form: FormData) -> Response:
    device_id = page.request.path_params["device_id"]
    action = str(form.get("action", ""))
    try:
        if action == "delete":
            await devices.delete_device(page.app.db, account_id=page.account_id, device_id=device_id)
        else:
            changes: dict[str, Any] = {}
            if action in ("activate", "deactivate"):
                changes["is_active"] = action == "activate"
            elif action == "save":
                changes["name"] = scrub_text(str(form.get("name", "")))[:200]
                sim = str(form.get("to_sim", "-2"))
                changes["to_sim"] = int(sim) if sim.lstrip("-").isdigit() and int(sim) >= -2 else -2
            await devices.edit_device(
                page.app.db, account_id=page.account_id, device_id=device_id, changes=changes
            )
    except ApiError:
        pass  # another account's or a deleted device: nothing to do, as the API would say 1009
    page.app.signals.device_changed(device_id)
    return page.back("/panel/devices")


@form_view
async def dial_ussd(page: SignedIn, form: FormData) -> Response:
    """Waits for the answer as POST /v1/devices/ussd does. htmx swaps the device's USSD box from
    the page this answers; a refusal is 400 only without htmx, which swaps no error answer."""
    device_id = page.request.path_params["device_id"]
    code = str(form.get("code", "")).strip()
    sim = str(form.get("to_sim", "-2"))
    settings = page.app.settings
    try:
        try:
            ussd.check_code(code)
        except ValueError:
            raise ApiError(ErrorCode.INVALID_USSD_CODE) from None
        row = await devices.request_ussd(
            page.app.db,
            account_id=page.account_id,
            device_id=device_id,
            code=code,
            to_sim=int(sim) if sim.lstrip("-").isdigit() and -2 <= int(sim) < 256 else None,
            heartbeat_seconds=settings.heartbeat_seconds,
            expire_seconds=settings.ussd_expire_seconds,
        )
        page.app.signals.device_changed(device_id)
        row = await devices.await_ussd(page.app.db, row, wait_seconds=settings.ussd_wait_seconds)
    except ApiError as exc:
        status = 200 if page.request.headers.get("hx-request") else 400
        failure = page.failure(exc)
        if exc.error is ErrorCode.DEVICE_NOT_FOUND:  # no box of its own on the page: say it on top
            return await render(page, status, failure=failure)
        return await render(page, status, ussd_device=device_id, ussd_code=code, ussd_failure=failure)
    return await render(page, ussd_device=device_id, ussd_code=code, ussd=ussd.ussd_object(row))


ROUTES = [
    Route("/panel/devices", devices_page, methods=["GET"]),
    Route("/panel/devices/pair", pair, methods=["POST"]),
    Route("/panel/devices/{device_id}", change_device, methods=["POST"]),
    Route("/panel/devices/{device_id}/ussd", dial_ussd, methods=["POST"]),
]
