"""SMPP sessions over a real loopback socket, with the send path and the credential check faked:
bind states, enquire_link, unbind, generic_nack, the codec's errors, the window's backpressure,
the bind timeout and a stop that answers what is in progress."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from simrelay.accounts.guessing import TooManyGuesses
from simrelay.smpp.backend import Backend, Limits
from simrelay.smpp.codes import CommandStatus, Ton
from simrelay.smpp.framing import Framer
from simrelay.smpp.pdu import (
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from simrelay.smpp.senders import Target
from simrelay.smpp.server import SmppServer
from simrelay.smpp.session import SYSTEM_ID
from simrelay.smpp.submit import ReceiptAsk, SubmitError
from simrelay.smpp.users import BoundUser

S = CommandStatus
USER = BoundUser("u1", "account1", "app", account_blocked=False)


@dataclass
class FakeStore:
    """Stores nothing: records each call and answers an id, after `gate` opens if one is set."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    receipts: list[ReceiptAsk | None] = field(default_factory=list)
    gate: asyncio.Event | None = None
    fail: Exception | None = None

    async def store(
        self,
        *,
        account_id: str,
        phone: str,
        text: str,
        message_id: str | None = None,
        receipt: ReceiptAsk | None = None,
        target: Target | None = None,
    ) -> str:
        self.calls.append((account_id, phone, text))
        self.receipts.append(receipt)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return message_id or f"sms{len(self.calls)}"


async def authenticate(system_id: str, password: str, *, client_host: str) -> BoundUser | None:
    assert client_host == "127.0.0.1"
    if system_id == "throttled":
        raise TooManyGuesses(2)
    if system_id == "blocked" and password == "secret":
        return BoundUser("u2", "account2", "blocked", account_blocked=True)
    return USER if (system_id, password) == ("app", "secret") else None


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.framer = Framer()

    async def send(self, *pdus: Pdu) -> None:
        self.writer.write(b"".join(pdu.encode() for pdu in pdus))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, timeout: float = 5.0) -> Pdu | None:
        """The next PDU; None when the server closed the connection."""
        async with asyncio.timeout(timeout):
            while (pdu := self.framer.next_pdu()) is None:
                data = await self.reader.read(65536)
                if not data:
                    return None
                self.framer.feed(data)
            return pdu

    async def call(self, pdu: Pdu) -> Pdu | None:
        await self.send(pdu)
        return await self.read()

    async def bind(self) -> None:
        answer = await self.call(BindTransmitter(sequence=1, system_id="app", password="secret"))
        assert answer == BindTransmitterResp(sequence=1, system_id=SYSTEM_ID, options=answer.options)


@dataclass
class Rig:
    server: SmppServer
    store: FakeStore
    clients: list[Client] = field(default_factory=list)

    async def client(self) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        self.clients.append(Client(reader, writer))
        return self.clients[-1]

    async def stop(self) -> None:
        await self.server.stop()
        for client in self.clients:
            client.writer.close()
            with contextlib.suppress(ConnectionError):
                await client.writer.wait_closed()


async def start(
    limits: Limits, store: FakeStore | None = None, allow: Callable[[str], Awaitable[bool]] | None = None
) -> Rig:
    store = store or FakeStore()
    server = SmppServer(Backend(store, authenticate, limits, allow=allow), host="127.0.0.1", port=0)
    await server.start()
    return Rig(server, store)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    rig = await start(Limits(window=3, bind_seconds=5.0))
    yield rig
    await rig.stop()


def submit(sequence: int, text: bytes = b"hello", destination: str = "79990001122") -> SubmitSm:
    return SubmitSm(sequence=sequence, destination_addr=destination, short_message=text)


async def test_commands_before_a_bind(rig: Rig) -> None:
    client = await rig.client()
    assert await client.call(submit(7)) == SubmitSmResp(sequence=7, status=S.ESME_RINVBNDSTS)
    assert await client.call(EnquireLink(sequence=8)) == EnquireLinkResp(sequence=8)
    assert rig.store.calls == []


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [
        ("app", "wrong", S.ESME_RINVPASWD),
        ("nobody", "secret", S.ESME_RINVPASWD),  # the same answer: which system_ids exist stays unknown
        ("throttled", "secret", S.ESME_RBINDFAIL),
        ("blocked", "secret", S.ESME_RBINDFAIL),
    ],
)
async def test_a_refused_bind_leaves_the_session_unbound(
    rig: Rig, system_id: str, password: str, status: int
) -> None:
    client = await rig.client()
    refused = await client.call(BindTransceiver(sequence=1, system_id=system_id, password=password))
    assert refused == BindTransceiverResp(sequence=1, status=status)
    assert await client.call(submit(2)) == SubmitSmResp(sequence=2, status=S.ESME_RINVBNDSTS)
    await client.bind()  # and it may still bind with the right credentials


