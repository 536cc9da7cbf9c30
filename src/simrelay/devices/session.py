"""One device's live connection: the conversation of docs/device-protocol.md over any
transport that can carry text frames (the WebSocket adapter lives in api/routes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any, Protocol

import orjson
import structlog
from pydantic import ValidationError

from simrelay.devices import protocol, refusals, ussd
from simrelay.devices.health import Health
from simrelay.devices.pacing import Pacer, Pacing
from simrelay.devices.policy import Policy
from simrelay.devices.reporting import Incoming, ReportWriter, UssdAnswer
from simrelay.sms.reports import Report, Verdict
from simrelay.sms.status import Status

log = structlog.get_logger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_INVALID = 1008
CLOSE_SERVER_ERROR = 1011
CLOSE_UNAUTHORIZED = 4001
CLOSE_UNSUPPORTED = 4002
CLOSE_REPLACED = 4003
CLOSE_SILENT = 4004

FRAMES_IN_FLIGHT = 32
"""Frames of one device handled at once; more wait (TCP backpressure slows the device)."""

ERROR_TEXT = {
    Verdict.NOT_LEASED: "this SMS is not leased to this device; do not send it",
    Verdict.UNKNOWN: "no such SMS",
}


class Link(Protocol):
    async def receive(self) -> str | None:
        """The next text frame; None once the peer has gone."""

    async def send(self, text: str) -> None: ...

    async def close(self, code: int) -> None: ...


class Hub(Protocol):
    """What a session needs of the dispatcher (devices/dispatch.py), which sits above this module:
    the dispatcher imports the session, so the session names only this."""

    policy: Policy
    reports: ReportWriter

    async def attach(self, session: DeviceSession, hello: protocol.Hello) -> None: ...

    async def detach(self, session: DeviceSession) -> None: ...

    def wake(self, account_id: str) -> None: ...

    async def pause_sim(self, session: DeviceSession, sim: int | None, reason: str) -> None: ...


class Closing(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class DeviceSession:
    def __init__(self, device: Any, link: Link, dispatcher: Hub, *, window: int | None = None) -> None:
        self.device_id: str = device.id
        self.window = window or dispatcher.policy.window
        """Offers outstanding at most: the policy's, or the device kind's own (an SMPP route
        keeps as many as its SMSC window allows)."""
        self.account_id: str = device.account_id
        self.link = link
        self.dispatcher = dispatcher
        self.is_active = bool(device.is_active)
        self.default_sim = int(device.to_sim)
        self.sim_slots: list[int] = [int(sim.get("slot_index", 0)) for sim in (device.sim_list or [])]
        self.failing_sims: frozenset[int] = frozenset()
        """Slots its last hello or heartbeat said are failing: offered nothing until they recover."""
        self.declined: dict[str, float] = {}
        """SMS it declined because their SIM was failing, and until when it is not offered them
        again (by then a heartbeat has said which SIMs fail): not straight back to it."""
        self.battery = int(device.battery)
        self.charging = bool(device.is_charging)
        self.pacer = Pacer(Pacing.of(device))
        self.streaks = refusals.Streaks(device)
        self.paused: dict[int | None, float] = {}
        """SIMs paused after carrier refusals (devices/pauses.py), and until when."""
        self.last_sim: int | None = None
        """The SIM of its latest offer (round-robin goes on from it)."""
        self.health = Health()
        self.outstanding: set[str] = set()
        """SMS leased to this device and not yet reported sent, failed or dropped."""
        self.drops_sent: set[str] = set()
        self.ready = False
        """hello done, leases resumed: the dispatcher may offer work."""
        self.connection_id = os.urandom(8).hex()
        """Names this session in the device's row (devices.connection_id)."""
        self.can_ussd = False
        """Its hello listed the "ussd" feature."""
        self.pulls = False
        """A pull device (the Android app): it has an offer only once a fetch listed it, and it
        is never offered again an SMS it let go (the app keeps a cancelled id: see let_go_by)."""
        self._outbox: asyncio.Queue[str | int] = asyncio.Queue()
        self._closing = False
        self._handling: set[asyncio.Task[None]] = set()

    def load(self, device: Any) -> None:
        """Settings changed (through the API or the panel): take the new ones, and tell the
        device when its pacing changed (the Android app keeps a copy of it)."""
        self.is_active = bool(device.is_active)
        self.default_sim = int(device.to_sim)
        self.streaks.load(device)
        pacing = Pacing.of(device)
        if pacing != self.pacer.pacing:
            self.pacer.update(pacing)
            if self.ready:
                self.send({"type": "settings"})

    # --- sending ---------------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        """Queues a frame; one writer task sends them in order, so slow sockets never block
        the dispatcher."""
        if not self._closing:
            self._outbox.put_nowait(orjson.dumps(frame).decode())

    def close(self, code: int) -> None:
        if not self._closing:
            self._closing = True
            self._outbox.put_nowait(code)

    def free_slots(self) -> int:
        return self.window - len(self.outstanding)

    def offer(self, frame: dict[str, Any]) -> None:
        self.outstanding.add(frame["id"])
        self.drops_sent.discard(frame["id"])
        self.send(frame)

    def drop(self, message_id: str, reason: str, *, attempt: int | None = None) -> None:
        """Asks the device to let an SMS go. `attempt` names the lease: a `dropped` echoing an
        older one must not release a newer lease of the same device."""
        if message_id not in self.drops_sent:
            self.drops_sent.add(message_id)
            self.send({"type": "drop", "id": message_id, "reason": reason, "attempt": attempt})

    async def _write(self) -> None:
        while True:
            item = await self._outbox.get()
            if isinstance(item, int):
                with contextlib.suppress(Exception):
                    await self.link.close(item)
                return
            await self.link.send(item)

    # --- receiving -------------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        silence = self.dispatcher.policy.heartbeat_seconds * 3
        attached = False
        try:
            hello = await self._hello(silence)
            await self.dispatcher.attach(self, hello)
            attached = True
            gate = asyncio.Semaphore(FRAMES_IN_FLIGHT)
            while not self._closing:
                async with asyncio.timeout(silence):
                    text = await self.link.receive()
                if text is None:
                    break
                # Reports are idempotent and order-tolerant, so a device's frames are handled
                # side by side: each waits for a group commit, and one after the other a busy
                # device's reports would queue behind each other's commits.
                await gate.acquire()
                task = asyncio.create_task(self._handle_in_turn(text, gate))
                self._handling.add(task)
                task.add_done_callback(self._handling.discard)
        except TimeoutError:
            self.close(CLOSE_SILENT)
        except Closing as closing:
            self.close(closing.code)
        except Exception:
            log.exception("device_session_failed", device_id=self.device_id)
            self.close(CLOSE_SERVER_ERROR)
        finally:
            if self._handling:
                await asyncio.wait(list(self._handling), timeout=10)
            if attached:
                await self.dispatcher.detach(self)
            self.close(CLOSE_GOING_AWAY)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await writer
            writer.cancel()

    async def _hello(self, timeout: float) -> protocol.Hello:
        async with asyncio.timeout(timeout):
            text = await self.link.receive()
        if text is None:
            raise Closing(CLOSE_GOING_AWAY)
        try:
            hello = protocol.Hello.model_validate_json(text)
        except ValidationError as exc:
            self._error(None, "invalid", _first_error(exc))
            raise Closing(CLOSE_INVALID) from None
        if hello.protocol != protocol.PROTOCOL:
            self._error(None, "unsupported", f"protocol {hello.protocol} is not spoken here; use 1")
            raise Closing(CLOSE_UNSUPPORTED)
        if hello.sims is not None:
            self._take_sims(hello.sims)
        self.can_ussd = ussd.FEATURE in hello.features
        self.battery = hello.battery if hello.battery is not None else self.battery
        self.charging = hello.charging if hello.charging is not None else self.charging
        return hello

    async def _handle_in_turn(self, text: str, gate: asyncio.Semaphore) -> None:
        try:
            await self._handle(text)
        except Exception:
            # Unanswered, the report stays with the device; a new connection resends it.
            log.exception("device_frame_failed", device_id=self.device_id)
            self.close(CLOSE_SERVER_ERROR)
        finally:
            gate.release()

    async def _handle(self, text: str) -> None:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._error(None, "invalid", "not JSON")
            return
        if not isinstance(data, dict):
            self._error(None, "invalid", "a frame is a JSON object")
            return
        seq = data.get("seq") if isinstance(data.get("seq"), int) else None
        model = protocol.REPORTS.get(str(data.get("type")))
        if model is None:
            self._error(seq, "unsupported", f"unknown frame type {data.get('type')!r}")
            return
        try:
            frame = model.model_validate(data)
        except ValidationError as exc:
            self._error(seq, "invalid", _first_error(exc))
            return
        if isinstance(frame, protocol.Heartbeat):
            await self._heartbeat(frame)
        elif isinstance(frame, protocol.Received):
            await self._received(frame)
        elif isinstance(frame, protocol.UssdResult):
            answer = UssdAnswer(
                self.device_id, frame.id.lower(), ussd.UssdStatus(frame.status), frame.response
            )
            if not await self.dispatcher.reports.answer_ussd(answer):
                self._error(seq, "unknown", "no such USSD request for this device")
                return
        else:
            assert isinstance(frame, protocol.MessageReport)
            verdict = await self._report(str(data["type"]), frame)
            if verdict is not Verdict.OK:
                self._error(seq, verdict.value, ERROR_TEXT[verdict])
                return
        self.send({"type": "ack", "seq": seq})

    async def _heartbeat(self, frame: protocol.Heartbeat) -> None:
        if frame.battery is not None:
            self.battery = frame.battery
        if frame.charging is not None:
            self.charging = frame.charging
        if frame.sims is not None and self._take_sims(frame.sims):
            self.dispatcher.wake(self.account_id)  # work may wait for the SIM that recovered
        await self.dispatcher.reports.update_device(self.device_id, device_status(frame))

    def _take_sims(self, sims: list[protocol.Sim]) -> bool:
        """The SIMs a hello or heartbeat lists; True if one that was failing no longer is."""
        self.sim_slots = [sim.slot for sim in sims]
        failing = frozenset(sim.slot for sim in sims if sim.failing)
        recovered = bool(self.failing_sims - failing)
        if failing != self.failing_sims:
            log.info("device_sims_failing", device_id=self.device_id, slots=sorted(failing))
        self.failing_sims = failing
        return recovered

    def paused_now(self, now: float) -> dict[int | None, float]:
        """Its SIMs paused now (pauses whose time is up are forgotten)."""
        if self.paused:
            self.paused = {sim: until for sim, until in self.paused.items() if until > now}
        return dict(self.paused)

    def declined_now(self, now: float) -> dict[str, float]:
        """The SMS it declined that it is not offered yet (those whose time is up are forgotten)."""
        if self.declined:
            self.declined = {message_id: until for message_id, until in self.declined.items() if until > now}
        return dict(self.declined)

    async def _received(self, frame: protocol.Received) -> None:
        await self.dispatcher.reports.receive(
            Incoming(
                account_id=self.account_id,
                device_id=self.device_id,
                external_id=frame.id,
                phone_number=frame.phone_number,
                message=frame.message,
                received_at=frame.received_at,
                sim=frame.sim,
            )
        )

    async def _report(self, kind: str, frame: protocol.MessageReport) -> Verdict:
        declined = isinstance(frame, protocol.Dropped) and frame.reason == protocol.SIM_FAILING
        if declined:
            # Before the lease ends: a round running meanwhile must not offer it straight back.
            self.declined[frame.id.lower()] = time.time() + self.dispatcher.policy.heartbeat_seconds
        refusal = refusals.read(getattr(frame, "reason", "")) if kind == "failed" else None
        report = Report(
            kind=kind,
            message_id=frame.id.lower(),
            device_id=self.device_id,
            parts=getattr(frame, "parts", None),
            part=getattr(frame, "part", None),
            delivered=getattr(frame, "delivered", None),
            reason=refusal.reason if refusal is not None else getattr(frame, "reason", ""),
            attempt=getattr(frame, "attempt", None),
            declined=declined,
        )
        applied = await self.dispatcher.reports.report(report)
        now = time.time()
        if kind in ("sent", "failed") and applied.changes:
            self.health.record(ok=kind == "sent", now=now)
        for change in applied.changes:
            if change.status is Status.SENT:
                self.streaks.sent(change.sim)
            elif change.status is Status.SEND_FAILED and refusal is not None:
                # Refusals of sends begun before the pause say nothing new: one pause, one event.
                if change.sim not in self.paused_now(now) and self.streaks.failed(change.sim, refusal):
                    await self.dispatcher.pause_sim(self, change.sim, refusal.reason)
        if applied.lease_ended or kind == "dropped" or applied.verdict is not Verdict.OK:
            self.outstanding.discard(report.message_id)
            self.drops_sent.discard(report.message_id)
            self.dispatcher.wake(self.account_id)
        return applied.verdict

    def _error(self, seq: int | None, code: str, message: str) -> None:
        self.send({"type": "error", "seq": seq, "code": code, "message": message})


def device_status(status: protocol.Status) -> dict[str, Any]:
    """The devices-row columns a hello or heartbeat updates."""
    values: dict[str, Any] = {"last_online_at": time.time()}
    if status.battery is not None:
        values["battery"] = status.battery
    if status.charging is not None:
        values["is_charging"] = status.charging
    if status.signal is not None:
        values["signal"] = status.signal
    sims = protocol.sims_of(status)
    if sims is not None:
        values["sim_list"] = sims
    return values


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
