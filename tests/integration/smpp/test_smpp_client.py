"""The route's SMPP client against the fake SMSC on loopback: bind, keep-alive, the window,
answers matched by sequence, and what happens when the SMSC hangs up, goes silent or refuses."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from simrelay.smpp.client import BindRefused, LinkLost, SmppClient
from simrelay.smpp.codes import CommandStatus
from simrelay.smpp.pdu import DeliverSm, DeliverSmResp, Pdu, SubmitSm, SubmitSmResp
from tests.fakes.smsc import FakeSmsc

pytestmark = pytest.mark.integration


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    fake = FakeSmsc(receipt_delay=None)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def no_requests(pdu: Pdu) -> Pdu | None:
    raise AssertionError(f"unexpected {pdu}")


async def bound(smsc: FakeSmsc, **options: float) -> SmppClient:
    client = SmppClient(handler=no_requests, **options)  # type: ignore[arg-type]
    await client.connect("127.0.0.1", smsc.port, system_id=smsc.system_id, password=smsc.password)
    return client


def submit(text: str) -> SubmitSm:
    return SubmitSm(destination_addr="79990001122", short_message=text.encode())


async def test_binds_submits_and_matches_answers(smsc: FakeSmsc) -> None:
    client = await bound(smsc)
    try:
        answers = await asyncio.gather(*(client.request(submit(f"m{n}")) for n in range(5)))
        assert all(isinstance(a, SubmitSmResp) and a.status == CommandStatus.ESME_ROK for a in answers)
        ids = [a.message_id for a in answers if isinstance(a, SubmitSmResp)]
        by_text = {s.text: s.smsc_id for s in smsc.submitted}
        assert ids == [by_text[f"m{n}"] for n in range(5)] and len(set(ids)) == 5
    finally:
        await client.close(unbind=True)
    await smsc.wait_for(lambda: not smsc.bound)
    assert smsc.binds == 1


async def test_a_wrong_password_is_refused_and_an_absent_smsc_is_an_os_error(smsc: FakeSmsc) -> None:
    client = SmppClient(handler=no_requests)
    with pytest.raises(BindRefused) as refused:
        await client.connect("127.0.0.1", smsc.port, system_id=smsc.system_id, password="wrong")
    assert refused.value.status == CommandStatus.ESME_RBINDFAIL and client.closed.done()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connecting is refused
        with pytest.raises(OSError):
            await SmppClient(handler=no_requests).connect("127.0.0.1", port, system_id="a", password="b")


async def test_enquire_link_keeps_the_link(smsc: FakeSmsc) -> None:
    client = await bound(smsc, enquire_seconds=0.05)
    try:
        await smsc.wait_for(lambda: smsc.enquire_links >= 3, timeout=5)
        assert not client.closed.done()
    finally:
        await client.close()


async def test_a_dropped_link_fails_what_awaits_an_answer(smsc: FakeSmsc) -> None:
    client = await bound(smsc)
    smsc.withhold_next = 1
    pending = asyncio.create_task(client.request(submit("lost")))
    await smsc.wait_for(lambda: len(smsc.submitted) == 1)
    smsc.drop()
    with pytest.raises(LinkLost):
        await pending
    assert client.closed.done()
    with pytest.raises(LinkLost):
        await client.request(submit("after"))
    assert len(smsc.submitted) == 1


async def test_a_silent_smsc_counts_as_gone_and_the_window_holds_back(smsc: FakeSmsc) -> None:
    client = await bound(smsc, response_seconds=0.5, window=2)
    smsc.withhold_next = 5
    requests = [asyncio.create_task(client.request(submit(f"w{n}"))) for n in range(4)]
    await smsc.wait_for(lambda: len(smsc.submitted) == 2)
    await asyncio.sleep(0.2)
    assert len(smsc.submitted) == 2  # the window: two outstanding at most
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    assert all(isinstance(outcome, LinkLost) for outcome in outcomes)
    assert client.closed.done() and len(smsc.submitted) == 2


async def test_requests_of_the_smsc_are_answered_by_the_handler(smsc: FakeSmsc) -> None:
    seen: list[str] = []

    async def handler(pdu: Pdu) -> Pdu | None:
        assert isinstance(pdu, DeliverSm)
        text = pdu.short_message.decode("utf-16-be")
        seen.append(text)
        if text == "boom":
            raise RuntimeError("storage down")
        return DeliverSmResp()

    client = SmppClient(handler=handler)
    await client.connect("127.0.0.1", smsc.port, system_id=smsc.system_id, password=smsc.password)
    try:
        smsc.send_mo("79990001122", "hello")
        smsc.send_mo("79990001122", "boom")
        await smsc.wait_for(lambda: len(smsc.deliver_answers) == 2)
        assert seen == ["hello", "boom"]
        assert smsc.deliver_answers == [CommandStatus.ESME_ROK, CommandStatus.ESME_RX_T_APPN]
        assert not client.closed.done()
    finally:
        await client.close()
