"""deploy/systemd: the units parse for systemd, run a real `simrelay` command, keep hardening."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simrelay.cli import app

UNITS = Path(__file__).parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/simrelay/venv/bin/simrelay"


def settings_of(unit: str) -> dict[str, list[str]]:
    """Every Key=value of a unit file, by key (systemd allows a key more than once)."""
    found: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.parametrize("unit", ["simrelay.service", "simrelay-modem.service"])
def test_systemd_analyze_verify_finds_nothing(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    here = Path(sys.executable).parent / "simrelay"  # verify wants an ExecStart that exists
    (tmp_path / unit).write_text((UNITS / unit).read_text().replace(INSTALLED, str(here)))
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 on settings it ignores, so its warnings are the verdict.
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr + done.stdout


def test_server_unit_runs_serve_hardened_and_outlasts_the_graceful_shutdown() -> None:
    unit = settings_of("simrelay.service")
    assert unit["ExecStart"] == [f"{INSTALLED} serve --host 127.0.0.1 --port 8000"]
    assert unit["User"] == ["simrelay"] and unit["Restart"] == ["on-failure"]
    assert unit["EnvironmentFile"] == ["/etc/simrelay/simrelay.env"]
    assert unit["NoNewPrivileges"] == ["yes"] and unit["PrivateTmp"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"] and unit["ReadWritePaths"] == ["/var/lib/simrelay"]
    # uvicorn gives requests in flight 30 s (cli/serve.py); the lifespan's shutdown comes after.
    assert int(unit["TimeoutStopSec"][0]) > 30


def test_modem_unit_reaches_the_serial_ports() -> None:
    unit = settings_of("simrelay-modem.service")
    assert unit["SupplementaryGroups"] == ["dialout"]
    assert "PrivateDevices" not in unit and "DevicePolicy" not in unit
    assert unit["ExecStart"][0].startswith(f"{INSTALLED} modem run --url ${{SIMRELAY_URL}} ")


@pytest.mark.parametrize(
    ("unit", "expanded"),
    [
        ("simrelay.service", {}),
        (
            "simrelay-modem.service",
            {"${SIMRELAY_URL}": "https://sms.example.com", "$SIMRELAY_MODEM_ARGS": "--port auto"},
        ),
    ],
)
def test_exec_start_is_a_command_simrelay_accepts(unit: str, expanded: dict[str, str]) -> None:
    command = settings_of(unit)["ExecStart"][0]
    for variable, value in expanded.items():
        command = command.replace(variable, value)
    args = shlex.split(command)[1:]
    # --help stops before running, yet after checking every option is one the command has.
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(app, [*args, "--no-such-option", "--help"]).exit_code == 2
