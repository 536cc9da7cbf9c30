"""`simrelay smpp user create | list | delete` against a live server with an SMPP port: what the
CLI makes binds, what it deletes no longer does, and wrong passwords are throttled."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import smpplib.client  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]

from simrelay.smpp.codes import CommandStatus
from tests.integration.server import Server, cli, cli_json, free_port_besides, run_cli, server_env

pytestmark = pytest.mark.integration

S = CommandStatus
EMAIL = "apps@example.com"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # The port by the command's option this time (test_smpp_server sets SIMRELAY_SMPP_PORT).
    env = server_env(tmp_path / "data")
    server = Server(env, tmp_path / "logs")
    server.options = ("--smpp-port", str(free_port_besides(server.port)))
    with server:
        cli(env, "account", "create", EMAIL)
        yield server


def bind(server: Server, system_id: str, password: str) -> int:
    """The status of a bind_transceiver on a new connection."""
    client = smpplib.client.Client(
        "127.0.0.1", int(server.options[-1]), timeout=10, allow_unknown_opt_params=True
    )
    client.connect()
    try:
        client.bind_transceiver(system_id=system_id, password=password)
        return S.ESME_ROK
    except smpplib.exceptions.PDUError as error:
        status: Any = error.args[1]
        return int(status)
    finally:
        client.disconnect()


def test_create_list_delete_and_bind(server: Server) -> None:
    env = server.env
    created = cli_json(
        env, "smpp", "user", "create", EMAIL, "--system-id", "billing", "--password", "pw12345", "--json"
    )
    assert set(created) == {"id", "system_id"} and created["system_id"] == "billing"
    plain = cli(env, "smpp", "user", "create", EMAIL, "--system-id", "otp", "--password", "x")
    assert plain.strip() == "created SMPP user otp"

    listed = json.loads(cli(env, "smpp", "user", "list", EMAIL, "--json"))
    assert [item["system_id"] for item in listed] == ["billing", "otp"]
    assert listed[0]["id"] == created["id"]
    assert "pw12345" not in cli(env, "smpp", "user", "list", EMAIL)

    assert bind(server, "billing", "pw12345") == S.ESME_ROK
    assert bind(server, "otp", "x") == S.ESME_ROK

    assert cli(env, "smpp", "user", "delete", EMAIL, "otp").strip() == "deleted SMPP user otp"
    assert bind(server, "otp", "x") == S.ESME_RINVPASWD
    assert [item["system_id"] for item in json.loads(cli(env, "smpp", "user", "list", EMAIL, "--json"))] == [
        "billing"
    ]


REFUSED = [
    (["--system-id", "billing", "--password", "other"], "error: system_id billing is taken"),
    (
        ["--system-id", "a" * 16, "--password", "pw"],
        "error: system_id must be 1 to 15 printable ASCII characters",
    ),
    (
        ["--system-id", "ok", "--password", "123456789"],
        "error: password must be 1 to 8 printable ASCII characters",
    ),
    (
        ["--system-id", "ok", "--password", "пароль"],
        "error: password must be 1 to 8 printable ASCII characters",
    ),
]


def test_create_refuses_taken_and_overlong_credentials(server: Server) -> None:
    cli(server.env, "smpp", "user", "create", EMAIL, "--system-id", "billing", "--password", "pw")
    for args, error in REFUSED:
        refused = run_cli(server.env, "smpp", "user", "create", EMAIL, *args, check=False)
        assert (refused.returncode, refused.stderr.strip()) == (1, error)
    assert len(json.loads(cli(server.env, "smpp", "user", "list", EMAIL, "--json"))) == 1


def test_unknown_account_and_user(server: Server) -> None:
    no_account = run_cli(
        server.env,
        "smpp",
        "user",
        "create",
        "x@example.com",
        "--system-id",
        "a",
        "--password",
        "b",
        check=False,
    )
    assert (no_account.returncode, no_account.stderr.strip()) == (1, "error: no account x@example.com")
    no_user = run_cli(server.env, "smpp", "user", "delete", EMAIL, "ghost", check=False)
    assert (no_user.returncode, no_user.stderr.strip()) == (1, "error: no SMPP user ghost")


def test_wrong_passwords_are_throttled(server: Server) -> None:
    cli(server.env, "smpp", "user", "create", EMAIL, "--system-id", "billing", "--password", "right")
    for _ in range(5):  # GuessPolicy.free
        assert bind(server, "billing", "wrong") == S.ESME_RINVPASWD
    # Now even the right password waits (2 s after the 5th failure) ...
    assert bind(server, "billing", "right") == S.ESME_RBINDFAIL
    time.sleep(2.2)
    # ... and then binds.
    assert bind(server, "billing", "right") == S.ESME_ROK
