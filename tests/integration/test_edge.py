"""The HTTP edge through real sockets, on both databases: clients that leave mid-request and
bodies larger than any endpoint reads (issue 16; the hostile-input suite grows here)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway import gateway_env
from tests.integration.server import Server, auth, make_account

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def edge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    env = gateway_env(tmp_path, request.param, access_log="true")
    token = make_account(env, "edge@example.com")["token"]
    with Server(env, tmp_path / "logs") as server:
        yield server, token


def half_sent(server: Server, request: bytes) -> None:
    """Sends the start of a request, then leaves without reading the answer."""
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(request)
        time.sleep(0.2)


def test_a_client_that_leaves_mid_body_is_a_client_disconnect_not_a_crash(edge: tuple[Server, str]) -> None:
    server, token = edge
    for path, headers in (
        ("/v1/sms/send", f"Authorization: Bearer {token}\r\n"),  # the API's own dispatcher
        ("/device/v1/pair", ""),  # a Starlette route
        ("/mobile/v1/device", "Authorization: Code 12345678\r\n"),
    ):
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
        half_sent(server, (head + "Content-Length: 1000\r\n\r\n" + '{"message": "cut').encode())
    gone = [
        server.wait_for_log(lambda r, p=p: r.get("event") == "client_disconnected" and r.get("path") == p)
        for p in ("/v1/sms/send", "/device/v1/pair", "/mobile/v1/device")
    ]
    assert len(gone) == 3
    records = server.log_records()
    assert not [r for r in records if r.get("level") in ("error", "critical")], records[-5:]
    metrics = httpx.get(server.base_url + "/metrics", headers=auth(token)).text
    assert 'status="499"' in metrics and 'status="500"' not in metrics


JSON = "Content-Type: application/json\r\n"


def rss_kib(server: Server) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def oversized(server: Server, path: str, headers: str, *, declared: int, sent: int) -> bytes:
    """Declares a `declared`-byte body and sends `sent` bytes of it (as long as the server
    reads), then returns the first bytes of the answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(f"{head}Content-Length: {declared}\r\n\r\n".encode())
        chunk = b"x" * 65536
        try:
            for _ in range(sent // len(chunk)):
                conn.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: it stopped reading
        return conn.recv(65536)


@pytest.mark.parametrize(
    ("path", "headers", "shape"),
    [
        ("/device/v1/pair", JSON, b'"too_large"'),
        ("/mobile/v1/device", JSON + "Authorization: Code 12345678\r\n", b"too large"),
        ("/mobile/v1/hooks/6b0971c94db7a4915c3be38b", JSON, b"too large"),
        ("/panel/login", "Content-Type: application/x-www-form-urlencoded\r\n", b'"code":1012'),
        ("/v1/sms/send", JSON + "Authorization: Bearer nope\r\n", b'"code":1003'),  # refused unread
    ],
)
def test_no_endpoint_reads_a_200_mb_body(
    edge: tuple[Server, str], path: str, headers: str, shape: bytes
) -> None:
    server, _ = edge
    before = rss_kib(server)
    answer = oversized(server, path, headers, declared=200 * 2**20, sent=32 * 2**20)
    status = answer.split(b" ", 2)[1]
    assert status in (b"413", b"401"), answer[:200]
    assert shape in answer, answer[:400]
    assert rss_kib(server) - before < 20 * 1024, "the body was read into memory"
