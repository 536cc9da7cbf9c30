"""The AT channel on a pty: echo, answers and URCs told apart wherever the URCs fall, line endings."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from simrelay.modem.at import AtChannel, AtTimeout
from simrelay.modem.commands import Modem
from simrelay.modem.port import open_channel
from tests.fakes.modem import FakeModem
from tests.fakes.pty_link import PtyLink
from tests.fakes.quirks import SIM800
from tests.fakes.sms_pdus import encode_deliver

from .conftest import FAST

pytestmark = pytest.mark.integration


def queued(channel: AtChannel) -> list[str]:
    lines = []
    while not channel.urcs.empty():
        urc = channel.urcs.get_nowait()
        assert urc is not None
        lines.append(urc.line)
    return lines


@pytest.mark.parametrize("profile", [SIM800], ids=["SIM800"])
async def test_urc_between_echo_and_answer_is_not_the_answer(fake, channel):
    assert fake.echo  # SIM800: echo on after boot
    fake.interleave('+CMTI: "SM",3', "RING", after=0)
    response = await channel.command("AT+CGSN")
    assert response.lines == (fake.imei,)
    assert queued(channel) == ['+CMTI: "SM",3', "RING"]


async def test_urc_named_like_the_command_is_its_answer_only_while_it_runs(fake, channel):
    fake.interleave("+CPIN: READY", "+CUSD: 2", after=0)
    response = await channel.command("AT+CSQ")
    assert response.lines == ("+CSQ: 20,0",)
    assert queued(channel) == ["+CPIN: READY", "+CUSD: 2"]

    assert (await channel.command("AT+CPIN?")).lines == ("+CPIN: READY",)
    assert queued(channel) == [] or all(not line.startswith("+CPIN") for line in queued(channel))


async def test_urcs_inside_a_listing_are_delivered_and_not_listed(fake, channel, modem):
    await modem.initialize()
    queued(channel)
    indexes = fake.receive_sms("+4915112345678", "first") + fake.receive_sms("+4915112345678", "second")
    await asyncio.sleep(0.05)
    queued(channel)
    pdu = encode_deliver("+4915199999999", "pushed")
    # A URC after the first header (before its PDU), a two-line +CMT after the first PDU.
    fake.interleave('+CMTI: "SM",9', after=1)
    fake.interleave(f"+CMT: ,{pdu.tpdu_length}", pdu.hex, "^RSSI:18", after=2)
    first = await modem.list_messages()
    assert [message.index for message in first] == indexes
    assert all(message.pdu == fake.memories.slots["SM"][message.index].pdu.hex for message in first)
    second = await modem.list_messages()
    assert [message.index for message in second] == indexes
    urcs = [urc for urc in _drain(channel) if urc.name in ("+CMTI", "+CMT")]
    assert [urc.name for urc in urcs] == ["+CMTI", "+CMT"]
    assert urcs[1].pdu == pdu.hex and urcs[1].values == ("", pdu.tpdu_length)


async def test_two_line_urc_is_assembled_when_an_answer_comes_between_its_lines(fake, channel):
    pdu = encode_deliver("+4915199999999", "split")
    fake.interleave(f"+CMT: ,{pdu.tpdu_length}", after=0)
    fake.interleave(pdu.hex, after=0)
    assert (await channel.command("AT+CGSN")).lines == (fake.imei,)
    assert (await channel.command("AT+CIMI")).lines == (fake.imsi,)
    cmt = [urc for urc in _drain(channel) if urc.name == "+CMT"]
    assert len(cmt) == 1 and cmt[0].pdu == pdu.hex


@pytest.mark.parametrize("eol", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
async def test_lines_end_in_cr_lf_or_both(eol):
    async with FakeModem(dataclasses.replace(SIM800, eol=eol)) as fake:
        channel = await open_channel(fake.path, timeout=FAST.command)
        try:
            fake.interleave('+CMTI: "SM",1', after=0)
            assert (await channel.command("AT+CSQ")).lines == ("+CSQ: 20,0",)
            assert (await Modem(channel, timeouts=FAST).identity()).iccid == fake.iccid
            assert '+CMTI: "SM",1' in queued(channel)
        finally:
            await channel.close()


async def test_prompt_without_line_end_then_pdu_and_ctrl_z():
    received = bytearray()
    link = PtyLink(received.extend)

    def answer() -> None:
        if received.endswith(b"AT+CMGS=5\r"):
            link.send(b"\r\n> ")
        elif received.endswith(b"\x1a"):
            link.send(b"\r\n+CMGS: 77\r\n\r\nOK\r\n")

    link._on_data = lambda data: (received.extend(data), answer())  # type: ignore[method-assign]
    link.open()
    channel = await open_channel(link.path, timeout=FAST.command)
    try:
        response = await channel.command_with_prompt("AT+CMGS=5", "0001000000")
        assert response.first("+CMGS") == "77"
        assert bytes(received) == b"AT+CMGS=5\r0001000000\x1a"
    finally:
        await channel.close()
        link.close()


async def test_prompt_timeout_sends_esc_and_the_channel_goes_on():
    received = bytearray()
    link = PtyLink(received.extend)

    def answer() -> None:
        if received.endswith(b"AT+CMGS=5\r"):
            link.send(b"\r\n> ")  # and then nothing: the network never acknowledges
        elif received.endswith(b"AT\r"):
            link.send(b"\r\nOK\r\n")

    link._on_data = lambda data: (received.extend(data), answer())  # type: ignore[method-assign]
    link.open()
    channel = await open_channel(link.path, timeout=0.2)
    try:
        with pytest.raises(AtTimeout):
            await channel.command_with_prompt("AT+CMGS=5", "0001000000")
        for _ in range(50):  # the ESC is written as the timeout fires; let the pty carry it
            if received.endswith(b"\x1b"):
                break
            await asyncio.sleep(0.01)
        assert bytes(received).endswith(b"\x1a\x1b")
        assert (await channel.command("AT")).final == "OK"
    finally:
        await channel.close()
        link.close()


def _drain(channel: AtChannel) -> list:
    urcs = []
    while not channel.urcs.empty():
        urcs.append(channel.urcs.get_nowait())
    return urcs
