"""A modem whose SIM keeps failing, end to end on both databases: a real server process and two
fake modems. Once the host marks the SIM failing, the server offers that modem nothing: the
account's SMS go out on the other modem, one sent to the failing modem waits (it does not fail),
and when the SIM's rest is over that one goes out on it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simrelay.agent.simulator import Ledger, LedgerEvent
from simrelay.modem.host import ModemHost
from simrelay.modem.radio import RadioOptions
from simrelay.modem.state import StateFile
from tests.fakes.modem import FakeModem
from tests.fakes.quirks import HUAWEI_E3372, SIM800
from tests.integration.gateway import gateway_env
from tests.integration.modem.conftest import plugged_in
from tests.integration.modem.test_modem_host import host_options, pairing_code, wait_until
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

WAITING, SEND_FAILED, DELIVERED = 0, 3, 4
REST = 8.0
"""The failing SIM's rest: long enough to send a batch past it, short enough for a test."""


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    # A window of 2: the healthy modem cannot take a whole batch, so the rest would go to the
    # other modem if the server did not know its SIM is failing.
    return gateway_env(
        tmp_path, request.param, lease_seconds="20", lease_hard_seconds="60", device_window="2"
    )


@pytest.fixture
async def rig(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email="failing-modem@example.com") as rig:
        yield rig


@pytest.fixture
async def fakes() -> AsyncIterator[list[FakeModem]]:
    with plugged_in(
        FakeModem(SIM800, imei="867856030000011", operator="MTS"),
        FakeModem(HUAWEI_E3372, imei="867856030000012", operator="Beeline"),
    ) as modems:
        yield modems


async def test_a_modem_whose_sim_fails_gets_no_offers_until_its_rest_is_over(
    rig: Rig, fakes: list[FakeModem], tmp_path: Path
) -> None:
    broken, healthy = fakes
    events: list[tuple[float, LedgerEvent]] = []
    ledger = Ledger(listeners=[lambda event: events.append((time.monotonic(), event))])
    options = dataclasses.replace(
        host_options(rig, fakes, await pairing_code(rig, 2)),
        radio=RadioOptions(failing_after=2, failing_rest=REST),
    )
    host = ModemHost(options, store=StateFile.load(tmp_path / "modems.json"), ledger=ledger)
    await host.start()
    try:

        async def connected() -> bool:
            return all(device.link is not None and device.link.connected for device in host.devices)

        await wait_until(connected, timeout=15, what="two devices connected")
        ids = {device.imei: device.device_id for device in host.devices}
        broken_id = ids[broken.imei]

        async def final(message_id: str) -> bool:
            return (await rig.get(message_id))["status"] in (SEND_FAILED, DELIVERED)

        # Two sends fail on the broken SIM: the host marks it failing.
        broken.fail_sends(38)
        for message_id in [await rig.send(device_id=broken_id) for _ in range(2)]:
            await wait_until(lambda m=message_id: final(m), timeout=10, what="the broken modem's SMS failed")
            assert (await rig.history(message_id))[-1]["reason"] == "+CMS ERROR 38: network out of order"

        async def flagged() -> bool:
            return any(event.kind == "sim_failing" for _, event in events)

        await wait_until(flagged, timeout=5, what="the SIM marked failing")
        broken.fail_sends(None)  # it would work again, but rests first

        # Meanwhile the account's SMS go out on the other modem, and one for the broken one waits.
        batch = list(await asyncio.gather(*(rig.send(message=f"batch {n}") for n in range(10))))
        waiting = await rig.send(device_id=broken_id, message="for the broken modem")
        for message_id in batch:
            await wait_until(lambda m=message_id: final(m), timeout=15, what="the batch delivered")
            sms = await rig.get(message_id)
            assert sms["status"] == DELIVERED and sms["device_id"] == ids[healthy.imei]
        assert (await rig.get(waiting))["status"] == WAITING

        # The rest is over: the waiting one goes out on the broken modem, its SIM tried again.
        await wait_until(lambda: final(waiting), timeout=REST + 10, what="the waiting SMS delivered")
        sms = await rig.get(waiting)
        assert sms["status"] == DELIVERED and sms["device_id"] == broken_id
        rested = next(at for at, e in events if e.kind == "sim_rested" and e.device_id == broken_id)
        offered = [(at, e.message_id) for at, e in events if e.kind == "offer" and e.device_id == broken_id]
        assert all(at > rested for at, message_id in offered if message_id in {*batch, waiting}), (
            "offered nothing while failing"
        )
        assert sum(c.startswith("AT+CMGS") for c in broken.commands) == 3
    finally:
        await host.stop()
