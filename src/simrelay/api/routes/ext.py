"""The GoSMS "ext" API under /api/ext/v1, which the GoSMS Home Assistant integration calls
(issue 16, point 3). An adapter: /v1's authentication, rate limits and permissions, and the
same send path and device records (sms/service.py, devices/service.py), in the integration's
shapes.

Written from the integration's source, GoSMS-new/home-assistant, custom_components/gosms/ at
commit 3251f1ba5dca (released as 1.0.1 at 11d21a388cbc; the first version, 8c443052b0d2,
makes the same two calls):
- const.py: `API_BASE_URL = "https://api.gosms.ru/api/ext/v1"`, hard-coded; 10 s per call;
  the device list polled every 60 s.
- api.py: `Authorization: Bearer <key>`, JSON bodies. A 401 alone means a bad key
  (config_flow.py: the "invalid_auth" form error; coordinator.py: re-authentication). GET
  /devices must answer 200 and POST /sms 200 or 201; any other status is an error whose body
  is only logged, so ours is the /v1 error envelope. aiohttp's `response.json()` refuses
  anything but `application/json`.
- sensor.py, binary_sensor.py: of each device `id` (indexed, so required), `name_custom` or
  else `name`, `type`, `battery_level`, `selected_sim` (-2 "Auto", -1 "Default", n "SIM
  n+1"), `sim_cards` [{`index`, `name_operator`}], `is_online`, `is_charging`, `can_send_sms`.
- __init__.py (the gosms.send_sms service) and notify.py (1.0.0): POST /sms with `phone`,
  `message`, `no_store` (a bool) and `device_id` only when one is set; `id` and `status` of
  the answer are logged.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from pydantic import ValidationInfo, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simrelay.api.body import parse_model, read_body, validation_context
from simrelay.api.deps import Permission, authorize
from simrelay.api.errors import error_response
from simrelay.api.responses import Json
from simrelay.devices import service as devices
from simrelay.devices.schemas import device_type
from simrelay.errors import ApiError, ErrorCode
from simrelay.schemas import OptionalObjectId
from simrelay.schemas import Request as RequestModel
from simrelay.sms import service as sms
from simrelay.sms.schemas import SendMessageRequest, check_message, check_phone
from simrelay.sms.status import Status

PREFIX = "/api/ext/v1"

NEW_KEY_NEEDED = frozenset({ErrorCode.KEY_INACTIVE, ErrorCode.SEND_FORBIDDEN, ErrorCode.READ_FORBIDDEN})
"""Answered 401 here, not 403 as on /v1: the integration takes only a 401 for "this key will
not do" and asks for another ("Invalid API key. Please check the key and its permissions."),
while a 403 would be logged as an unexpected error at every poll. The body keeps the /v1
code and text. A blocked account (3000) stays 403: no other key would help."""

SELECTED_SIM = {-2: -1, -1: -2}
"""simrelay's `to_sim` -> the integration's `selected_sim`, by what its labels say: our -2
(the phone's own default SIM) is its -1 "Default", our -1 (a random SIM) its -2 "Auto";
slots 0.. are the same."""


class ExtSendRequest(RequestModel):
    """POST /api/ext/v1/sms. Values follow /v1's rules and codes (2001 phone, 2002 message,
    2005 device_id); wrong JSON types are 1001."""

    phone: str
    message: str
    no_store: bool = False
    device_id: OptionalObjectId = None

    field_errors: ClassVar[dict[str, ErrorCode]] = {
        "phone": ErrorCode.INVALID_PHONE,
        "message": ErrorCode.INVALID_MESSAGE,
        "device_id": ErrorCode.INVALID_DEVICE_ID,
    }

    @field_validator("message")
    @classmethod
    def _message(cls, value: str, info: ValidationInfo) -> str:
        return check_message(value, info)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return check_phone(value)

    def as_send_request(self) -> SendMessageRequest:
        """The same SMS as /v1/sms/send takes it (already validated by the same rules)."""
        return SendMessageRequest.model_construct(
            message=self.message,
            phone_number=self.phone,
            device_id=self.device_id or None,
            no_store=self.no_store,
        )


def ext_device(row: Any, *, now: float, offline_after: float) -> dict[str, Any]:
    """A device as the integration reads it. `is_online` is the contract's: heard from within
    `offline_after` (two heartbeat intervals). A device never heard from has no battery level
    (null: "unknown" in Home Assistant, not an empty battery)."""
    heard = row.last_online_at
    return {
        "id": row.id,
        "name": row.name,
        # simrelay keeps one name per device (the panel edits it): `name` carries it.
        "name_custom": "",
        "type": device_type(row) or "simrelay",
        "battery_level": row.battery if heard is not None else None,
        "selected_sim": SELECTED_SIM.get(row.to_sim, row.to_sim),
        "sim_cards": [
            {"index": sim.get("slot_index", 0), "name_operator": sim.get("display_name", "")}
            for sim in (row.sim_list or [])
        ],
        "is_online": heard is not None and now - heard < offline_after,
        "is_charging": row.is_charging,
        "can_send_sms": row.is_active,
    }


Handler = Callable[[Request], Awaitable[Response]]


def _ext_endpoint(name: str) -> Callable[[Handler], Handler]:
    """Names the endpoint for metrics and answers a key that will not do with 401."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            request.scope["simrelay.endpoint"] = name
            try:
                return await handler(request)
            except ApiError as error:
                if error.error in NEW_KEY_NEEDED:
                    return error_response(request, error, status=401)
                raise

        return endpoint

    return wrap


# The rate-limit buckets are /v1's: another door to the same operation must not double an
# account's budget for it.


@_ext_endpoint("ext-devices")
async def list_devices(request: Request) -> Response:
    call = await authorize(request, endpoint="devices-list", permission=Permission.READ)
    rows = await devices.all_devices(call.app.db, account_id=call.account_id)
    offline_after = 2 * call.app.settings.heartbeat_seconds
    now = time.time()
    return Json([ext_device(row, now=now, offline_after=offline_after) for row in rows])


@_ext_endpoint("ext-sms")
async def send_sms(request: Request) -> Response:
    call = await authorize(request, endpoint="sms-send", permission=Permission.SEND)
    settings = call.app.settings
    raw = await read_body(request, limit=settings.max_body_bytes)
    body = parse_model(raw, ExtSendRequest, context=validation_context(settings))
    message_id = await sms.send_message(
        call.app.db,
        call.app.intake,
        body.as_send_request(),
        account_id=call.account_id,
        raw_body=raw,
        idempotency_key=None,
    )
    # 201: api.py takes 200 or 201 here (200 only for the device list), which suggests the
    # service it was written against creates with 201.
    return Json({"id": message_id, "status": int(Status.WAITING)}, status_code=201)


ROUTES = [
    Route(f"{PREFIX}/devices", list_devices, methods=["GET"]),
    Route(f"{PREFIX}/sms", send_sms, methods=["POST"]),
]
