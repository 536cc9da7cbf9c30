"""`simrelay sms send | get | list | del` as subprocesses against a real server on SQLite, with
simulated phones (`simrelay device simulate`) doing the sending."""

from __future__ import annotations

import asyncio
import io
import json
import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simrelay.agent.simulator import SimulatedPhone, SimulatorOptions
from simrelay.cli.sms import StatusLine, shorten
from tests.integration.gateway import QUICK, gateway_env
from tests.integration.server import CLI_TIMEOUT, Server, cli_json, make_account, run_cli
from tests.integration.test_client import simulated_phone

pytestmark = pytest.mark.integration

EMAIL = "cli-sms@example.com"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("cli-sms")
    with Server(gateway_env(root, "sqlite"), root / "logs") as running:
        yield running


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return make_account(server.env, EMAIL, device=False)["token"]


@pytest.fixture(scope="module")
def phone(server: Server, token: str) -> Iterator[str]:
    with simulated_phone(server, EMAIL, token) as device_id:
        yield device_id


@pytest.fixture(scope="module")
def delivered(server: Server, token: str, phone: str) -> tuple[str, str]:
    """(id, text) of an SMS sent with `sms send --wait`, which has ended delivered."""
    text = f"cli hello {secrets.token_hex(4)}"
    done = sms(server, token, "send", "+79990001122", text, "--wait")
    assert done.returncode == 0, done.stderr
    sms_id = done.stdout.strip()
    assert OBJECT_ID.match(sms_id)
    lines = done.stderr.splitlines()
    assert "\r" not in done.stderr  # not a terminal: one plain line per status
    assert lines[-1].startswith("status 4 Доставлено (")
    assert len(lines) == len({line.split(" (")[0] for line in lines})
    return sms_id, text


def sms(server: Server, token: str | None, *args: str, **env: str):
    """`simrelay sms ARGS --url URL [--token TOKEN]`, SIMRELAY_URL / SIMRELAY_TOKEN unset unless given."""
    base = {k: v for k, v in server.env.items() if k not in ("SIMRELAY_URL", "SIMRELAY_TOKEN")}
    flags = ["--url", server.base_url] if "SIMRELAY_URL" not in env else []
    flags += ["--token", token] if token is not None else []
    return run_cli({**base, **env}, "sms", *args, *flags, check=False)


def test_send_wait_follows_the_sms_until_delivered(delivered: tuple[str, str]) -> None:
    assert OBJECT_ID.match(delivered[0])


def test_list_search_shows_it_in_a_table(server: Server, token: str, delivered: tuple[str, str]) -> None:
    sms_id, text = delivered
    done = sms(server, token, "list", "--search", text, "--limit", "5")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "PHONE", "CREATED", "MESSAGE"]
    assert row.startswith(sms_id) and "4 Доставлено" in row and "79990001122" in row and row.endswith(text)
    assert header.index("PHONE") == row.index("79990001122")
    assert done.stderr.strip() == "1-1 of 1 (page 1)"
    nothing = sms(server, token, "list", "--search", "no such text anywhere")
    assert (nothing.returncode, nothing.stdout, nothing.stderr.strip()) == (0, "", "none of 0 (page 1)")


def test_get_prints_the_sms_as_json(server: Server, token: str, delivered: tuple[str, str]) -> None:
    sms_id, text = delivered
    done = sms(server, token, "get", sms_id)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["id"], found["status"], found["message"], found["phone_number"]) == (
        sms_id,
        4,
        text,
        "79990001122",
    )
    assert "Доставлено" in done.stdout  # not \u-escaped


def test_del_then_get_fails_with_1008(server: Server, token: str, phone: str) -> None:
    sms_id = sms(server, token, "send", "79990001122", "short-lived").stdout.strip()
    done = sms(server, token, "del", sms_id)
    assert (done.returncode, done.stdout.strip()) == (0, f"deleted {sms_id}")
    gone = sms(server, token, "get", sms_id)
    assert gone.returncode == 1 and gone.stdout == ""
    assert gone.stderr.startswith("error 1008: ")
    again = sms(server, token, "del", sms_id)
    assert again.returncode == 1 and again.stderr.startswith("error 1008: ")


