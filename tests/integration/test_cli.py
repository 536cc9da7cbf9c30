"""Every `simrelay` CLI command, run as a subprocess against a live server on the same database."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from simrelay.agent.simulator import Ledger, SimulatedPhone
from tests.integration.server import (
    Server,
    auth,
    cli,
    cli_concurrently,
    cli_json,
    make_account,
    run_cli,
    server_env,
)

pytestmark = pytest.mark.integration

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
JWT_SHAPE = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")
SMS = {"message": "hello from the CLI test", "phone_number": "79990001122"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return server_env(tmp_path_factory.mktemp("cli") / "data")


@pytest.fixture(scope="module")
def http(env: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of a server running on the database the CLI commands change."""
    with Server(env, Path(env["SIMRELAY_DATA_DIR"]).parent / "logs") as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            yield client


@pytest.fixture(scope="module")
def main(env: dict[str, str], http: httpx.Client) -> dict[str, str]:
    """An account with a full key and an active device, made by the CLI."""
    return make_account(env, "main@example.com")


def error_code(response: httpx.Response) -> int:
    code: int = response.json()["errors"]["code"]
    return code


def send(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/v1/sms/send", headers=auth(token), json=SMS)


def list_sms(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/v1/sms", headers=auth(token), params={"limit": 5})


def keys_listed(env: dict[str, str], email: str) -> dict[str, list[str]]:
    """`key list` as {key id: [state, rights, name]}."""
    rows = [line.split("\t") for line in cli(env, "key", "list", email).splitlines() if line]
    return {row[0]: row[1:] for row in rows}


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    env = server_env(tmp_path / "fresh")
    for _ in range(2):
        assert cli(env, "db", "upgrade").strip() == "database is up to date"
    with sqlite3.connect(tmp_path / "fresh" / "simrelay.db") as db:
        versions = db.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert len(versions) == 1
    assert {"accounts", "api_keys", "devices", "messages"} <= tables


def test_account_create_and_duplicate_exits_1(env: dict[str, str]) -> None:
    out = cli(env, "account", "create", "Dup@Example.com")
    assert re.fullmatch(r"created account dup@example\.com \([0-9a-f]{24}\)\n", out), out
    again = run_cli(env, "account", "create", "dup@example.com", check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == "error: account dup@example.com already exists"
    assert "Traceback" not in again.stderr
    assert again.stdout == ""


def test_quota_is_honoured(env: dict[str, str], http: httpx.Client) -> None:
    caller = make_account(env, "quota@example.com", quota=2)
    assert [send(http, caller["token"]).status_code for _ in range(2)] == [200, 200]
    over = send(http, caller["token"])
    assert over.status_code == 403
    assert error_code(over) == 1006
    assert list_sms(http, caller["token"]).json()["pagination"]["total_records"] == 2


def test_block_then_unblock(env: dict[str, str], http: httpx.Client, main: dict[str, str]) -> None:
    assert send(http, main["token"]).status_code == 200
    assert cli(env, "account", "block", "main@example.com").strip() == "blocked main@example.com"
    try:
        blocked = send(http, main["token"])
        assert blocked.status_code == 403
        assert error_code(blocked) == 3000
        assert error_code(list_sms(http, main["token"])) == 3000
    finally:
        assert cli(env, "account", "unblock", "main@example.com").strip() == "unblocked main@example.com"
    assert send(http, main["token"]).status_code == 200


def test_account_settings_shows_resend_lost_and_switches_it(env: dict[str, str]) -> None:
    email = "settings@example.com"
    cli(env, "account", "create", email)

    def stored() -> bool:
        with sqlite3.connect(Path(env["SIMRELAY_DATA_DIR"]) / "simrelay.db") as db:
            (value,) = db.execute("SELECT resend_lost FROM accounts WHERE email = ?", (email,)).fetchone()
        return bool(value)

    assert cli(env, "account", "settings", email) == "resend_lost: off\n"
    assert stored() is False
    assert cli(env, "account", "settings", email, "--resend-lost") == "resend_lost: on (may send twice)\n"
    assert stored() is True
    assert cli(env, "account", "settings", email, "--no-resend-lost") == "resend_lost: off\n"
    assert stored() is False
    for flags in ((), ("--resend-lost",)):
        unknown = run_cli(env, "account", "settings", "nobody@example.com", *flags, check=False)
        assert unknown.returncode == 1
        assert unknown.stderr.strip() == "error: no account nobody@example.com"
        assert "Traceback" not in unknown.stderr
        assert unknown.stdout == ""


def test_key_create_plain_json_permissions_and_list(
    env: dict[str, str], http: httpx.Client, main: dict[str, str]
) -> None:
    plain, no_send_out, no_read_out = cli_concurrently(
        env,
        ("key", "create", "main@example.com", "--name", "plain"),
        ("key", "create", "main@example.com", "--json", "--no-send", "--name", "reader"),
        ("key", "create", "main@example.com", "--json", "--no-read", "--name", "sender"),
    )
    assert plain.count("\n") == 1
    plain_token = plain.strip()
    assert JWT_SHAPE.match(plain_token), plain
    no_send, no_read = json.loads(no_send_out), json.loads(no_read_out)
    for issued in (no_send, no_read):
        assert set(issued) == {"id", "token"}
        assert OBJECT_ID.match(issued["id"])
        assert JWT_SHAPE.match(issued["token"])

    listed = keys_listed(env, "main@example.com")
    assert listed[main["id"]] == ["active", "send,read", ""]
    assert listed[no_send["id"]] == ["active", "read", "reader"]
    assert listed[no_read["id"]] == ["active", "send", "sender"]
    assert ["active", "send,read", "plain"] in listed.values()
    assert len(listed) == 4
    assert all(plain_token != issued["token"] for issued in (no_send, no_read))

    assert send(http, plain_token).status_code == 200
    assert list_sms(http, plain_token).status_code == 200
    assert error_code(send(http, no_send["token"])) == 1005
    assert list_sms(http, no_send["token"]).status_code == 200
    sent = send(http, no_read["token"])
    assert sent.status_code == 200
    assert error_code(list_sms(http, no_read["token"])) == 1007
    got = http.post("/v1/sms/get", headers=auth(no_read["token"]), json={"id": sent.json()["id"]})
    assert error_code(got) == 1007
    deleted = http.request("DELETE", "/v1/sms/del", headers=auth(no_send["token"]), json=sent.json())
    assert error_code(deleted) == 1005


def test_key_deactivate_activate_delete(
    env: dict[str, str], http: httpx.Client, main: dict[str, str]
) -> None:
    key = cli_json(env, "key", "create", "main@example.com", "--json", "--name", "lifecycle")
    assert list_sms(http, key["token"]).status_code == 200

    assert cli(env, "key", "deactivate", key["id"]).strip() == f"deactivated {key['id']}"
    inactive = list_sms(http, key["token"])
    assert inactive.status_code == 403
    assert error_code(inactive) == 1002
    assert keys_listed(env, "main@example.com")[key["id"]][0] == "inactive"
    assert list_sms(http, main["token"]).status_code == 200  # other keys of the account still work

    assert cli(env, "key", "activate", key["id"]).strip() == f"activated {key['id']}"
    assert list_sms(http, key["token"]).status_code == 200

    assert cli(env, "key", "delete", key["id"]).strip() == f"deleted {key['id']}"
    gone = list_sms(http, key["token"])
    assert gone.status_code == 401
    assert error_code(gone) == 1003
    again = run_cli(env, "key", "delete", key["id"], check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == f"error: no API key {key['id']}"


def test_device_add_json_and_active(env: dict[str, str], http: httpx.Client) -> None:
    cli(env, "account", "create", "phones@example.com")
    token = cli_json(env, "key", "create", "phones@example.com", "--json")["token"]
    no_device = send(http, token)
    assert no_device.status_code == 400
    assert error_code(no_device) == 1004

    added_out, active_out = cli_concurrently(
        env,
        ("device", "add", "phones@example.com", "--json", "--name", "spare"),
        ("device", "add", "phones@example.com", "--active", "--name", "main"),
    )
    added = json.loads(added_out)
    assert set(added) == {"device_id"}
    assert OBJECT_ID.match(added["device_id"])
    active_id = active_out.strip()
    assert OBJECT_ID.match(active_id)

    def info(device_id: str) -> dict[str, object]:
        found = http.post("/v1/devices/get/info", headers=auth(token), json={"device_id": device_id})
        assert found.status_code == 200, found.text
        body: dict[str, object] = found.json()
        return body

    assert (info(added["device_id"])["is_active"], info(added["device_id"])["device_name"]) == (
        False,
        "spare",
    )
    assert (info(active_id)["is_active"], info(active_id)["device_name"]) == (True, "main")
    assert send(http, token).status_code == 200


async def test_quickstart_prints_a_working_token_and_pairing_code_and_reuses_the_token(
    tmp_path: Path,
) -> None:
    env = server_env(tmp_path / "data", secret_key=None, rate_limit=None, send_interval_max="0")
    first = Server(env, tmp_path / "logs", command="quickstart", name="quickstart")
    with first:
        printed = first.stdout()
        token = re.search(r"export SIMRELAY_TOKEN=(\S+)", printed)
        assert token is not None, printed
        token_value = token.group(1)
        assert JWT_SHAPE.match(token_value)
        assert f"curl -s {first.base_url}/v1/sms/send" in printed
        assert f'curl -s "{first.base_url}/v1/sms?limit=10"' in printed
        code = re.search(rf"simrelay device simulate --url {first.base_url} --code (\S+)", printed)
        assert code is not None, printed
        panel = re.search(r"The panel: (\S+)/panel  \(sign in as (\S+), password (\S+)\)", printed)
        assert panel is not None, printed
        with httpx.Client(base_url=first.base_url, timeout=10) as browser:
            form = browser.get("/panel/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
            signed_in = browser.post(
                "/panel/login", data={"csrf_token": csrf, "email": panel.group(2), "password": panel.group(3)}
            )
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/panel"
        ledger = Ledger()
        phone = await SimulatedPhone.pair(first.base_url, code.group(1), ledger=ledger)
        phone.start()
        try:
            await ledger.wait_for(lambda: phone.connected, timeout=10)
            with httpx.Client(base_url=first.base_url, timeout=10) as http:
                sent = send(http, token_value)
                assert sent.status_code == 200, sent.text
                message_id = sent.json()["id"]
                await ledger.wait_for(lambda: ledger.delivered[message_id] == 1, timeout=10)
                # The phone counts its delivery report as it sends it; the server stores it a
                # moment later (CI once listed the SMS in between, still in status 2).
                deadline = time.monotonic() + 10
                while True:
                    listed = list_sms(http, token_value).json()
                    statuses = [(item["id"], item["status"]) for item in listed["sms_list"]]
                    if statuses == [(message_id, 4)] or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                assert statuses == [(message_id, 4)]
        finally:
            await phone.stop()
        first.stop()

    second = Server(env, tmp_path / "logs", command="quickstart", name="quickstart-again")
    with second:
        assert re.search(r"export SIMRELAY_TOKEN=(\S+)", second.stdout()).group(1) == token_value  # type: ignore[union-attr]
        assert f"password {panel.group(3)})" in second.stdout()
        with httpx.Client(base_url=second.base_url, timeout=10) as http:
            assert list_sms(http, token_value).json()["pagination"]["total_records"] == 1
