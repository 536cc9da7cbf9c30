"""A fake SMSC for the route tests: an asyncio SMPP 3.4 server on loopback that binds any
transceiver with the right credentials, answers submit_sm with ids and sends receipts after a
delay, and does on request what real SMSCs do on bad days: throttles, withholds a response,
drops the link, sends MO.

It writes its PDUs with simrelay's codec (smpp/pdu.py, tested against smpplib elsewhere) but
writes receipt texts by hand, in the layout of SMPP 3.4 Appendix B as Kannel's and Jasmin's
SMSC simulators send it, so the route's receipt parsing is checked against text it did not make.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from simrelay.smpp.codes import ESM_UDHI, CommandStatus, EsmType
from simrelay.smpp.framing import Framer
from simrelay.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from simrelay.smpp.text import decode_text, split_udh


@dataclass
class Submitted:
    destination: str
    source: str
    text: str
    data_coding: int
    esm_class: int
    smsc_id: str | None  # None: not accepted (throttled, withheld, refused)


@dataclass
class FakeSmsc:
    system_id: str = "carrier"
    password: str = "secret"
    receipt_delay: float = 0.05
    """Seconds from a submit_sm accepted to its receipt; None: no receipts."""
    receipt_stat: str = "DELIVRD"
    throttle_next: int = 0
    """The next this many submit_sm are answered ESME_RTHROTTLED."""
    withhold_next: int = 0
    """The next this many submit_sm get no answer at all."""
    drop_on_submit: int = 0
    """The next this many submit_sm make the SMSC cut the link instead of answering."""
    refuse_next: list[int] = field(default_factory=list)
    """Statuses to answer the next submit_sm with, first first."""
    submitted: list[Submitted] = field(default_factory=list)
    binds: int = 0
    most_bound: int = 0
    """The most connections bound at the same time."""
    refused_binds: int = 0
    enquire_links: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: list[bytes] = field(default_factory=list)  # deliver_sm waiting for a bound link
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    deliver_answers: list[int] = field(default_factory=list)
    """command_status of each deliver_sm_resp received."""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop()
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def drop(self) -> None:
        """Cuts every connection without unbind, as a crashing SMSC or a dead network does."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    @property
    def bound(self) -> bool:
        return bool(self._writers)

    def accepted_texts(self) -> Counter[str]:
        return Counter(s.text for s in self.submitted if s.smsc_id is not None)

    def texts(self) -> Counter[str]:
        """Every submit_sm received, by text: the count that must never pass 1 per SMS."""
        return Counter(s.text for s in self.submitted)

    def send_mo(self, source: str, *texts: str, destination: str = "1234", reference: int = 42) -> None:
        """An incoming SMS in UCS-2; with several texts, a long one of that many parts behind UDHs."""
        for seq, text in enumerate(texts, start=1):
            octets = text.encode("utf-16-be")
            if len(texts) > 1:
                octets = bytes([5, 0, 3, reference, len(texts), seq]) + octets
            self._deliver(
                DeliverSm(
                    source_addr_ton=1,
                    source_addr=source,
                    destination_addr=destination,
                    esm_class=ESM_UDHI if len(texts) > 1 else 0,
                    data_coding=8,
                    short_message=octets,
                )
            )

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Returns once `predicate()` holds; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await self._changed.wait()

    # The server.

    def _deliver(self, pdu: DeliverSm) -> None:
        data = replace(pdu, sequence=next(self._sequence)).encode()
        if self._writers:
            self._writers[-1].write(data)
        else:
            self._pending.append(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        bound = False
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                framer.feed(data)
                while (pdu := framer.next_pdu()) is not None:
                    answer, bound = self._answer(pdu, writer, bound)
                    if answer == "drop":
                        writer.transport.abort()
                        return
                    if answer is not None:
                        writer.write(answer.encode())
                    self._changed.set()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.transport.abort()
            self._changed.set()

    def _answer(self, pdu: Pdu, writer: asyncio.StreamWriter, bound: bool) -> tuple[Pdu | str | None, bool]:
        seq = pdu.sequence
        if isinstance(pdu, BindTransceiver):
            if (pdu.system_id, pdu.password) != (self.system_id, self.password):
                self.refused_binds += 1
                return BindTransceiverResp(sequence=seq, status=CommandStatus.ESME_RBINDFAIL), False
            self.binds += 1
            self._writers.append(writer)
            self.most_bound = max(self.most_bound, len(self._writers))
            writer.write(BindTransceiverResp(sequence=seq, system_id="fakesmsc").encode())
            for data in self._pending:
                writer.write(data)
            self._pending.clear()
            return None, True
        if isinstance(pdu, EnquireLink):
            self.enquire_links += 1
            return EnquireLinkResp(sequence=seq), bound
        if isinstance(pdu, Unbind):
            return UnbindResp(sequence=seq), False
        if pdu.command_id & 0x80000000:
            self.deliver_answers.append(pdu.status)
            return None, bound
        if not bound:
            return GenericNack(sequence=seq, status=CommandStatus.ESME_RINVBNDSTS), bound
        if isinstance(pdu, SubmitSm):
            return self._submit(pdu), bound
        return GenericNack(sequence=seq, status=CommandStatus.ESME_RINVCMDID), bound

    def _submit(self, pdu: SubmitSm) -> Pdu | str | None:
        payload = pdu.short_message
        if pdu.esm_class & ESM_UDHI:
            _, payload = split_udh(payload)
        record = Submitted(
            destination=pdu.destination_addr,
            source=pdu.source_addr,
            text=decode_text(payload, pdu.data_coding),
            data_coding=pdu.data_coding,
            esm_class=pdu.esm_class,
            smsc_id=None,
        )
        self.submitted.append(record)
        if self.drop_on_submit:
            self.drop_on_submit -= 1
            return "drop"
        if self.withhold_next:
            self.withhold_next -= 1
            return None
        if self.throttle_next:
            self.throttle_next -= 1
            return SubmitSmResp(sequence=pdu.sequence, status=CommandStatus.ESME_RTHROTTLED)
        if self.refuse_next:
            return SubmitSmResp(sequence=pdu.sequence, status=self.refuse_next.pop(0))
        record.smsc_id = format(next(self._ids), "x")
        if self.receipt_delay is not None:
            task = asyncio.create_task(self._receipt_later(record.smsc_id, record.text))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return SubmitSmResp(sequence=pdu.sequence, message_id=record.smsc_id)

    async def _receipt_later(self, smsc_id: str, text: str) -> None:
        await asyncio.sleep(self.receipt_delay or 0.0)
        stamp = time.strftime("%y%m%d%H%M", time.gmtime())
        dlvrd = "001" if self.receipt_stat == "DELIVRD" else "000"
        body = (
            f"id:{smsc_id} sub:001 dlvrd:{dlvrd} submit date:{stamp} done date:{stamp} "
            f"stat:{self.receipt_stat} err:000 text:{text[:20]}"
        )
        self._deliver(
            DeliverSm(
                esm_class=EsmType.DELIVERY_RECEIPT,
                short_message=body.encode("ascii", "replace"),
            )
        )
