"""The one place that turns failures into the GoSMS error envelope, logged with its hash."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from simrelay.api.responses import Json
from simrelay.errors import ApiError, ErrorCode

log = structlog.get_logger(__name__)


HASH_BYTES = 6


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    code: Annotated[
        int, WithJsonSchema({"type": "integer", "enum": sorted({code.code for code in ErrorCode})})
    ]
    """The GoSMS error code (the contract's table)."""
    message: str = Field(min_length=1)
    """Russian, or English when Accept-Language prefers it."""
    hash: str = Field(pattern=f"^[0-9a-f]{{{2 * HASH_BYTES}}}$")
    """Names this occurrence in the server log."""


class ErrorEnvelope(BaseModel):
    """Every error, on every endpoint."""

    model_config = ConfigDict(extra="forbid")

    errors: ErrorBody


def preferred_language(header: str | None) -> str:
    """'en' when Accept-Language ranks English above Russian; Russian otherwise."""
    if not header:
        return "ru"
    best, best_q = "ru", -1.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if language in ("en", "ru") and q > 0 and q > best_q:
            best, best_q = language, q
    return best


def error_response(request: Request, error: ApiError, *, status: int | None = None) -> Response:
    occurrence = secrets.token_hex(HASH_BYTES)
    code = error.error
    if code.status >= 500:
        log.error("api_error", code=code.code, hash=occurrence, method=request.method, path=request.url.path)
    else:
        log.info("api_error", code=code.code, hash=occurrence, method=request.method, path=request.url.path)
    language = preferred_language(request.headers.get("accept-language"))
    body = envelope(error, language, occurrence)
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return Json(body, status_code=status or code.status, headers=headers)


def envelope(error: ApiError, language: str, occurrence: str) -> dict[str, Any]:
    code = error.error
    return {"errors": {"code": code.code, "message": code.text(language, **error.params), "hash": occurrence}}


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request, exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    # Unknown paths and methods still answer in the envelope, never as HTML.
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return wrong_method(request, [method.strip() for method in allowed.split(",") if method.strip()])
    return error_response(
        request, ApiError(ErrorCode.UNKNOWN_PATH, path=_shown(request.url.path)), status=404
    )


def wrong_method(request: Request, allowed: list[str]) -> Response:
    """405 with `Allow`, or, for OPTIONS, 204 with it: what may be done here."""
    methods = sorted({*allowed, "OPTIONS"})
    allow = ", ".join(methods)
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": allow})
    error = ApiError(
        ErrorCode.WRONG_METHOD, method=_shown(request.method), path=_shown(request.url.path), allowed=allow
    )
    response = error_response(request, error)
    response.headers["Allow"] = allow
    return response


def _shown(text: str) -> str:
    """A path or method as an error message repeats it: printable and short."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable if len(printable) <= 200 else printable[:199] + "…"


async def _on_crash(request: Request, exc: Exception) -> Response:
    return crash_response(request, exc)


CLIENT_CLOSED = 499
"""What the logs and metrics say of a request whose client left before it was read (nginx's
code for it): not a server error."""


async def _on_client_gone(request: Request, exc: Exception) -> Response:
    return client_gone_response(request)


def client_gone_response(request: Request) -> Response:
    log.info("client_disconnected", method=request.method, path=request.url.path)
    return Response(status_code=CLIENT_CLOSED)


def crash_response(request: Request, exc: Exception) -> Response:
    """1000 for anything unexpected: the traceback goes to the log, never into the body."""
    occurrence = secrets.token_hex(HASH_BYTES)
    log.error("api_crash", code=1000, hash=occurrence, path=request.url.path, exc_info=exc)
    language = preferred_language(request.headers.get("accept-language"))
    return Json(envelope(ApiError(ErrorCode.INTERNAL), language, occurrence), status_code=500)


EXCEPTION_HANDLERS: dict[type[Exception] | int, ExceptionHandler] = {
    ClientDisconnect: _on_client_gone,
    ApiError: _on_api_error,
    HTTPException: _on_http_error,
    Exception: _on_crash,
}
