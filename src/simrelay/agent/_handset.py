"""`Handset`: a simulated phone's radio on top of the shared lease bookkeeping (`LeaseBook`): a
random outcome per send, delivery reports after it, USSD answers. Its state plays the app's
persistent storage: it survives disconnects and restarts, as the protocol's rules require.
"""

from __future__ import annotations

import asyncio
import random

from simrelay.agent._lease import Frame, Held, LeaseBook, Report
from simrelay.agent._ledger import Ledger
from simrelay.agent._options import SimulatorOptions, count_parts

__all__ = ["APP_VERSION", "DEFAULT_MODEL", "FAIL_REASONS", "Frame", "Handset", "Held", "Report"]

FAIL_REASONS = ("no service", "radio off", "generic failure", "null PDU")
LIMIT_EXCEEDED = (
    "Send result: RESULT_ERROR_LIMIT_EXCEEDED (Failed because we reached the sending queue limit)"
)
"""What the SMSGate app reports for Android's refusal (v1.68.0, MessagesService.kt
resultToErrorMessage): the simulator's carrier refusal reads the same."""
APP_VERSION = "simrelay-simulator/1"
DEFAULT_MODEL = "simrelay simulator"


class Handset(LeaseBook):
    def __init__(
        self, *, device_id: str, options: SimulatorOptions, ledger: Ledger, model: str = DEFAULT_MODEL
    ) -> None:
        super().__init__(device_id=device_id, ledger=ledger)
        self.options = options
        self.ledger: Ledger = ledger
        self.model = model
        seed = options.seed
        self.random = random.Random(None if seed is None else f"{seed}:{device_id}")
        self.battery = self.random.randint(40, 100)
        self.deliveries: dict[str, list[int]] = {}  # message id -> [parts, next part to report]
        self._delivery_jobs: dict[str, asyncio.Task[None]] = {}
        self._ussd_jobs: dict[str, asyncio.Task[None]] = {}
        self._ussd_seen: set[str] = set()
        self.sends_by_sim: dict[int | None, int] = {}
        """Sends each SIM made (refusals not counted): `refuse_after` compares with it."""

    def hello(self) -> Frame:
        return {
            "app_version": APP_VERSION,
            "model": self.model,
            **self._status(),
            "held": self.held_ids(),
            "features": ["ussd"] if self.options.ussd else [],
        }

    def vitals(self) -> Frame:
        self.battery = max(1, min(100, self.battery + self.random.choice((-1, 0, 0, 1))))
        return self._status()

    def _status(self) -> Frame:
        sims = [{"slot": slot, "name": f"SIM{slot + 1}"} for slot in range(self.options.sims)]
        return {"battery": self.battery, "charging": self.battery < 50, "signal": 3, "sims": sims}

    def _abort_after_take(self) -> bool:
        return self.random.random() < self.options.drop_after_take

    def on_ussd(self, frame: Frame) -> None:
        """Dials the code: after a moment the (simulated) network answers with a balance. A
        request is never dialled twice (a repeat of its id is ignored): the server sends each once."""
        request_id, code = frame.get("id"), frame.get("code")
        if not self.options.ussd:
            return
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

    # Jobs: sending, and the delivery reports after it.

    def restart_jobs(self) -> None:
        super().restart_jobs()
        for message_id in self.deliveries:
            self._spawn_delivery(message_id)

    def cancel_jobs(self) -> None:
        jobs = [*self._send_jobs.values(), *self._delivery_jobs.values(), *self._ussd_jobs.values()]
        super().cancel_jobs()
        for job in jobs:
            job.cancel()
        self._delivery_jobs.clear()

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
        if self._release_if_late(message_id, held):
            return
        # From here to the report nothing awaits: a `drop` sees either "not started" or the report.
        held.started = True
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
        refuse_after = self.options.refuse_after
        if refuse_after and self.sends_by_sim.get(sim, 0) >= refuse_after:
            return {"type": "failed", "id": message_id, "reason": LIMIT_EXCEEDED}
        if self.random.random() < self.options.fail_rate:
            return {"type": "failed", "id": message_id, "reason": self.random.choice(FAIL_REASONS)}
        self.sends_by_sim[sim] = self.sends_by_sim.get(sim, 0) + 1
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
