"""The HTTP edge through real sockets, on both databases: clients that leave mid-request and
bodies larger than any endpoint reads (issue 16; the hostile-input suite grows here)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from simrelay.accounts.guessing import TOKEN_POLICY
from tests.integration.gateway import gateway_env
from tests.integration.rig import Rig, open_rig
from tests.integration.server import Server, auth, cli, make_account

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def edge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    env = gateway_env(tmp_path, request.param, access_log="true", open_signup="true")
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


# --- U+0000 from every source (PostgreSQL's text cannot hold it) ----------------------------

NUL = "\x00"


@pytest.fixture(params=["sqlite", "postgres"])
def rig_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


@pytest.fixture
async def rig(rig_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    """A server with an account and a pairing code, for devices and the app."""
    async with open_rig(rig_env, tmp_path, email="nul@example.com") as found:
        yield found


async def test_a_nul_in_a_devices_frames_is_refused_or_replaced_and_the_link_stays_up(rig: Rig) -> None:
    device = await rig.raw(connect=False)
    await device.connect(sims=[{"slot": 0, "name": f"M{NUL}TS"}])  # hello: informational text
    info = (await rig.call("/v1/devices/get/info", {"device_id": device.device_id})).json()
    assert info["sim_list"] == [{"slot_index": 0, "display_name": "M\ufffdTS"}]
    bad_id = await device.report(
        {
            "type": "received",
            "id": f"in{NUL}1",
            "phone_number": "79990001122",
            "message": "x",
            "received_at": 1,
        }
    )
    assert bad_id["type"] == "error" and bad_id["code"] == "invalid"
    good = await device.report(
        {
            "type": "received",
            "id": "in-2",
            "phone_number": "79990001122",
            "message": f"a{NUL}b",
            "received_at": 1,
        }
    )
    assert good["type"] == "ack"  # the same link, still up
    inbox = (await rig.http.get("/v1/inbox?limit=10", headers=rig.headers)).json()["inbox_list"]
    assert [item["message"] for item in inbox] == ["a\ufffdb"]
    message_id = await rig.send(message="fails")
    await device.next("offer")
    assert (await device.report({"type": "failed", "id": message_id, "reason": f"no{NUL}service"}))[
        "type"
    ] == "ack"
    history = await rig.history(message_id)
    assert history[-1]["reason"] == "no\ufffdservice"


async def test_a_nul_in_pairing_and_app_registration_is_not_a_server_error(rig: Rig) -> None:
    named = await rig.http.post("/device/v1/pair", json={"code": rig.code, "name": f"kit{NUL}chen"})
    assert named.status_code == 200
    bad_code = await rig.http.post("/device/v1/pair", json={"code": f"1234{NUL}5678"})
    assert bad_code.status_code == 400 and bad_code.json()["error"]["code"] == "invalid_request"
    body = {"name": f"a{NUL}b", "simCards": [{"slotIndex": 0, "simNumber": 1, "carrierName": f"B{NUL}"}]}
    app = await rig.http.post(
        "/mobile/v1/device", json=body, headers={"authorization": f"Code {rig.code.replace(' ', '')}"}
    )
    assert app.status_code == 201, app.text
    device_id = app.json()["id"]
    info = (await rig.call("/v1/devices/get/info", {"device_id": device_id})).json()
    assert info["device_name"] == "a\ufffdb" and info["sim_list"][0]["display_name"] == "B\ufffd"


async def test_a_nul_in_a_panel_sign_in_or_sign_up_is_refused_not_a_server_error(
    edge: tuple[Server, str],
) -> None:
    server, _ = edge
    async with httpx.AsyncClient(base_url=server.base_url) as panel:
        page = await panel.get("/panel/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        response = await panel.post(
            "/panel/login",
            data={"csrf_token": token.group(1), "email": f"edge{NUL}@example.com", "password": "x"},
        )
        assert response.status_code in (400, 401), response.status_code
        page = await panel.get("/panel/signup")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signup = {"csrf_token": token.group(1), "email": f"new{NUL}@example.com", "password": "p" * 20}
        assert (await panel.post("/panel/signup", data=signup)).status_code == 400
    records = server.log_records()
    assert not [r for r in records if r.get("level") in ("error", "critical")], records[-5:]


# --- password guessing: one limiter for the panel and the app's Basic auth -------------------

OWNER = "owner@example.com"
OWNER_PASSWORD = "owner password 1"


def from_address(server: Server, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=10)


async def panel_sign_in(client: httpx.AsyncClient, password: str) -> httpx.Response:
    page = await client.get("/panel/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "email": OWNER, "password": password}
    return await client.post("/panel/login", data=form)


async def test_password_guessing_stops_the_guessers_address_not_the_owner_elsewhere(
    edge: tuple[Server, str],
) -> None:
    server, _ = edge
    cli(server.env, "account", "create", OWNER, "--password", OWNER_PASSWORD)
    async with from_address(server, "127.0.0.2") as guesser, from_address(server, "127.0.0.1") as owner:
        for _ in range(5):
            assert (await panel_sign_in(guesser, "guess")).status_code == 401
        assert (await panel_sign_in(guesser, OWNER_PASSWORD)).status_code == 429
        # The app's Basic auth is the same check, counted together.
        app = await guesser.get("/mobile/v1/user/code", auth=(OWNER, "guess"))
        assert app.status_code == 429 and int(app.headers["retry-after"]) >= 1
        # The owner, from another address, is not held up.
        assert (await panel_sign_in(owner, OWNER_PASSWORD)).status_code == 303
        assert (await owner.get("/mobile/v1/user/code", auth=(OWNER, OWNER_PASSWORD))).status_code == 200


async def test_wrong_api_tokens_slow_their_address_never_a_right_token(edge: tuple[Server, str]) -> None:
    server, token = edge
    wrong = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.bm90IGEgc2lnbmF0dXJl"}
    async with from_address(server, "127.0.0.2") as noisy, from_address(server, "127.0.0.1") as other:
        for _ in range(TOKEN_POLICY.free):
            answer = await noisy.get("/v1/sms?limit=1", headers=wrong)
            assert answer.status_code == 401 and answer.json()["errors"]["code"] == 1003
        held = await noisy.get("/v1/sms?limit=1", headers=wrong)
        assert held.status_code == 429 and held.json()["errors"]["code"] == 1011
        assert int(held.headers["retry-after"]) >= 1
        # The same address with the right token, and a wrong token from elsewhere: as before.
        assert (await noisy.get("/v1/sms?limit=1", headers=auth(token))).status_code == 200
        assert (await other.get("/v1/sms?limit=1", headers=wrong)).status_code == 401
        # The GoSMS ext API checks tokens the same way.
        assert (await noisy.get("/api/ext/v1/devices", headers=wrong)).status_code == 429
    async with from_address(server, "127.0.0.3") as tokenless:  # no token is no guess: 401 each time
        for _ in range(TOKEN_POLICY.free + 5):
            assert (await tokenless.get("/v1/sms?limit=1")).status_code == 401