async def test_bind_submit_rebind_unknown_commands_and_unbind(rig: Rig) -> None:
    client = await rig.client()
    bound = await client.call(BindTransceiver(sequence=1, system_id="app", password="secret"))
    assert isinstance(bound, BindTransceiverResp)
    assert (bound.status, bound.system_id, bound.options.sc_interface_version) == (
        S.ESME_ROK,
        SYSTEM_ID,
        0x34,
    )
    assert await client.call(submit(2)) == SubmitSmResp(sequence=2, message_id="sms1")
    assert rig.store.calls == [("account1", "79990001122", "hello")]

    again = await client.call(BindTransmitter(sequence=3, system_id="app", password="secret"))
    assert again == BindTransmitterResp(sequence=3, status=S.ESME_RALYBND)
    # A command the codec does not know, then one it knows that is not served.
    await client.send_raw(bytes.fromhex("00000010000007770000000000000004"))
    assert await client.read() == GenericNack(sequence=4, status=S.ESME_RINVCMDID)
    assert await client.call(QuerySm(sequence=5, message_id="x")) == GenericNack(
        sequence=5, status=S.ESME_RINVCMDID
    )
    assert await client.call(EnquireLink(sequence=6)) == EnquireLinkResp(sequence=6)
    assert await client.call(Unbind(sequence=7)) == UnbindResp(sequence=7)
    assert await client.read() is None  # closed after the unbind_resp


async def test_a_receiver_may_not_submit(rig: Rig) -> None:
    client = await rig.client()
    bound = await client.call(BindReceiver(sequence=1, system_id="app", password="secret"))
    assert isinstance(bound, BindReceiverResp) and bound.status == S.ESME_ROK
    assert await client.call(submit(2)) == SubmitSmResp(sequence=2, status=S.ESME_RINVBNDSTS)
    assert rig.store.calls == []


async def test_malformed_pdus_get_the_codecs_answer(rig: Rig) -> None:
    client = await rig.client()
    # A system_id of 20 characters: longer than its field, answered by the bind's own response.
    long_id = BindTransmitter(sequence=1, system_id="a" * 15, password="secret").encode()
    broken = long_id[:16] + b"a" * 5 + long_id[16:]
    broken = len(broken).to_bytes(4, "big") + broken[4:]
    await client.send_raw(broken)
    assert await client.read() == BindTransmitterResp(sequence=1, status=S.ESME_RINVSYSID)
    await client.bind()
    # UCS-2 text of an odd length.
    await client.send(
        SubmitSm(sequence=2, destination_addr="79990001122", data_coding=8, short_message=b"\x04")
    )
    assert await client.read() == SubmitSmResp(sequence=2, status=S.ESME_RINVMSGLEN)
    # A command_length under the header's 16 octets: nothing after it can be read.
    await client.send_raw(bytes.fromhex("00000008000000040000000000000003"))
    assert await client.read() == GenericNack(sequence=3, status=S.ESME_RINVCMDLEN)
    assert await client.read() is None
    assert rig.store.calls == []


async def test_submit_errors_become_statuses(rig: Rig) -> None:
    client = await rig.client()
    await client.bind()
    assert await client.call(submit(2, destination="abc")) == SubmitSmResp(
        sequence=2, status=S.ESME_RINVDSTADR
    )
    assert rig.store.calls == []  # refused before the send path
    rig.store.fail = SubmitError(S.ESME_RSUBMITFAIL, "no device")
    assert await client.call(submit(3)) == SubmitSmResp(sequence=3, status=S.ESME_RSUBMITFAIL)
    rig.store.fail = RuntimeError("the database is gone")
    assert await client.call(submit(4)) == SubmitSmResp(sequence=4, status=S.ESME_RSYSERR)
    rig.store.fail = None
    assert await client.call(EnquireLink(sequence=5)) == EnquireLinkResp(sequence=5)  # still serving


async def test_an_international_destination_gets_its_plus(rig: Rig) -> None:
    client = await rig.client()
    await client.bind()
    pdu = SubmitSm(
        sequence=2, dest_addr_ton=Ton.INTERNATIONAL, destination_addr="79990001122", short_message=b"x"
    )
    assert await client.call(pdu) == SubmitSmResp(sequence=2, message_id="sms1")
    assert rig.store.calls == [("account1", "+79990001122", "x")]


async def test_the_window_pauses_reading_instead_of_refusing(rig: Rig) -> None:
    rig.store.gate = asyncio.Event()
    client = await rig.client()
    await client.bind()
    await client.send(*(submit(10 + n) for n in range(8)))
    async with asyncio.timeout(5):
        while len(rig.store.calls) < 3:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert len(rig.store.calls) == 3  # the window (3): the rest wait, unread, unrefused
    rig.store.gate.set()
    answers = [await client.read() for _ in range(8)]
    assert sorted(
        a.sequence for a in answers if isinstance(a, SubmitSmResp) and a.status == S.ESME_ROK
    ) == list(range(10, 18))
    assert len(rig.store.calls) == 8


