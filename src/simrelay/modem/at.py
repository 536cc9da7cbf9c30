"""`AtChannel`: one AT command at a time over an asyncio stream pair, URCs told apart from answers.

A reader task splits what the modem sends into lines (CR, LF or both end a line; blank lines are
dropped) and sorts each one, in this order:

1. the line right after a text-mode +CMT/+CBM header: its data (unless it is a result code or a
   known URC: blank lines are dropped, so an empty text shows as no line at all); then the hex PDU
   of a PDU-mode two-line URC header seen before (+CMT/+CDS/+CBM): it must have the length the
   header announced, so an ICCID or a listed PDU is never taken for it;
2. the echo of the running command (before ATE0), dropped once;
3. a line starting with the running command's prefix (`+CPIN:` for `AT+CPIN?`): its answer;
4. a known URC name (`results.URC_PREFIXES`, `results.URC_LINES`): a URC, even mid-answer;
5. a final result code: ends the running command;
6. anything else: an answer line while a command runs, else an unknown URC.

URCs go to `urcs` (a queue) unless a `watch` is waiting for that name (the USSD reply).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog

from simrelay.modem.results import (
    TWO_LINE_URCS,
    AtError,
    ErrorKind,
    Final,
    Urc,
    data_follows,
    parse_final,
    parse_urc,
    pdu_fits,
    pdu_length,
    urc_name,
)

__all__ = ["AtChannel", "AtError", "AtTimeout", "ErrorKind", "PortGone", "Response", "Urc"]

log = structlog.get_logger(__name__)

CTRL_Z = b"\x1a"
ESC = b"\x1b"


class AtTimeout(Exception):
    """The modem did not finish a command (or send a URC) in time: hung, rebooting or unplugged.
    Its answer may still come later and be taken for the next command's: after a timeout the
    host resyncs (power cycle or reopen) before trusting answers again."""

    def __init__(self, command: str, timeout: float) -> None:
        self.command = command
        self.timeout = timeout
        super().__init__(f"no answer to {command!r} within {timeout:g} s")


class PortGone(Exception):
    """The serial port closed under us (USB modem unplugged or re-enumerated) or cannot be opened."""


@dataclass(frozen=True, slots=True)
class Response:
    """A command's answer: its information lines (no echo, no URCs) and the final code (OK)."""

    lines: tuple[str, ...]
    final: str = "OK"

    def first(self, prefix: str | None = None) -> str | None:
        """The first answer line, without `prefix:` when given; None if there is none."""
        for line in self.lines:
            if prefix is None:
                return line
            if line.startswith(prefix + ":"):
                return line[len(prefix) + 1 :].strip()
        return None


@dataclass(eq=False)
class _Running:
    command: str
    prefix: str | None
    echoes: list[str]
    done: asyncio.Future[Final]
    prompt: asyncio.Event | None = None
    lines: list[str] = field(default_factory=list)


def command_prefix(command: str) -> str | None:
    """`+CPIN` for `AT+CPIN?`, `^ICCID` for `AT^ICCID?`; None for basic commands (ATE0, ATI)."""
    body = command[2:] if command[:2].upper() == "AT" else command
    if not body or body[0] not in "+^$%!*":
        return None
    end = 1
    while end < len(body) and (body[end].isalnum() or body[end] == "_"):
        end += 1
    return body[:end].upper() if end > 1 else None


