"""Each HTTP/1.1 connection: uvicorn's httptools protocol with the rules of simrelay's edge.

- Raw UTF-8 in the request target (the GoSMS Go client sends `?search=Привет` unencoded; other
  stacks accept it) is read as its percent-encoded form; llhttp alone refuses it.
- The request line and headers are bounded (431); a head, then a body, that do not arrive in
  time get 408 and the connection closes; a client address holds a bounded number of
  connections (429).
- Malformed HTTP is answered in the error envelope, not uvicorn's plain text.

To know where each request line begins, a chunk is fed to the parser in pieces that end where
the parser's state is known: the request line, the rest of the head, then a Content-Length
body. A request pipelined behind a chunked body in the same read is parsed as sent.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import httptools
import structlog
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from simrelay.accounts.guessing import address_key
from simrelay.api.errors import envelope, preferred_language
from simrelay.api.metrics import REFUSED
from simrelay.config import Settings
from simrelay.errors import ApiError, ErrorCode

log = structlog.get_logger(__name__)

MIN_RATE = 500.0
"""Bytes a second that earn a slow client one more second (Apache's mod_reqtimeout MinRate)."""
LINGER_SECONDS = 2.0
"""After a refusal the rest of the request is read and dropped this long, so that closing
with unread data does not reset the connection before the client has read the answer."""
RETRY_AFTER = 1

_NON_ASCII = re.compile(rb"[\x80-\xff]")
_HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Limits:
    max_head: int
    timeout: float
    per_address: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_head=settings.max_header_bytes,
            timeout=settings.request_timeout_seconds,
            per_address=settings.max_connections_per_address,
        )


@functools.cache
def limits() -> Limits:
    # Read once per worker process: the protocol class is created by uvicorn, per connection.
    return Limits.from_settings(Settings())