async def test_unbind_answers_submits_in_progress_first(rig: Rig) -> None:
    rig.store.gate = asyncio.Event()
    client = await rig.client()
    await client.bind()
    await client.send(submit(2), Unbind(sequence=3))
    await asyncio.sleep(0.2)
    rig.store.gate.set()
    assert await client.read() == SubmitSmResp(sequence=2, message_id="sms1")
    assert await client.read() == UnbindResp(sequence=3)
    assert await client.read() is None


async def test_a_connection_that_does_not_bind_is_closed() -> None:
    rig = await start(Limits(bind_seconds=0.3))
    try:
        client = await rig.client()
        # enquire_link is answered, but does not keep an unbound connection open.
        assert await client.call(EnquireLink(sequence=1)) == EnquireLinkResp(sequence=1)
        assert await client.read(timeout=3) is None
        bound = await rig.client()
        await bound.bind()
        await asyncio.sleep(0.5)
        assert await bound.call(EnquireLink(sequence=2)) == EnquireLinkResp(sequence=2)
    finally:
        await rig.stop()


async def test_stop_answers_submits_in_progress_then_closes() -> None:
    store = FakeStore(gate=asyncio.Event())
    rig = await start(Limits(), store)
    client = await rig.client()
    await client.bind()
    await client.send(submit(2))
    async with asyncio.timeout(5):
        while not store.calls:
            await asyncio.sleep(0.01)
    stopping = asyncio.create_task(rig.server.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()  # waits for the submit in progress
    store.gate.set()
    assert await client.read() == SubmitSmResp(sequence=2, message_id="sms1")
    assert await client.read() is None
    await stopping
    await rig.stop()


async def test_past_the_accounts_rate_limit_submit_sm_is_throttled() -> None:
    budget = {"account1": 2}

    async def allow(account_id: str) -> bool:
        budget[account_id] -= 1
        return budget[account_id] >= 0

    rig = await start(Limits(), allow=allow)
    try:
        client = await rig.client()
        await client.bind()
        answers = [await client.call(submit(n)) for n in (2, 3, 4)]
        assert [a.status for a in answers if isinstance(a, SubmitSmResp)] == [
            S.ESME_ROK,
            S.ESME_ROK,
            S.ESME_RTHROTTLED,
        ]
        assert len(rig.store.calls) == 2
    finally:
        await rig.stop()


async def test_a_bound_client_that_falls_silent_is_asked_then_dropped() -> None:
    rig = await start(Limits(link_seconds=0.3))
    try:
        answering = await rig.client()
        await answering.bind()
        asked = await answering.read(timeout=3)
        assert isinstance(asked, EnquireLink)
        await answering.send(EnquireLinkResp(sequence=asked.sequence))
        again = await answering.read(timeout=3)  # answered: the session goes on, and asks again
        assert isinstance(again, EnquireLink) and again.sequence != asked.sequence

        silent = await rig.client()
        await silent.bind()
        assert isinstance(await silent.read(timeout=3), EnquireLink)
        assert await silent.read(timeout=3) is None  # no answer within as long again: closed
    finally:
        await rig.stop()


async def test_a_deleted_user_or_blocked_account_is_unbound_by_the_server() -> None:
    allowed = {"u1": True}

    async def may_stay(user_id: str) -> bool:
        return allowed[user_id]

    store = FakeStore()
    server = SmppServer(
        Backend(store, authenticate, Limits(recheck_seconds=0.1), may_stay=may_stay), host="127.0.0.1", port=0
    )
    await server.start()
    rig = Rig(server, store)
    try:
        client = await rig.client()
        await client.bind()
        assert await client.call(submit(2)) == SubmitSmResp(sequence=2, message_id="sms1")
        await asyncio.sleep(0.3)  # rechecked, still allowed: nothing comes
        allowed["u1"] = False
        assert isinstance(await client.read(timeout=3), Unbind)
        assert await client.read(timeout=3) is None
    finally:
        await rig.stop()


async def test_connections_past_the_cap_are_closed_at_once() -> None:
    rig = await start(Limits(max_sessions=2))
    try:
        first, second = await rig.client(), await rig.client()
        await first.bind()
        await second.bind()
        third = await rig.client()
        assert await third.read(timeout=3) is None  # closed without a word
        await first.send(Unbind(sequence=9))
        assert await first.read() == UnbindResp(sequence=9)
        assert await first.read() is None
        await asyncio.sleep(0.1)
        fourth = await rig.client()  # a place is free again
        await fourth.bind()
    finally:
        await rig.stop()
