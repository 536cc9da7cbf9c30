"""The modem host end to end with modems that refuse PDU mode (SQLite): a real server process, two
text-only fakes paired with one code, one sending status reports as +CDS and one storing them
(+CDSI); GSM, Cyrillic and long SMS reach status 4 part by part, and an SMS to each modem reaches
the inbox and leaves its SIM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simrelay.modem.device import HostOptions
from simrelay.modem.host import ModemHost
from simrelay.modem.state import StateFile
from simrelay.modem.text import encode_text_submit
from tests.fakes.modem import FakeModem
from tests.fakes.quirks import EC25_TEXT_ONLY, SIM800_TEXT_ONLY
from tests.integration.gateway import gateway_env
from tests.integration.modem.conftest import plugged_in
from tests.integration.modem.test_modem_host import DELIVERED, HOST_TIMEOUTS, all_sms, inbox, wait_until
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

MESSAGES = (
    "Code {n}: 4711",
    "Привет {n}, ваш код 4711",
    "Long message {n}: " + "the quick brown fox jumps over the lazy dog; " * 4,  # 2 parts
    "Длинное сообщение {n}: " + "съешь же ещё этих мягких булок. " * 2,  # 2 parts of UCS-2
)


def message_of(number: int) -> str:
    return MESSAGES[number % len(MESSAGES)].format(n=number)


def recipient_of(number: int) -> str:
    return f"+7999{number:07d}"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    env = gateway_env(tmp_path, "sqlite", lease_seconds="20", lease_hard_seconds="60")
    async with open_rig(env, tmp_path, email="text-modems@example.com") as rig:
        yield rig


@pytest.fixture
async def fakes() -> AsyncIterator[list[FakeModem]]:
    with plugged_in(
        FakeModem(SIM800_TEXT_ONLY, imei="867856030000011", operator="MTS"),
        FakeModem(EC25_TEXT_ONLY, imei="867856030000012", operator="Beeline"),
    ) as modems:
        yield modems


async def test_text_only_modems_send_get_reports_and_receive_through_the_host(
    rig: Rig, fakes: list[FakeModem], tmp_path: Path
) -> None:
    options = HostOptions(
        url=rig.server.base_url,
        ports=tuple(fake.path for fake in fakes),
        code=rig.code,
        candidates=lambda: [fake.path for fake in fakes if fake.link.is_open],
        timeouts=HOST_TIMEOUTS,
        retry_seconds=0.2,
        reset_settle=0.3,
        poll_seconds=0.5,
        reconnect=(0.1, 0.5),
    )
    host = ModemHost(options, store=StateFile.load(tmp_path / "modems.json"))
    await host.start()
    try:
        assert [fake.cmgf for fake in fakes] == [1, 1]  # both in text mode

        async def connected() -> bool:
            return all(device.link is not None and device.link.connected for device in host.devices)

        await wait_until(connected, timeout=15, what="two devices connected")
        numbers = range(12)
        for number in numbers:
            body = {"phone_number": recipient_of(number), "message": message_of(number)}
            response = await rig.http.post("/v1/sms/send", headers=rig.headers, json=body)
            assert response.status_code == 200, response.text

        async def delivered() -> bool:
            listed = await all_sms(rig)
            return len(listed) == len(numbers) and all(sms["status"] == DELIVERED for sms in listed)

        await wait_until(delivered, timeout=30, what="12 SMS delivered")
        # Each SMS went out as its parts, each an SMS of its own, in order, exactly once.
        submissions = [submission for fake in fakes for submission in fake.submissions]
        assert all(submission.concat is None and submission.status_report for submission in submissions)
        assert all(fake.submissions for fake in fakes)  # both modems sent
        for number in numbers:
            parts = [s.text for s in submissions if s.recipient == recipient_of(number)]
            assert len(parts) == len(encode_text_submit(recipient_of(number), message_of(number)))
            assert "".join(parts) == message_of(number)

        for number, fake in enumerate(fakes):
            fake.receive_sms(f"+49151000000{number}", f"Привет от модема {number}")

        async def received() -> bool:
            return len(await inbox(rig)) == 2 and all(not fake.memories.slots["SM"] for fake in fakes)

        await wait_until(received, timeout=15, what="2 SMS in the inbox and off the SIMs")
        texts = sorted(item["message"] for item in await inbox(rig))
        assert texts == ["Привет от модема 0", "Привет от модема 1"]
        assert not fakes[1].memories.slots["SR"]  # stored reports read and deleted
    finally:
        await host.stop()
