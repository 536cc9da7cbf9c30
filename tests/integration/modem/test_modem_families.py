"""`Modem` against each fake family: setup, identity, signal, sending, reports, storage, USSD, reset."""

from __future__ import annotations

import asyncio

import pytest
from smspdudecoder.easy import read_incoming_sms

from simrelay.modem.at import AtChannel
from simrelay.modem.commands import Modem
from simrelay.modem.port import open_channel
from simrelay.modem.readings import ModemSetupError, PinState, UssdStatus
from simrelay.modem.results import AtError, ErrorKind
from tests.fakes.modem import FakeModem
from tests.fakes.quirks import HUAWEI_E3372, QUECTEL_EC25, SIM800, EchoOnBoot, HuaweiPackedUssd
from tests.fakes.sms_pdus import encode_submit, pack_ussd, unpack_ussd

from .conftest import FAST

pytestmark = pytest.mark.integration

ICCID_COMMAND = {SIM800.family: "AT+CCID", HUAWEI_E3372.family: "AT^ICCID?", QUECTEL_EC25.family: "AT+QCCID"}


async def next_urc(channel: AtChannel, name: str):
    while True:
        urc = await channel.next_urc(timeout=1.0)
        if urc.name == name:
            return urc


async def test_initialize_picks_pdu_mode_and_the_familys_cnmi(fake, modem):
    fake.boot()
    setup = await modem.initialize()
    assert setup.pin is PinState.READY
    assert fake.cmgf == 0 and fake.echo is False and fake.cmee == 1
    stored = fake.profile is QUECTEL_EC25
    assert setup.status_reports_stored is stored
    assert setup.cnmi == ("2,1,0,2,0" if stored else "2,1,0,1,0")
    assert setup.memory is not None and setup.memory.total == fake.profile.storage_total


@pytest.mark.parametrize("profile", [SIM800], ids=["SIM800"])
async def test_initialize_enters_the_pin_and_refuses_without_one(profile):
    async with FakeModem(profile, pin="4711") as fake:
        channel = await open_channel(fake.path, timeout=FAST.command)
        try:
            with pytest.raises(ModemSetupError, match="PIN"):
                await Modem(channel, timeouts=FAST).initialize()
            assert (await Modem(channel, timeouts=FAST).initialize(pin="4711")).pin is PinState.PIN_ENTERED
            assert 'AT+CPIN="4711"' in fake.commands
        finally:
            await channel.close()


async def test_identity_uses_the_familys_iccid_command(fake, modem):
    await modem.initialize()
    identity = await modem.identity()
    assert (identity.imei, identity.imsi, identity.iccid) == (fake.imei, fake.imsi, fake.iccid)
    assert (identity.manufacturer, identity.model) == (fake.profile.manufacturer, fake.profile.model)
    iccid_commands = [command for command in fake.commands if "CCID" in command or "ICCID" in command]
    assert iccid_commands[-1] == ICCID_COMMAND[fake.profile.family]
    await modem.identity()  # the working variant is remembered
    assert [c for c in fake.commands if "CCID" in c or "ICCID" in c][len(iccid_commands) :] == [
        ICCID_COMMAND[fake.profile.family]
    ]


async def test_signal_and_operator(fake, modem):
    fake.rssi = 31
    signal = await modem.signal()
    assert (signal.rssi, signal.rssi_dbm, signal.ber) == (31, -51, 0)
    fake.rssi = 99
    assert (await modem.signal()).rssi_dbm is None
    operator = await modem.operator()
    assert operator is not None and (operator.name, operator.act) == (fake.operator, 7)
    assert fake.commands[-2:] == ["AT+COPS=3,0", "AT+COPS?"]


async def test_send_returns_references_that_wrap_and_records_what_went_on_air(fake, modem):
    await modem.initialize()
    fake.air.next_reference = 254
    references = []
    for text in ("one", "two", "three"):
        pdu = encode_submit("+4915112345678", text, status_report=False)
        references.append(await modem.send_pdu(pdu.hex, pdu.tpdu_length))
    assert references == [254, 255, 0]
    assert [(s.recipient, s.text, s.reference) for s in fake.submissions] == [
        ("+4915112345678", "one", 254),
        ("+4915112345678", "two", 255),
        ("+4915112345678", "three", 0),
    ]


async def test_a_wrong_length_is_refused_and_nothing_goes_on_air(fake, modem):
    await modem.initialize()
    pdu = encode_submit("+4915112345678", "short")
    with pytest.raises(AtError) as caught:
        await modem.send_pdu(pdu.hex, pdu.tpdu_length + 1)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.CMS, 304)
    assert fake.submissions == []