def test_url_and_token_come_from_the_environment_and_flags_win(server: Server, token: str) -> None:
    from_env = sms(server, None, "list", SIMRELAY_URL=server.base_url, SIMRELAY_TOKEN=token)
    assert from_env.returncode == 0, from_env.stderr
    flag_wins = sms(server, token, "list", SIMRELAY_TOKEN="bad.to.ken")
    assert flag_wins.returncode == 0, flag_wins.stderr
    dead = sms(server, token, "list", SIMRELAY_URL="http://127.0.0.1:9")
    assert dead.returncode == 1 and dead.stderr.startswith("error: cannot reach http://127.0.0.1:9")
    # And a --url flag beats SIMRELAY_URL.
    args = ("sms", "list", "--url", server.base_url, "--token", token)
    assert run_cli({**server.env, "SIMRELAY_URL": "http://127.0.0.1:9"}, *args).returncode == 0


def test_a_bad_or_missing_token_exits_1(server: Server, token: str) -> None:
    bad = sms(server, "not.a.token", "list")
    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr.startswith("error 1003: ")
    missing = sms(server, None, "get", "0" * 24)
    assert missing.returncode == 1 and "SIMRELAY_TOKEN" in missing.stderr


def test_a_refused_send_prints_the_error_code(server: Server, token: str) -> None:
    done = sms(server, token, "send", "12ab", "hello")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("error 2001: ")


def test_send_wait_exits_1_when_sending_fails(server: Server, token: str) -> None:
    with simulated_phone(server, EMAIL, token, "--fail-rate", "1") as failing:
        done = sms(
            server, token, "send", "79990001122", "doomed", "--device", failing, "--sim", "0", "--wait"
        )
    assert done.returncode == 1, done.stderr
    assert OBJECT_ID.match(done.stdout.strip())
    assert "status 3 Ошибка отправки" in done.stderr and "reason: " in done.stderr


def test_send_wait_exits_1_when_nothing_sends_it_in_time(server: Server, token: str) -> None:
    idle = cli_json(server.env, "device", "add", EMAIL, "--active", "--json")["device_id"]
    done = sms(
        server, token, "send", "79990001122", "waits", "--device", idle, "--wait", "--wait-timeout", "1"
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "not sent within 1 s (status 0)"


async def test_send_wait_exits_0_when_sent_and_no_report_comes_in_time(server: Server, token: str) -> None:
    code = cli_json(server.env, "device", "pair", EMAIL, "--json")["code"]
    slow = SimulatorOptions(**{**QUICK.__dict__, "delivery_delay_ms": (60_000, 60_000)})
    phone = await SimulatedPhone.pair(server.base_url, code, options=slow)
    phone.start()
    try:
        await phone.ledger.wait_for(lambda: phone.connected, timeout=10)
        args = [
            "send",
            "79990001122",
            "no report",
            "--device",
            phone.device_id,
            "--wait",
            "--wait-timeout",
            "2",
        ]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simrelay",
            "sms",
            *args,
            "--url",
            server.base_url,
            "--token",
            token,
            env=server.env,
            cwd=server.env["SIMRELAY_DATA_DIR"],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    finally:
        await phone.stop()
    lines = stderr.decode().splitlines()
    assert process.returncode == 0, lines
    assert OBJECT_ID.match(stdout.decode().strip())
    assert lines[-2].startswith("status 2 Отправлено (")
    assert lines[-1] == "sent; no delivery report within 2 s"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_status_line_is_rewritten_in_place() -> None:
    stream = Terminal()
    line = StatusLine(stream)
    line.show("0", "status 0 Ждет обработки (0.0 s)")
    line.show("0", "status 0 Ждет обработки (0.5 s)")
    line.show("4", "status 4 Доставлено (1.0 s)")
    line.end()
    written = stream.getvalue()
    assert written.count("\r") == 3 and written.endswith("\n") and written.count("\n") == 1
    assert written.split("\r")[-1].rstrip() == "status 4 Доставлено (1.0 s)"


def test_long_messages_are_cut_to_one_line() -> None:
    assert shorten("a\nb") == "a b"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"


def test_no_server_module_is_imported_by_the_sms_commands() -> None:
    source = (Path(__file__).parents[2] / "src/simrelay/cli/sms.py").read_text()
    imported = set(re.findall(r"^(?:from|import) (simrelay[\w.]*)", source, re.M))
    assert imported == {"simrelay.client"}
