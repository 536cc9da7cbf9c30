"""Text mode as the fallback for a modem that refuses PDU mode, against a text-only fake on a pty:
setup, sending (GSM and UCS2 sets, AT+CSMP with the status report bit), status reports direct
(+CDS) and stored (+CDSI), incoming SMS through the host's URC handling, and the AT channel
sorting text-mode +CMT/+CDS from answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simrelay.modem.commands import Modem
from simrelay.modem.device import HostOptions, ModemDevice
from simrelay.modem.port import open_channel
from simrelay.modem.radio import ModemRadio
from simrelay.modem.readings import ModemSetupError, SmsMode
from simrelay.modem.state import ModemState, StateFile
from simrelay.modem.text import decode_text_deliver
from tests.fakes.modem import FakeModem
from tests.fakes.modem_identity import _Fail
from tests.fakes.modem_text import Content
from tests.fakes.quirks import EC25_TEXT_ONLY, SIM800, SIM800_TEXT_ONLY
from tests.integration.modem.conftest import FAST

pytestmark = pytest.mark.integration

IMEI = "867856030123456"
RECIPIENT = "+79990001122"


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def offer(message_id: str, text: str) -> dict[str, Any]:
    return {"type": "offer", "id": message_id, "phone_number": RECIPIENT.lstrip("+"), "message": text,
            "sim": None, "lease_seconds": 30, "attempt": 1}  # fmt: skip


async def until(predicate: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture(params=[SIM800_TEXT_ONLY, EC25_TEXT_ONLY], ids=["direct-reports", "stored-reports"])
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeModem]:
    async with FakeModem(request.param, imei=IMEI) as modem:
        yield modem


@pytest.fixture
async def device(modem: Modem, tmp_path: Path) -> AsyncIterator[ModemDevice]:
    """A host device without server: its radio, and its URC handling running on the modem."""
    await modem.initialize()
    store = StateFile.load(tmp_path / "state.json")
    state = ModemState(imei=IMEI, device_id="dev-1", token="sdt_x")
    store.put(state)
    device = ModemDevice(
        modem.channel.name,
        options=HostOptions(url="http://127.0.0.1:9"),
        store=store,
        busy=set(),
        ledger=None,
    )
    device.radio = ModemRadio(state=state, store=store, identity=await modem.identity())
    device.radio.attach(modem)
    task = asyncio.create_task(device._urcs(modem))
    yield device
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    device.radio.cancel_jobs()


def payloads(device: ModemDevice, kind: str) -> list[dict[str, Any]]:
    assert device.radio is not None
    return [report.payload for report in device.radio.outbox.values() if report.payload["type"] == kind]


def under_settings(fake: FakeModem, prefix: str) -> list[tuple[str, str, str]]:
    """(AT+CSCS, AT+CSMP, command) for each command starting with `prefix`: the settings the modem
    had when it ran (the fake accepts every AT+CSCS and AT+CSMP unless a test says otherwise)."""
    charset, csmp, found = "", "", []
    for command in fake.commands:
        if command.startswith("AT+CSCS="):
            charset = command.removeprefix("AT+CSCS=").strip('"')
        elif command.startswith("AT+CSMP="):
            csmp = command.removeprefix("AT+CSMP=")
        elif command.startswith(prefix):
            found.append((charset, csmp, command))
    return found


def refuse(code: int, kind: str = "+CMS ERROR") -> Any:
    def handler(mode: str, args: str) -> list[str]:
        raise _Fail(code, kind)

    return handler


async def test_initialize_falls_back_to_text_mode_with_detailed_headers_and_ucs2(fake, modem):
    setup = await modem.initialize()
    assert setup.mode is SmsMode.TEXT and modem.mode is SmsMode.TEXT
    assert (fake.cmgf, fake.csdh, fake.cscs) == (1, 1, "UCS2")
    sent = fake.commands
    assert sent.index("AT+CMGF=0") < sent.index("AT+CMGF=1") < sent.index('AT+CSCS="UCS2"')
    assert "AT+CSDH=1" in sent
    assert setup.memory is not None and setup.memory.total == fake.profile.storage_total


async def test_a_modem_that_takes_pdu_mode_stays_in_it():
    async with FakeModem(SIM800) as fake:
        channel = await open_channel(fake.path, timeout=FAST.command)
        try:
            assert (await Modem(channel, timeouts=FAST).initialize()).mode is SmsMode.PDU
            assert "AT+CMGF=1" not in fake.commands and not any("CSCS" in c for c in fake.commands)
        finally:
            await channel.close()


async def test_a_modem_refusing_both_modes_fails_setup_and_says_so(fake, modem):
    def no_sms_mode(mode: str, args: str) -> list[str]:
        if mode == "=?":
            return ["+CMGF: ()", "OK"]
        raise _Fail(303)

    fake._at_cmgf = no_sms_mode  # type: ignore[method-assign]
    with pytest.raises(
        ModemSetupError, match=r"neither PDU mode \(.*303.*\) nor text mode \(.*303.*\)"
    ) as caught:
        await modem.initialize()
    assert caught.value.step == "AT+CMGF"
    assert "supported: +CMGF: ()" in str(caught.value)


async def test_text_mode_without_ucs2_fails_setup(fake, modem):
    fake._at_cscs = refuse(4, "+CME ERROR")  # type: ignore[method-assign]
    with pytest.raises(ModemSetupError, match="text mode without UCS2") as caught:
        await modem.initialize()
    assert caught.value.step == 'AT+CSCS="UCS2"'


async def test_gsm_and_cyrillic_sms_go_out_in_text_mode_and_text_reports_deliver_them(fake, device):
    radio = device.radio
    assert radio is not None
    long_text = "Long one: " + "the quick brown fox jumps over the lazy dog. " * 4
    for message_id, text in (
        ("sms-1", "Code 4711, Ärger?"),
        ("sms-2", "Привет, код 4711"),
        ("sms-3", long_text),
    ):
        radio.on_offer(offer(message_id, text))
        await until(lambda m=message_id: radio.held[m].final is not None)
    await until(lambda: len(payloads(device, "delivery")) == 4)
    gsm = ("GSM", "49,167,0,0", f'AT+CMGS="{RECIPIENT}",145')
    assert under_settings(fake, "AT+CMGS=") == [
        gsm, ("UCS2", "49,167,0,8", f'AT+CMGS="{ucs2(RECIPIENT)}",145'), gsm, gsm
    ]  # fmt: skip
    # Each part is an SMS of its own (no UDH), split where the server counts: 153 characters.
    texts = [submission.text for submission in fake.submissions]
    assert texts[:2] == ["Code 4711, Ärger?", "Привет, код 4711"]
    assert texts[2:] == [long_text[:153], long_text[153:]]
    assert {submission.recipient for submission in fake.submissions} == {RECIPIENT}
    assert all(submission.status_report and submission.concat is None for submission in fake.submissions)
    assert [payload["parts"] for payload in payloads(device, "sent")] == [1, 1, 2]
    deliveries = {(p["id"], p["part"], p["parts"], p["delivered"]) for p in payloads(device, "delivery")}
    assert deliveries == {
        ("sms-1", 0, 1, True),
        ("sms-2", 0, 1, True),
        ("sms-3", 0, 2, True),
        ("sms-3", 1, 2, True),
    }
    assert radio.state.references == {}
    await until(lambda: fake.memories.slots["SR"] == {})  # stored reports were read and deleted


async def test_an_undelivered_text_report_and_a_send_error_fail_their_sms(fake, device):
    radio = device.radio
    assert radio is not None
    fake.delivery = False
    radio.on_offer(offer("sms-1", "nobody home"))
    await until(lambda: len(payloads(device, "delivery")) == 1)
    assert payloads(device, "delivery")[0]["delivered"] is False
    fake.fail_sends(38)
    radio.on_offer(offer("sms-2", "network down"))
    await until(lambda: radio.held["sms-2"].final is not None)
    assert radio.held["sms-2"].final == {
        "type": "failed", "id": "sms-2", "reason": "+CMS ERROR 38: network out of order"
    }  # fmt: skip


async def test_a_refused_csmp_fails_that_sms_and_the_next_one_sets_it_again(fake, device):
    radio = device.radio
    assert radio is not None
    take = fake._at_csmp

    def refuse_once(mode: str, args: str) -> list[str]:
        fake._at_csmp = take  # type: ignore[method-assign]
        raise _Fail(303)

    fake._at_csmp = refuse_once  # type: ignore[method-assign]  # the next AT+CSMP is taken again
    radio.on_offer(offer("sms-1", "first"))
    await until(lambda: radio.held["sms-1"].final is not None)
    final = radio.held["sms-1"].final
    assert final is not None and final["type"] == "failed" and "303" in final["reason"]
    radio.on_offer(offer("sms-2", "second"))
    await until(lambda: radio.held["sms-2"].final is not None)
    assert radio.held["sms-2"].final == {"type": "sent", "id": "sms-2", "parts": 1}
    assert [c for c in fake.commands if c.startswith("AT+CSMP=")] == ["AT+CSMP=49,167,0,0"] * 2
    assert [s.text for s in fake.submissions] == ["second"]


async def test_incoming_text_mode_sms_reach_the_inbox_and_leave_the_sim_after_the_ack(fake, device, modem):
    radio = device.radio
    assert radio is not None
    fake.cnmi_mt = 0  # no +CMTI: it came while nobody listened
    fake.receive_sms("+4915100001", "stored while away")
    fake.cnmi_mt = 1
    assert await radio.inbox.take_all(modem) == 1  # AT+CMGL="ALL"
    radio.on_offer(offer("sms-1", "GSM set now"))  # the modem is left in the "GSM" set
    await until(lambda: radio.held["sms-1"].final is not None)
    fake.receive_sms("+4915100002", "Привет из сети")  # +CMTI, read with AT+CMGR in "UCS2"
    await until(lambda: len(payloads(device, "received")) == 2)
    received = {(p["phone_number"], p["message"]) for p in payloads(device, "received")}
    assert received == {("+4915100001", "stored while away"), ("+4915100002", "Привет из сети")}
    # Every listing and read ran in "UCS2", also the one after a send had left the modem in "GSM".
    reads = under_settings(fake, "AT+CMGL=") + under_settings(fake, "AT+CMGR=")
    assert 'AT+CMGL="ALL"' in [command for _, _, command in reads]
    assert {charset for charset, _, _ in reads} == {"UCS2"}
    for number, report in enumerate([r for r in radio.outbox.values() if r.payload["type"] == "received"]):
        radio.on_answer(report, {"type": "ack", "seq": number + 1})
    await until(lambda: not fake.memories.slots["SM"])


async def test_a_late_ack_does_not_delete_a_newer_sms_in_the_same_slot(fake, device, modem):
    radio = device.radio
    assert radio is not None
    (index,) = fake.receive_sms("+4915100001", "first")
    await until(lambda: len(payloads(device, "received")) == 1)
    # The slot was emptied and reused behind the host's back before the server's ack came.
    fake.memories.slots["SM"].pop(index)
    assert fake.receive_text("+4915100009", "newer") == index
    await until(lambda: len(payloads(device, "received")) == 2)
    first = next(r for r in radio.outbox.values() if r.payload.get("message") == "first")
    radio.on_answer(first, {"type": "ack", "seq": 1})
    await asyncio.sleep(0.2)
    assert fake.memories.slots["SM"][index].content == Content("+4915100009", "newer")


async def test_without_detailed_headers_texts_are_still_read(fake, device, modem):
    # A modem refusing AT+CSDH=1 lists and reads without <dcs>: the UCS2 hex is read as text.
    fake.power_cycle()
    await asyncio.sleep(0.05)
    fake._at_csdh = refuse(303)  # type: ignore[method-assign]
    await modem.initialize()
    assert modem.mode is SmsMode.TEXT and fake.csdh == 0
    fake.receive_sms("+4915100003", "Без заголовков")
    await until(lambda: len(payloads(device, "received")) == 1)
    assert payloads(device, "received")[0]["message"] == "Без заголовков"


@pytest.mark.parametrize("fake", [SIM800_TEXT_ONLY], indirect=True, ids=["SIM800"])
async def test_text_cmt_and_cds_are_sorted_from_the_answers_they_interrupt(fake, channel, modem):
    await modem.initialize()
    fake.cnmi_mt = 2  # +CMT: routed, not stored
    content = Content("+4915100004", "Пришло напрямую")
    header = f'+CMT: "{fake._te(content.address)}","",' + fake._deliver_header(content, full=True)
    report = '+CDS: 6,9,"+7999",145,"26/12/05,14:30:15+00","26/12/05,14:30:20+00",0'
    fake.interleave(header, fake._data(content), report, after=1)
    assert (await channel.command("AT+CSQ")).lines == ("+CSQ: 20,0",)
    # A +CMT whose text was empty has no data line: the OK after it is the command's.
    fake.interleave(f'+CMT: "{ucs2("+4915")}","","26/12/05,14:30:15+00"', after=1)
    assert (await channel.command("AT+CSQ")).final == "OK"
    urcs = [channel.urcs.get_nowait() for _ in range(channel.urcs.qsize())]
    named = [urc for urc in urcs if urc is not None and urc.name in ("+CMT", "+CDS")]
    assert [urc.name for urc in named] == ["+CMT", "+CDS", "+CMT"]
    sms = decode_text_deliver(named[0].values, named[0].pdu or "")
    assert (sms.originator, sms.text) == ("+4915100004", "Пришло напрямую")
    assert named[1].values[1] == 9 and named[1].pdu is None
    assert named[2].pdu == ""
    fake.receive_text("+4915100005", "pushed")  # on its own, outside any answer
    urc = await channel.next_urc(timeout=1.0)
    assert urc.name == "+CMT" and decode_text_deliver(urc.values, urc.pdu or "").text == "pushed"
