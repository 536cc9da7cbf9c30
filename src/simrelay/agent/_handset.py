"""`Handset`: a simulated phone's storage and its work on messages (offer, drop, send, delivery
reports) and USSD codes, apart from the connection. Its state plays the app's persistent storage: it survives
disconnects and restarts, as the protocol's "Rules a device must follow" require.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from simrelay.agent._ledger import Ledger
from simrelay.agent._options import SimulatorOptions, count_parts

Frame = dict[str, Any]

FINISHED_KEPT = 10_000  # finished messages remembered, to answer a late offer or drop with the report
FAIL_REASONS = ("no service", "radio off", "generic failure", "null PDU")


@dataclass(eq=False)
class Held:
    offer: Frame
    deadline: float  # event-loop time after which sending must not start (the lease)
    final: Frame | None = None  # the `sent`/`failed` report, set the moment sending starts
    after_reconnect: bool = False  # drop_after_take: send only once the next connection is up


@dataclass(eq=False)
class Report:
    key: int
    payload: Frame  # the frame without `seq`
    keep: bool = True  # kept until acknowledged and re-sent after reconnects (heartbeats are not)
    abort_after: bool = False  # drop_after_take: kill the connection right after writing it


class Handset:
    def __init__(self, *, device_id: str, options: SimulatorOptions, ledger: Ledger) -> None:
        self.device_id = device_id
        self.options = options
        self.ledger = ledger
        seed = options.seed
        self.random = random.Random(None if seed is None else f"{seed}:{device_id}")
        self.lease_seconds = 60.0  # used when an offer has no lease_seconds; `welcome` updates it
        self.link: asyncio.Queue[Report] | None = None  # the writer of the live connection, after welcome
        # Storage.
        self.held: dict[str, Held] = {}
        self.finished: OrderedDict[str, Frame] = OrderedDict()
        self.outbox: dict[int, Report] = {}
        self.deliveries: dict[str, list[int]] = {}  # message id -> [parts, next part to report]
        # Work in progress.
        self._keys = itertools.count()
        self._send_jobs: dict[str, asyncio.Task[None]] = {}
        self._delivery_jobs: dict[str, asyncio.Task[None]] = {}
        self._ussd_jobs: dict[str, asyncio.Task[None]] = {}
        self._ussd_seen: set[str] = set()
        self._next_welcome = asyncio.Event()

    def record(self, kind: str, message_id: str = "", detail: str = "") -> None:
        self.ledger.record(kind, device_id=self.device_id, message_id=message_id, detail=detail)

    def emit(self, payload: Frame, *, keep: bool = True, abort_after: bool = False) -> None:
        """Stores a report until acknowledged (rule 1) and sends it if the connection is up."""
        report = Report(key=next(self._keys), payload=payload, keep=keep, abort_after=abort_after)
        if keep:
            self.outbox[report.key] = report
        if self.link is not None:
            self.link.put_nowait(report)

    def connect(self, link: asyncio.Queue[Report]) -> None:
        """The connection got `welcome`: queue every unacknowledged report, oldest first."""
        self.link = link
        for report in self.outbox.values():
            link.put_nowait(report)
        self._next_welcome.set()
        self._next_welcome = asyncio.Event()

    # Frames from the server.

    def on_offer(self, frame: Frame) -> None:
        message_id = frame.get("id")
        if not isinstance(message_id, str) or not message_id:
            return
        self.record("offer", message_id, f"attempt {frame.get('attempt')}")
        if message_id in self.held:
            return  # a repeat of an offer it holds: the first one stands, with its lease
        final = self.finished.get(message_id)
        if final is not None:
            self.emit(dict(final))  # already done: say so again rather than send twice
            return
        if any(
            r.payload.get("type") == "dropped"
            and r.payload.get("id") == message_id
            and r.payload.get("attempt") is None
            for r in self.outbox.values()
        ):
            # An unacknowledged `dropped` without an attempt could still reach the server after
            # this offer and release this lease too: then another device could send it as well.
            return
        lease = frame.get("lease_seconds")
        seconds = float(lease) if isinstance(lease, int | float) and lease > 0 else self.lease_seconds
        abort = self.random.random() < self.options.drop_after_take
        deadline = asyncio.get_running_loop().time() + seconds
        self.held[message_id] = Held(offer=frame, deadline=deadline, after_reconnect=abort)
        self.emit({"type": "taken", "id": message_id}, abort_after=abort)
        self.record("taken", message_id)
        self._spawn_send(message_id)

    def on_drop(self, frame: Frame) -> None:
        message_id = frame.get("id")
        if not isinstance(message_id, str):
            return
        reason = str(frame.get("reason", ""))
        self.record("drop", message_id, reason)
        held = self.held.get(message_id)
        final = held.final if held is not None else self.finished.get(message_id)
        if final is not None:
            self.emit(dict(final))  # it started sending: the report wins
            return
        attempt = frame.get("attempt") if isinstance(frame.get("attempt"), int) else None
        if attempt is None and held is not None:
            attempt = held.offer.get("attempt")
        self._forget(message_id)
        self._release(message_id, detail=reason, attempt=attempt)

    def on_ussd(self, frame: Frame) -> None:
        """Dials the code: after a moment the (simulated) network answers with a balance. A
        request is never dialled twice (a repeat of its id is ignored): the server sends each once."""
        request_id, code = frame.get("id"), frame.get("code")
        if not isinstance(request_id, str) or not isinstance(code, str) or request_id in self._ussd_seen:
            return
        self._ussd_seen.add(request_id)
        self.record("ussd", request_id, code)
        sim, slots = frame.get("sim"), max(self.options.sims, 1)
        if sim is not None and not (isinstance(sim, int) and 0 <= sim < slots):
            answer = {"status": "error", "response": f"no SIM in slot {sim}"}
        else:
            answer = {"status": "done", "response": f"Balance for {code}: 100.00"}
        self._spawn(self._ussd_jobs, request_id, self._answer_ussd(request_id, answer))

    async def _answer_ussd(self, request_id: str, answer: Frame) -> None:
        await asyncio.sleep(self._draw_seconds(self.options.ussd_ms))
        self.emit({"type": "ussd_result", "id": request_id, **answer})

    def on_answer(self, report: Report, frame: Frame) -> None:
        """`ack` or `error` for `report`: either way it is done and leaves the outbox."""
        self.outbox.pop(report.key, None)
        kind, message_id = report.payload["type"], report.payload.get("id")
        if not isinstance(message_id, str):
            return
        if frame.get("type") == "error":
            code = str(frame.get("code"))
            self.record("rejected", message_id, f"{kind}: {code}")
            held = self.held.get(message_id)
            if code in ("not_leased", "unknown_message") and held is not None and held.final is None:
                self._forget(message_id)  # not this device's (any more): never send it
        if kind in ("sent", "failed"):
            if frame.get("type") == "ack":
                self.record("confirmed", message_id, kind)
            held = self.held.pop(message_id, None)
            self.finished[message_id] = held.final if held is not None and held.final else report.payload
            while len(self.finished) > FINISHED_KEPT:
                self.finished.popitem(last=False)
        self.ledger.notify()

    # Jobs: sending, and the delivery reports after it.

    def restart_jobs(self) -> None:
        for message_id, held in self.held.items():
            if held.final is None:
                self._spawn_send(message_id)
        for message_id in self.deliveries:
            self._spawn_delivery(message_id)

    def cancel_jobs(self) -> None:
        for job in [*self._send_jobs.values(), *self._delivery_jobs.values(), *self._ussd_jobs.values()]:
            job.cancel()
        self._send_jobs.clear()
        self._delivery_jobs.clear()

    def _forget(self, message_id: str) -> None:
        self.held.pop(message_id, None)
        job = self._send_jobs.pop(message_id, None)
        if job is not None and job is not asyncio.current_task():
            job.cancel()

    def _release(self, message_id: str, *, detail: str, attempt: object = None) -> None:
        # The attempt names the lease let go, so a late repeat cannot end a newer one.
        self.emit({"type": "dropped", "id": message_id, "attempt": attempt})
        self.record("dropped", message_id, detail)

    def _spawn(self, jobs: dict[str, asyncio.Task[None]], key: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        jobs[key] = task
        task.add_done_callback(lambda done: jobs.pop(key, None) if jobs.get(key) is done else None)

    def _spawn_send(self, message_id: str) -> None:
        if message_id not in self._send_jobs:
            self._spawn(self._send_jobs, message_id, self._send(message_id, self._next_welcome))

    def _spawn_delivery(self, message_id: str) -> None:
        if message_id not in self._delivery_jobs:
            self._spawn(self._delivery_jobs, message_id, self._report_delivery(message_id))

    def _draw_seconds(self, window_ms: tuple[int, int]) -> float:
        return self.random.uniform(*window_ms) / 1000

    async def _send(self, message_id: str, next_welcome: asyncio.Event) -> None:
        held = self.held[message_id]
        if held.after_reconnect:
            await next_welcome.wait()
            held.after_reconnect = False
        await asyncio.sleep(self._draw_seconds(self.options.send_ms))
        if self.held.get(message_id) is not held or held.final is not None:
            return
        if asyncio.get_running_loop().time() > held.deadline:
            self._forget(message_id)  # rule 2: never start sending after the lease
            self._release(message_id, detail="lease passed before sending", attempt=held.offer.get("attempt"))
            return
        # From here to the report nothing awaits: a `drop` sees either "not started" or the report.
        held.final = self._outcome(message_id, held.offer)
        if held.final["type"] == "failed":
            self.record("failed", message_id, held.final["reason"])
            self.emit(held.final)
            return
        parts: int = held.final["parts"]
        self.record("sent", message_id, f"{parts} part(s)")
        self.emit(held.final)
        self.deliveries[message_id] = [parts, 0]
        self._spawn_delivery(message_id)

    def _outcome(self, message_id: str, offer: Frame) -> Frame:
        sim, slots = offer.get("sim"), max(self.options.sims, 1)
        if sim is not None and not (isinstance(sim, int) and 0 <= sim < slots):
            return {"type": "failed", "id": message_id, "reason": f"no SIM in slot {sim}"}
        if self.random.random() < self.options.fail_rate:
            return {"type": "failed", "id": message_id, "reason": self.random.choice(FAIL_REASONS)}
        parts = offer.get("parts")
        if self.options.parts_from_length or not (isinstance(parts, int) and parts > 0):
            parts = count_parts(str(offer.get("message", "")))
        return {"type": "sent", "id": message_id, "parts": parts}

    async def _report_delivery(self, message_id: str) -> None:
        while (state := self.deliveries.get(message_id)) is not None:
            parts, part = state
            if part >= parts:
                del self.deliveries[message_id]
                return
            await asyncio.sleep(self._draw_seconds(self.options.delivery_delay_ms))
            delivered = self.random.random() >= self.options.undelivered_rate
            self.emit(
                {"type": "delivery", "id": message_id, "part": part, "parts": parts, "delivered": delivered}
            )
            state[1] = part + 1
            self.record("delivered" if delivered else "undelivered", message_id, f"part {part + 1}/{parts}")
