"""Wire shapes that every package's endpoints share: the request and response base models, ids,
Unix times and pagination.

Below the feature packages (sms, webhooks, devices, inbox), so that each builds its own shapes
from these without importing another's schemas."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from simrelay.errors import ErrorCode
from simrelay.ids import OBJECT_ID, OBJECT_ID_PATTERN, is_object_id

PAGE_LIMIT_MAX = 100
"""The largest `limit` of a list (2006 above)."""
PAGE_MAX = 10**12
"""The largest page number (`offset`) taken; more is 2007, as no account has that many pages."""

# As JSON Schema (ECMA 262 patterns: `^...$` mean the whole string), for the OpenAPI document.
OPTIONAL_ID_PATTERN = f"^(?:{OBJECT_ID.pattern})?$"
OUTPUT_ID_PATTERN = "^[0-9a-f]{24}$"
"""Ids as the server writes them: ObjectIDs in lower case."""


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


OBJECT_ID_SCHEMA: dict[str, Any] = {"type": "string", "pattern": OBJECT_ID_PATTERN}
OPTIONAL_ID_SCHEMA = nullable({"type": "string", "pattern": OPTIONAL_ID_PATTERN}) | {
    "description": '`""` or null: not set'
}


class Request(BaseModel):
    """A JSON request body. Type errors map to 1001; value errors to the field's own code."""

    model_config = ConfigDict(strict=True, extra="ignore", use_attribute_docstrings=True)
    field_errors: ClassVar[dict[str, ErrorCode]] = {}


def check_object_id(value: str | None) -> str:
    """Optional ids: "" or null mean not set; anything else must be an ObjectID (lower-cased)."""
    if not value:
        return ""
    if not is_object_id(value):
        raise ValueError("not an ObjectID")
    return value.lower()


def check_required_id(value: str) -> str:
    if not is_object_id(value):
        raise ValueError("not an ObjectID")
    return value.lower()


OptionalObjectId = Annotated[str | None, AfterValidator(check_object_id), WithJsonSchema(OPTIONAL_ID_SCHEMA)]
ObjectId = Annotated[str, AfterValidator(check_required_id), WithJsonSchema(OBJECT_ID_SCHEMA)]


class Out(BaseModel):
    """A response shape: exactly these keys, all present (documented objects never grow
    surprise fields), so the OpenAPI document says `additionalProperties: false`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


OutId = Annotated[str, WithJsonSchema({"type": "string", "pattern": OUTPUT_ID_PATTERN})]
OutOptionalId = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "pattern": f"^(?:{OUTPUT_ID_PATTERN[1:-1]})?$", "description": '`""`: none'}
    ),
]
UnixTime = Annotated[int, Field(ge=0)]


class Pagination(Out):
    total_records: int = Field(ge=0)
    limit: int = Field(ge=1, le=PAGE_LIMIT_MAX)
    offset: int = Field(ge=1, le=PAGE_MAX, description="The page number, from 1")
