"""ASGI middleware: request id, access log, metrics and rate-limit headers on every response;
a cap on how much of any request body is read."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simrelay.api.metrics import LATENCY, REQUESTS
from simrelay.errors import ApiError, ErrorCode

log = structlog.get_logger("simrelay.access")


class RequestContext:
    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _header(scope, b"x-request-id") or os.urandom(8).hex()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state = scope.setdefault("state", {})
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                for name, value in (state.get("rate_headers") or {}).items():
                    headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            endpoint = str(
                scope.get("simrelay.endpoint") or getattr(scope.get("endpoint"), "__name__", "unmatched")
            )
            elapsed = time.perf_counter() - started
            _count(endpoint, scope["method"], status, elapsed)
            if self.access_log:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")


_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _count(endpoint: str, method: str, status: int, elapsed: float) -> None:
    # labels() takes a lock and builds a key on every call; the children never change.
    key = (endpoint, method, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(endpoint, method, str(status)), LATENCY.labels(endpoint))
    children[0].inc()
    children[1].observe(elapsed)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")[:64]
            return text
    return None


class BodyLimit:
    """No endpoint reads more than `limit` bytes of a body: past it, reading raises the 1012
    error (413), whatever the endpoint and before it authenticates anyone. Endpoints that
    check a request's credentials first never read the body of one they refuse. The paths in
    `larger` have limits of their own (a bulk send's recipients)."""

    def __init__(self, app: ASGIApp, *, limit: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        limit = self.larger.get(scope["path"], self.limit)

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ApiError(ErrorCode.BODY_TOO_LARGE)
            return message

        await self.app(scope, limited, send)
