"""One SMPP connection (an ESME bound to simrelay as its SMSC): binds checked against the SMPP
users, enquire_link and unbind in any state, submit_sm into the send path with a window, and
for receiver and transceiver binds the account's receipts and MO as deliver_sm (delivery.py).
A bound client silent for `link_seconds` is sent an enquire_link; silent for as long again,
it is taken for gone and the connection closed.

The window: at most `window` submit_sm are worked on at once; past that the session stops
reading until one is answered, so a fast client is slowed by TCP rather than refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable

import structlog

from simrelay.accounts.guessing import TooManyGuesses
from simrelay.smpp import submit as submitting
from simrelay.smpp.backend import Backend
from simrelay.smpp.codes import INTERFACE_VERSION, CommandStatus
from simrelay.smpp.delivery import Delivery
from simrelay.smpp.fields import FramingError, PduError
from simrelay.smpp.framing import Framer
from simrelay.smpp.pdu import (
    Bind,
    BindReceiver,
    BindReceiverResp,
    BindResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    error_response,
)
from simrelay.smpp.senders import Target
from simrelay.smpp.submit import Assembler
from simrelay.smpp.tlv import Options
from simrelay.smpp.users import BoundUser
from simrelay.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

_S = CommandStatus
SYSTEM_ID = "simrelay"
"""The system_id of the bind responses: who the client is bound to."""
READ_SIZE = 64 * 1024


def _bind_response(bind: Bind) -> type[BindResp]:
    if isinstance(bind, BindReceiver):
        return BindReceiverResp
    return BindTransceiverResp if isinstance(bind, BindTransceiver) else BindTransmitterResp


class Session:
    def __init__(self, backend: Backend, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._backend = backend
        self._reader = reader
        self._writer = writer
        peer = writer.get_extra_info("peername")
        self._host = str(peer[0]) if isinstance(peer, tuple) else "unix"
        self._user: BoundUser | None = None
        self._can_submit = False
        self._window = asyncio.Semaphore(backend.limits.window)
        self._working: set[asyncio.Task[None]] = set()
        self._assembler = Assembler(timeout=backend.limits.concat_seconds, limit=backend.limits.concat_limit)
        self._sequences = itertools.count(1)
        self._delivery: Delivery | None = None
        self._delivering: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._targets: dict[str, Target] = {}

    async def run(self) -> None:
        """Serves the connection until the client unbinds or leaves, or the server stops (a
        cancel): what is in progress is answered first, as far as the connection lets it."""
        try:
            await self._serve()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for task in (self._watching, self._delivering):
                if task is not None:
                    await cancel_and_wait(task)
            await self._drain()
            self._writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._writer.wait_closed()
            if self._user is not None:
                log.info("smpp_closed", system_id=self._user.system_id, peer=self._host)

    async def _serve(self) -> None:
        framer = Framer()
        loop = asyncio.get_running_loop()
        limits = self._backend.limits
        bind_by = loop.time() + limits.bind_seconds
        asked = False  # an enquire_link of ours is out, for a silence
        while True:
            until = bind_by if self._user is None else loop.time() + limits.link_seconds
            try:
                async with asyncio.timeout_at(until):
                    data = await self._reader.read(READ_SIZE)
            except TimeoutError:
                if self._user is None:
                    log.info("smpp_bind_timeout", peer=self._host)
                    return
                if asked:
                    log.info("smpp_link_lost", system_id=self._user.system_id, peer=self._host)
                    return
                asked = True
                self._send(EnquireLink(sequence=self._next_sequence()))
                continue
            if not data:
                return
            asked = False
            framer.feed(data)
            while True:
                try:
                    pdu = framer.next_pdu()
                except FramingError as error:
                    # Nothing after a broken length can be trusted to start a PDU.
                    self._send(GenericNack(sequence=error.sequence or 0, status=error.status))
                    return
                except PduError as error:
                    answer = error_response(error)
                    if answer is not None:
                        self._send(answer)
                    continue
                if pdu is None:
                    break
                if not await self._handle(pdu):
                    return
            # A client that sends without reading its responses waits here, not in our memory.
            await self._writer.drain()

    async def _handle(self, pdu: Pdu) -> bool:
        """Answers one PDU; False when the session ends (unbind)."""
        if isinstance(pdu, SubmitSm):
            await self._submit(pdu)
        elif isinstance(pdu, Bind):
            answer = await self._bind(pdu)
            self._send(answer)
            if answer.status == _S.ESME_ROK and not isinstance(pdu, BindTransmitter):
                assert self._user is not None
                self._start_delivery(self._user.account_id)
        elif isinstance(pdu, EnquireLink):
            self._send(EnquireLinkResp(sequence=pdu.sequence))
        elif isinstance(pdu, Unbind):
            await self._drain()
            self._send(UnbindResp(sequence=pdu.sequence))
            return False
        elif isinstance(pdu, QuerySm) and self._backend.query is not None:
            await self._query(pdu, self._backend.query)
        elif isinstance(pdu, DeliverSmResp):
            if self._delivery is not None:
                self._delivery.answered(pdu)
        elif pdu.command_id & 0x80000000:
            pass  # a response (enquire_link_resp, or to nothing we sent): nothing to answer
        else:
            # Modelled by the codec but not served here yet (query_sm, data_sm, ...).
            self._send(GenericNack(sequence=pdu.sequence, status=_S.ESME_RINVCMDID))
        return True

    async def _bind(self, bind: Bind) -> BindResp:
        response = _bind_response(bind)
        if self._user is not None:
            return response(sequence=bind.sequence, status=_S.ESME_RALYBND)
        try:
            user = await self._backend.authenticate(bind.system_id, bind.password, client_host=self._host)
        except TooManyGuesses as exc:
            log.warning(
                "smpp_bind_throttled", system_id=bind.system_id, peer=self._host, wait=exc.retry_after
            )
            return response(sequence=bind.sequence, status=_S.ESME_RBINDFAIL)
        if user is None:
            # The same answer for an unknown system_id: it does not tell which ones exist.
            log.info("smpp_bind_refused", system_id=bind.system_id, peer=self._host)
            return response(sequence=bind.sequence, status=_S.ESME_RINVPASWD)
        if user.account_blocked:
            log.info("smpp_bind_blocked", system_id=bind.system_id, peer=self._host)
            return response(sequence=bind.sequence, status=_S.ESME_RBINDFAIL)
        if self._backend.targets is not None:
            self._targets = await self._backend.targets(user.user_id)
        self._user = user
        self._can_submit = not isinstance(bind, BindReceiver)
        self._watching = asyncio.create_task(self._watch(user))
        log.info("smpp_bound", system_id=user.system_id, peer=self._host, mode=type(bind).__name__)
        return response(
            sequence=bind.sequence,
            system_id=SYSTEM_ID,
            options=Options(sc_interface_version=INTERFACE_VERSION),
        )

    async def _watch(self, user: BoundUser) -> None:
        """Reloads the user's mappings now and then, and ends the session (an unbind of ours,
        then the close) once its user is deleted or its account blocked."""
        backend = self._backend
        while True:
            await asyncio.sleep(backend.limits.recheck_seconds)
            try:
                if backend.targets is not None:
                    self._targets = await backend.targets(user.user_id)
                if backend.may_stay is None or await backend.may_stay(user.user_id):
                    continue
            except Exception:
                log.exception("smpp_recheck_failed", system_id=user.system_id)
                continue
            log.info("smpp_unbound_by_server", system_id=user.system_id, peer=self._host)
            self._send(Unbind(sequence=self._next_sequence()))
            await asyncio.sleep(0.2)  # time for the unbind to go out before the close
            self._writer.close()
            return

    async def _query(self, pdu: QuerySm, query: Callable[[QuerySm, str], Awaitable[QuerySmResp]]) -> None:
        if self._user is None or not self._can_submit:
            # §4.8: a query comes from a transmitter or transceiver.
            self._send(QuerySmResp(sequence=pdu.sequence, status=_S.ESME_RINVBNDSTS))
            return
        account_id = self._user.account_id
        await self._window.acquire()  # queries share the window with submits

        async def work() -> None:
            try:
                answer = await query(pdu, account_id)
            except Exception:
                log.exception("smpp_query_failed", peer=self._host)
                answer = QuerySmResp(sequence=pdu.sequence, status=_S.ESME_RSYSERR)
            finally:
                self._window.release()
            self._send(answer)

        task = asyncio.create_task(work())
        self._working.add(task)
        task.add_done_callback(self._working.discard)

    def _start_delivery(self, account_id: str) -> None:
        if self._backend.outbox is None or self._delivering is not None:
            return
        self._delivery = self._backend.outbox.delivery(account_id, self._send, self._next_sequence)
        self._delivering = asyncio.create_task(self._deliver(self._delivery))

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await delivery.run()
        except Exception:
            # The session goes on submitting; its receipts wait for the next bind.
            log.exception("smpp_delivery_failed", peer=self._host)

    def _next_sequence(self) -> int:
        # sequence_number runs 0x00000001-0x7FFFFFFF (§5.1.4), then starts again.
        return (next(self._sequences) - 1) % 0x7FFFFFFF + 1

    async def _submit(self, pdu: SubmitSm) -> None:
        if self._user is None or not self._can_submit:
            self._send(SubmitSmResp(sequence=pdu.sequence, status=_S.ESME_RINVBNDSTS))
            return
        await self._window.acquire()  # the backpressure: no more reading while the window is full
        task = asyncio.create_task(self._work(pdu, self._user.account_id))
        self._working.add(task)
        task.add_done_callback(self._working.discard)

    async def _work(self, pdu: SubmitSm, account_id: str) -> None:
        try:
            if self._backend.allow is not None and not await self._backend.allow(account_id):
                raise submitting.SubmitError(_S.ESME_RTHROTTLED, "the account's rate limit")
            message_id = await submitting.submit(
                self._backend.store, self._assembler, pdu, account_id=account_id, targets=self._targets
            )
            answer = SubmitSmResp(sequence=pdu.sequence, message_id=message_id)
        except Exception as error:
            status = submitting.status_of(error)
            if status == _S.ESME_RSYSERR:
                log.exception("smpp_submit_failed", peer=self._host)
            answer = SubmitSmResp(sequence=pdu.sequence, status=status)
        finally:
            self._window.release()
        self._send(answer)

    async def _drain(self) -> None:
        if self._working:
            await asyncio.wait(set(self._working), timeout=self._backend.limits.drain_seconds)

    def _send(self, pdu: Pdu) -> None:
        if self._writer.is_closing():
            return
        # Responses are small and each is written whole; a client that stops reading fills
        # its socket, and the window then stops this session from taking more work.
        self._writer.write(pdu.encode())
