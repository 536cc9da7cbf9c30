"""Small helpers that describe request bodies in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself (to keep the check order)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


def query_params(*params: tuple[str, str, bool]) -> dict[str, Any]:
    """Query parameters documented by hand: the route reads them raw to give our error codes."""
    return {
        "parameters": [
            {"name": name, "in": "query", "required": required, "schema": {"type": kind}}
            for name, kind, required in params
        ]
    }


def header_params(*names: str) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": name, "in": "header", "required": False, "schema": {"type": "string"}} for name in names
        ]
    }
