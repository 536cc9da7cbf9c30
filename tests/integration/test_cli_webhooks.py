"""`simrelay webhook add | list | del`, run as subprocesses on a SQLite data dir.

There is no DNS here: the webhooks that get created point at loopback, with
SIMRELAY_WEBHOOK_ALLOW_PRIVATE=1.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from simrelay.webhooks import signing
from simrelay.webhooks.outbox import SUBSCRIBABLE
from tests.conftest import SECRET
from tests.integration.server import cli, cli_concurrently, cli_json, run_cli, server_env

pytestmark = pytest.mark.integration

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
HOOK = "http://127.0.0.1:9/hook"
EMAIL = "hooks@example.com"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-webhooks") / "data"


@pytest.fixture(scope="module")
def env(data_dir: Path) -> dict[str, str]:
    """The default settings: private and loopback receivers are refused."""
    return server_env(data_dir)


@pytest.fixture(scope="module")
def private(data_dir: Path) -> dict[str, str]:
    """The same database, with SIMRELAY_WEBHOOK_ALLOW_PRIVATE=1."""
    return server_env(data_dir, webhook_allow_private="1")


@pytest.fixture(scope="module")
def account(env: dict[str, str]) -> str:
    cli(env, "account", "create", EMAIL)
    return EMAIL


def listed(env: dict[str, str], email: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(cli(env, "webhook", "list", email, "--json"))
    return found


def stored_salt(data_dir: Path, webhook_id: str) -> str:
    with sqlite3.connect(data_dir / "simrelay.db") as db:
        row = db.execute("SELECT secret_salt FROM webhooks WHERE id = ?", (webhook_id,)).fetchone()
    assert row is not None
    salt: str = row[0]
    return salt


def flat(text: str) -> str:
    """Click's error box without its frame and line breaks."""
    return " ".join(text.replace("│", " ").split())


def test_add_json_prints_the_id_and_a_secret_that_verifies_signatures(
    private: dict[str, str], data_dir: Path, account: str
) -> None:
    added = cli_json(private, "webhook", "add", account, HOOK, "--json")
    assert set(added) == {"id", "secret"}
    assert OBJECT_ID.match(added["id"])
    assert added["secret"].startswith("whsec_")
    key = base64.b64decode(added["secret"].removeprefix("whsec_"), validate=True)
    assert len(key) == 32

    # Deliveries are signed with the key derived from the server's secret and the stored salt:
    # a receiver holding the printed secret verifies them.
    server_key = signing.derive_key(SECRET, stored_salt(data_dir, added["id"]))
    body = b'{"event":"ping"}'
    header = signing.signature([server_key], event_id="msg_1", timestamp=1700000000, body=body)
    mine = base64.b64encode(hmac.digest(key, b"msg_1.1700000000." + body, "sha256")).decode()
    assert header == f"v1,{mine}"

    hook = next(item for item in listed(private, account) if item["id"] == added["id"])
    assert hook["url"] == HOOK
    assert hook["events"] == list(SUBSCRIBABLE)
    assert hook["is_active"] is True


def test_add_plain_prints_id_secret_and_the_shown_once_note(private: dict[str, str], account: str) -> None:
    lines = cli(private, "webhook", "add", account, HOOK, "--inactive").splitlines()
    assert len(lines) == 3, lines
    assert re.fullmatch(r"id: [0-9a-f]{24}", lines[0])
    assert re.fullmatch(r"secret: whsec_[A-Za-z0-9+/]{43}=", lines[1])
    assert "only" in lines[2]
    webhook_id = lines[0].removeprefix("id: ")
    hook = next(item for item in listed(private, account) if item["id"] == webhook_id)
    assert hook["is_active"] is False


def test_events_subset_comma_separated_and_repeated(private: dict[str, str]) -> None:
    email = "events@example.com"
    cli(private, "account", "create", email)
    comma, repeated = (
        json.loads(out)
        for out in cli_concurrently(
            private,
            ("webhook", "add", email, HOOK, "--json", "--events", "sms.received,sms.status"),
            ("webhook", "add", email, HOOK, "--json", "--events", "device.offline", "--events", "sms.status"),
        )
    )
    events = {item["id"]: item["events"] for item in listed(private, email)}
    assert events == {
        comma["id"]: ["sms.status", "sms.received"],
        repeated["id"]: ["sms.status", "device.offline"],
    }


