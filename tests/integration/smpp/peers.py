"""What the Kannel and Jasmin tests share: simrelay serving SMPP with two accounts and their
simulated phones, the processes of a peer (started once per module, stopped by PID), an HTTP
receiver for the peers' callbacks, and the skip-or-fail rule for a peer that is missing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.accounts.models import Account
from simrelay.agent.simulator import SimulatedPhone, SimulatorOptions
from simrelay.devices import service as devices
from simrelay.smpp import users
from simrelay.sms.status import Status
from simrelay.storage.database import Database
from simrelay.storage.db import create_engine
from tests.factories import Caller, make_caller
from tests.integration.gateway import QUICK
from tests.integration.rig import Rig, open_rig
from tests.integration.server import auth, free_port, free_port_besides

REQUIRE_PEERS = os.environ.get("SIMRELAY_TEST_REQUIRE_PEERS") == "1"
SYSTEM_ID, PASSWORD = "peer", "peerpw"
FAILING_ID = "failing"
"""The SMPP user of an account whose phone fails to send anything (for failed receipts)."""

START_TIMEOUT = 60.0
"""Peers start slowly on a loaded 2-core machine (Jasmin ~5 s idle, more under load)."""


def missing_peer(what: str, hint: str) -> None:
    """Skips the module, or fails it under SIMRELAY_TEST_REQUIRE_PEERS=1 (CI installs the peers)."""
    reason = f"{what} is missing ({hint})"
    if REQUIRE_PEERS:
        pytest.fail(reason + " and SIMRELAY_TEST_REQUIRE_PEERS=1", pytrace=False)
    pytest.skip(reason)


def free_ports(count: int, *taken: int) -> list[int]:
    ports: list[int] = []
    for _ in range(count):
        ports.append(free_port_besides(*taken, *ports))
    return ports


def wait_until(check: Callable[[], Any], what: str, *, timeout: float = START_TIMEOUT) -> Any:
    """Polls `check` until it returns something truthy; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class Processes:
    """Processes started for a test module; `stop()` ends each one by its PID, last first."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.out").open("ab") as out:
            process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        self.started.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited {process.returncode}:\n{self.output(name)}")

    def output(self, name: str) -> str:
        path = self.log_dir / f"{name}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, grace: float = 15.0) -> None:
        for _, process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        self.started.clear()


@dataclass
class Simrelay:
    """`simrelay serve` with SMPP on and two accounts, each with an SMPP user and a simulated phone:
    SYSTEM_ID's phone sends what it is offered and reports it delivered, FAILING_ID's phone fails
    to send anything."""

    rig: Rig
    smpp_port: int
    failing: Caller

    async def listed(self, *, token: str | None = None) -> dict[str, dict[str, Any]]:
        """The SMS of SYSTEM_ID's account (of the account of `token`)."""
        headers = auth(token or self.rig.token)
        response = await self.rig.http.get("/v1/sms", headers=headers, params={"limit": 100})
        assert response.status_code == 200, response.text
        return {sms["id"]: sms for sms in response.json()["sms_list"]}

    async def wait_sms(
        self, phone_number: str, status: Status, *, token: str | None = None, timeout: float = 60.0
    ) -> dict[str, Any]:
        """The one SMS to `phone_number`, once it has `status` (the peer submits it when it gets
        round to it, then the phone takes its time)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                sms
                for sms in (await self.listed(token=token)).values()
                if sms["phone_number"] == phone_number
            ]
            assert len(found) <= 1, found
            if found and found[0]["status"] == status:
                return found[0]
            assert time.monotonic() < deadline, (
                f"SMS to {phone_number}: {found}, not {status!r} in {timeout} s"
            )
            await asyncio.sleep(0.2)

    @property
    def phone(self) -> SimulatedPhone:
        """SYSTEM_ID's account's phone (the one that delivers), which can also receive SMS (MO)."""
        return self.rig.phones[0]

    async def delivered(self, phone_number: str) -> dict[str, Any]:
        """The one SMS to `phone_number` of SYSTEM_ID's account, once its phone reported it delivered."""
        return await self.wait_sms(phone_number, Status.DELIVERED)

    async def send_failed(self, phone_number: str) -> dict[str, Any]:
        """The one SMS to `phone_number` of FAILING_ID's account, once its phone failed to send it."""
        return await self.wait_sms(phone_number, Status.SEND_FAILED, token=self.failing.token)


async def add_smpp_user(engine: AsyncEngine, email: str, system_id: str, password: str) -> str:
    """The account id of `email`, which gets the SMPP user `system_id`."""
    async with engine.connect() as conn:
        account_id = str((await conn.execute(select(Account.id).where(Account.email == email))).scalar_one())
    await users.create_user(
        Database.on_engine(engine), account_id=account_id, system_id=system_id, password=password
    )
    return account_id


@contextlib.asynccontextmanager
async def open_simrelay(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Simrelay]:
    """simrelay with the settings of `env` (made by `gateway_env`)."""
    http_port = free_port()
    smpp_port = free_port_besides(http_port)
    env["SIMRELAY_SMPP_PORT"] = str(smpp_port)
    email = "peers@example.com"
    async with open_rig(env, tmp_path, email=email, port=http_port) as rig:
        engine = create_engine(rig.database_url)
        try:
            await add_smpp_user(engine, email, SYSTEM_ID, PASSWORD)
            failing = await make_caller(engine, email="failing@example.com", with_device=False)
            await add_smpp_user(engine, failing.email, FAILING_ID, PASSWORD)
            issued = await devices.issue_pairing_code(
                Database.on_engine(engine),
                account_id=failing.account_id,
                uses=1,
                server_url=rig.server.base_url,
            )
        finally:
            await engine.dispose()
        await rig.sim()
        options = SimulatorOptions(**{**QUICK.__dict__, "fail_rate": 1.0})
        phone = await SimulatedPhone.pair(
            rig.server.base_url, issued.code, options=options, ledger=rig.ledger
        )
        rig.phones.append(phone)  # stopped by the rig
        await rig.start(phone)
        yield Simrelay(rig, smpp_port, failing)


class Callbacks:
    """An HTTP receiver on 127.0.0.1 for the peers' callbacks (Kannel's dlr-url and get-url,
    Jasmin's dlr-url and HTTP connector): records the parameters of every GET and form POST.

    It answers `ACK/Jasmin`, which Jasmin wants from an MO receiver (anything else and it throws
    again); Kannel would send a get-url's answer back as an SMS unless told not to (max-messages 0).
    """

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self._changed = threading.Condition()
        callbacks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.record(urllib.parse.urlsplit(self.path).query)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                self.record(self.rfile.read(length).decode())

            def record(self, query: str) -> None:
                params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
                params["path"] = urllib.parse.urlsplit(self.path).path
                with callbacks._changed:
                    callbacks.received.append(params)
                    callbacks._changed.notify_all()
                body = b"ACK/Jasmin"
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    async def wait_for(
        self, where: Callable[[dict[str, str]], bool], *, count: int = 1, timeout: float = 30.0
    ) -> list[dict[str, str]]:
        """The first `count` callbacks matching `where`, once they arrived (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                found = [params for params in self.received if where(params)]
            if len(found) >= count:
                return found[:count]
            assert time.monotonic() < deadline, (
                f"{len(found)} of {count} callbacks in {timeout} s: {self.received}"
            )
            await asyncio.sleep(0.1)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
