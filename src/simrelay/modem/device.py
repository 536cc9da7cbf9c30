"""One modem as its own device (`ModemDevice`: port, pairing, a `DeviceLink` over a
`ModemRadio`), and the options the host gives every modem (`HostOptions`).

Never jams: every AT command has a timeout. A modem that stops answering is restarted
(AT+CFUN=1,1 on a reopened port, tried again every second while it stays silent) and set up
again; a port that vanishes is looked for by IMEI under the configured ports and patterns.
While a modem is away its device stays connected: what it holds waits for the modem while the
lease lasts and is answered `dropped` after (never started), so the lease rule lives in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
import structlog

from simrelay.agent._ledger import Ledger
from simrelay.agent._link import DeviceLink
from simrelay.agent._pairing import pair_device
from simrelay.modem.at import AtChannel, AtTimeout, PortGone
from simrelay.modem.commands import Modem
from simrelay.modem.discovery import DEFAULT_GLOBS, Candidates, find_modem, glob_candidates
from simrelay.modem.pdu import PduError, StatusReport, decode_status_report
from simrelay.modem.port import DEFAULT_BAUDRATE, open_channel
from simrelay.modem.radio import APP_VERSION, ModemRadio, RadioOptions, signal_bars
from simrelay.modem.readings import Identity, ModemSetupError, SmsMode, StoredMessage, Timeouts
from simrelay.modem.results import AtError, Urc
from simrelay.modem.state import ModemState, StateFile
from simrelay.modem.text import decode_text_report

log = structlog.get_logger(__name__)

AUTO = "auto"


class HostError(Exception):
    """The host cannot start a modem (no such port, no answer, PIN needed, no code to pair)."""


@dataclass(frozen=True, kw_only=True)
class HostOptions:
    url: str
    """The server's base URL."""
    ports: tuple[str, ...] = (AUTO,)
    """Serial ports; "auto" adds every modem found under `port_globs`, now and later."""
    code: str | None = None
    """Pairing code for modems the state file has no token for (one code with N uses pairs N)."""
    port_globs: tuple[str, ...] = DEFAULT_GLOBS
    candidates: Candidates | None = None
    """Where to look for a modem that vanished or for "auto"; default: the named ports, then
    `port_globs` if "auto" is among the ports. Tests pass their ptys here."""
    baudrate: int = DEFAULT_BAUDRATE
    pin: str | None = None
    name: str = ""
    """Device name prefix; each modem's name ends with its IMEI's last four digits."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    radio: RadioOptions = field(default_factory=RadioOptions)
    retry_seconds: float = 1.0
    """Pause between recovery tries of a silent or vanished modem."""
    reset_settle: float = 3.0
    """Seconds a modem gets to reboot after AT+CFUN=1,1 before the host talks to it again."""
    poll_seconds: float = 30.0
    """Signal refresh, which also finds a modem that hung while idle."""
    reconnect: tuple[float, float] = (1.0, 60.0)
    scan_seconds: float = 5.0
    """With "auto", the pause between two looks for modems plugged in since."""

    def search(self) -> Candidates:
        if self.candidates is not None:
            return self.candidates
        named = [port for port in self.ports if port != AUTO]
        found = glob_candidates(self.port_globs) if AUTO in self.ports else lambda: []
        return lambda: [*named, *found()]


class ModemDevice:
    """One modem and its device. `open()` identifies (and pairs) it, `run()` serves it for ever."""

    def __init__(
        self, path: str, *, options: HostOptions, store: StateFile, busy: set[str], ledger: Ledger | None
    ):
        self.path = path
        self.options = options
        self.store = store
        self.ledger = ledger
        self.identity: Identity | None = None
        self.radio: ModemRadio | None = None
        self.link: DeviceLink | None = None
        self.resets = 0
        self.rediscoveries = 0
        self._busy = busy
        self._held = ""  # the real path this device holds in `busy`; its name may go first
        self._channel: AtChannel | None = None
        self._modem: Modem | None = None
        self._reports_stored = False  # status reports come as +CDSI, kept in "SR" until deleted

    @property
    def imei(self) -> str:
        return self.identity.imei if self.identity else ""

    @property
    def device_id(self) -> str:
        return self.radio.device_id if self.radio else ""

    async def open(self, http: httpx.AsyncClient) -> None:
        """Opens and sets up the modem, then finds its device in the state file or pairs one.
        HostError with what went wrong; the port stays closed then."""
        try:
            modem = await self._connect(self.path)
            self.identity = await modem.identity()
        except PortGone as error:
            await self._close()
            raise HostError(f"{self.path}: {error}") from None
        except AtTimeout:
            await self._close()
            raise HostError(f"{self.path}: no answer to AT commands (is it the modem's AT port?)") from None
        except (ModemSetupError, AtError) as error:
            await self._close()
            raise HostError(f"{self.path}: {error}") from None
        if not self.identity.imei:
            await self._close()
            raise HostError(f"{self.path}: the modem reports no IMEI")
        state = self.store.get(self.identity.imei) or await self._pair(http, self.identity)
        self.radio = ModemRadio(
            state=state,
            store=self.store,
            identity=self.identity,
            options=self.options.radio,
            ledger=self.ledger,
        )
        self.link = DeviceLink(
            self.options.url,
            token=state.token,
            work=self.radio,
            reconnect=self.options.reconnect,
            user_agent=APP_VERSION,
            name=f"modem {self.identity.imei}",
        )

    async def _pair(self, http: httpx.AsyncClient, identity: Identity) -> ModemState:
        if not self.options.code:
            raise HostError(
                f"{self.path}: modem {identity.imei} is not paired yet: give a pairing code (--code)"
            )
        name = f"{self.options.name or 'modem'} {identity.imei[-4:]}"
        pairing = await pair_device(
            http,
            self.options.url,
            self.options.code,
            name=name,
            model=identity.model or "",
            app_version=APP_VERSION,
        )
        state = ModemState(imei=identity.imei, device_id=pairing.device_id, token=pairing.token)
        self.store.put(state)
        log.info("modem_paired", imei=identity.imei, device_id=pairing.device_id)
        return state

    async def run(self) -> None:
        """Serves the modem until cancelled: the link runs beside it, recoveries in between."""
        assert self.radio is not None and self.link is not None and self._modem is not None
        self.link.start()
        modem = self._modem
        try:
            while True:
                trouble = await self._serve(modem)
                log.warning("modem_trouble", imei=self.imei, path=self.path, error=str(trouble))
                self.radio.record("modem_down", detail=str(trouble))
                modem = await self._recover(trouble)
                self.radio.record("modem_up", detail=self.path)
        finally:
            await self.link.stop()
            await self._close()

    async def _connect(self, path: str) -> Modem:
        await self._close()
        self.path = path
        self._held = os.path.realpath(path)
        self._busy.add(self._held)
        self._channel = await open_channel(
            path, baudrate=self.options.baudrate, timeout=self.options.timeouts.command
        )
        self._modem = Modem(self._channel, timeouts=self.options.timeouts)
        setup = await self._modem.initialize(self.options.pin)
        self._reports_stored = setup.status_reports_stored
        return self._modem

    async def _close(self) -> None:
        channel, self._channel, self._modem = self._channel, None, None
        if channel is not None:
            with contextlib.suppress(Exception):
                await channel.close()

    async def _serve(self, modem: Modem) -> BaseException:
        """Runs the modem until something goes wrong; returns what (AtTimeout or PortGone)."""
        assert self.radio is not None
        radio = self.radio
        trouble: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

        def report(error: BaseException) -> None:
            if not trouble.done():
                trouble.set_result(error)

        radio.on_trouble = report
        tasks: list[asyncio.Task[None]] = []
        try:
            operator = await modem.operator()
            radio.operator = operator.name if operator else None
            radio.signal = signal_bars((await modem.signal()).rssi)
            radio.attach(modem)
            # What was stored while nobody listened, before the URCs queued meanwhile: one reader
            # at a time, so an index read and deleted here cannot be a newer message there.
            try:
                await radio.inbox.take_all(modem)
                if self._reports_stored:
                    await self._take_stored_reports(modem)
            except AtError as error:
                log.warning("modem_storage_unreadable", imei=self.imei, error=str(error))
            tasks = [asyncio.create_task(self._urcs(modem)), asyncio.create_task(self._poll(modem))]

            def ended(task: asyncio.Task[None]) -> None:
                if not task.cancelled():
                    report(task.exception() or PortGone("a serving task ended"))

            for task in tasks:
                task.add_done_callback(ended)
            return await trouble
        except (AtTimeout, PortGone) as error:
            return error
        finally:
            radio.detach()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _urcs(self, modem: Modem) -> None:
        assert self.radio is not None
        while True:
            urc = await modem.channel.next_urc()
            try:
                await self._on_urc(modem, urc)
            except (AtError, PduError, ValueError) as error:
                log.warning("modem_urc_failed", imei=self.imei, urc=urc.name, error=str(error))

    async def _on_urc(self, modem: Modem, urc: Urc) -> None:
        assert self.radio is not None
        radio = self.radio
        values = urc.values
        if urc.name == "+CMTI" and len(values) >= 2 and isinstance(values[1], int):
            await radio.inbox.take(modem, values[1])
        elif urc.name == "+CDS" and urc.pdu:
            radio.on_status_report(decode_status_report(urc.pdu))
        elif urc.name == "+CDS" and modem.mode is SmsMode.TEXT:
            radio.on_status_report(decode_text_report(urc.values, charset=modem.charset))
        elif urc.name == "+CDSI" and len(values) >= 2 and isinstance(values[1], int):
            storage = str(values[0]) or "SR"
            stored = await modem.read_message(values[1], storage=storage)
            if stored is not None:
                radio.on_status_report(_report_of(stored))
                # The `delivery` report is in the state file's outbox now: the copy can go.
                await modem.delete_message(values[1], storage=storage)

    async def _take_stored_reports(self, modem: Modem) -> None:
        """Status reports stored while nobody listened (their +CDSI came before a crash or reset)."""
        assert self.radio is not None
        for stored in await modem.list_messages(4, storage="SR"):
            try:
                self.radio.on_status_report(_report_of(stored))
            except PduError as error:
                log.warning("modem_report_unreadable", imei=self.imei, index=stored.index, error=str(error))
                continue
            await modem.delete_message(stored.index, storage="SR")

    async def _poll(self, modem: Modem) -> None:
        assert self.radio is not None
        while True:
            await asyncio.sleep(self.options.poll_seconds)
            self.radio.signal = signal_bars((await modem.signal()).rssi)
            self.radio.inbox.expire()

    async def _recover(self, trouble: BaseException) -> Modem:
        """Back to a modem that answers: a reset on the same port after a timeout, a search by
        IMEI after the port vanished. Tries until it works."""
        await self._close()
        reset_due = isinstance(trouble, AtTimeout)
        gone = isinstance(trouble, PortGone)
        while True:
            if gone:
                await self._rediscover()
                gone = False
            try:
                if reset_due:
                    await self._reset(self.path)
                    reset_due = False
                modem = await self._connect(self.path)
                identity = await modem.identity()
                if identity.imei != self.imei:
                    raise PortGone(f"{self.path} is now modem {identity.imei}")
                log.info("modem_recovered", imei=self.imei, path=self.path, resets=self.resets)
                return modem
            except PortGone as error:
                log.info("modem_port_gone", imei=self.imei, path=self.path, error=str(error))
                gone = True
            except (AtTimeout, AtError, ModemSetupError) as error:
                log.info("modem_still_down", imei=self.imei, path=self.path, error=str(error))
                reset_due = reset_due or isinstance(error, AtTimeout)
            await self._close()
            await asyncio.sleep(self.options.retry_seconds)

    async def _reset(self, path: str) -> None:
        """AT+CFUN=1,1 on a freshly opened port (its answer to the hung command may still be on the
        old channel); AtTimeout while the modem stays silent, PortGone if it re-enumerates."""
        self.resets += 1
        channel = await open_channel(
            path, baudrate=self.options.baudrate, timeout=self.options.timeouts.command
        )
        try:
            await Modem(channel, timeouts=self.options.timeouts).reset()
        finally:
            await channel.close()
        log.info("modem_reset", imei=self.imei, path=path)
        await asyncio.sleep(self.options.reset_settle)

    async def _rediscover(self) -> None:
        """Waits until the modem with this IMEI answers on some candidate port, and takes it."""
        self._busy.discard(self._held)
        search = self.options.search()
        while True:
            candidates = list(dict.fromkeys([self.path, *search()]))
            path = await find_modem(
                self.imei,
                candidates=candidates,
                busy=self._busy,
                baudrate=self.options.baudrate,
            )
            if path is not None:
                self.rediscoveries += 1
                log.info("modem_found", imei=self.imei, path=path)
                self.path, self._held = path, os.path.realpath(path)
                self._busy.add(self._held)
                return
            await asyncio.sleep(self.options.retry_seconds)


def _report_of(stored: StoredMessage) -> StatusReport:
    if stored.header is None:
        return decode_status_report(stored.pdu)
    return decode_text_report(stored.header)  # read in text.READ_CHARSET


def ports_of(values: Iterable[str]) -> tuple[str, ...]:
    """`--port` values, each may hold several comma-separated paths."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())
