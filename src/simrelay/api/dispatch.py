"""The API's own ASGI dispatcher: an exact (path, method) lookup straight to the endpoint.

Every await in a request resumes the whole chain of ASGI wrappers above it, and the send
path awaits three times (key lookup, body, group commit). Starlette's router adds five
wrapper layers (exception middleware, router, route, request_response, per-route exception
handling); for the API they cost more than the endpoint's own work, so API paths come here
and everything else (operations, the OpenAPI document) falls through to the Starlette app.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from simrelay.api.endpoint import Endpoint
from simrelay.api.errors import client_gone_response, crash_response, error_response, wrong_method
from simrelay.errors import ApiError

PREFIXES = ("/v1", "")
"""Every endpoint answers under /v1 and, for clients configured with a bare host, at the root."""


class ApiDispatcher:
    def __init__(self, endpoints: Iterable[Endpoint], *, fallback: Starlette) -> None:
        self._fallback = fallback
        self._routes: dict[str, dict[str, Endpoint]] = {}
        for endpoint in endpoints:
            for prefix in PREFIXES:
                self._routes.setdefault(prefix + endpoint.path, {})[endpoint.method] = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = self._routes.get(scope["path"]) if scope["type"] == "http" else None
        if methods is None:
            await self._fallback(scope, receive, send)
            return
        scope["app"] = self._fallback
        request = Request(scope, receive)
        endpoint = methods.get(scope["method"])
        try:
            if endpoint is None:
                response = wrong_method(request, list(methods))
            else:
                response = await endpoint.serve(request)
        except ApiError as exc:
            response = error_response(request, exc)
        except ClientDisconnect:
            response = client_gone_response(request)
        except Exception as exc:
            response = crash_response(request, exc)
        await response(scope, receive, send)
