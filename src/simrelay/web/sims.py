"""Panel: each device's SIM limits (the settings of `/v1/devices/edit` that keep SIMs unbanned,
docs/sims.md), checked by the API's own request model, and resuming a SIM paused after carrier
refusals early (the devices page and the overview show the pauses: devices/pauses.py)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.api.body import parse_model
from simrelay.devices import pauses, repository
from simrelay.devices import service as devices
from simrelay.devices.schemas import SIM_FIELDS, EditDeviceRequest
from simrelay.errors import ApiError, ErrorCode
from simrelay.web.common import SignedIn, form_view
from simrelay.web.devices import render

TEXT_FIELDS = ("sim_strategy", "quiet_hours", "timezone")
NUMBER_FIELDS = tuple(name for name in SIM_FIELDS if name not in TEXT_FIELDS)


def _body(device_id: str, form: FormData) -> bytes:
    """The form as the API's JSON body; a number field holding no whole number is 2010 naming it
    (the API would say 1001, a wrong JSON type, which a form cannot have)."""
    body: dict[str, Any] = {"device_id": device_id}
    for name in NUMBER_FIELDS:
        value = str(form.get(name, "")).strip()
        if value and not value.lstrip("-").isdigit():
            raise ApiError(ErrorCode.INVALID_FIELD, field=name)
        if value:
            body[name] = int(value)
    for name in TEXT_FIELDS:
        if name in form:
            body[name] = str(form.get(name, "")).strip()
    return orjson.dumps(body)


@form_view
async def change_sims(page: SignedIn, form: FormData) -> Response:
    """The SIM limits form: the API's checks and codes (docs/sims.md); a refusal changes nothing."""
    device_id = page.request.path_params["device_id"]
    try:
        request = parse_model(_body(device_id, form), EditDeviceRequest)
        changes = request.model_dump(exclude={"device_id"}, exclude_none=True)
        await devices.edit_device(
            page.app.db, account_id=page.account_id, device_id=device_id, changes=changes
        )
    except ApiError as exc:
        return await render(page, 400, failure=page.failure(exc), sims_device=device_id)
    page.app.signals.device_changed(device_id)
    return page.back("/panel/devices")


@form_view
async def resume_sim(page: SignedIn, form: FormData) -> Response:
    device_id = page.request.path_params["device_id"]
    text = str(form.get("sim", ""))  # the banner's: a slot, or -1 for the device's own default

    def work(conn: Connection) -> bool:
        # Only the account's own device, and a slot that can be: anything else changes nothing.
        if not text.lstrip("-").isdigit() or int(text) < -1:
            return False
        if repository.get_device(conn, account_id=page.account_id, device_id=device_id) is None:
            return False
        return pauses.lift(conn, device_id, None if int(text) == -1 else int(text))

    if await page.app.db.run(work):
        page.app.signals.device_changed(device_id)
    back = str(form.get("back", ""))
    return page.back(back if back in ("/panel", "/panel/devices") else "/panel/devices")


ROUTES = [
    Route("/panel/devices/{device_id}/sims", change_sims, methods=["POST"]),
    Route("/panel/devices/{device_id}/sims/resume", resume_sim, methods=["POST"]),
]