async def test_cms_error_surfaces_with_its_number_then_in_words(fake, modem, channel):
    await modem.initialize()
    fake.fail_sends(38)
    pdu = encode_submit("+4915112345678", "refused")
    with pytest.raises(AtError) as numeric:
        await modem.send_pdu(pdu.hex, pdu.tpdu_length)
    assert (numeric.value.kind, numeric.value.code) == (ErrorKind.CMS, 38)
    await channel.command("AT+CMEE=2")
    with pytest.raises(AtError) as verbose:
        await modem.send_pdu(pdu.hex, pdu.tpdu_length)
    assert (verbose.value.code, verbose.value.text) == (None, "network out of order")
    fake.fail_sends(None)
    assert await modem.send_pdu(pdu.hex, pdu.tpdu_length) == 0
    assert len(fake.submissions) == 1


@pytest.mark.parametrize("delivered", [True, False], ids=["delivered", "failed"])
async def test_status_report_arrives_as_the_family_routes_it(fake, modem, channel, delivered):
    setup = await modem.initialize()
    fake.delivery = delivered
    pdu = encode_submit("+4915112345678", "report me")
    reference = await modem.send_pdu(pdu.hex, pdu.tpdu_length)
    if setup.status_reports_stored:
        cdsi = await next_urc(channel, "+CDSI")
        assert cdsi.values[0] == "SR"
        stored = await modem.read_message(int(cdsi.values[1]), storage="SR")
        assert stored is not None
        report = stored.pdu
        assert fake.read_memory == "SM"  # switched back after reading the report
    else:
        cds = await next_urc(channel, "+CDS")
        assert cds.pdu is not None and cds.values == (len(cds.pdu) // 2 - 8,)
        report = cds.pdu
    tpdu = report[2 + 2 * int(report[:2], 16) :]
    assert int(tpdu[2:4], 16) == reference
    assert tpdu[-2:] == ("00" if delivered else "41")


async def test_incoming_concatenated_sms_is_announced_listed_read_and_deleted(fake, modem, channel):
    await modem.initialize()
    indexes = fake.receive_sms("+4915199999999", "Hello from ", "two parts")
    announced = [await next_urc(channel, "+CMTI") for _ in indexes]
    assert [urc.values for urc in announced] == [("SM", index) for index in indexes]
    listed = await modem.list_messages()
    decoded = [read_incoming_sms(message.pdu) for message in listed]
    assert [item["content"] for item in decoded] == ["Hello from ", "two parts"]
    assert [item["partial"]["part_number"] for item in decoded] == [1, 2]
    assert all(item["sender"] == "+4915199999999" for item in decoded)
    assert (await modem.memory()).used == 2
    read = await modem.read_message(indexes[0])
    assert read is not None and read.pdu == listed[0].pdu and read.stat == 1
    await modem.delete_message(indexes[0])
    assert await modem.read_message(indexes[0]) is None
    assert (await modem.memory()).used == 1


async def test_ussd_answer_comes_back_raw(fake, modem):
    await modem.initialize()
    packed = fake.profile.has(HuaweiPackedUssd)
    reply = await modem.ussd(pack_ussd("*100#") if packed else "*100#")
    assert (reply.status, reply.code, reply.dcs) == (UssdStatus.DONE, 0, 15)
    assert reply.payload is not None
    assert (unpack_ussd(reply.payload) if packed else reply.payload) == "Balance: 5.00 EUR"
    assert not packed or reply.payload != "Balance: 5.00 EUR"


async def test_ussd_not_supported_ended_and_silent(fake, modem):
    await modem.initialize()
    packed = fake.profile.has(HuaweiPackedUssd)

    def request(text: str) -> str:
        return pack_ussd(text) if packed else text

    assert (await modem.ussd(request("*999#"))).status is UssdStatus.NOT_SUPPORTED
    fake.ussd_answers["*101#"] = (2, "Session ended")
    assert (await modem.ussd(request("*101#"))).status is UssdStatus.ENDED_BY_NETWORK
    fake.ussd_silent = True
    started = asyncio.get_running_loop().time()
    silent = await modem.ussd(request("*100#"))
    assert silent.status is UssdStatus.TIMEOUT and silent.code is None
    assert asyncio.get_running_loop().time() - started < FAST.ussd + 0.3


@pytest.mark.parametrize("profile", [HUAWEI_E3372], ids=["Huawei E3372"])
async def test_huawei_refuses_an_unpacked_ussd_request(fake, modem):
    await modem.initialize()
    with pytest.raises(AtError) as caught:
        await modem.ussd("*100#")
    assert caught.value.kind is ErrorKind.CME


async def test_reset_reboots_and_initialize_works_again(fake, modem, channel):
    await modem.initialize()
    await modem.reset()
    await asyncio.sleep(0.05)  # the fake reboots 10 ms after its OK and sends its banner
    assert fake.echo is fake.profile.has(EchoOnBoot)  # back to the power-on default
    assert fake.cmgf == 0 and fake.cnmi_mt == 0  # settings are lost in a restart
    setup = await modem.initialize()
    assert fake.cnmi_mt == 1 and setup.memory is not None
