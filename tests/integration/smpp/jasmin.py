"""Jasmin 0.11.0 (PyPI, in a venv of its own) with simrelay as its SMSC: jasmind on free ports,
an SMPP client connector to simrelay added through jCli, a user and a default MT route, and
Jasmin's HTTP API (`POST /send`) to submit through it.

Jasmin needs RabbitMQ and Redis: the machine's (127.0.0.1:5672 guest/guest, Redis 6379 db 7,
which no other test uses), with a RabbitMQ vhost of our own when rabbitmqctl can make one, since
Jasmin's queue names are fixed. What it took (see ../shared/bench-peers/README.md): the PyPI
wheel lacks resource/amqp0-9-1.xml, so `spec` points at txamqp's copy; a connector submits one
message a second unless told `submit_throughput 0`; `--disable-smpp-server` breaks jCli.

Not 0.11.1, the latest: its submit_sm_resp handler fails on every response ("'SubmitSM' object has
no attribute 'response'", jookies/jasmin issues 1236 and 1237; managers/listeners.py reads
`_pdu.response` where 0.11.0 reads `r.response`), so it reports no submit_sm_resp to its DLR
lookup, and neither acknowledgements nor delivery receipts reach a dlr-url.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.integration.smpp.peers import (
    FAILING_ID,
    PASSWORD,
    SYSTEM_ID,
    Processes,
    free_ports,
    listening,
    missing_peer,
    wait_until,
)

VENV = Path(os.environ.get("SIMRELAY_JASMIN_VENV", "/var/cache/simrelay-ci/jasmin-venv"))
VERSION = "0.11.0"
USER, USER_PASSWORD = "tester", "tester"
CONNECTOR = "simrelay"
FAILING_PREFIX = "7999000999"
"""Numbers that start so are routed to the connector of FAILING_ID (`failing`), the rest to
CONNECTOR."""
REDIS_DB = 7
LAUNCHER = Path(__file__).with_name("jasmind_lock.py")
SERVICES = ("--enable-dlr-thrower", "--enable-dlr-lookup")
"""Receipts and their lookup inside jasmind (Jasmin runs them as the daemons dlrd and dlrlookupd in
production; one process is enough for a test). MO to HTTP runs in jasmind by default."""


def require_jasmin() -> Path:
    """txamqp's AMQP 0-9-1 spec in the venv (jasmind needs its path); skips or fails without one."""
    specs = sorted(VENV.glob("lib/python3*/site-packages/txamqp/specs/standard/amqp0-9-1.stripped.xml"))
    release = list(VENV.glob(f"lib/python3*/site-packages/jasmin-{VERSION}.dist-info"))
    if not (VENV / "bin" / "jasmind.py").exists() or not specs or not release:
        missing_peer("Jasmin", f"python3 -m venv {VENV} && {VENV}/bin/pip install jasmin=={VERSION}")
    if not listening(5672):
        missing_peer("RabbitMQ on 127.0.0.1:5672", "rabbitmq-server -detached")
    return specs[0]


def jasmin_cfg(*, root: Path, spec: Path, vhost: str, ports: dict[str, int]) -> str:
    logs = "\n".join(
        f"[{section}]\nlog_level = WARNING\n"
        for section in ("service-smppclient", "sm-listener", "dlr", "deliversm-thrower", "dlr-thrower")
    )
    return f"""
[smpp-server]
bind = 127.0.0.1
port = {ports["smpp"]}
log_level = WARNING
[smpp-server-pb]
bind = 127.0.0.1
port = {ports["smpp_pb"]}
[client-management]
bind = 127.0.0.1
port = {ports["client_pb"]}
log_level = WARNING
[router]
bind = 127.0.0.1
port = {ports["router_pb"]}
log_level = WARNING
[jcli]
bind = 127.0.0.1
port = {ports["jcli"]}
# Loopback only, in a test: no login to script
authentication = False
[http-api]
bind = 127.0.0.1
port = {ports["http"]}
log_level = WARNING
access_log = {root}/http-access.log
# Jasmin splits long content by UDH by default; SAR here, as Kannel already sends UDH
long_content_split = sar
[amqp-broker]
host = 127.0.0.1
port = 5672
vhost = {vhost}
spec = {spec}
log_level = WARNING
[redis-client]
host = 127.0.0.1
port = 6379
dbid = {REDIS_DB}
log_level = WARNING
{logs}"""


