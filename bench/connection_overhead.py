"""CPU per request of the HTTP connection alone: uvicorn's httptools protocol against simrelay's
EdgeProtocol (api/connection.py), in one process, no sockets: one keep-alive connection feeds
the same POST /v1/sms/send request N times to a do-nothing ASGI app. The difference is what
the edge's rules (raw UTF-8 targets, head limits, clocks, address slots) cost a request.

    python bench/connection_overhead.py [--requests 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from simrelay.api.connection import EdgeProtocol

BODY = b'{"message": "Hello from simrelay", "phone_number": "79990001122"}'
REQUEST = (
    b"POST /v1/sms/send HTTP/1.1\r\nHost: 127.0.0.1:8011\r\n"
    + b"Authorization: Bearer " + b"x" * 180 + b"\r\n"
    + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    + BODY
)  # fmt: skip


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class Transport(asyncio.Transport):
    """Takes what is written and drops it."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def per_request(protocol_class: type[HttpToolsProtocol], requests: int) -> float:
    config = Config(app=app, lifespan="off", log_level="warning")
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(Transport())
    started = time.perf_counter()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)  # the application's task answers
        await asyncio.sleep(0)
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int, rounds: int) -> None:
    for _ in range(rounds):
        bare = await per_request(HttpToolsProtocol, requests)
        edge = await per_request(EdgeProtocol, requests)
        print(f"httptools {bare:.2f} us/request, edge {edge:.2f} us/request, +{edge - bare:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    uvloop.install()
    asyncio.run(main(args.requests, args.rounds))
