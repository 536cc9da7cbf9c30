"""JSON responses serialised with orjson (the documented objects are plain dicts)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


NO_CONTENT = 204


def no_content() -> Response:
    return Response(status_code=NO_CONTENT)
