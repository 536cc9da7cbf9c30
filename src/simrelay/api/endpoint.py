"""An API endpoint: its handler plus what the OpenAPI document says about it.

`api/dispatch.py` serves them; each handler reads its own input so that the contract's check
order (auth, rate limit, permission, body, fields) holds exactly; the metadata here feeds
`api/openapi.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from simrelay.api.body import Parameter
from simrelay.api.deps import Call, Permission, authorize
from simrelay.errors import ErrorCode

Handler = Callable[[Call], Awaitable[Response]]

AUTH_ERRORS = (
    ErrorCode.UNAUTHORIZED,
    ErrorCode.KEY_INACTIVE,
    ErrorCode.ACCOUNT_BLOCKED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.INTERNAL,
)
BODY_ERRORS = (ErrorCode.BODY_TOO_LARGE, ErrorCode.INVALID_JSON)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    name: str
    """Rate-limit bucket and OpenAPI operation id."""
    permission: Permission
    summary: str
    body: type[BaseModel] | None = None
    parameters: Sequence[Parameter] = ()
    """Query parameters and request headers: how the handler reads them and how they are documented."""
    response: type[BaseModel] | None = None
    status: int = 200
    errors: Sequence[ErrorCode] = field(default_factory=tuple)
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """OpenAPI links of the success response: which operations take what it answers."""
    headers: Sequence[str] = ()
    """Headers of the success response beyond the common ones (named in openapi.HEADERS)."""
    media_type: str = "application/json"
    """What a success carries: JSON (`response`), or a download of this type (CSV exports)."""

    async def serve(self, request: Request) -> Response:
        request.scope["simrelay.endpoint"] = self.name
        call = await authorize(request, endpoint=self.name, permission=self.permission)
        return await self.handler(call)

    @property
    def all_errors(self) -> tuple[ErrorCode, ...]:
        permission = (
            ErrorCode.SEND_FORBIDDEN if self.permission is Permission.SEND else ErrorCode.READ_FORBIDDEN
        )
        body = BODY_ERRORS if self.body is not None else ()
        return (*AUTH_ERRORS, permission, *body, *self.errors)
