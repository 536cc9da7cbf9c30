"""The modem radio against a fake modem, without a server: the started mark (persisted before
AT+CMGS, a drop meanwhile answered by the report), +CMS errors, a failing SIM, incoming SMS
deleted only after the server's ack, and a restart that finds an SMS it was sending."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simrelay.agent._lease import Report
from simrelay.modem.commands import Modem
from simrelay.modem.pdu import decode_status_report
from simrelay.modem.port import open_channel
from simrelay.modem.radio import ModemRadio, RadioOptions
from simrelay.modem.readings import Timeouts
from simrelay.modem.reasons import MAY_HAVE_BEEN_SENT
from simrelay.modem.state import ModemState, StateFile
from tests.fakes.modem import FakeModem
from tests.fakes.quirks import SIM800

pytestmark = pytest.mark.integration

QUICK = Timeouts(command=0.5, send=0.5, ussd=0.5, read=1.0)
IMEI = "867856030123456"


def offer(message_id: str, text: str = "Hello", **fields: Any) -> dict[str, Any]:
    return {"type": "offer", "id": message_id, "phone_number": "79990001122", "message": text,
            "sim": None, "lease_seconds": 30, "attempt": 1, **fields}  # fmt: skip


@pytest.fixture
async def fake() -> AsyncIterator[FakeModem]:
    async with FakeModem(SIM800, imei=IMEI) as modem:
        yield modem


@pytest.fixture
async def modem(fake: FakeModem) -> AsyncIterator[Modem]:
    channel = await open_channel(fake.path, timeout=QUICK.command)
    modem = Modem(channel, timeouts=QUICK)
    await modem.initialize()
    try:
        yield modem
    finally:
        await channel.close()


async def make_radio(modem: Modem, path: Path, **options: Any) -> ModemRadio:
    store = StateFile.load(path)
    state = store.get(IMEI) or ModemState(imei=IMEI, device_id="dev-1", token="sdt_x")
    store.put(state)
    radio = ModemRadio(
        state=state, store=store, identity=await modem.identity(), options=RadioOptions(**options)
    )
    radio.attach(modem)
    return radio


def kinds(radio: ModemRadio) -> list[tuple[str, str]]:
    return [(r.payload["type"], str(r.payload.get("id"))) for r in radio.outbox.values()]


async def until(predicate: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_a_drop_while_sending_is_answered_by_the_report_never_by_dropped(fake, modem, tmp_path):
    fake._at_cmgs = lambda mode, args: None  # type: ignore[method-assign]  # never prompts: hangs the send
    radio = await make_radio(modem, tmp_path / "state.json")
    radio.on_offer(offer("sms-1"))
    await until(lambda: radio.held["sms-1"].started)
    on_disk = json.loads((tmp_path / "state.json").read_text())["modems"][0]["held"]["sms-1"]
    assert on_disk["started"] is True and on_disk["final"] is None
    radio.on_drop({"type": "drop", "id": "sms-1", "reason": "lease_expired", "attempt": 1})
    assert ("dropped", "sms-1") not in kinds(radio)
    await until(lambda: radio.held["sms-1"].final is not None)
    assert radio.held["sms-1"].final == {"type": "failed", "id": "sms-1", "reason": MAY_HAVE_BEEN_SENT}
    radio.on_drop({"type": "drop", "id": "sms-1", "reason": "lease_expired", "attempt": 1})
    assert kinds(radio) == [("taken", "sms-1"), ("failed", "sms-1"), ("failed", "sms-1")]
    assert not radio.ready.is_set()  # the timeout took the modem out of service for a reset


async def test_a_drop_before_sending_started_answers_dropped_and_nothing_goes_out(fake, modem, tmp_path):
    radio = await make_radio(modem, tmp_path / "state.json")
    radio.detach()  # the modem is down: the offer waits
    radio.on_offer(offer("sms-2"))
    radio.on_drop({"type": "drop", "id": "sms-2", "reason": "deleted", "attempt": 1})
    radio.attach(modem)
    await asyncio.sleep(0.2)
    assert kinds(radio) == [("taken", "sms-2"), ("dropped", "sms-2")]
    assert fake.submissions == []


async def test_cms_errors_fail_with_their_reason_and_a_failing_sim_lets_new_offers_go(fake, modem, tmp_path):
    fake.fail_sends(38)
    radio = await make_radio(modem, tmp_path / "state.json", failing_after=2)
    for number in (1, 2):
        radio.on_offer(offer(f"sms-{number}"))
        await until(lambda n=number: radio.held[f"sms-{n}"].final is not None)
    reasons = {r.payload.get("reason") for r in radio.outbox.values() if r.payload["type"] == "failed"}
    assert reasons == {"+CMS ERROR 38: network out of order"}
    assert radio.failing and radio.vitals()["sims"][0]["name"].endswith("(failing)")
    radio.on_offer(offer("sms-3", attempt=2))
    declined = {"type": "dropped", "id": "sms-3", "attempt": 2, "reason": "sim_failing"}
    assert [r.payload for r in radio.outbox.values()][-1] == declined


async def test_a_failing_sim_is_marked_in_a_heartbeat_at_once_and_again_when_its_rest_is_over(
    fake, modem, tmp_path
):
    fake.fail_sends(38)
    radio = await make_radio(modem, tmp_path / "state.json", failing_after=2, failing_rest=0.5)
    link: asyncio.Queue[Report] = asyncio.Queue()
    radio.connect(link)  # as after `welcome`: what it emits goes out on this link
    sent: list[dict[str, Any]] = []

    def frames() -> list[dict[str, Any]]:
        while not link.empty():
            sent.append(link.get_nowait().payload)
        return sent

    radio.on_offer(offer("sms-1"))
    await until(lambda: radio.held["sms-1"].final is not None)
    assert [f for f in frames() if f["type"] == "heartbeat"] == [], "one error is no failing SIM"
    radio.on_offer(offer("sms-2"))
    await until(lambda: radio.held["sms-2"].final is not None)
    beats = [f["sims"] for f in frames() if f["type"] == "heartbeat"]
    assert beats == [[{"slot": 0, "name": "SIM (failing)", "failing": True}]]
    assert radio.hello()["sims"] == beats[0], "and so does a hello after a reconnect"

    radio.on_offer(offer("sms-3", attempt=2))
    assert frames()[-1] == {"type": "dropped", "id": "sms-3", "attempt": 2, "reason": "sim_failing"}
    assert "sms-3" not in radio.held, "declined unstarted"

    await until(lambda: frames()[-1]["type"] == "heartbeat")
    assert frames()[-1]["sims"] == [{"slot": 0, "name": "SIM", "failing": False}] and not radio.failing
    fake.fail_sends(None)
    radio.on_offer(offer("sms-4"))  # the rest is over: the next offer tries the SIM again
    await until(lambda: radio.held["sms-4"].final is not None)
    assert radio.held["sms-4"].final == {"type": "sent", "id": "sms-4", "parts": 1}


async def test_sms_taken_before_the_sim_was_found_failing_are_let_go_unstarted(fake, modem, tmp_path):
    fake.fail_sends(38)
    radio = await make_radio(modem, tmp_path / "state.json", failing_after=2)
    for number in (1, 2, 3):
        radio.on_offer(offer(f"sms-{number}", attempt=number))
    await until(lambda: "sms-3" not in radio.held)
    assert kinds(radio) == [
        *[("taken", f"sms-{n}") for n in (1, 2, 3)],
        ("failed", "sms-1"),
        ("failed", "sms-2"),
        ("dropped", "sms-3"),
    ]
    assert radio.outbox[max(radio.outbox)].payload == {
        "type": "dropped",
        "id": "sms-3",
        "attempt": 3,
        "reason": "sim_failing",
    }
    assert sum(command.startswith("AT+CMGS") for command in fake.commands) == 2, "sms-3 never started"


async def test_a_long_sms_is_one_cmgs_per_part_and_each_status_report_a_delivery(fake, modem, tmp_path):
    radio = await make_radio(modem, tmp_path / "state.json")

    async def status_reports() -> None:  # the host's URC loop, as far as +CDS goes
        while True:
            urc = await modem.channel.next_urc()
            if urc.name == "+CDS" and urc.pdu:
                radio.on_status_report(decode_status_report(urc.pdu))

    reader = asyncio.create_task(status_reports())
    radio.on_offer(offer("sms-long", "Длинное сообщение. " * 8))
    try:
        await until(lambda: sum(r.payload["type"] == "delivery" for r in radio.outbox.values()) == 3)
    finally:
        reader.cancel()
    assert [s.concat[2] for s in fake.submissions if s.concat] == [1, 2, 3]
    sent = next(r.payload for r in radio.outbox.values() if r.payload["type"] == "sent")
    assert sent == {"type": "sent", "id": "sms-long", "parts": 3}
    assert radio.state.references == {}  # every part's report came


async def test_incoming_sms_leave_the_sim_only_after_the_server_acknowledged_them(fake, modem, tmp_path):
    radio = await make_radio(modem, tmp_path / "state.json")
    fake.receive_sms("+4915100001", "Первая часть, ", "вторая часть.")
    fake.receive_sms("+4915100002", "single")
    await radio.inbox.take_all(modem)
    reports = [r for r in radio.outbox.values() if r.payload["type"] == "received"]
    assert sorted(r.payload["message"] for r in reports) == ["single", "Первая часть, вторая часть."]
    assert len(fake.memories.slots["SM"]) == 3
    await radio.inbox.take_all(modem)  # read again (a restart): same ids
    again = [r for r in radio.outbox.values() if r.payload["type"] == "received"][2:]
    assert {r.payload["id"] for r in again} == {r.payload["id"] for r in reports}
    radio.on_answer(reports[0], {"type": "ack", "seq": 1})
    remaining = 3 - (2 if "Первая" in reports[0].payload["message"] else 1)
    await until(lambda: len(fake.memories.slots["SM"]) == remaining)
    radio.on_answer(reports[1], {"type": "ack", "seq": 2})
    await until(lambda: not fake.memories.slots["SM"])


async def test_a_restart_that_finds_an_sms_started_without_outcome_reports_it_sent(fake, modem, tmp_path):
    path = tmp_path / "state.json"
    store = StateFile(path)
    state = ModemState(imei=IMEI, device_id="dev-1", token="sdt_x")
    state.held["sms-9"] = {"offer": offer("sms-9"), "started": True, "final": None, "lease_until": 0}
    store.put(state)
    radio = await make_radio(modem, path)
    assert kinds(radio) == [("sent", "sms-9")]
    radio.on_drop({"type": "drop", "id": "sms-9", "reason": "not_held", "attempt": None})
    assert kinds(radio) == [("sent", "sms-9"), ("sent", "sms-9")]
    assert fake.submissions == []
