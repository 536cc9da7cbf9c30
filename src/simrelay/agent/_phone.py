"""`SimulatedPhone`: one virtual device and its connection (docs/device-protocol.md, section 2):
hello/welcome, the single writer numbering reports with `seq`, heartbeats, reconnect backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from simrelay.agent._handset import Frame, Handset, Report
from simrelay.agent._ledger import Ledger
from simrelay.agent._options import SimulatorOptions
from simrelay.agent._pairing import DEFAULT_WS_PATH, pair_device, websocket_url

log = logging.getLogger(__name__)

PROTOCOL = 1
APP_VERSION = "simrelay-simulator/1"
DEFAULT_MODEL = "simrelay simulator"
WELCOME_TIMEOUT = 10.0  # seconds to wait for `welcome` after `hello` before dropping the connection
TERMINAL_CLOSES = {4001: "unauthorized", 4002: "unsupported_protocol", 4003: "replaced"}


class SimulatedPhone:
    """One virtual phone. `start()` runs its connection loop until `stop()`, `kill()` or a terminal
    close (4001, 4002, 4003, or HTTP 401/403 at the handshake: `stop_reason` says which).
    Its storage (held offers, unacknowledged reports) is kept across all of these."""

    def __init__(
        self,
        base_url: str,
        *,
        device_id: str,
        token: str,
        name: str = "",
        model: str = DEFAULT_MODEL,
        options: SimulatorOptions | None = None,
        ledger: Ledger | None = None,
        ws_path: str = DEFAULT_WS_PATH,
        heartbeat_seconds: float | None = None,
    ) -> None:
        self.base_url = base_url
        self.device_id = device_id
        self.name = name
        self.model = model
        self.options = options or SimulatorOptions()
        self.ledger = ledger if ledger is not None else Ledger()
        self.connected = False
        """True from `welcome` until the connection ends."""
        self.connections = 0
        """Connections that got as far as `welcome`."""
        self.stop_reason: str | None = None
        """unauthorized, unsupported_protocol or replaced, after a terminal close."""
        self._token = token
        self._url = websocket_url(base_url, ws_path)
        self._handset = Handset(device_id=device_id, options=self.options, ledger=self.ledger)
        self._heartbeat = heartbeat_seconds or 30.0
        self._battery = self._handset.random.randint(40, 100)
        self._seq = 0
        self._run_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ws: ClientConnection | None = None
        self._inflight: dict[int, Report] = {}  # seq -> report, on the live connection

    def __repr__(self) -> str:
        return f"<SimulatedPhone {self.device_id} connected={self.connected} held={len(self.held)}>"

    @classmethod
    async def pair(
        cls,
        base_url: str,
        code: str,
        *,
        name: str = "",
        model: str = DEFAULT_MODEL,
        options: SimulatorOptions | None = None,
        ledger: Ledger | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> SimulatedPhone:
        """Pairs a new device with `code` (POST /device/v1/pair); raises PairingError if refused."""
        about = {"name": name, "model": model, "app_version": APP_VERSION}
        if client is None:
            async with httpx.AsyncClient(timeout=10.0) as own:
                pairing = await pair_device(own, base_url, code, **about)
        else:
            pairing = await pair_device(client, base_url, code, **about)
        return cls(
            base_url,
            device_id=pairing.device_id,
            token=pairing.token,
            name=name,
            model=model,
            options=options,
            ledger=ledger,
            ws_path=pairing.ws_path,
            heartbeat_seconds=pairing.heartbeat_seconds,
        )

    @property
    def token(self) -> str:
        return self._token

    @property
    def held(self) -> list[str]:
        """Ids it holds: offered and not finished (final report not yet acknowledged)."""
        return list(self._handset.held)

    @property
    def unconfirmed(self) -> list[str]:
        """Ids it sent (or failed) whose report the server has not acknowledged yet. If the phone
        vanishes now, the server gives these to another device after its hard timeout: a message
        sent twice that no protocol can prevent."""
        return [message_id for message_id, held in self._handset.held.items() if held.final is not None]

    @property
    def pending_reports(self) -> int:
        """Reports not yet acknowledged."""
        return len(self._handset.outbox)

    @property
    def running(self) -> bool:
        return self._run_task is not None and not self._run_task.done()

    # Lifecycle.

    def start(self) -> None:
        """Starts (or resumes after `stop()`/`kill()`) the connection loop and the pending work."""
        if self.running:
            return
        self.stop_reason, self._stopping = None, False
        self._run_task = asyncio.create_task(self._run(), name=f"phone {self.device_id}")
        self._handset.restart_jobs()

    async def stop(self) -> None:
        """Closes the connection cleanly (code 1000) and stops all work."""
        task, self._run_task = self._run_task, None
        self._stopping = True
        self._handset.cancel_jobs()
        if self._ws is not None:
            await self._ws.close()  # the loop sees the close, then `_stopping`, and returns
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def kill(self) -> None:
        """The phone dies: the connection is cut without a close frame and nothing more happens
        (no sending, no reconnecting) until `start()`."""
        task, self._run_task = self._run_task, None
        self._handset.cancel_jobs()
        if task is not None:
            task.cancel()
        self.disconnect()
        self._ws = None  # the cancelled loop must not touch the state of a later start()
        self._go_offline(None)

    def disconnect(self) -> None:
        """Cuts the connection without a close frame; the phone reconnects after the backoff."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def receive_sms(
        self, phone_number: str, message: str, *, id: str | None = None, sim: int = 0
    ) -> str:
        """Reports an incoming SMS (`received`, sent once connected); returns its inbox id."""
        inbox_id = id or f"inbox-{uuid.uuid4().hex[:16]}"
        received_at = int(time.time())
        self._handset.emit(
            {
                "type": "received",
                "id": inbox_id,
                "phone_number": phone_number,
                "message": message,
                "received_at": received_at,
                "sim": sim,
            }
        )
        self._handset.record("received", inbox_id)
        return inbox_id

    # The connection loop.

    async def _run(self) -> None:
        failures = 0
        while True:
            welcomed = await self._connect_once()
            if self._stopping:
                return
            if self.stop_reason is not None:
                self._handset.record("stopped", detail=self.stop_reason)
                return
            failures = 0 if welcomed else failures + 1
            await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        low, high = self.options.reconnect_min, self.options.reconnect_max
        return min(high, low * 2.0 ** min(failures, 30) * self._handset.random.uniform(1.0, 1.3))

    async def _connect_once(self) -> bool:
        """One connection, from handshake to close; True if it got as far as `welcome`."""
        connections, code, link = self.connections, None, None
        try:
            async with connect(
                self._url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                user_agent_header=APP_VERSION,
                open_timeout=10,
                close_timeout=2,
            ) as ws:
                self._ws = link = ws
                code = await self._serve(ws)
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                self.stop_reason = "unauthorized"
            log.info("phone_handshake_refused status=%s", exc.response.status_code)
        except InvalidURI:
            raise
        except (OSError, TimeoutError, WebSocketException) as exc:
            log.info("phone_connect_failed error=%r", exc)
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
            await ws.send(json.dumps(self._hello()))
            while True:
                frame = _parse(await ws.recv())
                kind = frame.get("type") if frame is not None else None
                if frame is None or not isinstance(kind, str):
                    continue
                if kind == "welcome" and not self.connected:
                    self._on_welcome(frame, queue)
                    tasks.append(asyncio.create_task(self._beat()))
                elif kind == "offer":
                    self._handset.on_offer(frame)
                elif kind == "drop":
                    self._handset.on_drop(frame)
                elif kind == "ussd" and self.options.ussd:
                    self._handset.on_ussd(frame)
                elif kind in ("ack", "error"):
                    seq = frame.get("seq")
                    report = self._inflight.pop(seq, None) if isinstance(seq, int) else None
                    if report is not None:
                        self._handset.on_answer(report, frame)
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
        self._handset.link = None
        if self.connected:
            self.connected = False
            self._handset.record("disconnected", detail=f"close code {code or 'none (cut)'}")

    async def _write(self, ws: ClientConnection, queue: asyncio.Queue[Report]) -> None:
        """The connection's only writer: numbers each report with the next `seq` and sends it."""
        while True:
            report = await queue.get()
            if report.keep and report.key not in self._handset.outbox:
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
            self._battery = max(1, min(100, self._battery + self._handset.random.choice((-1, 0, 0, 1))))
            self._handset.emit({"type": "heartbeat", **self._vitals()}, keep=False)

    def _hello(self) -> Frame:
        # Ids whose `dropped` is not yet acknowledged are not listed: the device let them go.
        return {
            "type": "hello",
            "protocol": PROTOCOL,
            "app_version": APP_VERSION,
            "model": self.model,
            **self._vitals(),
            "held": self.held,
            "features": ["ussd"] if self.options.ussd else [],
        }

    def _vitals(self) -> Frame:
        sims = [{"slot": slot, "name": f"SIM{slot + 1}"} for slot in range(self.options.sims)]
        return {"battery": self._battery, "charging": self._battery < 50, "signal": 3, "sims": sims}

    def _on_welcome(self, frame: Frame, queue: asyncio.Queue[Report]) -> None:
        heartbeat, lease = frame.get("heartbeat_seconds"), frame.get("lease_seconds")
        if isinstance(heartbeat, int | float) and heartbeat > 0:
            self._heartbeat = float(heartbeat)
        if self.options.heartbeat_seconds is not None:
            self._heartbeat = self.options.heartbeat_seconds
        if isinstance(lease, int | float) and lease > 0:
            self._handset.lease_seconds = float(lease)
        self.connected = True
        self.connections += 1
        self._handset.connect(queue)
        self._handset.record("connected", detail=f"connection {self.connections}")


def _parse(raw: str | bytes) -> Frame | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None
