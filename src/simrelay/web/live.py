"""Server-sent events that keep parts of a panel page up to date: htmx's SSE extension swaps
each event's HTML into the element listening for its name. The pages read the database, not one
node's memory, so a stream works whichever node serves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.responses import StreamingResponse

Poll = Callable[[], Awaitable[tuple[dict[str, str], bool]]]
"""One look: the HTML of each part by its event name, and whether none can change any more."""


def swap_stream(poll: Poll, *, every: float) -> StreamingResponse:
    """Sends each part whose HTML changed since the last look, as the event of its name, every
    `every` seconds (a comment between, so proxies keep the stream open), and `done` once
    `poll` says nothing can change."""

    async def frames() -> AsyncIterator[str]:
        seen: dict[str, str] = {}
        while True:
            parts, finished = await poll()
            for name, html in parts.items():
                if seen.get(name) != html:
                    seen[name] = html
                    data = "".join(f"data: {line}\n" for line in html.splitlines())
                    yield f"event: {name}\n{data}\n"
            if finished:
                yield "event: done\ndata: {}\n\n"
                return
            yield ":\n\n"
            await asyncio.sleep(every)

    return StreamingResponse(frames(), media_type="text/event-stream", headers={"cache-control": "no-cache"})
