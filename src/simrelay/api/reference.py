"""The API reference page (/docs): the OpenAPI document rendered on the server as plain HTML.

No JavaScript and nothing from a CDN, so it works on a machine without internet access, and
it cannot drift from the document: it is made from the very dict served at /openapi.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape()
)


@dataclass
class Row:
    name: str
    required: bool
    rule: str
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    anchor: str
    parameters: list[Row]
    body: str
    body_required: bool
    responses: list[tuple[str, str, str]]
    """(status, what it carries, description)."""


@dataclass
class Section:
    tag: str
    operations: list[Operation] = field(default_factory=list)


def render_reference(document: dict[str, Any]) -> str:
    schemas: dict[str, Any] = document["components"]["schemas"]
    sections: dict[str, Section] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            sections.setdefault(tag, Section(tag)).operations.append(_operation(path, method, operation))
    models = {name: _fields(schema) for name, schema in sorted(schemas.items())}
    return templates.get_template("reference.html").render(
        info=document["info"], sections=list(sections.values()), models=models, schemas=schemas
    )


def _operation(path: str, method: str, operation: dict[str, Any]) -> Operation:
    body = operation.get("requestBody")
    return Operation(
        method=method.upper(),
        path=path,
        summary=operation.get("summary", ""),
        anchor=operation["operationId"],
        parameters=[
            Row(
                f"{p['name']} ({p['in']})",
                p.get("required", False),
                rule(p["schema"]),
                p.get("description", ""),
            )
            for p in operation.get("parameters", [])
        ],
        body=_ref_name(body["content"]["application/json"]["schema"]) if body else "",
        body_required=bool(body and body.get("required")),
        responses=[
            (status, _carries(response), response.get("description", ""))
            for status, response in operation["responses"].items()
        ],
    )


def _carries(response: dict[str, Any]) -> str:
    content: dict[str, Any] = response.get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return next(iter(content), "no body")  # a download (text/csv), or nothing
    if "allOf" in schema:
        codes = schema["properties"]["errors"]["properties"]["code"]["enum"]
        return f"{_ref_name(schema['allOf'][0])}, code {', '.join(map(str, codes))}"
    return _ref_name(schema)


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def _fields(schema: dict[str, Any]) -> list[Row]:
    required = set(schema.get("required", []))
    fields = [
        Row(name, name in required, rule(prop), prop.get("description", ""))
        for name, prop in schema.get("properties", {}).items()
    ]
    for choice in schema.get("anyOf", []):
        names = " or ".join(f"`{name}`" for name in choice.get("required", []))
        fields.append(Row("", True, f"one of: {names}" if names else "", ""))
    return fields


def rule(schema: dict[str, Any]) -> str:
    """A JSON Schema as one line of text: type, bounds, pattern, enum."""
    if "$ref" in schema:
        return _ref_name(schema)
    if "anyOf" in schema:
        return " or ".join(rule(option) for option in schema["anyOf"])
    kind = str(schema.get("type", "any"))
    if kind == "array":
        kind = f"array of {rule(schema.get('items', {}))}"
    parts = [kind]
    if "enum" in schema:
        parts.append("one of " + ", ".join(repr(value) for value in schema["enum"]))
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        parts.append(f"{'' if low is None else low}..{'' if high is None else high}")
    low, high = (
        schema.get("minLength", schema.get("minItems")),
        schema.get("maxLength", schema.get("maxItems")),
    )
    if low is not None or high is not None:
        parts.append(f"length {low or 0}..{'' if high is None else high}")
    if "pattern" in schema:
        parts.append(f"pattern {schema['pattern']}")
    if "default" in schema:
        parts.append(f"default {schema['default']!r}")
    return ", ".join(parts)
