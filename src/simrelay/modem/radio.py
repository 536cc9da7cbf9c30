"""`ModemRadio`: a modem as a device's radio, on the shared lease bookkeeping (`LeaseBook`): SMS
sent part by part with AT+CMGS, status reports turned into `delivery` reports, incoming SMS (see
`inbox`), USSD. Everything a restart must see is written to the state file before it matters:
the offer before `taken`, the started mark before the first AT+CMGS, each report until its ack.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from simrelay import __version__
from simrelay.agent._lease import SIM_FAILING, Frame, Held, LeaseBook, Report
from simrelay.agent._ledger import Ledger
from simrelay.modem.at import AtTimeout, PortGone
from simrelay.modem.commands import Modem
from simrelay.modem.dialer import Dialer
from simrelay.modem.inbox import Inbox
from simrelay.modem.pdu import ReportStatus, StatusReport, SubmitPart, encode_submit
from simrelay.modem.readings import Identity, SmsMode
from simrelay.modem.reasons import MAY_HAVE_BEEN_SENT, PORT_LOST_WHILE_SENDING, send_failure
from simrelay.modem.results import AtError
from simrelay.modem.state import ModemState, Part, StateFile
from simrelay.modem.text import TextPart, encode_text_submit

log = structlog.get_logger(__name__)

APP_VERSION = f"simrelay-modem/{__version__}"
EARLY_REPORT_SECONDS = 10.0
"""A status report whose reference is not known yet waits this long for its AT+CMGS answer."""


@dataclass(frozen=True, kw_only=True)
class RadioOptions:
    failing_after: int = 5
    """Send errors in a row after which the SIM counts as failing and new offers are let go."""
    failing_rest: float = 300.0
    """Seconds a failing SIM takes no offers before the next one is tried on it."""


def signal_bars(rssi: int | None) -> int:
    """AT+CSQ's <rssi> (0-31, 99 unknown) as the protocol's 0-4 bars (-1 unknown)."""
    if rssi is None or not 0 <= rssi <= 31:
        return -1
    return 0 if rssi < 2 else 1 if rssi < 10 else 2 if rssi < 15 else 3 if rssi < 20 else 4


def international(number: str) -> str:
    """The offer's digits as an address: 8 digits or more are international ("+" first); fewer
    are a short code, sent as it is."""
    digits = number.lstrip("+")
    return f"+{digits}" if len(digits) >= 8 else digits


class ModemRadio(LeaseBook):
    """One modem's device storage and work. The host sets `modem` and `ready` while the modem
    answers and calls `trouble` handlers through `on_trouble` when it stops."""

    def __init__(
        self,
        *,
        state: ModemState,
        store: StateFile,
        identity: Identity,
        options: RadioOptions | None = None,
        ledger: Ledger | None = None,
        on_trouble: Callable[[BaseException], None] = lambda error: None,
    ) -> None:
        super().__init__(device_id=state.device_id, ledger=ledger)
        self.state = state
        self.store = store
        self.identity = identity
        self.options = options or RadioOptions()
        self.on_trouble = on_trouble
        self.modem: Modem | None = None
        self.ready = asyncio.Event()
        self.operator: str | None = None
        self.signal = -1
        self.send_errors = 0
        self.failing_until = 0.0
        self._recovery: asyncio.TimerHandle | None = None
        self.inbox = Inbox(imei=identity.imei, emit=self.emit, record=self.record)
        self.dialer = Dialer(self)
        self._send_lock = asyncio.Lock()
        self._early: dict[int, tuple[float, StatusReport]] = {}
        self._delete_jobs: set[asyncio.Task[None]] = set()
        self._load()

    # The modem coming and going.

    def attach(self, modem: Modem) -> None:
        self.modem = modem
        self.ready.set()

    def detach(self) -> None:
        self.ready.clear()
        self.modem = None

    def lost(self, error: BaseException) -> None:
        """A command timed out or the port vanished: nothing is sent until the host recovers."""
        if self.ready.is_set():
            self.detach()
            self.on_trouble(error)

    @property
    def failing(self) -> bool:
        return time.monotonic() < self.failing_until

    # What the link says.

    def hello(self) -> Frame:
        return {
            "app_version": APP_VERSION,
            "model": self.identity.model or "GSM modem",
            **self.vitals(),
            "held": self.held_ids(),
            "features": ["ussd"],
        }

    def vitals(self) -> Frame:
        name, failing = self.operator or "SIM", self.failing
        if failing:
            name = f"{name} (failing)"  # the server keeps only names: the panel shows it so
        sims = [{"slot": 0, "name": name, "failing": failing}]
        return {"signal": self.signal if self.modem is not None else -1, "sims": sims}

    # Storage: the state file.

    def _load(self) -> None:
        now, loop_now = time.time(), asyncio.get_running_loop().time()
        for payload in self.state.outbox:
            report = Report(key=next(self._keys), payload=payload)
            self.outbox[report.key] = report
        for message_id, entry in self.state.held.items():
            held = Held(
                offer=entry["offer"],
                deadline=loop_now + float(entry.get("lease_until", now)) - now,
                final=entry.get("final"),
                started=bool(entry.get("started")),
            )
            self.held[message_id] = held
            if held.started and held.final is None:
                # Rule 2: it died between handing the SMS to the modem and writing the outcome. It
                # may have gone out: `sent` (a possible duplicate beats a silent loss).
                parts = sum(1 for part in self.state.references.values() if part.message_id == message_id)
                held.final = {"type": "sent", "id": message_id, "parts": parts or 1}
                self.emit(held.final)
                self.record("sent", message_id, "after a restart mid-send")

    def _save(self) -> None:
        now, loop_now = time.time(), asyncio.get_running_loop().time()
        self.state.held = {
            message_id: {
                "offer": held.offer,
                "started": held.started,
                "final": held.final,
                "lease_until": now + held.deadline - loop_now,
            }
            for message_id, held in self.held.items()
        }
        self.state.outbox = [report.payload for report in self.outbox.values() if report.keep]
        self.store.save()

    # Offers and sending.

    def _refusal(self, frame: Frame) -> str | None:
        if self.failing:
            return f"SIM failing ({self.send_errors} send errors in a row)"
        return None

    async def _send(self, message_id: str, next_welcome: asyncio.Event) -> None:
        held = self.held[message_id]
        loop = asyncio.get_running_loop()
        while self.held.get(message_id) is held and held.final is None:
            if not self.ready.is_set():
                # Down (reset, re-enumeration): wait for it while the lease lasts.
                try:
                    async with asyncio.timeout(max(0.0, held.deadline - loop.time())):
                        await self.ready.wait()
                except TimeoutError:
                    self._release_if_late(message_id, held)
                    return
                continue
            async with self._send_lock:
                modem = self.modem
                if self.held.get(message_id) is not held or held.final is not None:
                    return
                if modem is None or self._release_if_late(message_id, held):
                    continue
                if self.failing:
                    # Taken before the SIM was found failing, and not started: a healthy SIM
                    # sends it instead, at no cost of an attempt.
                    self._forget(message_id)
                    attempt = held.offer.get("attempt")
                    self._release(message_id, detail="SIM failing", attempt=attempt, reason=SIM_FAILING)
                    return
                # A hang found now costs nothing: the SMS waits for the reset, not started.
                try:
                    await modem.channel.command("AT", timeout=modem.timeouts.command)
                except (AtTimeout, PortGone) as error:
                    self.lost(error)
                    continue
                except AtError:
                    pass
                if self._release_if_late(message_id, held):
                    return
                await self._transmit(message_id, held, modem)
                return

    async def _transmit(self, message_id: str, held: Held, modem: Modem) -> None:
        offer = held.offer
        if offer.get("sim") not in (None, 0):
            self._finish(message_id, held, failed=f"no SIM in slot {offer.get('sim')}")
            return
        try:
            parts = self._encode(modem, offer)
        except ValueError as error:
            self._finish(message_id, held, failed=f"cannot encode the SMS: {error}")
            return
        held.started = True
        self._save()  # rule 1: "sending" is on disk before the modem has the SMS
        for number, part in enumerate(parts):
            try:
                if isinstance(part, TextPart):
                    reference = await modem.send_text(part)
                else:
                    reference = await modem.send_pdu(part.hex, part.length)
            except AtError as error:
                self._finish(
                    message_id, held, failed=send_failure(error, sent_parts=number, parts=len(parts))
                )
                self._count_send_error()
                return
            except (AtTimeout, PortGone) as error:
                reason = MAY_HAVE_BEEN_SENT if isinstance(error, AtTimeout) else PORT_LOST_WHILE_SENDING
                if number:
                    reason += f" (after {number} of {len(parts)} parts went out)"
                self._finish(message_id, held, failed=reason)
                self.lost(error)
                return
            self._remember(reference, Part(message_id, part.seq - 1, len(parts), time.time()))
        self.send_errors = 0
        self._finish(message_id, held, sent=len(parts))

    def _encode(self, modem: Modem, offer: Frame) -> Sequence[SubmitPart | TextPart]:
        """The offer's parts as the modem takes them. In text mode each part is an SMS of its own
        (no concatenation header), split where the server counts parts; ValueError if it cannot be."""
        number = international(str(offer.get("phone_number", "")))
        text = str(offer.get("message", ""))
        if modem.mode is SmsMode.TEXT:
            return encode_text_submit(number, text)
        return encode_submit(number, text, reference=self._next_reference())

    def _finish(self, message_id: str, held: Held, *, sent: int = 0, failed: str = "") -> None:
        held.started = True
        if failed:
            held.final = {"type": "failed", "id": message_id, "reason": failed[:200]}
            refs = self.state.references
            for key in [mr for mr, part in refs.items() if part.message_id == message_id]:
                del refs[key]  # a failed SMS's parts get no delivery reports
            self.record("failed", message_id, failed)
        else:
            held.final = {"type": "sent", "id": message_id, "parts": sent}
            self.record("sent", message_id, f"{sent} part(s)")
        self.emit(held.final)

    def _count_send_error(self) -> None:
        self.send_errors += 1
        if self.send_errors >= self.options.failing_after and not self.failing:
            self.failing_until = time.monotonic() + self.options.failing_rest
            log.warning("modem_sim_failing", imei=self.identity.imei, errors=self.send_errors)
            self.record("sim_failing", detail=f"{self.send_errors} send errors in a row")
            # Told at once, the server offers this SIM nothing more; the offers already on their
            # way are declined ("sim_failing"), which costs them no attempt.
            self.emit({"type": "heartbeat", **self.vitals()}, keep=False)
            loop = asyncio.get_running_loop()
            self._recovery = loop.call_later(self.options.failing_rest, self._rested)

    def _rested(self) -> None:
        """The rest is over: the server may offer this SIM work again (the next send error
        marks it failing again at once)."""
        self._recovery = None
        self.failing_until = min(self.failing_until, time.monotonic())  # a timer may fire a hair early
        log.info("modem_sim_rested", imei=self.identity.imei)
        self.record("sim_rested")
        self.emit({"type": "heartbeat", **self.vitals()}, keep=False)

    def _next_reference(self) -> int:
        reference = self.state.next_reference
        self.state.next_reference = (reference + 1) % 256
        return reference

    # Status reports.

    def _remember(self, reference: int, part: Part) -> None:
        self.state.references[str(reference)] = part
        self._save()
        early = self._early.pop(reference, None)
        if early is not None and time.monotonic() - early[0] < EARLY_REPORT_SECONDS:
            self.on_status_report(early[1])

    def on_status_report(self, report: StatusReport) -> None:
        """A part's final status report becomes a `delivery` report; pending ones are ignored."""
        part = self.state.references.get(str(report.reference))
        if part is None:
            # Its AT+CMGS answer may still be on its way; anything older is someone else's.
            self._early[report.reference] = (time.monotonic(), report)
            return
        if report.status is ReportStatus.PENDING:
            return
        del self.state.references[str(report.reference)]
        delivered = report.status is ReportStatus.DELIVERED
        self.emit(
            {
                "type": "delivery",
                "id": part.message_id,
                "part": part.part,
                "parts": part.parts,
                "delivered": delivered,
            }
        )
        kind = "delivered" if delivered else "undelivered"
        self.record(kind, part.message_id, f"part {part.part + 1}/{part.parts} (TP-ST {report.status_code})")

    # USSD and acknowledgements.

    def on_ussd(self, frame: Frame) -> None:
        self.dialer.dial(frame)

    def _answered(self, report: Report, frame: Frame) -> None:
        copies = self.inbox.acknowledged(report)
        if not copies:
            return
        if frame.get("type") == "error":
            log.warning("modem_sms_refused", imei=self.identity.imei, code=frame.get("code"))
        task = asyncio.create_task(self._delete(copies))
        self._delete_jobs.add(task)
        task.add_done_callback(self._delete_jobs.discard)

    async def _delete(self, copies: list[tuple[int, str]]) -> None:
        modem = self.modem
        if modem is None:
            return  # read and reported again after the reset, then deleted
        try:
            await self.inbox.delete(modem, copies)
        except (AtTimeout, PortGone) as error:
            self.lost(error)
        except AtError as error:
            log.warning("modem_delete_failed", imei=self.identity.imei, error=str(error))

    def cancel_jobs(self) -> None:
        super().cancel_jobs()
        if self._recovery is not None:
            self._recovery.cancel()
            self._recovery = None
        self.dialer.cancel()
        for task in list(self._delete_jobs):
            task.cancel()
