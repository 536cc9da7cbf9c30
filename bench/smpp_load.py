"""The SMPP load generator of bench/smpp.py: N sessions, each keeping a window of W submit_sm in
flight, for a fixed time; submit_sm/s, submit_sm -> submit_sm_resp latency, statuses, and (on a
transceiver bind with registered_delivery=1) submit_sm_resp -> receipt latency.

PDUs are built and read with simrelay's own codec (`simrelay.smpp.pdu`, `framing`), which
tests/integration/smpp checks against smpplib; `bench/smpp.py --check-smpplib` sends one
submit_sm with smpplib too, so the server is seen accepting what an independent client sends.

One asyncio task per session does everything: each read of the socket is cut into PDUs, every
submit_sm_resp frees a slot of the window, and the freed slots are refilled in one write. A
client in Python competes with the server for the same two cores, so it stays cheap: the
submit_sm is encoded once and only its sequence_number is rewritten per PDU.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from simrelay.smpp.codes import CommandStatus, EsmType, MessageState, Npi, Ton
from simrelay.smpp.fields import PduError
from simrelay.smpp.framing import Framer
from simrelay.smpp.pdu import (
    BindResp,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from simrelay.smpp.receipt import receipt_of

ESM_TYPE_MASK = 0x3C
READ_SIZE = 256 * 1024
MAX_SEQUENCE = 0x7FFFFFFF
PACE_TICK = 0.005
RECEIPT_TICK = 0.05


@dataclass(frozen=True)
class Load:
    """What to send and how: one point of the benchmark."""

    host: str
    port: int
    system_id: str
    password: str
    sessions: int = 1
    window: int = 10
    duration: float = 10.0
    transceiver: bool = False
    registered_delivery: int = 0
    destination: str = "79999999999"  # dest_addr_ton 1: +79999999999, as the HTTP body's number
    text: bytes = b"hello from wrk"  # data_coding 0: these characters are the same in GSM 03.38
    rate: float = 0.0
    """submit_sm/s over all sessions; 0: as fast as the window allows."""
    count: int = 0
    """Stop after this many submit_sm over all sessions (0: none), even before `duration`."""
    response_timeout: float = 10.0
    """A session that hears nothing for this long while it waits gives up (counted unanswered)."""
    receipt_timeout: float = 0.0
    """After the load, how long to wait for the receipts still missing."""


@dataclass
class Result:
    """One run: `ok` submit_sm_resp with ESME_ROK whose answer arrived within the timed part;
    the counters below cover every PDU the run sent (the stored check needs them all)."""

    seconds: float = 0.0
    answered: int = 0  # submit_sm_resp received during the timed part, any status
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    ok_total: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    unanswered: int = 0
    errors: list[str] = field(default_factory=list)
    receipts_wanted: int = 0
    receipt_latencies_ms: list[float] = field(default_factory=list)
    receipt_states: Counter[str] = field(default_factory=Counter)
    receipts_before_response: int = 0

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0


def submit_template(load: Load, *, sequence: int) -> bytes:
    """The submit_sm every session sends, as octets (our codec's)."""
    return SubmitSm(
        sequence=sequence,
        source_addr="bench",
        dest_addr_ton=Ton.INTERNATIONAL,
        dest_addr_npi=Npi.ISDN,
        destination_addr=load.destination,
        registered_delivery=load.registered_delivery,
        short_message=load.text,
    ).encode()


def status_name(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08X}"


class SessionError(Exception):
    pass


class _Session:
    """One bound connection under load."""

    def __init__(self, load: Load, result: Result, clock: _Clock) -> None:
        self.load = load
        self.result = result
        self.clock = clock
        self.framer = Framer()
        self.sequence = 1
        self.in_flight: dict[int, float] = {}
        # message_id -> when its submit_sm_resp came; shared by the sessions, since a server may
        # send a receipt over any session bound as the same system_id.
        self.receipt_sent = clock.receipts_owed
        self.replies: list[bytes] = []
        self.bound = asyncio.Event()
        self.per_second = load.rate / load.sessions
        self.paced = 0  # submit_sm sent since the clock started, when paced
        template = submit_template(load, sequence=0)
        self.head, self.tail = template[:12], template[16:]

    def next_sequence(self) -> int:
        self.sequence = self.sequence % MAX_SEQUENCE + 1
        return self.sequence

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection(self.load.host, self.load.port)
        try:
            await self.bind(reader, writer)
            await self.clock.started.wait()
            self.fill(writer)
            await self.pump(reader, writer)
            if self.load.receipt_timeout > 0 and self.receipt_sent:
                until = time.perf_counter() + self.load.receipt_timeout
                await self.pump(reader, writer, receipts_until=until)
            await self.unbind(reader, writer)
        finally:
            self.result.unanswered += len(self.in_flight)
            writer.close()

    async def bind(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        kind = BindTransceiver if self.load.transceiver else BindTransmitter
        bind = kind(sequence=self.next_sequence(), system_id=self.load.system_id, password=self.load.password)
        writer.write(bind.encode())
        answer = await self.read_one(reader, BindResp)
        if answer.status != CommandStatus.ESME_ROK:
            raise SessionError(f"bind answered {status_name(answer.status)}")
        self.bound.set()

    async def read_one(self, reader: asyncio.StreamReader, kind: type[Pdu]) -> Pdu:
        async with asyncio.timeout(self.load.response_timeout):
            while True:
                pdu = self.framer.next_pdu()
                if pdu is None:
                    data = await reader.read(READ_SIZE)
                    if not data:
                        raise SessionError(f"connection closed while waiting for {kind.__name__}")
                    self.framer.feed(data)
                elif isinstance(pdu, (kind, GenericNack)):
                    return pdu

    def fill(self, writer: asyncio.StreamWriter) -> None:
        """Tops the window up (if the load is still on) and sends that with any replies owed."""
        chunks = self.replies
        self.replies = []
        if self.clock.sending():
            now = time.perf_counter()
            room = self.load.window - len(self.in_flight)
            if self.clock.count:
                room = min(room, self.clock.count - self.clock.sent)
            if self.per_second:
                room = min(room, int((now - self.clock.start) * self.per_second) - self.paced)
                self.paced += max(room, 0)
            for _ in range(room):
                sequence = self.next_sequence()
                self.in_flight[sequence] = now
                chunks.append(self.head + sequence.to_bytes(4, "big") + self.tail)
                self.result.sent += 1
                self.clock.sent += 1
        if chunks:
            writer.write(b"".join(chunks))

    async def pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, receipts_until: float = 0.0
    ) -> None:
        """Reads and refills until the load is over and every submit_sm is answered, or (with
        `receipts_until`) until every receipt came or that moment passed. A paced session also
        wakes every PACE_TICK s to send what has come due."""
        heard = time.perf_counter()
        while True:
            now = time.perf_counter()
            if receipts_until:
                if not self.receipt_sent or now >= receipts_until:
                    return
                # Short: the last receipts may come over another session.
                wait = min(receipts_until - now, RECEIPT_TICK)
            elif not self.in_flight and not self.clock.sending():
                return
            elif self.in_flight and now - heard >= self.load.response_timeout:
                raise SessionError(
                    f"no answer for {self.load.response_timeout:g}s with {len(self.in_flight)} in flight"
                )
            else:
                wait = self.load.response_timeout - (now - heard) if self.in_flight else PACE_TICK
                if self.per_second and self.clock.sending():
                    wait = min(wait, PACE_TICK)
            try:
                async with asyncio.timeout(wait):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                self.fill(writer)
                continue
            if not data:
                raise SessionError(f"connection closed with {len(self.in_flight)} in flight")
            heard = time.perf_counter()
            self.framer.feed(data)
            self.take_all()
            self.fill(writer)
            if writer.transport.get_write_buffer_size() > READ_SIZE:
                await writer.drain()

    def take_all(self) -> None:
        now = time.perf_counter()
        while True:
            try:
                pdu = self.framer.next_pdu()
            except PduError as error:
                self.result.statuses[f"undecodable {status_name(error.status)}"] += 1
                continue
            if pdu is None:
                return
            if isinstance(pdu, SubmitSmResp):
                self.take_response(pdu, now)
            elif isinstance(pdu, DeliverSm):
                self.take_deliver(pdu, now)
            elif isinstance(pdu, EnquireLink):
                self.replies.append(EnquireLinkResp(sequence=pdu.sequence).encode())
            elif isinstance(pdu, GenericNack):
                self.result.statuses[f"generic_nack {status_name(pdu.status)}"] += 1
                self.in_flight.pop(pdu.sequence, None)

    def take_response(self, pdu: SubmitSmResp, now: float) -> None:
        sent = self.in_flight.pop(pdu.sequence, None)
        if sent is None:
            self.result.statuses["unexpected submit_sm_resp"] += 1
            return
        self.result.statuses[status_name(pdu.status)] += 1
        ok = pdu.status == CommandStatus.ESME_ROK
        self.result.ok_total += ok
        if self.clock.timed(now):
            self.result.answered += 1
            self.result.latencies_ms.append((now - sent) * 1000)
            if ok and self.load.registered_delivery:
                self.result.receipts_wanted += 1
                early = self.clock.receipts_early.pop(pdu.message_id, None)
                if early is None:
                    self.receipt_sent[pdu.message_id] = now
                else:
                    # Read before its submit_sm_resp (over another session): counted as 0 ms.
                    self.result.receipts_before_response += 1
                    self.result.receipt_states[early.name] += 1
                    self.result.receipt_latencies_ms.append(0.0)

    def take_deliver(self, pdu: DeliverSm, now: float) -> None:
        self.replies.append(DeliverSmResp(sequence=pdu.sequence).encode())
        if pdu.esm_class & ESM_TYPE_MASK != EsmType.DELIVERY_RECEIPT:
            return
        receipt = receipt_of(pdu)
        if receipt is None:
            self.result.receipt_states["unreadable"] += 1
            return
        answered = self.receipt_sent.pop(receipt.message_id, None)
        if answered is None:
            self.clock.receipts_early[receipt.message_id] = receipt.state
        else:
            self.result.receipt_states[receipt.state.name] += 1
            self.result.receipt_latencies_ms.append((now - answered) * 1000)

    async def unbind(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(Unbind(sequence=self.next_sequence()).encode())
        try:
            await self.read_one(reader, UnbindResp)
        except (TimeoutError, SessionError, ConnectionError):
            pass  # the figures are in; an unbind left unanswered changes none of them


class _Clock:
    """When the timed part starts and ends: every session binds first, then all start at once."""

    def __init__(self, duration: float, count: int = 0) -> None:
        self.duration = duration
        self.count = count
        self.sent = 0
        self.started = asyncio.Event()
        self.receipts_owed: dict[str, float] = {}
        self.receipts_early: dict[str, MessageState] = {}
        """Receipts read before their submit_sm_resp, or of submits outside the timed part."""
        self.start = 0.0
        self.end = float("inf")

    def begin(self) -> None:
        self.start = time.perf_counter()
        self.end = self.start + self.duration
        self.started.set()

    def sending(self) -> bool:
        return time.perf_counter() < self.end and not (self.count and self.sent >= self.count)

    def timed(self, moment: float) -> bool:
        return self.start <= moment < self.end


async def run_load(load: Load) -> Result:
    """Binds `load.sessions` sessions, runs the load for `load.duration` s, waits for what is
    in flight (and receipts, if asked), unbinds. A session that fails is reported in
    `errors`; the others go on."""
    result = Result(seconds=load.duration)
    clock = _Clock(load.duration, load.count)
    sessions = [_Session(load, result, clock) for _ in range(load.sessions)]
    tasks = [asyncio.create_task(session.run()) for session in sessions]
    # Binds can be slow (the server hashes the password): start the clock once all are bound.
    # Binds can be slow (the server hashes the password): the clock starts once all are bound,
    # or once one session has ended (it could not bind), or after a minute.
    all_bound = asyncio.ensure_future(asyncio.gather(*(session.bound.wait() for session in sessions)))
    await asyncio.wait([all_bound, *tasks], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    all_bound.cancel()
    clock.begin()
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            result.errors.append(f"{type(outcome).__name__}: {outcome}")
    return result
