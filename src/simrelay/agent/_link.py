"""`DeviceLink`: one device's connection to the server (docs/device-protocol.md, section 2):
hello/welcome, the single writer numbering reports with `seq`, heartbeats, reconnect backoff,
terminal closes. What the device holds and does is its `LinkWork` (a simulated phone, a modem).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from simrelay.agent._lease import Frame, Report
from simrelay.agent._pairing import DEFAULT_WS_PATH, websocket_url

log = logging.getLogger(__name__)

PROTOCOL = 1
WELCOME_TIMEOUT = 10.0  # seconds to wait for `welcome` after `hello` before dropping the connection
TERMINAL_CLOSES = {4001: "unauthorized", 4002: "unsupported_protocol", 4003: "replaced"}


class LinkWork(Protocol):
    """The device behind a link: its storage (LeaseBook) plus what `hello` and heartbeats say."""

    outbox: dict[int, Report]
    link: asyncio.Queue[Report] | None
    lease_seconds: float

    def connect(self, link: asyncio.Queue[Report]) -> None: ...
    def on_offer(self, frame: Frame) -> None: ...
    def on_drop(self, frame: Frame) -> None: ...
    def on_ussd(self, frame: Frame) -> None: ...
    def on_answer(self, report: Report, frame: Frame) -> None: ...
    def record(self, kind: str, message_id: str = "", detail: str = "") -> None: ...
    def emit(self, payload: Frame, *, keep: bool = True, abort_after: bool = False) -> Report: ...
    def restart_jobs(self) -> None: ...
    def cancel_jobs(self) -> None: ...
    def hello(self) -> Frame:
        """`hello`'s fields past type and protocol: app_version, model, vitals, held, features."""
        ...

    def vitals(self) -> Frame:
        """A heartbeat's fields (battery, charging, signal, sims), taken once per interval."""
        ...


