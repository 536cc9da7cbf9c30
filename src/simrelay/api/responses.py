"""JSON responses serialised with orjson (the documented objects are plain dicts)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def page(items_key: str, items: list[Any], *, total: int, limit: int, page_number: int) -> Json:
    """A GoSMS list answer: `{"pagination": {...}, items_key: [...]}`; offset is the page number."""
    return Json(
        {"pagination": {"total_records": total, "limit": limit, "offset": page_number}, items_key: items}
    )


NO_CONTENT = 204


def no_content() -> Response:
    return Response(status_code=NO_CONTENT)
