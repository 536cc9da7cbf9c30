"""The one place that turns failures into the GoSMS error envelope, logged with its hash."""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from simrelay.api.responses import Json
from simrelay.errors import ApiError, ErrorCode

log = structlog.get_logger(__name__)


class ErrorBody(BaseModel):
    code: int
    message: str
    hash: str


class ErrorEnvelope(BaseModel):
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
        if language in ("en", "ru") and q > best_q:
            best, best_q = language, q
    return best


def error_response(request: Request, error: ApiError) -> Response:
    occurrence = secrets.token_hex(6)
    code = error.error
    event = log.error if code.status >= 500 else log.info
    event(
        "api_error",
        code=code.code,
        status=code.status,
        hash=occurrence,
        method=request.method,
        path=request.url.path,
    )
    body = {
        "errors": {
            "code": code.code,
            "message": code.text(preferred_language(request.headers.get("accept-language")), **error.params),
            "hash": occurrence,
        }
    }
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return Json(body, status_code=code.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        # Unknown paths and methods still answer in the envelope, never as HTML.
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return error_response(request, ApiError(ErrorCode.INVALID_FIELD, field="method"))
        response = error_response(request, ApiError(ErrorCode.INVALID_FIELD, field="path"))
        response.status_code = exc.status_code
        return response

    async def on_crash(request: Request, exc: Exception) -> Response:
        occurrence = secrets.token_hex(6)
        log.error("api_crash", code=1000, hash=occurrence, path=request.url.path, exc_info=exc)
        language = preferred_language(request.headers.get("accept-language"))
        body: dict[str, Any] = {
            "errors": {
                "code": 1000,
                "message": ErrorCode.INTERNAL.text(language),
                "hash": occurrence,
            }
        }
        return Json(body, status_code=500)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_crash)


def documented(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error codes, grouped by HTTP status."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in codes:
        by_status.setdefault(code.status, []).append(code)
    return {
        status: {
            "model": ErrorEnvelope,
            "description": "; ".join(f"{c.code}: {c.value[3]}" for c in members),
        }
        for status, members in sorted(by_status.items())
    }
