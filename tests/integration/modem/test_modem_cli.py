"""`simrelay modem probe` as a real process against a fake modem of each family, and its errors
with their exit codes; `simrelay modem run` refusing a modem it cannot pair."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.fakes.modem import FakeModem
from tests.fakes.quirks import SIM800, SIM800_TEXT_ONLY, Profile

pytestmark = pytest.mark.integration


async def simrelay(*args: str, timeout: float = 60.0) -> tuple[int, str, str]:
    """Runs the CLI while this event loop keeps the fake modem answering."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simrelay",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(timeout):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_probe_prints_what_each_family_reports(profile: Profile) -> None:
    async with FakeModem(profile, imei="867856030000042", operator="MTS", rssi=21) as fake:
        code, out, err = await simrelay("modem", "probe", "--port", fake.path, "--json")
    assert code == 0, err
    found = json.loads(out)
    assert found["port"] == fake.path
    assert (found["imei"], found["imsi"], found["iccid"]) == ("867856030000042", fake.imsi, fake.iccid)
    assert (found["manufacturer"], found["model"]) == (profile.manufacturer, profile.model)
    assert (found["operator"], found["signal_rssi"], found["signal_dbm"]) == ("MTS", 21, -71)
    assert found["sms_memory"] == {"storage": "SM", "used": 0, "total": profile.storage_total}
    assert found["sms_mode"] == "pdu"


async def test_probe_says_when_a_modem_runs_in_text_mode() -> None:
    async with FakeModem(SIM800_TEXT_ONLY) as fake:
        code, out, err = await simrelay("modem", "probe", "--port", fake.path, "--json")
    assert code == 0, err
    assert json.loads(out)["sms_mode"] == "text"


async def test_probe_errors_exit_with_their_code_and_no_traceback(tmp_path: Path) -> None:
    code, _, err = await simrelay("modem", "probe", "--port", str(tmp_path / "ttyUSB9"))
    assert code == 3 and "cannot open" in err and "Traceback" not in err
    async with FakeModem(SIM800, pin="1234") as fake:
        code, _, err = await simrelay("modem", "probe", "--port", fake.path)
        assert code == 5 and "SIM PIN required" in err and "Traceback" not in err
        code, out, err = await simrelay("modem", "probe", "--port", fake.path, "--pin", "1234")
        assert code == 0, err
        assert "imei:" in out and "dBm" in out


async def test_run_refuses_an_unpaired_modem_without_a_code(tmp_path: Path) -> None:
    async with FakeModem(SIM800) as fake:
        code, _, err = await simrelay(
            "modem",
            "run",
            "--url",
            "http://127.0.0.1:9",
            "--port",
            fake.path,
            "--state",
            str(tmp_path / "s.json"),
        )
    assert code == 1 and "not paired yet" in err and "Traceback" not in err
