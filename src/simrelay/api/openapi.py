"""The OpenAPI document of /v1, built from the endpoint table and the pydantic shapes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from simrelay import __version__
from simrelay.api.endpoint import Endpoint
from simrelay.api.errors import ErrorEnvelope
from simrelay.errors import ErrorCode

REF = "#/components/schemas/{model}"


def build_openapi(endpoints: Iterable[Endpoint], *, prefix: str = "/v1") -> dict[str, Any]:
    endpoints = list(endpoints)
    models: set[type[BaseModel]] = {ErrorEnvelope}
    for endpoint in endpoints:
        models.update(m for m in (endpoint.body, endpoint.response) if m is not None)
    _, schemas = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(prefix + endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "simrelay", "version": __version__, "summary": "GoSMS-compatible SMS gateway API"},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": endpoint.name, "summary": endpoint.summary}
    parameters = [
        {"name": name, "in": "query", "required": required, "schema": {"type": kind}}
        for name, kind, required in endpoint.query
    ] + [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
        for name in endpoint.headers
    ]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": endpoint.body_required,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    success: dict[str, Any] = {"description": "OK" if endpoint.status == 200 else "No Content"}
    ok: dict[str, Any] = {}
    if endpoint.response is not None:
        content = {"application/json": {"schema": _ref(endpoint.response)}}
        if endpoint.status == 200:
            success["content"] = content
        else:  # an endpoint that answers 204, or 200 with a body on request (webhooks/edit)
            ok = {"200": {"description": "OK", "content": content}}
    operation["responses"] = {str(endpoint.status): success, **ok, **_error_responses(endpoint.all_errors)}
    return operation


def _error_responses(codes: Iterable[ErrorCode]) -> dict[str, Any]:
    by_status: dict[int, list[ErrorCode]] = {}
    for code in codes:
        by_status.setdefault(code.status, []).append(code)
    return {
        str(status): {
            "description": "; ".join(
                f"{code.code}: {code.text('en', field='<field>', max='<max>')}" for code in members
            ),
            "content": {"application/json": {"schema": _ref(ErrorEnvelope)}},
        }
        for status, members in sorted(by_status.items())
    }
