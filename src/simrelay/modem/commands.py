"""`Modem`: the AT commands a gateway needs, over an `AtChannel`, with the families' variants tried in turn.

PDUs stay hex strings here: building and reading them is `modem/pdu.py`'s job. A modem that
refuses PDU mode runs in text mode (`SmsMode.TEXT`); its listings are split here and decoded by
`modem/text.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from simrelay.modem.at import AtChannel, AtTimeout, Response
from simrelay.modem.readings import (
    Identity,
    Memory,
    ModemSetup,
    ModemSetupError,
    Operator,
    PinState,
    Signal,
    SmsMode,
    StoredMessage,
    Timeouts,
    UssdReply,
    UssdStatus,
)
from simrelay.modem.results import AtError, ErrorKind, answer_body, split_values
from simrelay.modem.text import READ_CHARSET, SUBMIT_FO, TEXT_STATS, VALIDITY, TextPart, read_text_entries

log = structlog.get_logger(__name__)

# New message indications, preferred first (27.005 §3.4.1 +CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>):
# mt=1 stores SMS and says +CMTI; ds=1 routes status reports as +CDS, ds=2 stores them (+CDSI).
# mode 2 buffers URCs while the link is busy; some firmwares only take mode 1.
CNMI_CHOICES = ("2,1,0,1,0", "2,1,0,2,0", "1,1,0,1,0", "1,1,0,2,0", "2,1,0,0,0", "1,1,0,0,0")

# ICCID commands differ by family: SIMCom AT+CCID, Quectel AT+QCCID, Huawei AT^ICCID?, others AT+ICCID.
ICCID_COMMANDS = ("AT+CCID", "AT+QCCID", "AT^ICCID?", "AT+ICCID")


_USSD_CODES = dict(enumerate(list(UssdStatus)[:6]))


class Modem:
    """High-level commands for one modem over its channel; remembers which ICCID command worked."""

    def __init__(self, channel: AtChannel, *, timeouts: Timeouts | None = None) -> None:
        self.channel = channel
        self.timeouts = timeouts or Timeouts()
        self._iccid_command: str | None = None
        self._storage = "SM"
        self._memory_lock = asyncio.Lock()
        self.mode = SmsMode.PDU
        self._charset: str | None = None  # text mode: the AT+CSCS set last, None when unknown
        self._csmp: str | None = None
        self._text_lock = asyncio.Lock()  # text mode: a charset switch and the commands under it

    @property
    def charset(self) -> str:
        """Text mode: the TE character set the modem writes addresses and texts in now."""
        return self._charset or READ_CHARSET

    async def _at(self, command: str, *, timeout: float | None = None, prefix: str | None = None) -> Response:
        return await self.channel.command(command, timeout=timeout or self.timeouts.command, prefix=prefix)

    async def initialize(self, pin: str | None = None) -> ModemSetup:
        """Echo off, numeric errors, SIM unlocked, PDU mode (else text mode), new-message URCs,
        SIM storage."""
        await self._at("AT")
        await self._at("ATE0")
        try:
            await self._at("AT+CMEE=1")
        except AtError:
            log.info("modem_no_cmee", modem=self.channel.name)
        pin_state = await self._unlock(pin)
        mode = await self._choose_mode()
        cnmi = await self._choose_cnmi()
        service = await self._optional("AT+CSMS?")
        memory = None
        try:
            await self._at('AT+CPMS="SM","SM","SM"')
            memory = await self.memory()
        except AtError as error:
            log.info("modem_cpms_default", modem=self.channel.name, error=str(error))
        return ModemSetup(
            pin=pin_state,
            cnmi=cnmi,
            status_reports_stored=cnmi.split(",")[3] == "2",
            sms_service=service,
            memory=memory,
            mode=mode,
        )

    async def _choose_mode(self) -> SmsMode:
        """PDU mode; text mode with detailed headers (AT+CSDH=1, where taken) and UCS2 as the read
        character set when PDU mode is refused."""
        self.mode, self._charset, self._csmp = SmsMode.PDU, None, None  # a reboot resets them
        try:
            await self._at("AT+CMGF=0")
            return SmsMode.PDU
        except AtError as error:
            no_pdu = error
        try:
            await self._at("AT+CMGF=1")
        except AtError as error:
            supported = await self._optional("AT+CMGF=?")
            raise ModemSetupError(
                "AT+CMGF", f"neither PDU mode ({no_pdu}) nor text mode ({error}); supported: {supported}"
            ) from error
        log.warning("modem_text_mode", modem=self.channel.name, error=str(no_pdu))
        try:
            await self._at("AT+CSDH=1")
        except AtError:
            log.info("modem_no_csdh", modem=self.channel.name)  # no <dcs> then: texts read as UCS2
        try:
            await self._use_charset(READ_CHARSET)
        except AtError as error:
            # Read in "GSM", a text could hold CR, LF or a result code's words: no safe reading.
            raise ModemSetupError(f'AT+CSCS="{READ_CHARSET}"', f"text mode without UCS2 ({error})") from error
        self.mode = SmsMode.TEXT
        return SmsMode.TEXT

    async def _use_charset(self, charset: str) -> None:
        if charset != self._charset:
            self._charset = None  # unknown until the modem said OK
            await self._at(f'AT+CSCS="{charset}"')
            self._charset = charset

    async def _unlock(self, pin: str | None) -> PinState:
        state = await self._pin_state()
        if state == "READY":
            return PinState.READY
        if state != "SIM PIN":
            raise ModemSetupError("AT+CPIN?", f"SIM wants {state!r}")
        if pin is None:
            raise ModemSetupError("AT+CPIN?", "SIM PIN required and none configured")
        await self._at(f'AT+CPIN="{pin}"')
        for _ in range(10):  # the SIM takes a moment to report READY after the PIN
            if await self._pin_state() == "READY":
                return PinState.PIN_ENTERED
            await asyncio.sleep(0.2)
        raise ModemSetupError("AT+CPIN", "SIM not ready after the PIN")

    async def _pin_state(self) -> str:
        answer = (await self._at("AT+CPIN?")).first("+CPIN")
        return (answer or "").strip('"')

    async def _choose_cnmi(self) -> str:
        errors = []
        for choice in CNMI_CHOICES:
            try:
                await self._at(f"AT+CNMI={choice}")
                return choice
            except AtError as error:
                errors.append(f"{choice}: {error.kind} {error.code or ''}".strip())
        raise ModemSetupError("AT+CNMI", "no variant accepted: " + "; ".join(errors))

    async def _optional(self, command: str) -> str | None:
        try:
            response = await self._at(command)
        except AtError:
            return None
        return " ".join(response.lines) or None

    async def identity(self) -> Identity:
        return Identity(
            imei=_digits(await self._single("AT+CGSN")) or "",
            imsi=_digits(await self._single("AT+CIMI")),
            iccid=await self._iccid(),
            manufacturer=await self._single("AT+CGMI"),
            model=await self._single("AT+CGMM"),
        )

    async def _single(self, command: str) -> str | None:
        """The one-line answer of a query, without an echoed `+XXX:` label some firmwares add."""
        try:
            line = (await self._at(command)).first()
        except AtError:
            return None
        if line is None:
            return None
        if ":" in line and line[0] in "+^":
            line = line.split(":", 1)[1]
        return line.strip().strip('"') or None

    async def _iccid(self) -> str | None:
        commands = (self._iccid_command,) if self._iccid_command else ICCID_COMMANDS
        for command in commands:
            assert command is not None
            try:
                line = (await self._at(command)).first()
            except AtError:
                continue
            iccid = _iccid_digits(line)
            if iccid:
                self._iccid_command = command
                return iccid
        return None

    async def signal(self) -> Signal:
        values = split_values((await self._at("AT+CSQ")).first("+CSQ") or "99,99")
        rssi = int(values[0]) if isinstance(values[0], int) else 99
        ber = values[1] if len(values) > 1 and isinstance(values[1], int) and values[1] != 99 else None
        return Signal(rssi=rssi, rssi_dbm=-113 + 2 * rssi if 0 <= rssi <= 31 else None, ber=ber)

    async def operator(self) -> Operator | None:
        """The registered network, None when not registered."""
        await self._at("AT+COPS=3,0")  # long alphanumeric names in the read answer
        values = split_values((await self._at("AT+COPS?")).first("+COPS") or "")
        if len(values) < 3 or not isinstance(values[0], int):
            return None
        act = values[3] if len(values) > 3 and isinstance(values[3], int) else None
        return Operator(mode=values[0], name=str(values[2]), act=act)

    async def send_pdu(self, pdu: str, length: int) -> int:
        """Submits one SMS-SUBMIT (`length`: TPDU octets, without the SMSC part); returns the
        message reference the status report will carry. AtError carries +CMS ERROR's number."""
        response = await self.channel.command_with_prompt(
            f"AT+CMGS={length}", pdu, timeout=self.timeouts.send
        )
        return _reference(response)

    async def send_text(self, part: TextPart) -> int:
        """Submits one SMS in text mode: its character set and AT+CSMP (status report requested)
        first, where they differ from the last ones; returns the message reference, as send_pdu."""
        async with self._text_lock:
            await self._use_charset(part.charset)
            csmp = f"{SUBMIT_FO},{VALIDITY},0,{part.dcs}"
            if csmp != self._csmp:
                self._csmp = None
                await self._at(f"AT+CSMP={csmp}")
                self._csmp = csmp
            response = await self.channel.command_with_prompt(
                f'AT+CMGS="{part.address}",{part.toda}', part.data, timeout=self.timeouts.send
            )
        return _reference(response)

    @contextlib.asynccontextmanager
    async def _reading(self, storage: str | None) -> AsyncIterator[None]:
        """`_memory`, and in text mode the read character set held around it."""
        if self.mode is SmsMode.PDU:
            async with self._memory(storage):
                yield
            return
        async with self._text_lock:
            await self._use_charset(READ_CHARSET)
            async with self._memory(storage):
                yield

    @contextlib.asynccontextmanager
    async def _memory(self, storage: str | None) -> AsyncIterator[None]:
        """Holds the read memory for one operation: switched to `storage` and back around it, and
        no other storage operation runs meanwhile (a CMGR of a +CDSI between someone else's
        switch to "SR" and back would read the wrong memory)."""
        async with self._memory_lock:
            if storage is None or storage == self._storage:
                yield
                return
            await self._at(f'AT+CPMS="{storage}"')
            try:
                yield
            finally:
                await self._at(f'AT+CPMS="{self._storage}"')

    async def list_messages(self, stat: int = 4, *, storage: str | None = None) -> list[StoredMessage]:
        """AT+CMGL=<stat> (4: all): in PDU mode each `+CMGL:` header is followed by its PDU; text
        mode lists by name (`AT+CMGL="ALL"`). `storage="SR"` lists stored status reports,
        switching the read memory there and back."""
        if self.mode is SmsMode.TEXT:
            name = next(name for name, number in TEXT_STATS.items() if number == stat)
            async with self._reading(storage):
                response = await self._at(f'AT+CMGL="{name}"', timeout=self.timeouts.read)
            return [
                StoredMessage(entry.index, entry.stat, len(entry.data), entry.data, entry.header)
                for entry in read_text_entries(response.lines, "+CMGL")
                if entry.index is not None
            ]
        async with self._memory(storage):
            response = await self._at(f"AT+CMGL={stat}", timeout=self.timeouts.read)
        messages = []
        lines = list(response.lines)
        for number, line in enumerate(lines):
            if not line.startswith("+CMGL:") or number + 1 >= len(lines):
                continue
            values = split_values(answer_body(line, "+CMGL"))
            index, status, length = values[0], values[1], values[-1]
            if isinstance(index, int) and isinstance(status, int) and isinstance(length, int):
                messages.append(StoredMessage(index, status, length, lines[number + 1]))
        return messages

    async def read_message(self, index: int, *, storage: str | None = None) -> StoredMessage | None:
        """AT+CMGR=<index>; None for an empty slot. `storage="SR"` reads a stored status report
        (a +CDSI), switching the read memory there and back."""
        try:
            async with self._reading(storage):
                response = await self._at(f"AT+CMGR={index}")
        except AtError as error:
            if error.code == 321:  # invalid memory index: nothing stored there
                return None
            raise
        if self.mode is SmsMode.TEXT:
            entry = next(iter(read_text_entries(response.lines, "+CMGR")), None)
            if entry is None:
                return None
            return StoredMessage(index, entry.stat, len(entry.data), entry.data, entry.header)
        lines = response.lines
        at = next((number for number, line in enumerate(lines) if line.startswith("+CMGR:")), None)
        if at is None or at + 1 >= len(lines):
            return None
        values = split_values(answer_body(lines[at], "+CMGR"))
        status, length = values[0], values[-1]
        if not isinstance(status, int) or not isinstance(length, int):
            return None
        return StoredMessage(index, status, length, lines[at + 1])

    async def delete_message(self, index: int, *, storage: str | None = None) -> None:
        """AT+CMGD=<index>; `storage="SR"` deletes a stored status report, switching there and back."""
        async with self._memory(storage):
            await self._at(f"AT+CMGD={index}")

    async def ussd(self, request: str, dcs: int = 15) -> UssdReply:
        """Sends a USSD request as given (a Huawei wants it packed GSM-7 hex already) and waits
        for the network's +CUSD; TIMEOUT status when none comes in `Timeouts.ussd`."""
        with self.channel.watch("+CUSD") as reply:
            await self._at(f'AT+CUSD=1,"{request}",{dcs}', prefix="")
            try:
                async with asyncio.timeout(self.timeouts.ussd):
                    urc = await reply
            except TimeoutError:
                return UssdReply(UssdStatus.TIMEOUT, None, None, None)
        values = urc.values
        code = values[0] if values and isinstance(values[0], int) else None
        payload = str(values[1]) if len(values) > 1 else None
        reply_dcs = values[2] if len(values) > 2 and isinstance(values[2], int) else None
        status = _USSD_CODES.get(code if code is not None else -1, UssdStatus.NOT_SUPPORTED)
        return UssdReply(status, code, payload, reply_dcs)

    async def reset(self) -> None:
        """Restarts the modem: AT+CFUN=1,1, or a radio off/on where that is refused. A USB modem
        may come back under a new port name: the caller reopens by identity."""
        try:
            await self._at("AT+CFUN=1,1", timeout=self.timeouts.send)
        except AtError:
            await self._at("AT+CFUN=0", timeout=self.timeouts.send)
            await self._at("AT+CFUN=1", timeout=self.timeouts.send)
        self._iccid_command = None

    async def memory(self) -> Memory:
        """AT+CPMS?: the first memory (read, list, delete) and its fill."""
        values = split_values((await self._at("AT+CPMS?")).first("+CPMS") or "")
        if len(values) < 3 or not isinstance(values[1], int) or not isinstance(values[2], int):
            raise AtError(None, f"unreadable +CPMS answer {values}", kind=ErrorKind.ERROR, command="AT+CPMS?")
        return Memory(storage=str(values[0]), used=values[1], total=values[2])


