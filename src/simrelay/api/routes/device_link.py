"""The device protocol's transport (docs/device-protocol.md): pairing over HTTP and the
WebSocket link. The conversation itself lives in devices/session.py."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from simrelay.accounts.guessing import TooManyGuesses
from simrelay.api.body import read_body
from simrelay.api.deps import client_host, services
from simrelay.api.responses import Json
from simrelay.devices import protocol, service
from simrelay.devices.pacing import Pacing
from simrelay.devices.pairing import PairingError
from simrelay.devices.session import DeviceSession
from simrelay.errors import ApiError

PAIR_BODY_MAX = 4096


def _error(status: int, code: str, message: str) -> Response:
    return Json({"error": {"code": code, "message": message}}, status_code=status)


async def pair(request: Request) -> Response:
    app = services(request)
    try:
        body = await read_body(request, limit=PAIR_BODY_MAX)
    except ApiError:
        return _error(413, "too_large", f"the body is larger than {PAIR_BODY_MAX} bytes")
    try:
        form = protocol.PairRequest.model_validate_json(body or b"null")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "body"
        return _error(400, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")
    try:
        device_id, token = await service.pair_device(
            app.db,
            app.guesses,
            code=form.code,
            client_host=client_host(request),
            name=form.name,
            model=form.model,
            app_version=form.app_version,
            pacing=Pacing.from_settings(app.settings),
        )
    except PairingError:
        return _error(400, "invalid_code", "unknown, expired or used-up pairing code")
    except TooManyGuesses as throttled:
        response = _error(429, "throttled", f"too many wrong codes; try again in {throttled.retry_after} s")
        response.headers["retry-after"] = str(throttled.retry_after)
        return response
    return Json(
        {
            "device_id": device_id,
            "token": token,
            "protocol": protocol.PROTOCOL,
            "ws_path": "/device/v1/ws",
            "heartbeat_seconds": app.settings.heartbeat_seconds,
        }
    )


class WebSocketLink:
    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive(self) -> str | None:
        while True:
            try:
                message = await self._ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return None
            if message["type"] == "websocket.disconnect":
                return None
            if message.get("text") is not None:
                return str(message["text"])
            if message.get("bytes") is not None:
                return bytes(message["bytes"]).decode("utf-8", errors="replace")

    async def send(self, text: str) -> None:
        await self._ws.send_text(text)

    async def close(self, code: int) -> None:
        await self._ws.close(code)


async def link(websocket: WebSocket) -> None:
    app = services(websocket)
    scheme, _, token = (websocket.headers.get("authorization") or "").partition(" ")
    device = await service.device_for_token(app.db, token.strip()) if scheme.lower() == "bearer" else None
    if device is None:
        # Closing before accepting answers the handshake with 403.
        await websocket.close(code=4001)
        return
    await websocket.accept()
    await DeviceSession(device, WebSocketLink(websocket), app.dispatcher).run()


ROUTES = [
    Route("/device/v1/pair", pair, methods=["POST"]),
    WebSocketRoute("/device/v1/ws", link),
]