class AtChannel:
    """Talks AT over (reader, writer). Use as `async with AtChannel(r, w) as at:` or call
    `start()`/`close()`. Commands are serialised by a lock; each has a timeout (`AtTimeout`)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float = 5.0,
        name: str = "modem",
    ) -> None:
        self.timeout = timeout
        self.name = name
        self.urcs: asyncio.Queue[Urc | None] = asyncio.Queue()
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._running: _Running | None = None
        self._two_line: list[tuple[str, int]] = []  # (header line, TPDU length) awaiting a PDU
        self._text_urc: Urc | None = None  # a text-mode +CMT/+CBM header awaiting its data line
        self._watches: dict[str, list[asyncio.Future[Urc]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._gone: PortGone | None = None

    async def __aenter__(self) -> AtChannel:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._read_loop(), name=f"at-{self.name}")

    async def close(self) -> None:
        """Stops reading and closes the port; a command still running fails with `PortGone`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._lose(PortGone(f"{self.name}: channel closed"), quiet=True)
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    @property
    def gone(self) -> PortGone | None:
        """Why the port is gone, once it is."""
        return self._gone

    async def command(
        self, command: str, *, timeout: float | None = None, prefix: str | None = None
    ) -> Response:
        """Runs `command` (no CR) and returns its answer; raises `AtError` on an error final code.
        `prefix` overrides the answer prefix derived from the command; `prefix=""` means none, so
        lines such as `+CUSD:` stay URCs while `AT+CUSD=1,...` runs."""
        return await self._run(command, timeout=timeout, prefix=prefix, data=None)

    async def command_with_prompt(
        self, command: str, data: str, *, timeout: float | None = None, prefix: str | None = None
    ) -> Response:
        """`AT+CMGS=<len>`: waits for the `> ` prompt, sends `data` and Ctrl-Z, returns the answer.
        On a timeout ESC is sent, so a modem left at the prompt drops the half-entered message."""
        return await self._run(command, timeout=timeout, prefix=prefix, data=data)

    async def next_urc(self, timeout: float | None = None) -> Urc:
        """The next queued URC; `PortGone` once the port is gone and the queue is empty."""
        try:
            async with asyncio.timeout(timeout):
                urc = await self.urcs.get()
        except TimeoutError:
            raise AtTimeout("(waiting for a URC)", timeout or 0.0) from None
        if urc is None:
            self.urcs.put_nowait(None)  # leave the end mark for the next reader
            raise self._gone or PortGone(f"{self.name}: port gone")
        return urc

    @contextlib.contextmanager
    def watch(self, name: str) -> Iterator[asyncio.Future[Urc]]:
        """Catches the next URC called `name` before it reaches `urcs`, for a command whose real
        answer comes as a URC (AT+CUSD). Enter before sending the command, await inside."""
        future: asyncio.Future[Urc] = asyncio.get_running_loop().create_future()
        self._watches.setdefault(name, []).append(future)
        try:
            yield future
        finally:
            self._watches[name].remove(future)
            if future.done() and not future.cancelled():
                future.exception()  # seen: no "exception was never retrieved" at shutdown
            future.cancel()

    async def _run(
        self, command: str, *, timeout: float | None, prefix: str | None, data: str | None
    ) -> Response:
        limit = self.timeout if timeout is None else timeout
        async with self._lock:
            if self._gone is not None:
                raise self._gone
            running = _Running(
                command=command,
                prefix=command_prefix(command) if prefix is None else (prefix or None),
                echoes=[command] + ([data] if data is not None else []),
                done=asyncio.get_running_loop().create_future(),
                prompt=asyncio.Event() if data is not None else None,
            )
            self._running = running
            try:
                async with asyncio.timeout(limit):
                    self._write(command.encode("ascii") + b"\r")
                    if data is not None and running.prompt is not None:
                        await self._await_prompt(running)
                        self._write(data.encode("ascii") + CTRL_Z)
                    final = await running.done
            except TimeoutError:
                if data is not None:
                    self._write(ESC)
                log.warning("modem_timeout", modem=self.name, command=_safe(command), timeout=limit)
                raise AtTimeout(_safe(command), limit) from None
            finally:
                self._running = None
        if final.error is not None:
            raise final.error
        return Response(tuple(running.lines), final.line)

    async def _await_prompt(self, running: _Running) -> None:
        assert running.prompt is not None
        # A final code instead of the prompt (+CMS ERROR: 304 for a bad length) sets it too.
        await running.prompt.wait()
        if running.done.done():
            final = running.done.result()
            raise final.error or AtError(None, final.line, kind=ErrorKind.ERROR, command=running.command)

    def _write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
        except (OSError, RuntimeError) as error:
            self._lose(PortGone(f"{self.name}: write failed: {error}"))
            raise self._gone from error  # type: ignore[misc]

    async def _read_loop(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = await self._reader.read(4096)
                if not chunk:
                    raise PortGone(f"{self.name}: port closed (end of file)")
                buffer = self._feed(buffer + chunk)
        except asyncio.CancelledError:
            raise
        except PortGone as gone:
            self._lose(gone)
        except Exception as error:  # pyserial's SerialException, OSError EIO: the device went away
            self._lose(PortGone(f"{self.name}: read failed: {error}"))

    def _feed(self, buffer: bytes) -> bytes:
        """Handles every complete line in `buffer`; returns the incomplete rest."""
        while True:
            ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
            if not ends:
                break
            end = min(ends)
            line, buffer = buffer[:end], buffer[end + 1 :]
            self._on_line(line.decode("ascii", "replace").replace("\x1a", "").strip())
        # The AT+CMGS prompt is "> " with no line end: it can only be seen as a leftover.
        running = self._running
        if running is not None and running.prompt is not None and buffer.strip() == b">":
            running.prompt.set()
            return b""
        return buffer

    def _on_line(self, line: str) -> None:
        if line == ">":
            # The prompt with a URC right behind it in the same read ends up as a line of its own.
            running = self._running
            if running is not None and running.prompt is not None:
                running.prompt.set()
            return
        if not line:
            return
        if self._text_urc is not None:
            header, self._text_urc = self._text_urc, None
            if urc_name(line) is None and parse_final(line) is None:
                self._emit(header, pdu=line)
                return
            self._emit(header, pdu="")  # its text was empty: this line is something else
        for waiting in self._two_line:
            if pdu_fits(line, waiting[1]):
                self._two_line.remove(waiting)
                self._emit(parse_urc(waiting[0]), pdu=line)
                return
        running = self._running
        if running is not None and not running.lines and running.echoes and line == running.echoes[0]:
            running.echoes.pop(0)
            return
        if running is not None and running.prefix and line.upper().startswith(running.prefix + ":"):
            running.lines.append(line)
            return
        name = urc_name(line)
        if name is not None:
            self._on_urc(line, name)
            return
        final = parse_final(line, _safe(running.command) if running else "")
        if final is not None:
            if running is not None and not running.done.done():
                running.done.set_result(final)
                if running.prompt is not None:
                    running.prompt.set()
            else:
                log.debug("modem_stray_final", modem=self.name, line=line)
            return
        if running is not None:
            if running.echoes and line == running.echoes[0]:  # the PDU echoed after the prompt
                running.echoes.pop(0)
            else:
                running.lines.append(line)
            return
        self._emit(parse_urc(line))

    def _on_urc(self, line: str, name: str) -> None:
        if name in TWO_LINE_URCS:
            urc = parse_urc(line, name)
            length = pdu_length(urc)
            if length is not None:
                self._two_line.append((line, length))
                if len(self._two_line) > 4:  # a header whose PDU never came: pass it on bare
                    self._emit(parse_urc(self._two_line.pop(0)[0]))
                return
            if data_follows(urc):
                self._text_urc = urc
                return
        self._emit(parse_urc(line, name))

    def _emit(self, urc: Urc, *, pdu: str | None = None) -> None:
        if pdu is not None:
            urc = Urc(urc.name, urc.values, urc.line, pdu)
        for future in self._watches.get(urc.name, ()):
            if not future.done():
                future.set_result(urc)
                return
        log.debug("modem_urc", modem=self.name, urc=urc.name)
        self.urcs.put_nowait(urc)

    def _lose(self, gone: PortGone, *, quiet: bool = False) -> None:
        if self._gone is not None:
            return
        self._gone = gone
        if not quiet:
            log.warning("modem_port_gone", modem=self.name, reason=str(gone))
        running = self._running
        if running is not None and not running.done.done():
            running.done.set_exception(gone)
            if running.prompt is not None:
                running.prompt.set()
        for futures in self._watches.values():
            for future in futures:
                if not future.done():
                    future.set_exception(gone)
        self.urcs.put_nowait(None)


def _safe(command: str) -> str:
    """The command for logs and errors, without a PIN."""
    return "AT+CPIN=****" if command.upper().startswith("AT+CPIN=") else command
