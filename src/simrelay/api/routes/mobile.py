"""The mobile API of SMS Gateway for Android under /mobile/v1 (the app appends these paths to
the URL it is given). Thin: mobile/service.py and mobile/link.py hold the rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import structlog
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from simrelay.api.body import read_body
from simrelay.api.deps import Services, client_host, services
from simrelay.api.responses import Json
from simrelay.devices.pacing import Pacing
from simrelay.errors import ApiError
from simrelay.mobile import service
from simrelay.mobile.link import LinkClosed, MobileHub, MobileLink
from simrelay.mobile.schemas import (
    MessagePatch,
    PasswordChange,
    PatchDeviceRequest,
    RegisterRequest,
    known_sims,
)
from simrelay.mobile.service import Refused

log = structlog.get_logger(__name__)

PREFIX = "/mobile/v1"
KEEPALIVE_SECONDS = 15.0
PATCH_ITEMS = TypeAdapter(list[MessagePatch])

Handler = Callable[[Request], Awaitable[Response]]


def answers_refusals(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refused:
            headers = {"retry-after": str(refused.retry_after)} if refused.retry_after else None
            return Json({"message": refused.message}, status_code=refused.status, headers=headers)

    return wrapped


async def _body(request: Request, app: Services) -> bytes:
    try:
        return await read_body(request, limit=app.settings.max_body_bytes)
    except ApiError:
        raise Refused(413, "the body is too large") from None


def _parse(model: type[BaseModel] | TypeAdapter[Any], body: bytes) -> Any:
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_json(body or b"null")
        return model.model_validate_json(body or b"null")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "body"
        raise Refused(400, f"{where}: {first.get('msg', 'invalid')}") from None


def hub(app: Services) -> MobileHub:
    found: MobileHub = app.mobile
    return found


async def _device(request: Request) -> tuple[Services, Any]:
    app = services(request)
    device = await service.device_for(app.db, request.headers.get("authorization"))
    updated = await service.note_version(app.db, device, request.headers.get("user-agent", ""))
    if updated is not None:
        app.signals.device_changed(device.id)
        return app, updated
    return app, device


@answers_refusals
async def register(request: Request) -> Response:
    app = services(request)
    form = _parse(RegisterRequest, await _body(request, app))
    token = app.settings.mobile_private_token
    answer = await service.register_device(
        app.db,
        form,
        authorization=request.headers.get("authorization"),
        private_token=token.get_secret_value() if token is not None else None,
        private_account=app.settings.mobile_account,
        user_agent=request.headers.get("user-agent", ""),
        pacing=Pacing.from_settings(app.settings),
        guesses=app.guesses,
        client_host=client_host(request),
    )
    return Json(answer, status_code=201)


async def device_info(request: Request) -> Response:
    client = client_host(request)
    return Json({"externalIp": request.headers.get("x-forwarded-for", client).split(",")[0].strip()})


@answers_refusals
async def patch_device(request: Request) -> Response:
    app, device = await _device(request)
    form = _parse(PatchDeviceRequest, await _body(request, app))
    if form.id != device.id:
        raise Refused(403, "this token belongs to another device")
    status: dict[str, Any] = {}
    sims = known_sims(form.simCards)
    if sims is not None:
        status["sims"] = [{"slot": sim.slotIndex, "name": sim.as_sim()["display_name"]} for sim in sims]
    await hub(app).touch(device, status)
    return Response(status_code=204)


@answers_refusals
async def get_messages(request: Request) -> Response:
    app, device = await _device(request)
    _, started = await hub(app).touch(device)
    if started:  # offers for this device are made now, so that this very fetch carries them
        await app.dispatcher.assign_now(device.account_id)
    newest_first = request.query_params.get("order", "lifo").lower() != "fifo"
    now = time.time()
    lease = app.settings.lease_seconds
    items = await app.db.run(
        lambda conn: service.fetch_messages(
            conn, device, now=now, lease_seconds=lease, newest_first=newest_first
        )
    )
    return Json(items)


@answers_refusals
async def patch_messages(request: Request) -> Response:
    app, device = await _device(request)
    items = _parse(PATCH_ITEMS, await _body(request, app))
    link, _ = await hub(app).touch(device)
    # 204 only once the states are stored: the app does not send a report again after a 2xx.
    await _store(link, service.report_frames(items))
    return Response(status_code=204)


async def _store(link: MobileLink, frames: list[dict[str, Any]]) -> None:
    try:
        await link.store(frames)
    except LinkClosed:
        raise Refused(503, "not stored, try again") from None


@answers_refusals
async def get_settings(request: Request) -> Response:
    app, device = await _device(request)
    await hub(app).touch(device)
    key = service.hook_signing_key(app.webhook_keys.secret_key, device.id)
    return Json(
        service.device_settings(device, ping_seconds=app.settings.mobile_ping_seconds, signing_key=key)
    )


@answers_refusals
async def get_webhooks(request: Request) -> Response:
    app, device = await _device(request)
    await hub(app).touch(device)
    return Json(service.device_webhooks(device.id, public_url=app.settings.public_url))


@answers_refusals
async def events(request: Request) -> Response:
    app, device = await _device(request)
    link, _ = await hub(app).touch(device)
    stream = link.subscribe()
    # A comment line at least every heartbeat interval: proxies keep the stream open, and the
    # session counts the device as heard from.
    keepalive = min(KEEPALIVE_SECONDS, app.settings.heartbeat_seconds)

    async def frames() -> AsyncIterator[str]:
        try:
            yield ":connected\n\n"
            while True:
                try:
                    async with asyncio.timeout(keepalive):
                        text = await stream.get()
                except TimeoutError:
                    # An open stream is a device that listens: it counts as heard from.
                    current, _ = await hub(app).touch(device)
                    if current is not link:
                        return
                    yield ":keepalive\n\n"
                    continue
                if text is None:
                    return
                yield text
        finally:
            link.streams.discard(stream)

    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


@answers_refusals
async def user_code(request: Request) -> Response:
    app = services(request)
    answer = await service.issue_user_code(
        app.db,
        app.guesses,
        authorization=request.headers.get("authorization"),
        server_url=app.settings.public_url,
        client_host=client_host(request),
    )
    return Json(answer)


@answers_refusals
async def change_password(request: Request) -> Response:
    app, device = await _device(request)
    form = _parse(PasswordChange, await _body(request, app))
    await service.change_password(
        app.db,
        app.guesses,
        device,
        current=form.currentPassword,
        new=form.newPassword,
        client_host=client_host(request),
    )
    return Response(status_code=204)


@answers_refusals
async def device_hook(request: Request) -> Response:
    """The app's own webhooks (GET /webhooks points them here), signed with the key /settings
    gave it."""
    app = services(request)
    device_id = request.path_params["device_id"]
    body = await _body(request, app)
    key = service.hook_signing_key(app.webhook_keys.secret_key, device_id)
    if not service.verify_hook(
        key,
        body=body,
        timestamp=request.headers.get("x-timestamp"),
        signature=request.headers.get("x-signature"),
    ):
        raise Refused(401, "bad or missing signature")
    device = await app.db.read(lambda conn: service.find_device(conn, device_id))
    if device is None:
        raise Refused(404, "no such device")
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refused(400, "not JSON") from None
    envelope = envelope if isinstance(envelope, dict) else {}
    frames = service.hook_frames(envelope, app_version=device.app_version)
    if not frames:
        log.info("mobile_hook_ignored", device_id=device_id, hook_event=str(envelope.get("event"))[:40])
    if frames:
        link, _ = await hub(app).touch(device)
        await _store(link, frames)
    return Response(status_code=204)


ROUTES = [
    Route(f"{PREFIX}/device", register, methods=["POST"]),
    Route(f"{PREFIX}/device", device_info, methods=["GET"]),
    Route(f"{PREFIX}/device", patch_device, methods=["PATCH"]),
    Route(f"{PREFIX}/message", get_messages, methods=["GET"]),
    Route(f"{PREFIX}/messages", get_messages, methods=["GET"]),
    Route(f"{PREFIX}/message", patch_messages, methods=["PATCH"]),
    Route(f"{PREFIX}/messages", patch_messages, methods=["PATCH"]),
    Route(f"{PREFIX}/settings", get_settings, methods=["GET"]),
    Route(f"{PREFIX}/webhooks", get_webhooks, methods=["GET"]),
    Route(f"{PREFIX}/events", events, methods=["GET"]),
    Route(f"{PREFIX}/user/code", user_code, methods=["GET"]),
    Route(f"{PREFIX}/user/password", change_password, methods=["PATCH"]),
    Route(f"{PREFIX}/hooks/{{device_id}}", device_hook, methods=["POST"]),
]