class DeviceLink:
    """Runs `work`'s connection until `stop()`, `kill()` or a terminal close (4001, 4002, 4003, or
    HTTP 401/403 at the handshake: `stop_reason` says which). `work` outlives every connection."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        work: LinkWork,
        ws_path: str = DEFAULT_WS_PATH,
        heartbeat_seconds: float | None = None,
        heartbeat_override: float | None = None,
        reconnect: tuple[float, float] = (1.0, 60.0),
        user_agent: str = "simrelay-device/1",
        rng: random.Random | None = None,
        name: str = "",
    ) -> None:
        self.work = work
        self.connected = False
        """True from `welcome` until the connection ends."""
        self.connections = 0
        """Connections that got as far as `welcome`."""
        self.stop_reason: str | None = None
        """unauthorized, unsupported_protocol or replaced, after a terminal close."""
        self.token = token
        self.name = name
        self._url = websocket_url(base_url, ws_path)
        self._heartbeat = heartbeat_seconds or 30.0
        self._heartbeat_override = heartbeat_override
        self._reconnect = reconnect
        self._user_agent = user_agent
        self._random = rng or random.Random()
        self._seq = 0
        self._run_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ws: ClientConnection | None = None
        self._inflight: dict[int, Report] = {}  # seq -> report, on the live connection

    @property
    def running(self) -> bool:
        return self._run_task is not None and not self._run_task.done()

    def start(self) -> None:
        """Starts (or resumes after `stop()`/`kill()`) the connection loop and the pending work."""
        if self.running:
            return
        self.stop_reason, self._stopping = None, False
        self._run_task = asyncio.create_task(self._run(), name=f"device link {self.name}")
        self.work.restart_jobs()

    async def stop(self) -> None:
        """Closes the connection cleanly (code 1000) and stops all work."""
        task, self._run_task = self._run_task, None
        self._stopping = True
        self.work.cancel_jobs()
        if self._ws is not None:
            await self._ws.close()  # the loop sees the close, then `_stopping`, and returns
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def kill(self) -> None:
        """The device dies: the connection is cut without a close frame and nothing more happens
        (no sending, no reconnecting) until `start()`."""
        task, self._run_task = self._run_task, None
        self.work.cancel_jobs()
        if task is not None:
            task.cancel()
        self.disconnect()
        self._ws = None  # the cancelled loop must not touch the state of a later start()
        self._go_offline(None)

    def disconnect(self) -> None:
        """Cuts the connection without a close frame; the device reconnects after the backoff."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def wait(self) -> None:
        """Returns when the loop ends (a terminal close, or stop/kill)."""
        if self._run_task is not None:
            await asyncio.gather(self._run_task, return_exceptions=True)

    # The connection loop.

    async def _run(self) -> None:
        failures = 0
        while True:
            welcomed = await self._connect_once()
            if self._stopping:
                return
            if self.stop_reason is not None:
                self.work.record("stopped", detail=self.stop_reason)
                return
            failures = 0 if welcomed else failures + 1
            await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        low, high = self._reconnect
        return min(high, low * 2.0 ** min(failures, 30) * self._random.uniform(1.0, 1.3))

    async def _connect_once(self) -> bool:
        """One connection, from handshake to close; True if it got as far as `welcome`."""
        connections, code, link = self.connections, None, None
        try:
            async with connect(
                self._url,
                additional_headers={"Authorization": f"Bearer {self.token}"},
                user_agent_header=self._user_agent,
                open_timeout=10,
                close_timeout=2,
            ) as ws:
                self._ws = link = ws
                code = await self._serve(ws)
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                self.stop_reason = "unauthorized"
            log.info("device_handshake_refused status=%s", exc.response.status_code)
        except InvalidURI:
            raise
        except (OSError, TimeoutError, WebSocketException) as exc:
            log.info("device_connect_failed error=%r", exc)
        finally:
            if link is not None and self._ws is link:
                self._ws = None
                self._go_offline(code)
        if code in TERMINAL_CLOSES:
            self.stop_reason = TERMINAL_CLOSES[code]
        return self.connections > connections

    async def _serve(self, ws: ClientConnection) -> int | None:
        """Says hello, then handles frames until the connection closes; returns the close code."""
        queue: asyncio.Queue[Report] = asyncio.Queue()
        self._inflight = {}
        tasks = [asyncio.create_task(self._write(ws, queue))]
        watchdog = asyncio.get_running_loop().call_later(WELCOME_TIMEOUT, self._abort_unwelcomed, ws)
        try:
            await ws.send(json.dumps({"type": "hello", "protocol": PROTOCOL, **self.work.hello()}))
            while True:
                frame = _parse(await ws.recv())
                kind = frame.get("type") if frame is not None else None
                if frame is None or not isinstance(kind, str):
                    continue
                if kind == "welcome" and not self.connected:
                    self._on_welcome(frame, queue)
                    tasks.append(asyncio.create_task(self._beat()))
                elif kind == "offer":
                    self.work.on_offer(frame)
                elif kind == "drop":
                    self.work.on_drop(frame)
                elif kind == "ussd":
                    self.work.on_ussd(frame)
                elif kind in ("ack", "error"):
                    seq = frame.get("seq")
                    report = self._inflight.pop(seq, None) if isinstance(seq, int) else None
                    if report is not None:
                        self.work.on_answer(report, frame)
                # Anything else is a frame type of a later protocol version: ignored.
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None
        finally:
            watchdog.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _abort_unwelcomed(self, ws: ClientConnection) -> None:
        if not self.connected:
            ws.transport.abort()

    def _go_offline(self, code: int | None) -> None:
        self.work.link = None
        if self.connected:
            self.connected = False
            self.work.record("disconnected", detail=f"close code {code or 'none (cut)'}")

    async def _write(self, ws: ClientConnection, queue: asyncio.Queue[Report]) -> None:
        """The connection's only writer: numbers each report with the next `seq` and sends it."""
        while True:
            report = await queue.get()
            if report.keep and report.key not in self.work.outbox:
                continue  # acknowledged meanwhile (a copy queued before a reconnect)
            self._seq += 1
            self._inflight[self._seq] = report
            frame = {"type": report.payload["type"], "seq": self._seq, **report.payload}
            try:
                await ws.send(json.dumps(frame))
            except ConnectionClosed:
                return
            if report.abort_after:
                report.abort_after = False
                ws.transport.abort()
                return

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            self.work.emit({"type": "heartbeat", **self.work.vitals()}, keep=False)

    def _on_welcome(self, frame: Frame, queue: asyncio.Queue[Report]) -> None:
        heartbeat, lease = frame.get("heartbeat_seconds"), frame.get("lease_seconds")
        if isinstance(heartbeat, int | float) and heartbeat > 0:
            self._heartbeat = float(heartbeat)
        if self._heartbeat_override is not None:
            self._heartbeat = self._heartbeat_override
        if isinstance(lease, int | float) and lease > 0:
            self.work.lease_seconds = float(lease)
        self.connected = True
        self.connections += 1
        self.work.connect(queue)
        self.work.record("connected", detail=f"connection {self.connections}")


def _parse(raw: str | bytes) -> Frame | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None
