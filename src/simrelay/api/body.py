"""Reading request input into validated models, with the contract's error codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import AliasChoices, ValidationError
from starlette.requests import Request

from simrelay.config import Settings
from simrelay.errors import ApiError, ErrorCode
from simrelay.schemas import PAGE_LIMIT_MAX, PAGE_MAX
from simrelay.schemas import Request as RequestModel
from simrelay.sms.schemas import MAX_MESSAGE_LENGTH, UNIX_TIME_MAX

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


def validation_context(settings: Settings) -> dict[str, Any]:
    """What request models read from the settings while validating (and the OpenAPI document
    states as their limits)."""
    return {MAX_MESSAGE_LENGTH: settings.max_message_length}


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
        code = model.field_errors.get(_field_name(model, field), ErrorCode.INVALID_FIELD)
        field_codes.append((code, field))
    code, field = min(field_codes, key=lambda item: item[0].code)
    return ApiError(code, field=field, max=context.get(MAX_MESSAGE_LENGTH, "?"))


def _field_name(model: type[RequestModel], key: str) -> str:
    """The field an error's location names, which may be one of its aliases (a webhook's
    `id` for `webhook_id`): its code is the field's."""
    if key in model.model_fields:
        return key
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        if alias == key or (isinstance(alias, AliasChoices) and key in alias.choices):
            return name
    return key


def query_int(
    value: str | None, *, error: ErrorCode, default: int | None, low: int, high: int, name: str = ""
) -> int:
    """A query parameter that must be an integer when given: absent is `default` (or `error`
    if there is none); present it must be exactly an integer in low..high, nothing around it
    (`limit=%0D9` or an empty `offset=` are `error`, not 9 and the default). `name` fills the
    `{field}` of a message that names the field (2010)."""
    if value is None:
        if default is None:
            raise ApiError(error, field=name)
        return default
    if not INTEGER.fullmatch(value) or not low <= int(value) <= high:
        raise ApiError(error, field=name)
    return int(value)


@dataclass(frozen=True, slots=True)
class QueryInt:
    """An integer query parameter, read (`read`) and documented (`parameter`) from one set of
    bounds: absent it is `default` (or `error` if there is none), present an integer in
    low..high written as such, else `error`."""

    name: str
    error: ErrorCode
    low: int
    high: int
    default: int | None = None
    description: str = ""

    def read(self, request: Request) -> int:
        return query_int(
            request.query_params.get(self.name),
            error=self.error,
            default=self.default,
            low=self.low,
            high=self.high,
            name=self.name,
        )

    def parameter(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.low, "maximum": self.high}
        if self.default is not None:
            schema["default"] = self.default
        return {
            "name": self.name,
            "in": "query",
            "required": self.default is None,
            "schema": schema,
            "description": f"{self.description} ({self.error.code} otherwise)".lstrip(),
        }


@dataclass(frozen=True, slots=True)
class TextParameter:
    """An optional string in the query (or a header), as documented: `schema` holds the rule
    that the endpoint applies when it reads it."""

    name: str
    description: str
    schema: tuple[tuple[str, Any], ...] = ()
    where: str = "query"

    def parameter(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.where,
            "required": False,
            "schema": {"type": "string", **dict(self.schema)},
            "description": self.description,
        }


Parameter = QueryInt | TextParameter

LIMIT = QueryInt("limit", ErrorCode.INVALID_LIMIT, 1, PAGE_LIMIT_MAX, description="Items per page, required")
OFFSET = QueryInt(
    "offset", ErrorCode.INVALID_OFFSET, 1, PAGE_MAX, default=1, description="The page number, from 1"
)
PAGING = (LIMIT, OFFSET)
SEARCH = TextParameter(
    "search",
    "Case-insensitive substring of the text, the status text or the number; empty: no filter",
)


def paging(request: Request) -> tuple[int, int]:
    """(limit, page) of a list endpoint: limit required 1..100 (2006), offset >= 1 (2007)."""
    return LIMIT.read(request), OFFSET.read(request)


PERIOD_FROM = QueryInt(
    "from",
    ErrorCode.INVALID_FIELD,
    0,
    UNIX_TIME_MAX,
    default=0,
    description="Unix seconds: from this moment on",
)
PERIOD_TO = QueryInt(
    "to",
    ErrorCode.INVALID_FIELD,
    0,
    UNIX_TIME_MAX,
    default=UNIX_TIME_MAX,
    description="Unix seconds: before this moment (exclusive); not before `from`",
)
PERIOD = (PERIOD_FROM, PERIOD_TO)


def period(request: Request) -> tuple[int, int]:
    """[from, to) of an export: integers in 0..UNIX_TIME_MAX (the database's), `to` not before
    `from` (an empty period is no error); otherwise 2010 naming the field."""
    start, end = PERIOD_FROM.read(request), PERIOD_TO.read(request)
    if start > end:
        raise ApiError(ErrorCode.INVALID_FIELD, field=PERIOD_TO.name)
    return start, end
