"""`LeaseBook`: what every device keeps and how it answers the server about SMS (the lease rule of
docs/device-protocol.md, 2.2-2.4), whatever its radio: held offers, finished ids answered with
their report, the outbox of unacknowledged reports, drops. Subclasses add the radio (`_send`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from simrelay.agent._ledger import Ledger

Frame = dict[str, Any]

SIM_FAILING = "sim_failing"  # the `dropped` reason of an offer declined for a failing SIM
FINISHED_KEPT = 10_000  # finished messages remembered, to answer a late offer or drop with the report


@dataclass(eq=False)
class Held:
    offer: Frame
    deadline: float  # event-loop time after which sending must not start (the lease)
    final: Frame | None = None  # the `sent`/`failed` report, once the radio knows the outcome
    started: bool = False  # the radio may have begun sending: a drop must wait for `final`
    after_reconnect: bool = False  # drop_after_take: send only once the next connection is up


@dataclass(eq=False)
class Report:
    key: int
    payload: Frame  # the frame without `seq`
    keep: bool = True  # kept until acknowledged and re-sent after reconnects (heartbeats are not)
    abort_after: bool = False  # drop_after_take: kill the connection right after writing it


class LeaseBook:
    """A device's storage and its answers to `offer`, `drop`, `ack` and `error`. `_send` (the
    radio) is the subclass's; `_save` is called after every change a restart must see."""

    def __init__(self, *, device_id: str, ledger: Ledger | None = None) -> None:
        self.device_id = device_id
        self.ledger = ledger
        self.lease_seconds = 60.0  # used when an offer has no lease_seconds; `welcome` updates it
        self.link: asyncio.Queue[Report] | None = None  # the writer of the live connection, after welcome
        # Storage.
        self.held: dict[str, Held] = {}
        self.finished: OrderedDict[str, Frame] = OrderedDict()
        self.outbox: dict[int, Report] = {}
        # Work in progress.
        self._keys = itertools.count()
        self._send_jobs: dict[str, asyncio.Task[None]] = {}
        self._next_welcome = asyncio.Event()

    def record(self, kind: str, message_id: str = "", detail: str = "") -> None:
        if self.ledger is not None:
            self.ledger.record(kind, device_id=self.device_id, message_id=message_id, detail=detail)

    def emit(self, payload: Frame, *, keep: bool = True, abort_after: bool = False) -> Report:
        """Stores a report until acknowledged (rule 1) and sends it if the connection is up."""
        report = Report(key=next(self._keys), payload=payload, keep=keep, abort_after=abort_after)
        if keep:
            self.outbox[report.key] = report
            self._save()
        if self.link is not None:
            self.link.put_nowait(report)
        return report

    def connect(self, link: asyncio.Queue[Report]) -> None:
        """The connection got `welcome`: queue every unacknowledged report, oldest first."""
        self.link = link
        for report in self.outbox.values():
            link.put_nowait(report)
        self._next_welcome.set()
        self._next_welcome = asyncio.Event()

    def held_ids(self) -> list[str]:
        """For `hello`: ids whose `dropped` is not yet acknowledged are not held (the device let them go)."""
        return list(self.held)

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
        refusal = self._refusal(frame)
        if refusal is not None:
            self._release(message_id, detail=refusal, attempt=frame.get("attempt"), reason=SIM_FAILING)
            return
        lease = frame.get("lease_seconds")
        seconds = float(lease) if isinstance(lease, int | float) and lease > 0 else self.lease_seconds
        abort = self._abort_after_take()
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
        if held is not None and held.started:
            # The radio is sending it (or may have: a modem that stopped answering mid-send). Its
            # `sent` or `failed` follows and answers this drop; `dropped` would be a lie.
            self.record("drop_deferred", message_id, reason)
            return
        attempt = frame.get("attempt") if isinstance(frame.get("attempt"), int) else None
        if attempt is None and held is not None:
            attempt = held.offer.get("attempt")
        self._forget(message_id)
        self._release(message_id, detail=reason, attempt=attempt)

    def on_ussd(self, frame: Frame) -> None:
        """A device without USSD ignores the frame."""

    def on_answer(self, report: Report, frame: Frame) -> None:
        """`ack` or `error` for `report`: either way it is done and leaves the outbox."""
        self.outbox.pop(report.key, None)
        kind, message_id = report.payload["type"], report.payload.get("id")
        if isinstance(message_id, str):
            if frame.get("type") == "error":
                code = str(frame.get("code"))
                self.record("rejected", message_id, f"{kind}: {code}")
                held = self.held.get(message_id)
                not_ours = code in ("not_leased", "unknown_message")
                if not_ours and held is not None and held.final is None and not held.started:
                    self._forget(message_id)  # not this device's (any more): never send it
            if kind in ("sent", "failed"):
                if frame.get("type") == "ack":
                    self.record("confirmed", message_id, kind)
                held = self.held.pop(message_id, None)
                self.finished[message_id] = held.final if held is not None and held.final else report.payload
                while len(self.finished) > FINISHED_KEPT:
                    self.finished.popitem(last=False)
        self._answered(report, frame)
        self._save()
        if self.ledger is not None:
            self.ledger.notify()

    # Jobs.

    def restart_jobs(self) -> None:
        for message_id, held in self.held.items():
            if held.final is None:
                self._spawn_send(message_id)

    def cancel_jobs(self) -> None:
        for job in self._send_jobs.values():
            job.cancel()
        self._send_jobs.clear()

    def _forget(self, message_id: str) -> None:
        self.held.pop(message_id, None)
        self._save()
        job = self._send_jobs.pop(message_id, None)
        if job is not None and job is not asyncio.current_task():
            job.cancel()

    def _release(self, message_id: str, *, detail: str, attempt: object = None, reason: str = "") -> None:
        # The attempt names the lease let go, so a late repeat cannot end a newer one.
        frame: Frame = {"type": "dropped", "id": message_id, "attempt": attempt}
        if reason:
            frame["reason"] = reason
        self.emit(frame)
        self.record("dropped", message_id, detail)

    def _release_if_late(self, message_id: str, held: Held) -> bool:
        """Rule 2, never start sending after the lease: past it, answers `dropped` and says True."""
        if asyncio.get_running_loop().time() <= held.deadline:
            return False
        self._forget(message_id)
        self._release(message_id, detail="lease passed before sending", attempt=held.offer.get("attempt"))
        return True

    def _spawn(self, jobs: dict[str, asyncio.Task[None]], key: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        jobs[key] = task
        task.add_done_callback(lambda done: jobs.pop(key, None) if jobs.get(key) is done else None)

    def _spawn_send(self, message_id: str) -> None:
        if message_id not in self._send_jobs:
            self._spawn(self._send_jobs, message_id, self._send(message_id, self._next_welcome))

    # What a radio fills in.

    async def _send(self, message_id: str, next_welcome: asyncio.Event) -> None:
        raise NotImplementedError

    def _refusal(self, frame: Frame) -> str | None:
        """Why to decline a new offer at once, unstarted, because its SIM is failing: the `dropped`
        says "sim_failing", and the server spends no attempt on it (the radio's heartbeat has
        marked the SIM failing, so the server offers it nothing more)."""
        return None

    def _abort_after_take(self) -> bool:
        return False

    def _answered(self, report: Report, frame: Frame) -> None:
        """Called once a report is acknowledged (or refused), after the bookkeeping."""

    def _save(self) -> None:
        """Persists the storage; the simulator keeps it in memory only."""
