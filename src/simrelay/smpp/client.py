"""`SmppClient`: one transceiver connection to an SMSC (SMPP 3.4), as a route uses it: bind,
enquire_link keep-alive, a window of outstanding requests matched to their responses by
sequence_number, and the SMSC's own requests (deliver_sm, enquire_link, unbind) answered
through a handler. Reconnecting is the caller's (smpp/route.py): a connection that ends stays
ended, and every request awaiting an answer fails with LinkLost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog

from simrelay.smpp.codes import CommandStatus
from simrelay.smpp.fields import FramingError, PduError
from simrelay.smpp.framing import Framer
from simrelay.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    Unbind,
    UnbindResp,
    pdu_class,
)

log = structlog.get_logger(__name__)

Handler = Callable[[Pdu], Awaitable[Pdu | None]]
"""Answers one request of the SMSC (deliver_sm, data_sm...): the response, or None for none."""


class LinkLost(Exception):
    """The connection ended (or stopped answering) before the answer came."""


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(_status_name(status))
        self.status = status


def _status_name(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08X}"


def describe_status(status: int) -> str:
    """ESME_RTHROTTLED, or the number in hex for a code SMPP 3.4 does not name."""
    return _status_name(status)


class SmppClient:
    """Opened with `connect`, closed with `close`; `closed` is done once the connection ended."""

    def __init__(
        self,
        *,
        handler: Handler,
        window: int = 10,
        enquire_seconds: float = 30.0,
        response_seconds: float = 30.0,
    ) -> None:
        self._handler = handler
        self._window = asyncio.Semaphore(window)
        self._enquire_seconds = enquire_seconds
        self._response_seconds = response_seconds
        self._sequence = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Pdu]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def connect(self, host: str, port: int, *, system_id: str, password: str) -> None:
        """Connects and binds as a transceiver. OSError or TimeoutError if the SMSC cannot be
        reached, BindRefused with its status, LinkLost if it hangs up instead of answering."""
        async with asyncio.timeout(self._response_seconds):
            reader, self._writer = await asyncio.open_connection(host, port)
        self._tasks.append(asyncio.create_task(self._read(reader)))
        answer = await self.request(BindTransceiver(system_id=system_id, password=password), windowed=False)
        if not isinstance(answer, BindTransceiverResp) or answer.status != CommandStatus.ESME_ROK:
            await self.close()
            raise BindRefused(answer.status if answer.status else CommandStatus.ESME_RBINDFAIL)
        self._tasks.append(asyncio.create_task(self._keep_alive()))

    async def request(self, pdu: Pdu, *, windowed: bool = True) -> Pdu:
        """Writes `pdu` with the next sequence_number and returns the SMSC's answer (a response or
        generic_nack). LinkLost if the connection ends first or the answer takes too long: the
        SMSC may have acted on it all the same."""
        async with self._window if windowed else contextlib.nullcontext():
            if self.closed.done() or self._writer is None:
                raise LinkLost("not connected")
            sequence = next(self._sequence)
            answer: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
            self._waiting[sequence] = answer
            try:
                self._writer.write(_with_sequence(pdu, sequence))
                try:
                    async with asyncio.timeout(self._response_seconds):
                        return await answer
                except TimeoutError:
                    # A peer that stops answering is treated as gone: what it holds is in doubt.
                    self._end("no answer within the response timeout")
                    raise LinkLost("no answer") from None
            finally:
                self._waiting.pop(sequence, None)

    async def close(self, *, unbind: bool = False) -> None:
        if unbind and not self.closed.done():
            with contextlib.suppress(LinkLost, TimeoutError):
                async with asyncio.timeout(2):
                    await self.request(Unbind(), windowed=False)
        self._end("closed")
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(
            *[t for t in self._tasks if t is not asyncio.current_task()], return_exceptions=True
        )

    def abort(self) -> None:
        """Cuts the connection (tests: the route's side of a dropped link)."""
        self._end("aborted")

    def _end(self, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
            log.info("smpp_route_link_ended", reason=reason)
        if self._writer is not None:
            self._writer.transport.abort()
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(LinkLost(reason))

    def _send(self, pdu: Pdu) -> None:
        if self._writer is not None and not self.closed.done():
            self._writer.write(pdu.encode())

    async def _read(self, reader: asyncio.StreamReader) -> None:
        framer = Framer()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                framer.feed(data)
                while True:
                    try:
                        pdu = framer.next_pdu()
                    except PduError as error:
                        if error.sequence is not None and error.command_id is not None:
                            if error.command_id & 0x80000000:
                                self._fail_waiter(error.sequence, error)
                            else:
                                self._send(GenericNack(sequence=error.sequence, status=error.status))
                        if isinstance(error, FramingError):
                            raise
                        continue
                    if pdu is None:
                        break
                    self._dispatch(pdu)
        except (OSError, PduError) as error:
            log.info("smpp_route_read_failed", error=str(error))
        finally:
            self._end("the SMSC closed the connection")

    def _fail_waiter(self, sequence: int, error: Exception) -> None:
        waiter = self._waiting.get(sequence)
        if waiter is not None and not waiter.done():
            waiter.set_exception(LinkLost(f"unreadable answer: {error}"))

    def _dispatch(self, pdu: Pdu) -> None:
        if pdu.command_id & 0x80000000:
            waiter = self._waiting.get(pdu.sequence)
            if waiter is not None and not waiter.done():
                waiter.set_result(pdu)
            return
        if isinstance(pdu, EnquireLink):
            self._send(EnquireLinkResp(sequence=pdu.sequence))
        elif isinstance(pdu, Unbind):
            self._send(UnbindResp(sequence=pdu.sequence))
            self._end("the SMSC unbound")
        else:
            task = asyncio.create_task(self._answer(pdu))
            self._tasks.append(task)
            task.add_done_callback(lambda done: self._tasks.remove(done) if done in self._tasks else None)

    async def _answer(self, pdu: Pdu) -> None:
        try:
            response = await self._handler(pdu)
        except Exception:
            log.exception("smpp_route_handler_failed", command_id=pdu.command_id)
            # A temporary error: the SMSC delivers it again later (SMPP 3.4 §5.1.3).
            response = _error_response(pdu, CommandStatus.ESME_RX_T_APPN)
        if response is not None:
            self._send(_with_sequence_pdu(response, pdu.sequence))

    async def _keep_alive(self) -> None:
        while not self.closed.done():
            await asyncio.sleep(self._enquire_seconds)
            try:
                await self.request(EnquireLink(), windowed=False)
            except LinkLost:
                return


def _with_sequence(pdu: Pdu, sequence: int) -> bytes:
    return _with_sequence_pdu(pdu, sequence).encode()


def _with_sequence_pdu(pdu: Pdu, sequence: int) -> Pdu:
    return replace(pdu, sequence=sequence)


def _error_response(pdu: Pdu, status: int) -> Pdu:
    response = pdu_class(pdu.command_id | 0x80000000)
    if response is None:
        return GenericNack(sequence=pdu.sequence, status=status)
    return response(sequence=pdu.sequence, status=status)
