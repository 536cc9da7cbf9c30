"""The SMPP listener: one Session per connection, started and stopped with the app.

Every worker process listens on the same port (SO_REUSEPORT): the kernel spreads the
connections over them, as it does for HTTP."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import structlog

from simrelay.smpp.backend import Backend
from simrelay.smpp.session import Session

log = structlog.get_logger(__name__)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of TLS with the library's defaults (TLS 1.2 and later)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class SmppServer:
    def __init__(self, backend: Backend, *, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        self._backend = backend
        self._host = host
        self._port = port
        self._tls = tls
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the one the kernel gave for 0)."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connected,
            self._host,
            self._port,
            reuse_port=True,
            ssl=self._tls,
            # A client that connects and never finishes the handshake holds nothing for long.
            ssl_handshake_timeout=30.0 if self._tls is not None else None,
        )
        log.info("smpp_listening", host=self._host, port=self.port, tls=self._tls is not None)

    async def stop(self) -> None:
        """Stops listening, then ends each session: what it has in progress is answered first."""
        if self._server is not None:
            self._server.close()
        sessions = set(self._sessions)
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.wait(sessions)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._sessions) >= self._backend.limits.max_sessions:
            # Past the cap a connection is closed at once: memory stays bounded, and the client
            # retries (on another worker or node, with SO_REUSEPORT and a balancer).
            log.warning("smpp_too_many_sessions", limit=self._backend.limits.max_sessions)
            writer.close()
            return
        self._sessions.add(task)
        try:
            await Session(self._backend, reader, writer).run()
        except asyncio.CancelledError:
            pass  # the server stops; Session.run has answered what it could
        except Exception:
            log.exception("smpp_session_failed")
        finally:
            self._sessions.discard(task)
