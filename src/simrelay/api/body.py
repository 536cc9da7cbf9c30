"""Reading request input into validated models, with the contract's error codes."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.requests import Request

from simrelay.errors import ApiError, ErrorCode
from simrelay.sms.schemas import Request as RequestModel

Model = TypeVar("Model", bound=RequestModel)

INTEGER = re.compile(r"[+-]?[0-9]{1,18}")


async def read_body(request: Request, *, limit: int) -> bytes:
    """The raw body; 1012 past `limit` bytes, without reading more than that."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(ErrorCode.BODY_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(ErrorCode.BODY_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_model(raw: bytes, model: type[Model], *, context: dict[str, Any] | None = None) -> Model:
    """Validates a JSON object body: 1001 for bad JSON or wrong types, else the field's code."""
    try:
        return model.model_validate_json(raw or b"null", context=context)
    except ValidationError as exc:
        raise _to_api_error(exc, model, context or {}) from None


def _to_api_error(exc: ValidationError, model: type[RequestModel], context: dict[str, Any]) -> ApiError:
    field_codes: list[tuple[ErrorCode, str]] = []
    for error in exc.errors(include_url=False):
        kind = error["type"]
        field = str(error["loc"][0]) if error["loc"] else ""
        if not field or kind == "json_invalid" or kind.endswith("_type"):
            return ApiError(ErrorCode.INVALID_JSON)
        field_codes.append((model.field_errors.get(field, ErrorCode.INVALID_FIELD), field))
    code, field = min(field_codes, key=lambda item: item[0].code)
    return ApiError(code, field=field, max=context.get("max_message_length", "?"))


def query_int(value: str | None, *, error: ErrorCode, default: int | None, low: int, high: int) -> int:
    """A query parameter that must be an integer when given: absent is `default` (or `error`
    if there is none); present it must be exactly an integer in low..high, nothing around it
    (`limit=%0D9` or an empty `offset=` are `error`, not 9 and the default)."""
    if value is None:
        if default is None:
            raise ApiError(error)
        return default
    if not INTEGER.fullmatch(value):
        raise ApiError(error)
    number = int(value)
    if not low <= number <= high:
        raise ApiError(error)
    return number


def paging(request: Request) -> tuple[int, int]:
    """(limit, page) of a list endpoint: limit required 1..100 (2006), offset >= 1 (2007)."""
    params = request.query_params
    limit = query_int(params.get("limit"), error=ErrorCode.INVALID_LIMIT, default=None, low=1, high=100)
    page = query_int(params.get("offset"), error=ErrorCode.INVALID_OFFSET, default=1, low=1, high=10**12)
    return limit, page