class AddressSlots:
    """Open connections per client address in this process."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    def take(self, key: str, bound: int) -> bool:
        count = self._open.get(key, 0)
        if bound and count >= bound:
            return False
        self._open[key] = count + 1
        return True

    def give_back(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)


SLOTS = AddressSlots()


def percent_encoded(line: bytes) -> bytes:
    return _NON_ASCII.sub(lambda byte: b"%%%02X" % byte.group()[0], line)


def _slot_key(client: tuple[str, int] | None) -> str | None:
    return address_key("conn", client[0]) if client else None


class EdgeProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits()
        self._slot: str | None = None
        self._refusing = False
        self._upgraded = False
        self._line_open = True
        """The next bytes belong to a request line (or the blank lines allowed before one)."""
        self._head_open = True
        self._head_bytes = 0
        self._head_tail = b""
        self._body_left: int | None = None
        """Bytes of a Content-Length body still to come; None when the length is not known."""
        self._body_pending = False
        self._begun = 0
        """Messages begun during the current feed."""
        self._in_message = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_start = 0.0
        self._timed_bytes = 0

    # Connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        key = _slot_key(self.client)
        if key is not None and not SLOTS.take(key, self.limits.per_address):
            self._refuse(ErrorCode.TOO_MANY_CONNECTIONS, reason="connections", retry_after=RETRY_AFTER)
            return
        self._slot = key
        self._start_timer()  # a new connection must send its first request in time

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        if self._slot is not None and not self._upgraded:
            SLOTS.give_back(self._slot)
        self._slot = None
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the transport, and with it the address slot.
        self._stop_timer()
        self._upgraded = True
        super().handle_websocket_upgrade()

    # Reading

    def data_received(self, data: bytes) -> None:
        if self._refusing:
            return
        self._unset_keepalive_if_required()
        if not self._in_message and len(data) <= self.limits.max_head and data.isascii():
            self._read_whole(data)
        else:
            self._read_in_pieces(data)
        if self._upgraded or self._refusing:
            return  # the connection is the WebSocket protocol's now, or being closed
        # A clock runs only for a head or a body left incomplete: most requests arrive whole.
        if self._timer is None and (self._body_pending or (self._head_open and self._head_bytes)):
            self._start_timer()

    def _read_whole(self, data: bytes) -> None:
        """The usual case: a read that starts a request and holds no raw UTF-8 goes to the
        parser in one piece; where it left the parser is worked out afterwards."""
        self._begun = 0
        if not self._parse(data):
            return
        if not self._in_message:  # every request in it complete (or only blank lines)
            self._head_bytes = 0 if self._begun else self._head_bytes + len(data)
            return
        single = self._begun == 1
        start = len(data) - len(data.lstrip(b"\r\n")) if single else 0
        if self._head_open:  # a head left incomplete; a read this short holds no head too large
            self._head_bytes = len(data) - start
            self._head_tail = data[-3:]
            # Pipelined behind another request, its line may have ended: then raw bytes that
            # follow are a header's, never to be rewritten.
            self._line_open = single and b"\n" not in data[start:]
            return
        self._line_open = False
        if single and self._body_left is not None:
            head_end = data.find(_HEAD_END, start) + len(_HEAD_END)
            self._body_left = max(self._body_left - (len(data) - head_end), 0)
        else:
            self._body_left = None  # unknown: the rest is fed as it comes

    def _read_in_pieces(self, data: bytes) -> None:
        while data and not self._refusing and not self._upgraded and not self.transport.is_closing():
            piece, data = self._next_piece(data)
            if not self._feed(piece):
                return

    def _next_piece(self, data: bytes) -> tuple[bytes, bytes]:
        """The longest start of `data` after which the parser's position is known."""
        if self._line_open:
            end = data.find(b"\n") + 1
            line, rest = (data, b"") if end == 0 else (data[:end], data[end:])
            if line.strip(b"\r\n"):
                self._line_open = end == 0
            if not line.isascii():
                return percent_encoded(line), rest
            if self._line_open:
                return line, rest
            # An ASCII request line goes to the parser with the rest of the head.
        if self._head_open:
            # The last bytes fed: the blank line that ends the head may straddle two pieces.
            end = (self._head_tail + data).find(_HEAD_END)
            if end >= 0:
                cut = end + len(_HEAD_END) - len(self._head_tail)
                return data[:cut], data[cut:]
            return data, b""
        if self._body_left is not None:
            return data[: self._body_left], data[self._body_left :]
        return data, b""

    def _feed(self, piece: bytes) -> bool:
        """Feeds one piece; False once the connection is answered or handed over."""
        in_body = not self._head_open
        if not in_body:
            self._head_bytes += len(piece)
            self._head_tail = (self._head_tail + piece)[-3:]
            if self._head_bytes > self.limits.max_head:
                self._refuse(ErrorCode.HEAD_TOO_LARGE, reason="head", max=self.limits.max_head)
                return False
        if not self._parse(piece):
            return False
        if in_body and self._body_left is not None:
            self._body_left = max(self._body_left - len(piece), 0)
        return True

    def _parse(self, data: bytes) -> bool:
        self._timed_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        except httptools.HttpParserError as exc:
            self._refuse(ErrorCode.MALFORMED_HTTP, reason="malformed", why=_why(exc))
            return False
        return True

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun += 1
        self._in_message = True

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._head_open = False
        self._head_bytes = 0
        self._head_tail = b""
        self._body_left = _content_length(self.headers)
        self._body_pending = True
        self._stop_timer()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop_timer()
        self._line_open = True
        self._head_open = True
        self._body_left = None
        self._body_pending = False
        self._in_message = False

    # Time

    def _start_timer(self) -> None:
        self._stop_timer()
        self._timer_start = self.loop.time()
        self._timed_bytes = 0
        self._timer = self.loop.call_later(self.limits.timeout, self._check_time)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_time(self) -> None:
        self._timer = None
        if self._upgraded or self._refusing:
            return
        deadline = self._timer_start + self.limits.timeout + self._timed_bytes / MIN_RATE
        if self._head_open:
            deadline = min(deadline, self._timer_start + 2 * self.limits.timeout)
        left = deadline - self.loop.time()
        if left > 0:
            self._timer = self.loop.call_later(left, self._check_time)
            return
        if not self._head_open:
            # The application waits for a body that is not coming: it hears a disconnect.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self._refuse(ErrorCode.REQUEST_TIMEOUT, reason="timeout")

    # Answers

    def _refuse(self, code: ErrorCode, *, reason: str, retry_after: int | None = None, **params: Any) -> None:
        """Answers in the error envelope and closes, after reading what is still on its way."""
        self._stop_timer()
        self._refusing = True
        REFUSED.labels(reason).inc()
        if not self._may_answer():
            self.transport.close()
            return
        occurrence = secrets.token_hex(6)
        log.info(
            "http_refused",
            code=code.code,
            status=code.status,
            reason=reason,
            client=self.client[0] if self.client else None,
            hash=occurrence,
        )
        answer = envelope(ApiError(code, **params), self._language(), occurrence)
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        head = [STATUS_LINE[code.status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
        ]
        if retry_after is not None:
            head.append(b"retry-after: %d\r\n" % retry_after)
        self.transport.write(b"".join(head) + b"\r\n" + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _may_answer(self) -> bool:
        """Whether a refusal can be the answer to the request being read: not when the
        application has begun (or, for a request pipelined behind it, not yet ended) its own."""
        if self.cycle is None:
            return True
        if self._head_open:
            return self.cycle.response_complete
        return not self.cycle.response_started

    def _language(self) -> str:
        for name, value in self.headers or ():
            if name == b"accept-language":
                return preferred_language(value.decode("latin-1"))
        return "ru"

    def send_400_response(self, msg: str) -> None:
        self._refuse(ErrorCode.MALFORMED_HTTP, reason="malformed", why=msg)


SHUTDOWN_CLOSE = (1001, "server restarting; reconnect")
"""What a device link hears when the server stops (docs/device-protocol.md 2.5): uvicorn's own
1012 is not among the codes the protocol promises."""
CLOSE_ECHO_SECONDS = 2.0
"""How long a stopping server waits for a device to answer its close frame."""


class EdgeWebSocketProtocol(WebSocketsSansIOProtocol):
    """Gives back the address slot that the connection took as HTTP; closes with the protocol's
    reconnect hint when the server stops."""

    def shutdown(self) -> None:
        if not self.handshake_complete or self.close_sent:
            super().shutdown()
            return
        code, reason = SHUTDOWN_CLOSE
        self.stop_keepalive()
        # The session reads this as the peer gone: it finishes the frames in hand, then ends.
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        # The closing handshake, as after the app's own close: the transport closes when the
        # device echoes the close frame (handle_close), or after a short wait. Closed at once,
        # a device still writing gets a reset, which can destroy the close frame it has not
        # read yet: it would see a cut connection, not the hint.
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(CLOSE_ECHO_SECONDS, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        key = _slot_key(self.client)
        if key is not None:
            SLOTS.give_back(key)
        super().connection_lost(exc)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    if any(name == b"transfer-encoding" for name, _ in headers):
        return None
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return 0


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