class JCli:
    """Jasmin's jCli console (telnet with prompts `jcli : ` and `> `), one command at a time."""

    PROMPT = re.compile(r"(jcli : |> )$")
    NOISE = re.compile(rb"\xff[\xfb-\xfe].|\xff.|\x1b\[[0-9;]*[A-Za-z]")
    """Telnet option negotiation (IAC ...) and ANSI control sequences."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            # Without authentication jCli prints its banner but no prompt until a first line.
            self.sock.sendall(b"\r\n")
            self.read()
        except BaseException:
            self.sock.close()
            raise

    def read(self, timeout: float = 30.0) -> str:
        data, deadline = b"", time.monotonic() + timeout
        while True:
            text = self.NOISE.sub(b"", data).decode(errors="replace")
            if self.PROMPT.search(text.rstrip("\x00")):
                return text
            left = deadline - time.monotonic()
            assert left > 0, f"jCli gave no prompt in {timeout} s: {data!r}"
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                chunk = b""
            else:
                assert chunk, f"jCli closed the connection: {data!r}"
            data += chunk

    def run(self, *lines: str) -> str:
        """Sends the lines one by one; fails on the first answer that reports an error."""
        transcript = ""
        for line in lines:
            self.sock.sendall(line.encode() + b"\r\n")
            answer = self.read()
            transcript += answer
            if re.search(r"Unknown|[Ee]rror|Incorrect|Invalid|Missing|not found|Cannot", answer):
                raise AssertionError(f"jCli refused {line!r}:\n{transcript}")
        return transcript

    def close(self) -> None:
        try:
            self.sock.sendall(b"quit\r\n")
        except OSError:
            pass
        self.sock.close()


@dataclass
class Jasmin:
    processes: Processes
    jcli_port: int
    http_port: int

    def connectors_bound(self) -> bool:
        cli = JCli(self.jcli_port)
        try:
            listing = cli.run("smppccm -l").splitlines()
        finally:
            cli.close()
        return all(
            any(cid in line and "BOUND_TRX" in line for line in listing) for cid in (CONNECTOR, FAILING_ID)
        )

    def send(self, to: str, content: str | None, **params: str) -> tuple[int, str]:
        """POST /send (no `content` when None, for `hex-content`); (HTTP status, body). Jasmin
        answers 200 `Success "<its id>"`."""
        body = {"username": USER, "password": USER_PASSWORD, "to": to, **params}
        if content is not None:
            body["content"] = content
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/send", data=urllib.parse.urlencode(body).encode()
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")


def jasmind_env() -> dict[str, str]:
    """Ours without PYTHONPATH: jasmind runs in its own venv and must not import simrelay's."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def rabbitmqctl(*args: str) -> bool:
    if not shutil.which("rabbitmqctl"):
        return False
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, timeout=60, check=False)
    return done.returncode == 0


def open_vhost(name: str) -> str:
    """A vhost of our own for guest, so that no other Jasmin on the broker takes our messages; "/"
    when rabbitmqctl cannot make one."""
    if rabbitmqctl("add_vhost", name) and rabbitmqctl(
        "set_permissions", "-p", name, "guest", ".*", ".*", ".*"
    ):
        return name
    return "/"


def close_vhost(name: str) -> None:
    if name != "/":
        rabbitmqctl("delete_vhost", name)


def start_jasmin(
    root: Path, *, smpp_port: int, spec: Path, vhost: str, mo_url: str
) -> tuple[Jasmin, Processes]:
    """jasmind on free ports, its connector bound to simrelay; the caller stops the Processes."""
    for folder in ("etc/jasmin/store", "var/log/jasmin"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    names = ("smpp", "smpp_pb", "client_pb", "router_pb", "jcli", "http")
    ports = dict(zip(names, free_ports(len(names), smpp_port), strict=True))
    cfg = root / "etc/jasmin/jasmin.cfg"
    cfg.write_text(jasmin_cfg(root=root, spec=spec, vhost=vhost, ports=ports))
    processes = Processes(root)
    jasmin = Jasmin(processes, ports["jcli"], ports["http"])
    try:
        processes.start(
            "jasmind",
            [
                str(VENV / "bin/python"),
                str(LAUNCHER),
                str(VENV / "bin/jasmind.py"),
                "-c",
                str(cfg),
                *SERVICES,
            ],
            env={**jasmind_env(), "ROOT_PATH": str(root), "JASMIND_LOCK": str(root / "jasmind")},
        )
        wait_until(lambda: listening(ports["jcli"]) or processes.check_alive(), "jCli listening")
        wait_until(lambda: listening(ports["http"]) or processes.check_alive(), "Jasmin HTTP API listening")
        cli = JCli(ports["jcli"])
        try:
            cli.run(
                *("smppccm -a", f"cid {CONNECTOR}", "host 127.0.0.1", f"port {smpp_port}"),
                *(f"username {SYSTEM_ID}", f"password {PASSWORD}", "bind transceiver"),
                *("submit_throughput 0", "ok", f"smppccm -1 {CONNECTOR}"),
                *("group -a", "gid testers", "ok"),
                *("user -a", f"uid {USER}", "gid testers", f"username {USER}"),
                *(f"password {USER_PASSWORD}", "ok"),
                *("mtrouter -a", "type defaultroute", f"connector smppc({CONNECTOR})", "rate 0.00", "ok"),
                *("smppccm -a", f"cid {FAILING_ID}", "host 127.0.0.1", f"port {smpp_port}"),
                *(f"username {FAILING_ID}", f"password {PASSWORD}", "bind transceiver"),
                *("submit_throughput 0", "ok", f"smppccm -1 {FAILING_ID}"),
                *(
                    "filter -a",
                    "fid failing",
                    "type DestinationAddrFilter",
                    f"destination_addr ^{FAILING_PREFIX}",
                    "ok",
                ),
                *("mtrouter -a", "type staticmtroute", "order 10", "filters failing"),
                *(f"connector smppc({FAILING_ID})", "rate 0.00", "ok"),
                # MO from every connector to the test's receiver
                *("httpccm -a", "cid receiver", f"url {mo_url}", "method POST", "ok"),
                *("morouter -a", "type DefaultRoute", "connector http(receiver)", "ok"),
            )
        finally:
            cli.close()
        wait_until(lambda: jasmin.connectors_bound() or processes.check_alive(), "Jasmin bound to simrelay")
    except BaseException:
        processes.stop(grace=20)
        raise
    return jasmin, processes
