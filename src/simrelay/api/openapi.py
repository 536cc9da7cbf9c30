"""The OpenAPI document of /v1, built from the endpoint table and the pydantic shapes.

Every rule it states comes from what the server validates with: request models carry their
JSON Schema next to their validators (`sms/schemas.py` and the other features' schemas),
query parameters and headers are the objects the handlers read them with (`api/body.py`), and
the errors each operation can answer are its endpoint's `all_errors`, one response per HTTP
status whose `code` is limited to the codes of that status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from simrelay import __version__
from simrelay.api.endpoint import Endpoint
from simrelay.api.errors import ErrorEnvelope
from simrelay.errors import ErrorCode
from simrelay.sms.repository import SEARCH_COUNT_CAP
from simrelay.sms.schemas import DEFAULT_MAX_MESSAGE_LENGTH, LENGTH_SETTING, MAX_MESSAGE_LENGTH

REF = "#/components/schemas/{model}"
DEFAULT_CONTEXT = {MAX_MESSAGE_LENGTH: DEFAULT_MAX_MESSAGE_LENGTH}

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "Names the request in the server log (the client's own `X-Request-Id`, "
        "cut to 64 characters, if it sent one)",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The endpoint\'s budget, `"<endpoint>";q=<requests>;w=<seconds>` (IETF '
        "draft), on every answer of a rate-limited endpoint when rate limiting is on",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of it, `"<endpoint>";r=<remaining>;t=<seconds to reset>`',
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds until the budget resets",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "Total-Records-Relation": {
        "description": "`eq` when `total_records` is the exact count; `gte` when a search matched more "
        f"than {SEARCH_COUNT_CAP:,} SMS and `total_records` says only that (pages past the "
        f"{SEARCH_COUNT_CAP:,}th match still work)",
        "required": True,
        "schema": {"type": "string", "enum": ["eq", "gte"]},
    },
    "Content-Disposition": {
        "description": 'A download: `attachment; filename="<name>-YYYYMMDD.csv"`, the day of the '
        "export (UTC)",
        "required": True,
        "schema": {"type": "string"},
    },
    "Allow": {
        "description": "The methods this path takes",
        "required": True,
        "schema": {"type": "string"},
    },
}
COMMON_HEADERS = ("X-Request-Id", "RateLimit-Policy", "RateLimit")
PLACEHOLDERS = {name: f"<{name}>" for name in ("field", "max", "method", "path", "allowed", "why")}
"""What the error texts in the responses' descriptions show for their variable parts."""
STATUS_HEADERS = {429: ("Retry-After",), 405: ("Allow",)}


def build_openapi(
    endpoints: Iterable[Endpoint], *, prefix: str = "/v1", context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The document; `context` is the validation context the endpoints use (settings that are
    limits, such as `max_message_length`), so the document states the configured values."""
    endpoints = list(endpoints)
    models: set[type[BaseModel]] = {ErrorEnvelope}
    for endpoint in endpoints:
        models.update(m for m in (endpoint.body, endpoint.response) if m is not None)
    _, schemas = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    components = schemas.get("$defs", {})
    _apply_settings(components, {**DEFAULT_CONTEXT, **(context or {})})
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(prefix + endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "simrelay",
            "version": __version__,
            "summary": "GoSMS-compatible SMS gateway API",
            "description": "Every endpoint also answers without the `/v1` prefix. Errors are "
            '`{"errors": {"code", "message", "hash"}}` with the status of their code; checks '
            "run in the order auth (1003, 1002, 3000), rate limit (1011), permission "
            "(1005/1007), body (1012, 1001), fields (2xxx), existence (1008-1010), quota "
            "(1006), devices (1004). Unknown request fields are ignored. Integer fields take "
            "JSON integers as written: `1.0` is a wrong type (1001), as it is to Go's decoder, "
            "which GoSMS clients are written against.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "headers": HEADERS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }


def _apply_settings(schema: Any, context: Mapping[str, Any]) -> None:
    """A `maxLength` that is a setting (marked LENGTH_SETTING) takes the configured value."""
    if isinstance(schema, dict):
        setting = schema.get(LENGTH_SETTING)
        if isinstance(setting, str) and setting in context:
            schema["maxLength"] = context[setting]
        for value in schema.values():
            _apply_settings(value, context)
    elif isinstance(schema, list):
        for value in schema:
            _apply_settings(value, context)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _headers(status: int, extra: Iterable[str] = ()) -> dict[str, Any]:
    names = (*COMMON_HEADERS, *STATUS_HEADERS.get(status, ()), *extra)
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "tags": [endpoint.path.strip("/").split("/")[0]],
    }
    if endpoint.parameters:
        operation["parameters"] = [parameter.parameter() for parameter in endpoint.parameters]
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    success: dict[str, Any] = {
        "description": "OK" if endpoint.status == 200 else "No Content",
        "headers": _headers(endpoint.status, extra=endpoint.headers),
    }
    ok: dict[str, Any] = {}
    if endpoint.response is None and endpoint.media_type != "application/json":  # a download
        success["content"] = {endpoint.media_type: {"schema": {"type": "string"}}}
    if endpoint.response is not None:
        content = {"application/json": {"schema": _ref(endpoint.response)}}
        if endpoint.status == 200:
            success["content"] = content
            if endpoint.links:
                success["links"] = {name: dict(link) for name, link in endpoint.links.items()}
        else:  # an endpoint that answers 204, or 200 with a body on request (webhooks/edit)
            ok = {"200": {"description": "OK", "headers": _headers(200), "content": content}}
    errors = [*endpoint.all_errors, ErrorCode.WRONG_METHOD]
    operation["responses"] = {str(endpoint.status): success, **ok, **_error_responses(errors)}
    return operation


def _error_responses(codes: Iterable[ErrorCode]) -> dict[str, Any]:
    by_status: dict[int, list[ErrorCode]] = {}
    for code in codes:
        members = by_status.setdefault(code.status, [])
        if code not in members:
            members.append(code)
    return {
        str(status): {
            "description": "; ".join(f"{code.code}: {code.text('en', **PLACEHOLDERS)}" for code in members),
            "headers": _headers(status),
            "content": {"application/json": {"schema": _error_schema(members)}},
        }
        for status, members in sorted(by_status.items())
    }


def _error_schema(codes: list[ErrorCode]) -> dict[str, Any]:
    """The error envelope with `code` limited to these codes."""
    return {
        "allOf": [_ref(ErrorEnvelope)],
        "properties": {"errors": {"properties": {"code": {"enum": sorted({code.code for code in codes})}}}},
    }
