"""The modem host end to end, on both databases: a real server process, three fake modems of
different families paired with one code, 300 SMS (long and Cyrillic among them) delivered by
status reports, incoming SMS into the inbox and off the SIMs, a USSD request through the API, a
hang and a re-enumeration in the middle, and a restart from the state file."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simrelay.devices import service as devices
from simrelay.modem.device import HostOptions
from simrelay.modem.host import ModemHost
from simrelay.modem.pdu import encode_submit
from simrelay.modem.readings import Timeouts
from simrelay.modem.state import StateFile
from simrelay.storage.database import Database
from simrelay.storage.db import create_engine
from tests.fakes.modem import FakeModem
from tests.fakes.quirks import HUAWEI_E3372, QUECTEL_EC25, SIM800
from tests.integration.gateway import gateway_env
from tests.integration.modem.conftest import plugged_in
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

TOTAL = 300
DELIVERED = 4
HOST_TIMEOUTS = Timeouts(command=1.5, send=5.0, ussd=5.0, read=3.0)
"""Short enough that the hang below (HANG seconds) is seen as one; long enough that a CI machine
running three workers on two cores does not time out an AT+CMGS the fake answers late: an
AT+CMGS that times out ends its SMS in 3 ("may have been sent"), as it must."""
HANG = 4.0
LONG_LATIN = "Long message {n}: " + "the quick brown fox jumps over the lazy dog; " * 8
LONG_CYRILLIC = "Длинное сообщение {n}: " + "съешь же ещё этих мягких французских булок. " * 3


def message_of(number: int) -> str:
    kind = number % 4
    if kind == 0:
        return f"Code {number}: 4711"
    if kind == 1:
        return LONG_LATIN.format(n=number)
    if kind == 2:
        return f"Привет {number}, ваш код 4711"
    return LONG_CYRILLIC.format(n=number)


def recipient_of(number: int) -> str:
    return f"+7999{number:07d}"


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    # Leases long enough for a modem to come back from a reset or a re-enumeration.
    return gateway_env(
        tmp_path, request.param, lease_seconds="20", lease_hard_seconds="60", ussd_wait_seconds="5"
    )


@pytest.fixture
async def rig(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email="modems@example.com") as rig:
        yield rig


@pytest.fixture
async def fakes() -> AsyncIterator[list[FakeModem]]:
    with plugged_in(
        FakeModem(SIM800, imei="867856030000001", operator="MTS"),
        FakeModem(HUAWEI_E3372, imei="867856030000002", operator="Beeline"),
        FakeModem(QUECTEL_EC25, imei="867856030000003", operator="MegaFon"),
    ) as modems:
        yield modems


async def pairing_code(rig: Rig, uses: int) -> str:
    engine = create_engine(rig.database_url)
    try:
        caller_account = await _account_id(engine, rig.email)
        issued = await devices.issue_pairing_code(
            Database.on_engine(engine), account_id=caller_account, uses=uses, server_url=rig.server.base_url
        )
        return issued.code
    finally:
        await engine.dispose()


async def _account_id(engine: Any, email: str) -> str:
    from sqlalchemy import select

    from simrelay.accounts.models import Account

    async with engine.connect() as conn:
        return str((await conn.execute(select(Account.id).where(Account.email == email))).scalar_one())


def host_options(rig: Rig, fakes: list[FakeModem], code: str | None) -> HostOptions:
    return HostOptions(
        url=rig.server.base_url,
        ports=tuple(fake.path for fake in fakes),
        code=code,
        candidates=lambda: [fake.path for fake in fakes if fake.link.is_open],
        timeouts=HOST_TIMEOUTS,
        retry_seconds=0.2,
        reset_settle=0.3,
        poll_seconds=0.5,
        reconnect=(0.1, 0.5),
    )


async def wait_until(predicate: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.2)


async def all_sms(rig: Rig) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for offset in range(1, 10):
        response = await rig.http.get("/v1/sms", headers=rig.headers, params={"limit": 100, "offset": offset})
        assert response.status_code == 200, response.text
        page = response.json()["sms_list"]
        found += page
        if len(page) < 100:
            return found
    return found


async def send_all(rig: Rig, numbers: range) -> dict[str, int]:
    """SMS id -> its number, sent 20 at a time."""
    limit = asyncio.Semaphore(20)

    async def send(number: int) -> tuple[str, int]:
        async with limit:
            body = {"phone_number": recipient_of(number), "message": message_of(number)}
            response = await rig.http.post("/v1/sms/send", headers=rig.headers, json=body)
            assert response.status_code == 200, response.text
            return str(response.json()["id"]), number

    return dict(await asyncio.gather(*(send(number) for number in numbers)))


async def inbox(rig: Rig) -> list[dict[str, Any]]:
    response = await rig.http.get("/v1/inbox", headers=rig.headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["inbox_list"]
    return found


async def test_three_modems_one_code_send_receive_dial_and_survive_a_hang_and_a_reenumeration(
    rig: Rig, fakes: list[FakeModem], tmp_path: Path
) -> None:
    started = time.monotonic()
    sim800, huawei, quectel = fakes
    state_path = tmp_path / "modems.json"
    host = ModemHost(host_options(rig, fakes, await pairing_code(rig, 3)), store=StateFile.load(state_path))
    await host.start()
    try:
        links = [device.link for device in host.devices]
        assert len(links) == 3

        async def connected() -> bool:
            return all(link is not None and link.connected for link in links)

        await wait_until(connected, timeout=15, what="three devices connected")
        device_ids = {device.imei: device.device_id for device in host.devices}
        assert len(set(device_ids.values())) == 3

        statuses: Counter[int] = Counter()

        stuck: list[str] = []

        async def delivered(count: int) -> bool:
            listed = await all_sms(rig)
            statuses.clear()
            statuses.update(sms["status"] for sms in listed)
            stuck[:] = [sms["id"] for sms in listed if sms["status"] != DELIVERED]
            return len(listed) == count and statuses[DELIVERED] == count

        async def wait_delivered(count: int) -> None:
            try:
                await wait_until(lambda: delivered(count), timeout=45, what=f"{count} SMS delivered")
            except AssertionError as error:
                where = {
                    device.imei: {
                        "refs": {mr: p.message_id for mr, p in device.radio.state.references.items()},
                        "early": list(device.radio._early),
                    }
                    for device in host.devices
                    if device.radio
                }
                raise AssertionError(f"{error}; statuses {dict(statuses)} stuck {stuck} {where}") from None

        # The first half, then SMS coming in and a USSD request.
        sent = await send_all(rig, range(TOTAL // 2))
        for number, fake in enumerate(fakes):
            fake.receive_sms(f"+4915100000{number}1", f"Hello from modem {number}")
            fake.receive_sms(f"+4915100000{number}2", "Привет, модем " + str(number))
            fake.receive_sms(f"+4915100000{number}3", "First half, " * 10, "second half. " * 10)
        response = await rig.call("/v1/devices/ussd", {"device_id": device_ids[huawei.imei], "code": "*100#"})
        assert response.status_code == 200, response.text
        ussd = response.json()["ussd"]
        assert (ussd["status"], ussd["response"]) == ("done", "Balance: 5.00 EUR")

        await wait_delivered(TOTAL // 2)

        # The middle: one modem hangs (and comes back by itself), one leaves USB and comes back
        # under another name; the second half is sent meanwhile.
        before = {fake.imei: len(fake.submissions) for fake in fakes}
        sim800.hang(seconds=HANG)
        quectel.vanish()
        old_path = quectel.path
        second = asyncio.create_task(send_all(rig, range(TOTAL // 2, TOTAL)))
        await asyncio.sleep(1.0)
        # Something else takes the freed pty number first, as another USB device takes ttyUSB2.
        # Other processes on the machine open ptys too: keep opening until ours holds the old
        # number (or it is still held), so that the modem cannot come back under it.
        placeholders = []
        try:
            for _ in range(64):
                placeholders.extend(os.openpty())
                if os.ttyname(placeholders[-1]) == old_path:
                    break
            new_path = quectel.reappear()
        finally:
            for fd in placeholders:
                os.close(fd)
        assert new_path != old_path
        sent |= await second

        await wait_delivered(TOTAL)
        # Both came back into service: each sent part of the second half.
        assert all(len(fake.submissions) > before[fake.imei] for fake in fakes)

        # Each SMS went on air exactly once: its recipient got exactly its parts, in order.
        by_recipient: dict[str, list[Any]] = {}
        for fake in fakes:
            for submission in fake.submissions:
                by_recipient.setdefault(submission.recipient, []).append(submission)
        assert len(by_recipient) == TOTAL
        for number in sent.values():
            parts = by_recipient[recipient_of(number)]
            expected = encode_submit(recipient_of(number), message_of(number), reference=0)
            assert len(parts) == len(expected), (number, len(parts))
            assert "".join(part.text for part in parts) == message_of(number)

        async def inbox_complete() -> bool:
            return len(await inbox(rig)) >= 9 and all(not fake.memories.slots["SM"] for fake in fakes)

        await wait_until(inbox_complete, timeout=20, what="9 SMS in the inbox and off the SIMs")
        received = await inbox(rig)
        assert len(received) == 9
        texts = Counter(item["message"] for item in received)
        assert texts["First half, " * 10 + "second half. " * 10] == 3
        assert texts["Привет, модем 1"] == 1
        assert {item["device_id"] for item in received} == set(device_ids.values())

        # The same devices all along: the vanished modem was found again by its IMEI.
        assert {device.imei: device.device_id for device in host.devices} == device_ids
        by_imei = {device.imei: device for device in host.devices}
        assert by_imei[quectel.imei].path == new_path
        assert by_imei[quectel.imei].rediscoveries >= 1
        assert by_imei[sim800.imei].resets >= 1
        listed = (await rig.http.get("/v1/devices", headers=rig.headers, params={"limit": 100})).json()
        assert len(next(value for value in listed.values() if isinstance(value, list))) == 3
    finally:
        await host.stop()

    # A restart with no code resumes the same three devices from the state file.
    host = ModemHost(host_options(rig, fakes, None), store=StateFile.load(state_path))
    await host.start()
    try:
        assert {device.imei: device.device_id for device in host.devices} == device_ids
        links = [device.link for device in host.devices]
        await wait_until(connected, timeout=15, what="three devices connected again")
        extra = await send_all(rig, range(TOTAL, TOTAL + 3))

        async def extra_delivered() -> bool:
            listed = {sms["id"]: sms["status"] for sms in await all_sms(rig)}
            return all(listed.get(sms_id) == DELIVERED for sms_id in extra)

        await wait_until(extra_delivered, timeout=20, what="SMS after the restart delivered")
    finally:
        await host.stop()
    assert time.monotonic() - started < 90
