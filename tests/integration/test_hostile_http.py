"""The HTTP connection through raw sockets, on both databases (issue 16, points 1 and 6): raw
UTF-8 in the request target as a client of another stack sends it, heads too large, clients too
slow, connections idle or too many from one address, malformed and invalid bytes anywhere."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.integration.gateway import gateway_env
from tests.integration.rig import open_rig
from tests.integration.server import Server, auth, make_account

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
PER_ADDRESS = 4
KEEPALIVE = 2
EMAIL = "hostile@example.com"


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    env = gateway_env(
        tmp_path,
        request.param,
        request_timeout_seconds=str(TIMEOUT),
        max_connections_per_address=str(PER_ADDRESS),
        keepalive_seconds=str(KEEPALIVE),
    )
    with Server(env, tmp_path / "logs") as running:
        yield running


@pytest.fixture
def token(server: Server) -> str:
    return str(make_account(server.env, EMAIL)["token"])


def connect(server: Server, address: str = "127.0.0.1") -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10, source_address=(address, 0))
    return conn


def read_all(conn: socket.socket) -> bytes:
    """Everything until the server closes (or resets) the connection."""
    received = b""
    try:
        while chunk := conn.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def ask(server: Server, raw: bytes, address: str = "127.0.0.1") -> bytes:
    with connect(server, address) as conn:
        conn.sendall(raw)
        return read_all(conn)


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def body(answer: bytes) -> dict[str, object]:
    return dict(json.loads(answer.partition(b"\r\n\r\n")[2]))


def code(answer: bytes) -> int:
    errors = body(answer)["errors"]
    assert isinstance(errors, dict)
    return int(errors["code"])


def get(target: str | bytes, token: str = "", extra: bytes = b"") -> bytes:
    raw_target = target.encode() if isinstance(target, str) else target
    authorization = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    return (
        b"GET "
        + raw_target
        + b" HTTP/1.1\r\nHost: x\r\n"
        + authorization
        + extra
        + b"Connection: close\r\n\r\n"
    )


def no_errors_logged(server: Server) -> None:
    records = server.log_records()
    assert not [r for r in records if r.get("level") in ("error", "critical")], records[-5:]


# --- 1. raw UTF-8 in the request target ------------------------------------------------------


def test_raw_utf8_in_the_target_reads_as_its_percent_encoded_form(server: Server, token: str) -> None:
    for text in ("Привет, мир", "Hello"):
        sent = httpx.post(
            server.base_url + "/v1/sms/send",
            json={"message": text, "phone_number": "79990001122"},
            headers=auth(token),
        )
        assert sent.status_code == 200, sent.text
    # As the GoSMS Go client sends it: the Cyrillic bytes unencoded.
    raw = ask(server, get("/v1/sms?limit=10&search=Привет", token))
    encoded = ask(server, get("/v1/sms?limit=10&search=" + quote("Привет"), token))
    assert status(raw) == 200, raw[:300]
    assert [m["message"] for m in body(raw)["sms_list"]] == ["Привет, мир"]  # type: ignore[index, union-attr]
    assert body(raw)["sms_list"] == body(encoded)["sms_list"]
    # The same request line arriving a few bytes at a time, cut inside a character.
    with connect(server) as conn:
        request = get("/v1/sms?limit=10&search=Привет", token)
        for start in range(0, len(request), 3):
            conn.sendall(request[start : start + 3])
            time.sleep(0.005)
        dripped = read_all(conn)
    assert status(dripped) == 200 and body(dripped)["sms_list"] == body(raw)["sms_list"]
    # In the path too, and names it back in the error.
    unknown = ask(server, get("/v1/Привет", token))
    assert status(unknown) == 404 and "/v1/Привет" in body(unknown)["errors"]["message"]  # type: ignore[index]
    # Bytes that are not UTF-8 at all: the contract's answer, never a 500.
    broken = ask(server, get(b"/v1/sms?limit=10&search=\xff\xfe", token))
    assert status(broken) == 200 and body(broken)["sms_list"] == []
    wrong_id = ask(server, get(b"/v1/sms/del?id=\xd0\x9f\xff", token).replace(b"GET", b"DELETE", 1))
    assert status(wrong_id) == 400 and code(wrong_id) == 2003
    no_errors_logged(server)


def test_a_raw_utf8_request_pipelined_behind_others_is_read_too(server: Server, token: str) -> None:
    ping = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    post = (
        b"POST /v1/sms/get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b'Content-Length: 12\r\n\r\n{"id": "\xd0\x9f"}'
    )
    answer = ask(server, ping + post + get("/v1/unknown/Ж", token))
    statuses = [int(found) for found in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
    assert statuses == [200, 400, 404], answer
    assert "/v1/unknown/Ж".encode() in answer


# --- 6. heads, slow clients, idle and crowded connections ----------------------------------------


def test_a_head_too_large_is_refused_with_431_and_the_server_stays_small(server: Server) -> None:
    huge_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (16 * 2**20) + b"\r\n\r\n"
    with connect(server) as conn:
        try:
            conn.sendall(huge_header)
        except OSError:
            pass  # answered and closed before everything was sent
        answer = read_all(conn)
    assert status(answer) == 431 and code(answer) == 1012, answer[:300]
    long_line = get("/v1/sms?search=" + "a" * 40000)
    assert status(ask(server, long_line)) == 431
    just_under = get("/healthz", extra=b"X-Fill: " + b"b" * 30000 + b"\r\n")
    assert status(ask(server, just_under)) == 200
    rss = Path(f"/proc/{server.process.pid}/status").read_text()  # type: ignore[union-attr]
    assert int(rss.split("VmRSS:")[1].split()[0]) < 400 * 1024, "the head was buffered whole"


def test_a_client_that_sends_nothing_or_drips_its_head_gets_408_and_is_closed(server: Server) -> None:
    with connect(server) as silent:
        started = time.monotonic()
        answer = read_all(silent)
        assert status(answer) == 408 and code(answer) == 1017
        assert time.monotonic() - started < TIMEOUT + 2
    with connect(server) as dripping:
        started = time.monotonic()
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":
            try:
                dripping.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.1)
        assert time.monotonic() - started < 2 * TIMEOUT + 2, "a byte every 0.1 s held the head open"
        assert status(read_all(dripping)) == 408


def test_a_body_too_slow_gets_408_a_slow_but_steady_one_gets_through(server: Server, token: str) -> None:
    head = (
        b"POST /v1/sms/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
    )
    with connect(server) as stalled:
        stalled.sendall(head + b'Content-Length: 100\r\n\r\n{"message": ')
        answer = read_all(stalled)
    assert status(answer) == 408 and code(answer) == 1017
    filler = " " * 1200
    payload = ('{"message": "steady", "phone_number": "79990001122"' + filler + "}").encode()
    with connect(server) as steady:
        steady.sendall(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(payload))
        for start in range(0, len(payload), 100):  # ~1,000 bytes a second, for longer than TIMEOUT
            steady.sendall(payload[start : start + 100])
            time.sleep(0.1)
        answer = read_all(steady)
    assert status(answer) == 200, answer  # read whole and sent
    no_errors_logged(server)


def test_an_idle_connection_is_closed_after_the_keepalive(server: Server) -> None:
    with connect(server) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert read_all(conn) == b""
        assert KEEPALIVE - 0.5 < time.monotonic() - started < KEEPALIVE + 2


def test_one_address_holds_a_bounded_number_of_connections(server: Server) -> None:
    crowd = [connect(server, "127.0.0.2") for _ in range(PER_ADDRESS)]
    try:
        time.sleep(0.2)
        refused = ask(server, get("/healthz"), address="127.0.0.2")
        assert status(refused) == 429 and code(refused) == 1011 and b"retry-after: 1" in refused.lower()
        assert status(ask(server, get("/healthz"), address="127.0.0.1")) == 200  # others are served
    finally:
        for conn in crowd:
            conn.close()
    time.sleep(0.3)
    # Slots come back, WebSocket handshakes included (refused here: no device credentials).
    for _ in range(PER_ADDRESS + 2):
        upgrade = (
            b"GET /device/v1/link HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert status(ask(server, upgrade, address="127.0.0.2")) in (101, 403)
    time.sleep(0.3)
    assert status(ask(server, get("/healthz"), address="127.0.0.2")) == 200


# --- malformed HTTP and invalid bytes anywhere ---------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /v1/\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad\x00Header: 1\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        b"\xff\xfe\xfd /healthz HTTP/1.1\r\n\r\n",
        b"POST /v1/sms/send HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    ],
    ids=["nul-in-target", "nul-in-header", "version", "binary-method", "two-lengths"],
)
def test_malformed_http_is_answered_in_the_envelope(server: Server, raw: bytes) -> None:
    answer = ask(server, raw)
    assert status(answer) == 400 and code(answer) == 2010, answer[:300]
    assert b"content-type: application/json" in answer.lower()


def test_invalid_utf8_in_headers_and_bodies_gets_the_contracts_errors(server: Server, token: str) -> None:
    bad_token = ask(server, get("/v1/sms?limit=1", extra=b"Authorization: Bearer \xff\xfe\r\n"))
    assert status(bad_token) == 401 and code(bad_token) == 1003
    payload = b'{"message": "\xff\xfe", "phone_number": "79990001122"}'
    send = (
        b"POST /v1/sms/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(payload)}\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + payload
    )
    refused = ask(server, send)
    assert status(refused) == 400 and code(refused) == 1001, refused[:300]
    no_errors_logged(server)


async def test_a_websocket_device_outlives_the_request_timeout(tmp_path: Path) -> None:
    """The request clock stops when a connection becomes a WebSocket: a device's link stays up
    and is never written to by the HTTP side."""
    env = gateway_env(tmp_path, "sqlite", request_timeout_seconds=str(TIMEOUT))
    async with open_rig(env, tmp_path, email="ws@example.com") as rig:
        device = await rig.raw()
        await asyncio.sleep(3 * TIMEOUT)
        message_id = await rig.send(message="still linked")
        offer = await device.next("offer")
        assert offer["id"] == message_id
        no_errors_logged(rig.server)
        assert "Exception in callback" not in rig.server.stderr()
