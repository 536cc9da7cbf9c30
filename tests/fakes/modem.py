"""`FakeModem`: a GSM modem of one family (`quirks.PROFILES`) behind a pty, for the AT driver's tests.

It reads commands (CR ends one), echoes while ATE1, answers in V.25ter framing, takes AT+CMGS
PDUs after a `> ` prompt (texts in text mode, `modem_text.py`), keeps SMS in SIM memory, and
plays the network: message references, status reports, incoming SMS, USSD. Tests steer it: `hang`,
`fail_sends`, `vanish`/`reappear`, `interleave` (URCs inside the next answer), `emit` (URCs now),
`receive_sms`, `power_cycle`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from tests.fakes.modem_identity import IdentityCommands, _Fail
from tests.fakes.modem_sms import Air, Memories, StatusOf, Submission
from tests.fakes.modem_text import TextModeCommands
from tests.fakes.pty_link import PtyLink
from tests.fakes.quirks import (
    BootBanner,
    EchoOnBoot,
    HuaweiCurcReports,
    HuaweiPackedUssd,
    Profile,
    QuectelStoredStatusReports,
    TextModeOnly,
)
from tests.fakes.sms_pdus import encode_deliver, encode_status_report, pack_ussd, read_submit, unpack_ussd

_VERBOSE = {3: "operation not allowed", 4: "operation not supported", 16: "incorrect password",
            303: "operation not supported", 304: "invalid PDU mode parameter",
            305: "invalid text mode parameter", 321: "invalid memory index", 322: "memory full",
            500: "unknown error",
            38: "network out of order", 42: "congestion"}  # fmt: skip
_EXTENDED = re.compile(r"^([+^][A-Z]+)(=\?|\?|=)?(.*)$", re.IGNORECASE)


class FakeModem(TextModeCommands, IdentityCommands):
    """One fake modem. `async with FakeModem(SIM800) as fake:` opens its pty (`fake.path`)."""

    def __init__(
        self,
        profile: Profile,
        *,
        pin: str | None = None,
        imei: str = "867856030123456",
        imsi: str = "262011234567890",
        iccid: str = "89490200001234567890",
        operator: str = "Telekom.de",
        rssi: int = 20,
    ) -> None:
        self.profile = profile
        self.pin, self.imei, self.imsi, self.iccid = pin, imei, imsi, iccid
        self.operator, self.rssi = operator, rssi
        self.link = PtyLink(self._on_data)
        self.memories = Memories(profile.storage_total)
        self.air = Air()
        self.commands: list[str] = []  # every command line received, for tests to inspect
        self.delivery: bool | None = True  # status report outcome for SRR submissions; None: none
        self.report_delay = 0.02
        self.send_failure: int | None = None
        self.hung = False
        self.ussd_answers: dict[str, tuple[int, str | None]] = {"*100#": (0, "Balance: 5.00 EUR")}
        self.ussd_delay = 0.02
        self.ussd_silent = False
        self._timers: list[asyncio.TimerHandle] = []
        self._interleave: list[tuple[int, tuple[str, ...]]] = []
        self._answers = 0
        self._input = b""
        self._prompt_length: int | None = None  # set while collecting an AT+CMGS PDU
        self._reboot_state()

    # -- steering ------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeModem:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.vanish()

    def start(self) -> str:
        return self.link.open()

    @property
    def path(self) -> str:
        return self.link.path

    @property
    def submissions(self) -> list[Submission]:
        return self.air.submissions

    def boot(self) -> None:
        """Sends the family's power-on lines (RDY, SMS Ready, ^BOOT...) now."""
        banner = self.profile.get(BootBanner)
        if banner:
            self._lines(*banner.lines)

    def hang(self, seconds: float | None = None) -> None:
        """Stops answering anything (and sending URCs) until `power_cycle` or `reappear`, or for
        `seconds` (a firmware that recovers by itself; what it was sent meanwhile is lost)."""
        self.hung = True
        if seconds is not None:
            self._later(seconds, self._wake)

    def _wake(self) -> None:
        self.hung = False

    def power_cycle(self) -> None:
        """What a host's USB power switch does: the firmware restarts, the SIM keeps its SMS."""
        self._cancel_timers()
        self._reboot_state()
        self._later(0.01, self.boot)

    def vanish(self) -> None:
        """The USB device disappears: the pty closes and the driver's reads fail."""
        self._cancel_timers()
        self.link.close()

    def reappear(self) -> str:
        """Comes back after a re-enumeration, under a new path, freshly booted."""
        self.vanish()
        self._reboot_state()
        path = self.link.open()
        self._later(0.01, self.boot)
        return path

    def fail_sends(self, code: int | None) -> None:
        """Answers every AT+CMGS with `+CMS ERROR: <code>` (None: send again)."""
        self.send_failure = code

    def interleave(self, *lines: str, after: int = 0) -> None:
        """Puts URC `lines` into the next answer after its `after`th line (0: right after the echo)."""
        self._interleave.append((after, lines))

    def emit(self, *lines: str) -> None:
        """Sends URC lines now, each framed as the family frames lines."""
        self._lines(*lines)

    def receive_sms(self, sender: str, *parts: str) -> list[int]:
        """An SMS from the network; several `parts` make one concatenated message. Stored with
        +CMTI per part (CNMI mt=1), or routed as two-line +CMT (mt=2). Returns the indexes. In
        text mode each part comes as an SMS of its own (`receive_text`)."""
        if self.cmgf == 1:
            stored = [self.receive_text(sender, text) for text in parts]
            return [index for index in stored if index is not None]
        indexes = []
        for number, text in enumerate(parts, start=1):
            concat = (0x42, len(parts), number) if len(parts) > 1 else None
            pdu = encode_deliver(sender, text, concat=concat)
            if self.cnmi_mt == 2:
                self._lines(f"+CMT: ,{pdu.tpdu_length}", pdu.hex)
                continue
            index = self.memories.store("SM", pdu)
            indexes.append(index)
            if self.cnmi_mt == 1:
                self._lines(f'+CMTI: "SM",{index}')
        return indexes

    def report(self, submission: Submission, *, delivered: bool) -> None:
        """The network's status report for `submission`, routed as +CNMI <ds> says."""
        if self.cmgf == 1:
            self.report_text(submission, delivered=delivered)
            return
        pdu = encode_status_report(submission.reference, submission.recipient, 0x00 if delivered else 0x41)
        if self.cnmi_ds == 1:
            self._lines(f"+CDS: {pdu.tpdu_length}", pdu.hex)
        elif self.cnmi_ds == 2:
            index = self.memories.store("SR", pdu)
            self._lines(f'+CDSI: "SR",{index}')

    # -- the wire ------------------------------------------------------------------------------

    def _reboot_state(self) -> None:
        self.hung = False
        self.echo = self.profile.has(EchoOnBoot)
        self.cmee = 0
        self.cmgf = 0
        self.cnmi_mt, self.cnmi_ds = 0, 0
        self.unlocked = self.pin is None
        self.read_memory = "SM"
        self.cops_format = 0
        self._reset_text_mode()
        self._input = b""
        self._prompt_length = None

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(delay, action))

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _send(self, text: str) -> None:
        if not self.hung:
            self.link.send(text.encode("latin-1"))

    def _lines(self, *lines: str) -> None:
        eol = self.profile.eol
        self._send("".join(f"{eol}{line}{eol}" for line in lines))

    def _on_data(self, data: bytes) -> None:
        if self.hung:
            return
        if self.echo:
            self._send(data.decode("latin-1"))
        self._input += data
        while self._input:
            if self._prompt_length is not None or self._text_address is not None:
                if not self._take_pdu():
                    return
                continue
            ends = [at for at in (self._input.find(b"\r"), self._input.find(b"\n")) if at >= 0]
            if not ends:
                return
            line, self._input = self._input[: min(ends)], self._input[min(ends) + 1 :]
            text = line.decode("latin-1").strip()
            if text:
                self.commands.append(text)
                self._command(text)

    def _take_pdu(self) -> bool:
        """Consumes a PDU up to Ctrl-Z (send) or ESC (abandon); False while it is incomplete."""
        for at, byte in enumerate(self._input):
            if byte in (0x1A, 0x1B):
                raw = self._input[:at].decode("latin-1")
                pdu = raw.strip()
                self._input = self._input[at + 1 :]
                length, self._prompt_length = self._prompt_length, None
                if byte == 0x1B:
                    self._text_address = None
                    self._answer(["OK"])
                elif self._text_address is not None:
                    self._submit_text(raw)  # a text's own spaces count
                else:
                    assert length is not None
                    self._submit(pdu, length)
                return True
        return False

    def _answer(self, lines: list[str]) -> None:
        """Frames an answer (information lines, then the final code), with interleaved URCs."""
        self._answers += 1
        curc = self.profile.get(HuaweiCurcReports)
        if curc and self._answers % curc.every == 0:
            lines = ["^RSSI:20", *lines[:-1], "^MODE:5,4", lines[-1]]
            if len(lines) > 4:
                lines.insert(len(lines) // 2, "^BOOT:20952309,0,0,0,75")
        if self._interleave:
            after, urcs = self._interleave.pop(0)
            position = min(after, len(lines) - 1)
            lines = lines[:position] + list(urcs) + lines[position:]
        self._lines(*lines)

    def _error(self, code: int, kind: str = "+CMS ERROR") -> str:
        if self.cmee == 0:
            return "ERROR"
        return f"{kind}: {code if self.cmee == 1 else _VERBOSE.get(code, 'unknown')}"

    # -- commands ------------------------------------------------------------------------------

    def _command(self, line: str) -> None:
        if line[:2].upper() != "AT":
            self._answer(["ERROR"])
            return
        body = line[2:]
        try:
            lines = self._basic(body.upper()) if not body or body[0] not in "+^" else self._extended(body)
        except _Fail as fail:
            lines = [self._error(fail.code, fail.kind)]
        if lines is not None:
            self._answer(lines)

    def _basic(self, body: str) -> list[str]:
        if body == "":
            return ["OK"]
        if body in ("E0", "E1"):
            self.echo = body == "E1"
            return ["OK"]
        if body == "I":
            return [self.profile.manufacturer, self.profile.model, "Revision: FAKE01", "OK"]
        return self._unknown()

    def _extended(self, body: str) -> list[str] | None:
        match = _EXTENDED.match(body)
        if not match:
            return self._unknown()
        name, mode, args = match.group(1).upper(), match.group(2) or "", match.group(3)
        # Huawei's own commands (AT^ICCID?) get their own handlers: AT+ICCID stays unknown.
        handler = getattr(self, "_at_" + ("hw_" if name[0] == "^" else "") + name[1:].lower(), None)
        if handler is None:
            return self._unknown()
        result: list[str] | None = handler(mode, args)
        return result

    def _at_cmee(self, mode: str, args: str) -> list[str]:
        if mode == "?":
            return [f"+CMEE: {self.cmee}", "OK"]
        self.cmee = int(args or 0)
        return ["OK"]

    def _at_cpin(self, mode: str, args: str) -> list[str]:
        if mode == "?":
            return [f"+CPIN: {'READY' if self.unlocked else 'SIM PIN'}", "OK"]
        if args.strip('"') != self.pin:
            raise _Fail(16, "+CME ERROR")
        self.unlocked = True
        self._later(0.01, lambda: self.emit("+CPIN: READY"))
        return ["OK"]

    def _at_cmgf(self, mode: str, args: str) -> list[str]:
        text_only = self.profile.has(TextModeOnly)
        if mode == "=?":
            return ["+CMGF: (1)" if text_only else "+CMGF: (0,1)", "OK"]
        if mode == "?":
            return [f"+CMGF: {self.cmgf}", "OK"]
        if text_only and int(args) == 0:
            raise _Fail(303)
        self.cmgf = int(args)
        return ["OK"]

    def _at_cnmi(self, mode: str, args: str) -> list[str]:
        if mode == "?":
            return [f"+CNMI: 2,{self.cnmi_mt},0,{self.cnmi_ds},0", "OK"]
        values = [int(value or 0) for value in args.split(",")] + [0] * 5
        if values[3] == 1 and self.profile.has(QuectelStoredStatusReports):
            raise _Fail(303)
        self.cnmi_mt, self.cnmi_ds = values[1], values[3]
        return ["OK"]

    def _at_csms(self, mode: str, args: str) -> list[str]:
        return ["+CSMS: 0,1,1,1", "OK"]

    def _at_cpms(self, mode: str, args: str) -> list[str]:
        if mode == "=":
            wanted = [value.strip('"') for value in args.split(",")]
            if any(memory not in self.memories.slots for memory in wanted):
                raise _Fail(302)
            self.read_memory = wanted[0]
        total = self.memories.total
        counts = [(memory, len(self.memories.slots[memory])) for memory in (self.read_memory, "SM", "SM")]
        fields = ",".join(
            f'"{memory}",{used},{total}' if mode == "?" else f"{used},{total}" for memory, used in counts
        )
        return [f"+CPMS: {fields}", "OK"]

    def _at_cfun(self, mode: str, args: str) -> list[str]:
        if mode == "?":
            return ["+CFUN: 1", "OK"]
        if args.replace(" ", "") == "1,1":
            self._later(0.01, self.power_cycle)
        return ["OK"]

    def _at_cmgs(self, mode: str, args: str) -> list[str] | None:
        if self.cmgf == 1:
            self._text_cmgs(args)
            return None
        if not args.isdigit():
            raise _Fail(302)
        self._prompt_length = int(args)
        self._send(f"{self.profile.eol}> ")
        return None

    def _submit(self, pdu: str, length: int) -> None:
        try:
            smsc_octets = 1 + int(pdu[:2], 16)
            if len(pdu) % 2 or len(pdu) // 2 - smsc_octets != length:
                raise ValueError("length")
            decoded = read_submit(pdu)
        except (ValueError, KeyError, IndexError):
            self._answer([self._error(304)])
            return
        if self.send_failure is not None:
            self._answer([self._error(self.send_failure)])
            return
        submission = self.air.submit(pdu, length, decoded)
        self._answer([f"+CMGS: {submission.reference}", "OK"])
        if submission.status_report and self.delivery is not None:
            delivered = self.delivery
            self._later(self.report_delay, lambda: self.report(submission, delivered=delivered))

    def _at_cmgl(self, mode: str, args: str) -> list[str]:
        if self.cmgf == 1:
            return self._text_cmgl(args)
        stat = int(args or 0)
        lines = []
        for index, stored in self.memories.listing(self.read_memory, stat):
            lines += [f"+CMGL: {index},{stored.stat},,{stored.pdu.tpdu_length}", stored.pdu.hex]
            if stored.stat == StatusOf.UNREAD:
                stored.stat = StatusOf.READ
        return [*lines, "OK"]

    def _at_cmgr(self, mode: str, args: str) -> list[str]:
        stored = self.memories.slots[self.read_memory].get(int(args))
        if stored is None:
            raise _Fail(321)
        if self.cmgf == 1:
            return self._text_cmgr(stored)
        line = f"+CMGR: {stored.stat},,{stored.pdu.tpdu_length}"
        stored.stat = StatusOf.READ if stored.stat == StatusOf.UNREAD else stored.stat
        return [line, stored.pdu.hex, "OK"]

    def _at_cmgd(self, mode: str, args: str) -> list[str]:
        self.memories.slots[self.read_memory].pop(int(args.split(",")[0]), None)
        return ["OK"]

    def _at_cusd(self, mode: str, args: str) -> list[str]:
        if mode == "?":
            return ["+CUSD: 1", "OK"]
        values = args.split(",")
        request = values[1].strip('"') if len(values) > 1 else ""
        packed = self.profile.has(HuaweiPackedUssd)
        if packed:
            try:
                request = unpack_ussd(request)
            except ValueError:
                raise _Fail(4, "+CME ERROR") from None
        if request and not self.ussd_silent:
            status, text = self.ussd_answers.get(request, (4, None))
            if text is None:
                reply = f"+CUSD: {status}"
            else:
                reply = f'+CUSD: {status},"{pack_ussd(text) if packed else text}",15'
            self._later(self.ussd_delay, lambda: self.emit(reply))
        return ["OK"]
