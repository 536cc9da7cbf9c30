"""`--port auto` keeps watching: fake modems plugged in after start (links in a folder standing for
/dev/serial/by-id, made and removed as udev does) are resumed or paired and served, ports that are
no modem are probed once, a modem with no code left is logged and left alone, and a modem that
re-enumerates stays its own device."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simrelay.modem import watch
from simrelay.modem.device import AUTO, HostOptions, ModemDevice
from simrelay.modem.host import ModemHost
from simrelay.modem.state import ModemState, StateFile
from tests.fakes.modem import FakeModem
from tests.fakes.pty_link import PtyLink
from tests.fakes.quirks import HUAWEI_E3372, QUECTEL_EC25, SIM800
from tests.integration.gateway import gateway_env
from tests.integration.modem.test_modem_host import HOST_TIMEOUTS, pairing_code, wait_until
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

DELIVERED = 4
LOOK = 0.3
"""Seconds between the watch's looks: several fit in each test."""


class Plugs:
    """A folder of links to ptys: `plug` is a USB modem plugged in, `unplug` pulled out."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.folder = folder
        self.glob = str(folder / "*")

    def plug(self, target: str, name: str) -> str:
        link = self.folder / name
        link.symlink_to(target)
        return str(link)

    def unplug(self, name: str) -> None:
        (self.folder / name).unlink()


@pytest.fixture
def plugs(tmp_path: Path) -> Plugs:
    return Plugs(tmp_path / "by-id")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    env = gateway_env(tmp_path, "sqlite", lease_seconds="20", lease_hard_seconds="60")
    async with open_rig(env, tmp_path, email="hotplug@example.com") as rig:
        yield rig


def auto_options(url: str, plugs: Plugs, code: str | None) -> HostOptions:
    return HostOptions(
        url=url,
        ports=(AUTO,),
        code=code,
        port_globs=(plugs.glob,),
        timeouts=HOST_TIMEOUTS,
        retry_seconds=0.2,
        reset_settle=0.3,
        poll_seconds=0.5,
        reconnect=(0.1, 0.5),
        scan_seconds=LOOK,
    )


async def test_auto_pairs_a_modem_plugged_in_later_and_keeps_one_device_per_imei(
    rig: Rig, plugs: Plugs, tmp_path: Path
) -> None:
    first = FakeModem(SIM800, imei="867856030000011", operator="MTS")
    later = FakeModem(HUAWEI_E3372, imei="867856030000012", operator="Beeline")
    first.start()
    plugs.plug(first.path, "usb-SIMCOM-if00")
    joined: list[ModemDevice] = []
    host = ModemHost(
        auto_options(rig.server.base_url, plugs, await pairing_code(rig, 2)),
        store=StateFile.load(tmp_path / "modems.json"),
    )
    host.on_join = joined.append
    await host.start()
    try:
        assert [device.imei for device in host.devices] == [first.imei]
        assert joined == host.devices

        later.start()
        path = plugs.plug(later.path, "usb-HUAWEI-if02")

        async def both_connected() -> bool:
            return len(host.devices) == 2 and all(
                d.link is not None and d.link.connected for d in host.devices
            )

        await wait_until(both_connected, timeout=15, what="the modem plugged in later connected")
        device = host.devices[1]
        assert (device.imei, device.path) == (later.imei, path)
        assert joined == host.devices
        assert host.store.get(later.imei) is not None  # paired, so a restart resumes it

        sms_id = await rig.send(device_id=device.device_id, phone_number="+79990000012")
        await rig.wait_status(sms_id, DELIVERED, timeout=20)
        assert [submission.recipient for submission in later.submissions] == ["+79990000012"]

        # It re-enumerates under a new name while the watch looks every LOOK seconds: its own
        # search by IMEI takes the new port, the watch leaves it alone. Still one device for it.
        later.vanish()
        plugs.unplug("usb-HUAWEI-if02")
        await asyncio.sleep(2 * LOOK)
        new_path = plugs.plug(later.reappear(), "usb-HUAWEI-if02-port1")

        async def back() -> bool:
            return device.path == new_path and device.radio is not None and device.radio.ready.is_set()

        await wait_until(back, timeout=15, what="the re-enumerated modem back on its new port")
        await asyncio.sleep(3 * LOOK)
        assert [d.imei for d in host.devices] == [first.imei, later.imei] and len(joined) == 2
        assert device.rediscoveries >= 1
        sms_id = await rig.send(device_id=device.device_id, phone_number="+79990000013")
        await rig.wait_status(sms_id, DELIVERED, timeout=20)
    finally:
        await host.stop()
        for fake in (first, later):
            fake.vanish()


async def test_auto_with_no_modem_waits_probes_other_ports_once_and_takes_the_first_modem(
    plugs: Plugs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probed: Counter[str] = Counter()
    read_imei = watch.read_imei

    async def counting(path: str, *, baudrate: int) -> str | None:
        probed[path] += 1
        return await read_imei(path, baudrate=baudrate)

    monkeypatch.setattr(watch, "read_imei", counting)
    # These ports are made a moment before: without this they would count as new ports, where a
    # modem may still be starting, and be probed again for a while (a unit test covers that).
    monkeypatch.setattr(watch, "STARTING_SECONDS", 0.0)
    heard = bytearray()
    gps = PtyLink(heard.extend)  # a port that never answers AT, like a GPS's NMEA port
    gps.open()
    gps_link = plugs.plug(gps.path, "usb-u-blox-GPS")
    text = tmp_path / "not-a-tty"
    text.write_text("")
    file_link = plugs.plug(str(text), "a-plain-file")
    modem = FakeModem(QUECTEL_EC25, imei="867856030000021")
    store = StateFile.load(tmp_path / "modems.json")
    store.put(ModemState(imei=modem.imei, device_id="65f0c1e2a1b2c3d4e5f60021", token="sdt_known"))
    # Nothing listens on the discard port: the device keeps trying to connect, which is enough.
    host = ModemHost(auto_options("http://127.0.0.1:9", plugs, None), store=store)
    joined: list[ModemDevice] = []
    host.on_join = joined.append
    await host.start()
    waiting = asyncio.create_task(host.wait())
    try:
        assert host.devices == [] and host.watch is not None
        await asyncio.sleep(6 * LOOK)
        assert probed == {gps_link: 1, file_link: 1}
        assert heard.count(b"AT") == 1  # it was opened and asked once, then left alone

        text.unlink()
        await asyncio.sleep(2 * LOOK)
        text.write_text("")  # gone and back: a new device behind the name, probed again
        await asyncio.sleep(2 * LOOK)
        assert probed == {gps_link: 1, file_link: 2}

        modem.start()
        path = plugs.plug(modem.path, "usb-Quectel-EC25-if02")

        async def joined_one() -> bool:
            return [(d.imei, d.path) for d in joined] == [(modem.imei, path)]

        await wait_until(joined_one, timeout=10, what="the first modem taken")
        assert host.devices == joined and host.devices[0].device_id == "65f0c1e2a1b2c3d4e5f60021"
        assert not waiting.done()
    finally:
        waiting.cancel()
        await host.stop()
        gps.close()
        modem.vanish()


async def test_cli_auto_waits_prints_each_modem_that_joins_and_logs_one_with_no_code_left(
    rig: Rig, plugs: Plugs, tmp_path: Path
) -> None:
    code = await pairing_code(rig, 1)
    first = FakeModem(SIM800, imei="867856030000031")
    spare = FakeModem(HUAWEI_E3372, imei="867856030000032")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simrelay", "modem", "run",
        "--url", rig.server.base_url, "--code", code, "--port", "auto", "--port-glob", plugs.glob,
        "--scan-every", str(LOOK), "--state", str(tmp_path / "modems.json"),
        env=rig.server.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    errors: list[str] = []

    async def collect_stderr() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            errors.append(line.decode())

    collecting = asyncio.create_task(collect_stderr())

    async def next_line() -> str:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            return (await process.stdout.readline()).decode()

    try:
        assert "waiting for modems" in await next_line(), errors

        first.start()
        path = plugs.plug(first.path, "usb-SIMCOM-if00")
        line = await next_line()
        assert line.startswith(f"modem {first.imei} on {path}: device "), (line, errors)
        device_id = line.split()[-1]

        # The code's only use is gone: the next modem is told about once, and left alone.
        spare.start()
        plugs.plug(spare.path, "usb-HUAWEI-if02")

        def not_started() -> list[dict[str, str]]:
            events = [json.loads(line) for line in errors if line.startswith("{")]
            return [event for event in events if event.get("event") == "modem_not_started"]

        async def told() -> bool:
            return bool(not_started())

        await wait_until(told, timeout=10, what="the modem with no code left logged")
        spare.vanish()  # and plugged in again: the same IMEI is not told about twice
        plugs.unplug("usb-HUAWEI-if02")
        await asyncio.sleep(2 * LOOK)
        plugs.plug(spare.reappear(), "usb-HUAWEI-if02-port1")
        await asyncio.sleep(4 * LOOK)
        [event] = not_started()
        assert event["imei"] == spare.imei and "invalid_code" in event["error"], event

        # The first one kept running.
        sms_id = await rig.send(device_id=device_id, phone_number="+79990000031")
        await rig.wait_status(sms_id, DELIVERED, timeout=20)
        assert process.returncode is None
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            exit_code = await process.wait()
        await collecting
        for fake in (first, spare):
            fake.vanish()
    assert exit_code == 0, errors
    assert "Traceback" not in "".join(errors)
