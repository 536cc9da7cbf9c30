"""The HTTP edge through real sockets, on both databases: clients that leave mid-request
(issue 16; the hostile-input suite grows here)."""

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
