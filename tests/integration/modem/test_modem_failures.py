"""A modem that hangs or disappears: timeouts in bounded time, PortGone instead of a hang, recovery."""

from __future__ import annotations

import asyncio

import pytest

from simrelay.modem.at import AtTimeout, PortGone
from simrelay.modem.commands import Modem
from simrelay.modem.port import open_channel, open_port
from simrelay.modem.readings import Timeouts
from tests.fakes.sms_pdus import encode_submit

from .conftest import FAST

pytestmark = pytest.mark.integration

HUNG = Timeouts(command=0.2, send=0.3, ussd=0.2, read=0.3)


def elapsed_since(started: float) -> float:
    return asyncio.get_running_loop().time() - started


async def test_a_hung_modem_times_out_within_the_timeout(fake, channel):
    modem = Modem(channel, timeouts=HUNG)
    await modem.initialize()
    fake.hang()
    started = asyncio.get_running_loop().time()
    with pytest.raises(AtTimeout) as caught:
        await modem.signal()
    assert HUNG.command <= elapsed_since(started) < HUNG.command + 0.3
    assert caught.value.command == "AT+CSQ"
    pdu = encode_submit("+4915112345678", "into the void")
    started = asyncio.get_running_loop().time()
    with pytest.raises(AtTimeout):
        await modem.send_pdu(pdu.hex, pdu.tpdu_length)
    assert HUNG.send <= elapsed_since(started) < HUNG.send + 0.3
    assert fake.submissions == []


async def test_power_cycle_after_a_hang_brings_the_modem_back(fake, modem, channel):
    await modem.initialize()
    fake.hang()
    with pytest.raises(AtTimeout):
        await modem.signal()
    fake.power_cycle()
    await asyncio.sleep(0.05)
    setup = await modem.initialize()
    assert setup.memory is not None
    assert (await modem.signal()).rssi == fake.rssi
    pdu = encode_submit("+4915112345678", "after the reset")
    assert await modem.send_pdu(pdu.hex, pdu.tpdu_length) == 0


async def test_a_vanished_port_fails_the_running_command_with_port_gone(fake, modem, channel):
    await modem.initialize()
    fake.hang()  # the command is in flight when the USB device disappears
    running = asyncio.create_task(modem.signal())
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    fake.vanish()
    with pytest.raises(PortGone):
        await running
    assert elapsed_since(started) < FAST.command / 2
    with pytest.raises(PortGone):  # the URCs that came before the loss first, then the end
        while True:
            await channel.next_urc(timeout=1.0)
    with pytest.raises(PortGone):
        await modem.signal()
    assert channel.gone is not None


async def test_a_vanished_port_ends_a_urc_wait(fake, channel):
    waiting = asyncio.create_task(channel.next_urc(timeout=2.0))
    await asyncio.sleep(0.05)
    fake.vanish()
    with pytest.raises(PortGone):
        await waiting


async def test_the_modem_comes_back_under_a_new_path(fake, modem, channel):
    await modem.initialize()
    old_path = fake.path
    fake.hang()
    new_path = fake.reappear()
    assert new_path != old_path and fake.link.paths == [old_path, new_path]
    with pytest.raises(PortGone):
        await modem.signal()
    with pytest.raises(PortGone):
        await open_port(old_path)
    again = await open_channel(new_path, timeout=FAST.command)
    try:
        modem = Modem(again, timeouts=FAST)
        await modem.initialize()
        assert (await modem.identity()).imei == fake.imei
    finally:
        await again.close()


async def test_opening_a_missing_port_is_port_gone():
    with pytest.raises(PortGone, match="cannot open"):
        await open_port("/dev/does-not-exist-modem")
