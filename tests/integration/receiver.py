"""A webhook receiver on 127.0.0.1 for the tests: records every request and answers as told."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook as Verifier


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Received], Answer]


class Receiver:
    """`with Receiver() as hook:`; `hook.url`; `hook.wait_for(n)`; `hook.respond = ...`."""

    def __init__(self, respond: Responder | None = None, *, port: int = 0) -> None:
        self.respond: Responder = respond or (lambda _: Answer())
        self.requests: list[Received] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                request = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    time.time(),
                )
                answer = receiver.respond(request)
                with receiver._changed:
                    receiver.requests.append(request)
                    receiver._changed.notify_all()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.status in (204, 304):  # no body, as HTTP requires (strict clients refuse one)
                    self.end_headers()
                    return
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(
        self, count: int, *, timeout: float = 15.0, where: Callable[[Received], bool] | None = None
    ) -> list[Received]:
        """Blocks until `count` matching requests arrived (fails after `timeout`); returns them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.requests if where is None or where(r)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"{len(found)} of {count} webhook requests arrived in {timeout} s"
                self._changed.wait(left)

    async def arrived(
        self, count: int, *, timeout: float = 15.0, where: Callable[[Received], bool] | None = None
    ) -> list[Received]:
        """wait_for without blocking the event loop (the server under test may share it)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in list(self.requests) if where is None or where(r)]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, (
                f"{len(found)} of {count} webhook requests arrived in {timeout} s"
            )
            await asyncio.sleep(0.02)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [r.json for r in self.requests if r.json["event"] == kind]


def verify(request: Received, secret: str) -> Any:
    """The payload, verified with the standardwebhooks package (raises if the signature is bad)."""
    return Verifier(secret).verify(request.body, request.headers)