def test_unknown_event_exits_2_naming_the_valid_ones(private: dict[str, str], account: str) -> None:
    before = listed(private, account)
    for events, named in (("sms.status,sms.bogus", "unknown event 'sms.bogus'"), ("", "at least one")):
        done = run_cli(private, "webhook", "add", account, HOOK, "--events", events, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        assert "Traceback" not in done.stderr
        message = flat(done.stderr)
        assert "--events" in message
        assert named in message
        assert all(name in message for name in SUBSCRIBABLE), message
    assert listed(private, account) == before


def test_loopback_url_is_refused_unless_private_receivers_are_allowed(
    env: dict[str, str], private: dict[str, str]
) -> None:
    email = "loopback@example.com"
    cli(env, "account", "create", email)
    refused = run_cli(env, "webhook", "add", email, HOOK, "--json", check=False)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: webhook URL refused: 127.0.0.1: loopback")
    assert "SIMRELAY_WEBHOOK_ALLOW_PRIVATE=1" in refused.stderr
    assert listed(env, email) == []

    added = cli_json(private, "webhook", "add", email, HOOK, "--json")
    assert [item["id"] for item in listed(env, email)] == [added["id"]]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "not a url", "http://user:pw@127.0.0.1/"])
def test_non_http_urls_are_refused_even_with_private_allowed(
    private: dict[str, str], account: str, url: str
) -> None:
    before = listed(private, account)
    done = run_cli(private, "webhook", "add", account, url, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: webhook URL refused: "), done.stderr
    assert "Traceback" not in done.stderr
    assert listed(private, account) == before


def test_list_never_shows_secrets(private: dict[str, str]) -> None:
    email = "secrets@example.com"
    cli(private, "account", "create", email)
    secrets = [
        json.loads(out)["secret"]
        for out in cli_concurrently(
            private,
            ("webhook", "add", email, HOOK, "--json"),
            ("webhook", "add", email, "http://127.0.0.1:9/other", "--json", "--inactive"),
        )
    ]
    plain, as_json = cli_concurrently(
        private, ("webhook", "list", email), ("webhook", "list", email, "--json")
    )
    for out in (plain, as_json):
        assert "whsec_" not in out
        for secret in secrets:
            assert secret.removeprefix("whsec_") not in out
    rows = [line.split("\t") for line in plain.splitlines()]
    assert sorted(row[1:] for row in rows) == [
        ["active", ",".join(SUBSCRIBABLE), HOOK, ""],
        ["inactive", ",".join(SUBSCRIBABLE), "http://127.0.0.1:9/other", ""],
    ]
    objects = json.loads(as_json)
    assert [row[0] for row in rows] == [item["id"] for item in objects]
    assert all(
        set(item)
        == {
            "id",
            "url",
            "events",
            "is_active",
            "time_create",
            "disabled_reason",
            "disabled_date",
            "failing_since",
        }
        for item in objects
    )


def test_list_of_an_account_without_webhooks_is_empty(env: dict[str, str]) -> None:
    email = "none@example.com"
    cli(env, "account", "create", email)
    plain, as_json = cli_concurrently(env, ("webhook", "list", email), ("webhook", "list", email, "--json"))
    assert plain == ""
    assert json.loads(as_json) == []


def test_del_removes_the_webhook_and_an_unknown_id_exits_1(private: dict[str, str]) -> None:
    email = "del@example.com"
    cli(private, "account", "create", email)
    kept, gone = (
        json.loads(out)["id"]
        for out in cli_concurrently(
            private,
            ("webhook", "add", email, HOOK, "--json"),
            ("webhook", "add", email, HOOK, "--json"),
        )
    )
    assert cli(private, "webhook", "del", gone).strip() == f"deleted {gone}"
    assert [item["id"] for item in listed(private, email)] == [kept]

    for unknown in (gone, "0123456789abcdef01234567"):
        again = run_cli(private, "webhook", "del", unknown, check=False)
        assert again.returncode == 1
        assert again.stdout == ""
        assert again.stderr.strip() == f"error: no webhook {unknown}"
    assert [item["id"] for item in listed(private, email)] == [kept]


@pytest.mark.parametrize(
    "command",
    [("webhook", "add", "ghost@example.com", HOOK, "--json"), ("webhook", "list", "ghost@example.com")],
)
def test_unknown_account_exits_1_like_the_other_commands(
    private: dict[str, str], command: tuple[str, ...]
) -> None:
    done = run_cli(private, *command, check=False)
    key = run_cli(private, "key", "list", "ghost@example.com", check=False)
    assert (done.returncode, done.stdout, done.stderr) == (key.returncode, key.stdout, key.stderr)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: no account ghost@example.com"