def _reference(response: Response) -> int:
    """<mr> of `+CMGS: <mr>[,<scts>]`."""
    reference = split_values(response.first("+CMGS") or "")[0]
    if not isinstance(reference, int):
        raise AtError(None, f"no message reference in {response.lines}", kind=ErrorKind.ERROR)
    return reference


def _digits(text: str | None) -> str | None:
    if text is None:
        return None
    digits = "".join(char for char in text if char.isdigit())
    return digits or None


def _iccid_digits(line: str | None) -> str | None:
    """19 or 20 digits, however labelled (`+QCCID: `, `^ICCID: `, `+ICCID: `, bare); an ICCID of
    19 digits is padded with F to fill the SIM's 10 octets."""
    if not line:
        return None
    body = line.split(":", 1)[1] if ":" in line else line
    body = body.strip().strip('"').upper().rstrip("F")
    return body if body.isdigit() and 18 <= len(body) <= 20 else None


__all__ = [
    "CNMI_CHOICES",
    "ICCID_COMMANDS",
    "AtTimeout",
    "Identity",
    "Memory",
    "Modem",
    "ModemSetup",
    "ModemSetupError",
    "Operator",
    "PinState",
    "Signal",
    "SmsMode",
    "StoredMessage",
    "Timeouts",
    "UssdReply",
    "UssdStatus",
]
