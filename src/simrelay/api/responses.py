"""JSON responses serialised with orjson (the documented objects are plain dicts), and CSV
downloads."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse


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


CSV = "text/csv; charset=utf-8"


async def csv_attachment(chunks: AsyncIterator[bytes], *, name: str) -> Response:
    """A CSV download streamed from `chunks`, saved as `<name>-YYYYMMDD.csv` (today, UTC). The
    first chunk is awaited here, before the status line goes out: a failure there (the database
    down) is still an error answer, not a 200 cut short."""
    first = await anext(chunks)

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    day = time.strftime("%Y%m%d", time.gmtime())
    disposition = f'attachment; filename="{name}-{day}.csv"'
    return StreamingResponse(body(), media_type=CSV, headers={"Content-Disposition": disposition})
