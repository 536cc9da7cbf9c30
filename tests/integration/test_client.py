"""`simrelay.client` against a real server process on SQLite: every method of `Client` and
`AsyncClient` gets a real answer, errors map to `SimrelayError`, 429s are retried after
Retry-After, and `verify_webhook` agrees with the `standardwebhooks` package."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from standardwebhooks import Webhook as Signer
from standardwebhooks import WebhookVerificationError as SignerError

from simrelay.agent.simulator import SimulatedPhone
from simrelay.client import (
    AsyncClient,
    Client,
    SimrelayError,
    Sms,
    SmsStatus,
    WebhookVerificationError,
    verify_webhook,
)
from tests.integration.gateway import QUICK, gateway_env
from tests.integration.receiver import Receiver
from tests.integration.server import Server, auth, cli_json, make_account, server_env

pytestmark = pytest.mark.integration

EMAIL = "client@example.com"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
HASH = re.compile(r"^[0-9a-f]{12}$")
UNKNOWN_ID = "0" * 24
T = TypeVar("T")


@contextlib.contextmanager
def simulated_phone(server: Server, email: str, token: str, *options: str) -> Iterator[str]:
    """`simrelay device simulate` paired to `email`'s account, as a subprocess; yields the new
    device's id once it is connected, and stops the process (SIGTERM, then SIGKILL) after."""
    before = device_ids(server.base_url, token)
    code = cli_json(server.env, "device", "pair", email, "--json")["code"]
    log = Path(server.env["SIMRELAY_DATA_DIR"]).parent / f"simulator-{code}.log"
    args = ["device", "simulate", "--url", server.base_url, "--code", code, "--send-ms", "10..30"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "simrelay", *args, *options],
            env=server.env,
            cwd=server.env["SIMRELAY_DATA_DIR"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: " connected" in log.read_text() or process.poll() is not None, timeout=30)
        assert process.poll() is None, log.read_text()
        (device_id,) = device_ids(server.base_url, token) - before
        yield device_id
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def device_ids(base_url: str, token: str) -> set[str]:
    response = httpx.get(f"{base_url}/v1/devices?limit=100", headers=auth(token), timeout=10)
    assert response.status_code == 200, response.text
    return {device["device_id"] for device in response.json()["device_list"]}


def wait_until(predicate: Callable[[], T], *, timeout: float = 20.0, every: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(every)


async def eventually(predicate: Callable[[], Any], *, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await predicate()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout} s"
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("client")
    env = gateway_env(root, "sqlite", webhook_allow_private="1")
    with Server(env, root / "logs") as running:
        yield running


@pytest.fixture(scope="module")
def account(server: Server) -> dict[str, str]:
    """A key and an active device that never connects (SMS pinned to it stay waiting)."""
    return make_account(server.env, EMAIL)


@pytest.fixture(scope="module")
def phone(server: Server, account: dict[str, str]) -> Iterator[str]:
    with simulated_phone(server, EMAIL, account["token"]) as device_id:
        yield device_id


@pytest.fixture
def client(server: Server, account: dict[str, str]) -> Iterator[Client]:
    with Client(server.base_url, account["token"]) as sdk:
        yield sdk


def final(client: Client, sms_id: str, timeout: float = 20.0) -> Sms:
    return wait_until(lambda: (sms := client.get_sms(sms_id)).is_final and sms, timeout=timeout)


def test_a_sent_sms_is_delivered_and_found_by_get_list_and_history(client: Client, phone: str) -> None:
    text = f"client hello {secrets.token_hex(4)}"
    sms_id = client.send_sms("+79990001122", text, to_sim=-2)
    assert OBJECT_ID.match(sms_id)
    sms = final(client, sms_id)
    assert (sms.id, sms.status, sms.message_status) == (sms_id, SmsStatus.DELIVERED, "Доставлено")
    assert (sms.phone_number, sms.message, sms.device_id, sms.to_sim) == ("79990001122", text, phone, -2)
    assert [change.status for change in client.sms_history(sms_id)] == [0, 1, 2, 4]
    page = client.list_sms(search=text, limit=5)
    assert (page.total, page.limit, page.offset, [found.id for found in page.items]) == (1, 5, 1, [sms_id])
    assert client.list_sms(search=text, offset=2, limit=5).items == ()


def test_an_idempotency_key_answers_the_first_id(client: Client, account: dict[str, str]) -> None:
    key = f"order-{secrets.token_hex(4)}"
    device = account["device_id"]
    first = client.send_sms("79990001122", "once", device_id=device, idempotency_key=key)
    assert client.send_sms("79990001122", "once", device_id=device, idempotency_key=key) == first
    with pytest.raises(SimrelayError) as caught:
        client.send_sms("79990001122", "another text", device_id=device, idempotency_key=key)
    assert (caught.value.code, caught.value.status) == (1013, 422)


def test_a_deleted_sms_is_gone(client: Client, account: dict[str, str]) -> None:
    later = int(time.time()) + 3600
    sms_id = client.send_sms("79990001122", "to delete", device_id=account["device_id"], send_at=later)
    assert client.get_sms(sms_id).status == SmsStatus.WAITING
    client.delete_sms(sms_id)
    with pytest.raises(SimrelayError) as caught:
        client.get_sms(sms_id)
    assert (caught.value.code, caught.value.status) == (1008, 404)


def test_errors_carry_code_message_hash_and_status(server: Server, client: Client) -> None:
    with pytest.raises(SimrelayError) as caught:
        client.send_sms("12ab", "hello")
    error = caught.value
    assert (error.code, error.status) == (2001, 400)
    assert HASH.match(error.hash) and error.message and str(error).startswith("2001: ")
    for call, code in (
        (lambda: client.get_sms(UNKNOWN_ID), 1008),
        (lambda: client.sms_history(UNKNOWN_ID), 1008),
        (lambda: client.get_sms("not-an-id"), 2003),
        (lambda: client.get_device(UNKNOWN_ID), 1009),
        (lambda: client.get_webhook(UNKNOWN_ID), 1010),
        (lambda: client.list_sms(limit=101), 2006),
    ):
        with pytest.raises(SimrelayError) as caught:
            call()
        assert caught.value.code == code and HASH.match(caught.value.hash)
    with Client(server.base_url + "/v1/", "not.a.token") as stranger, pytest.raises(SimrelayError) as caught:
        stranger.list_sms()
    assert (caught.value.code, caught.value.status) == (1003, 401)


def test_devices_are_read_edited_and_deleted(server: Server, client: Client, phone: str) -> None:
    listed = client.list_devices(limit=100)
    assert phone in [device.device_id for device in listed.items] and listed.total == len(listed.items)
    device = client.get_device(phone)
    assert device.device_id == phone and device.is_active and len(device.sim_list) == 1
    client.edit_device(phone, low_battery_alert=True, limit_per_minute=50, send_interval_max=0.5)
    assert client.get_device(phone).low_battery_alert is True
    settings = client.device_settings(phone)
    assert (settings.device_id, settings.limit_per_minute, settings.send_interval_max) == (phone, 50, 0.5)
    spare = cli_json(server.env, "device", "add", EMAIL, "--json")["device_id"]
    assert client.get_device(spare).is_active is False
    client.delete_device(spare)
    with pytest.raises(SimrelayError) as caught:
        client.get_device(spare)
    assert caught.value.code == 1009


def test_a_ussd_code_is_dialled_and_read_back(client: Client, phone: str) -> None:
    """The phone is `simrelay device simulate`, which answers USSD unless --no-ussd."""
    ussd = client.dial_ussd(phone, "*100#", to_sim=0)
    assert (ussd.device_id, ussd.code, ussd.status, ussd.response) == (
        phone,
        "*100#",
        "done",
        "Balance for *100#: 100.00",
    )
    assert OBJECT_ID.match(ussd.id) and ussd.time_create > 0
    assert client.get_ussd(ussd.id) == ussd
    for call, code in (
        (lambda: client.dial_ussd(phone, "*100#x"), 2011),
        (lambda: client.get_ussd(UNKNOWN_ID), 1018),
    ):
        with pytest.raises(SimrelayError) as caught:
            call()
        assert caught.value.code == code


def test_optouts_are_added_listed_and_removed(client: Client) -> None:
    client.add_optout("+79990003344")
    listed = client.list_optouts(limit=100)
    assert [(o.phone_number, o.source) for o in listed.items if o.phone_number == "79990003344"] == [
        ("79990003344", "api")
    ]
    client.remove_optout("79990003344")
    assert "79990003344" not in [o.phone_number for o in client.list_optouts(limit=100).items]
    assert client.list_inbox(search="nothing like this").total == 0


def test_webhooks_are_managed_and_their_deliveries_verify(client: Client) -> None:
    with Receiver() as hook:
        created = client.create_webhook(hook.url, events=["sms.status"], is_active=True)
        assert OBJECT_ID.match(created.id) and created.secret.startswith("whsec_")
        assert created.id in [webhook.id for webhook in client.list_webhooks(limit=100).items]
        webhook = client.get_webhook(created.id)
        assert (webhook.url, webhook.events, webhook.is_active) == (hook.url, ("sms.status",), True)

        event_id = client.test_webhook(created.id)
        (ping,) = hook.wait_for(1, where=lambda r: r.event_id == event_id)
        payload = verify_webhook(created.secret, ping.body, ping.headers)
        assert payload["event"] == "ping" and payload == Signer(created.secret).verify(
            ping.body, ping.headers
        )
        deliveries = wait_until(lambda: client.webhook_deliveries(created.id, event_id=event_id).items)
        assert (deliveries[0].event_id, deliveries[0].http_status, deliveries[0].success) == (
            event_id,
            200,
            True,
        )

        client.redeliver_webhook(event_id)
        hook.wait_for(2, where=lambda r: r.event_id == event_id)
        assert wait_until(lambda: client.webhook_deliveries(created.id).total >= 2)

        assert client.edit_webhook(created.id, is_active=False, events=["sms.status", "sms.received"]) is None
        edited = client.get_webhook(created.id)
        assert (edited.is_active, edited.events) == (False, ("sms.status", "sms.received"))
        rotated = client.edit_webhook(created.id, rotate_secret=True)
        assert rotated is not None and rotated.startswith("whsec_") and rotated != created.secret
        second = client.test_webhook(created.id)
        (ping,) = hook.wait_for(1, where=lambda r: r.event_id == second)
        for secret in (rotated, created.secret):  # both sign for a day after a rotation
            assert verify_webhook(secret, ping.body, ping.headers)["event"] == "ping"

        client.delete_webhook(created.id)
        with pytest.raises(SimrelayError) as caught:
            client.get_webhook(created.id)
        assert caught.value.code == 1010


async def test_the_async_client_does_the_same(server: Server, account: dict[str, str]) -> None:
    code = cli_json(server.env, "device", "pair", EMAIL, "--json")["code"]
    phone = await SimulatedPhone.pair(server.base_url, code, options=QUICK)
    phone.start()
    try:
        async with AsyncClient(server.base_url, account["token"]) as client:
            await phone.ledger.wait_for(lambda: phone.connected, timeout=10)
            text = f"async hello {secrets.token_hex(4)}"
            sms_id = await client.send_sms("79990005566", text, device_id=phone.device_id)
            sms = await eventually(lambda: _final(client, sms_id))
            assert (sms.status, sms.device_id) == (SmsStatus.DELIVERED, phone.device_id)
            assert [c.status for c in await client.sms_history(sms_id)] == [0, 1, 2, 4]
            assert [s.id for s in (await client.list_sms(search=text)).items] == [sms_id]
            await client.delete_sms(sms_id)
            with pytest.raises(SimrelayError) as caught:
                await client.get_sms(sms_id)
            assert caught.value.code == 1008

            await phone.receive_sms("79990007788", "STOP")
            inbox = await eventually(lambda: _items(client.list_inbox(search="stop")))
            assert [(m.phone_number, m.message, m.device_id) for m in inbox] == [
                ("79990007788", "STOP", phone.device_id)
            ]
            optouts = (await client.list_optouts(limit=100)).items
            assert ("79990007788", "sms") in [(o.phone_number, o.source) for o in optouts]
            await client.add_optout("79990009900")
            await client.remove_optout("79990009900")

            assert phone.device_id in [d.device_id for d in (await client.list_devices(limit=100)).items]
            await client.edit_device(phone.device_id, to_sim=0, limit_per_day=7)
            assert (await client.get_device(phone.device_id)).to_sim == 0
            assert (await client.device_settings(phone.device_id)).limit_per_day == 7
            ussd = await client.dial_ussd(phone.device_id, "*102#")
            assert (ussd.status, ussd.response) == ("done", "Balance for *102#: 100.00")
            assert await client.get_ussd(ussd.id) == ussd

            with Receiver() as hook:
                created = await client.create_webhook(hook.url, events=["sms.received"])
                assert (await client.get_webhook(created.id)).events == ("sms.received",)
                assert created.id in [w.id for w in (await client.list_webhooks()).items]
                event_id = await client.test_webhook(created.id)
                (ping,) = await hook.arrived(1, where=lambda r: r.event_id == event_id)
                assert verify_webhook(created.secret, ping.body, ping.headers)["event"] == "ping"
                await eventually(lambda: _items(client.webhook_deliveries(created.id)))
                await client.redeliver_webhook(event_id)
                await hook.arrived(2, where=lambda r: r.event_id == event_id)
                assert await client.edit_webhook(created.id, url=hook.url + "/2") is None
                assert await client.edit_webhook(created.id, rotate_secret=True)
                await client.delete_webhook(created.id)

            await phone.stop()
            await client.delete_device(phone.device_id)
            with pytest.raises(SimrelayError) as caught:
                await client.get_device(phone.device_id)
            assert caught.value.code == 1009
    finally:
        await phone.stop()


async def _final(client: AsyncClient, sms_id: str) -> Sms | None:
    sms = await client.get_sms(sms_id)
    return sms if sms.is_final else None


async def _items(page: Any) -> tuple[Any, ...]:
    return tuple((await page).items)


# Rate limits: a server allowing one request per second per endpoint.


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    root = tmp_path_factory.mktemp("client-limited")
    with Server(server_env(root / "data", rate_limit="1"), root / "logs") as running:
        yield running, make_account(running.env, "limited@example.com", device=False)["token"]


def test_a_429_is_retried_after_retry_after_and_then_succeeds(limited: tuple[Server, str]) -> None:
    server, token = limited
    with Client(server.base_url, token, retries=3) as client:
        started = time.monotonic()
        pages = [client.list_sms() for _ in range(3)]
        elapsed = time.monotonic() - started
    assert [page.total for page in pages] == [0, 0, 0]
    # One request per one-second window: three need three windows, so two waits.
    assert elapsed > 1.0
    statuses = [r.get("status") for r in server.log_records() if r.get("path") == "/v1/sms"]
    assert 429 in statuses


def test_without_retries_a_429_raises_1011(limited: tuple[Server, str]) -> None:
    server, token = limited
    with Client(server.base_url, token, retries=0) as client:
        with pytest.raises(SimrelayError) as caught:
            for _ in range(5):  # a window boundary may fall between two calls, not between five
                client.list_devices()
    error = caught.value
    assert (error.code, error.status) == (1011, 429)
    assert error.retry_after is not None and 0 < error.retry_after <= 1 and HASH.match(error.hash)


async def test_the_async_client_retries_too(limited: tuple[Server, str]) -> None:
    server, token = limited
    async with AsyncClient(server.base_url, token) as client:
        pages = await asyncio.gather(*(client.list_optouts() for _ in range(3)))
    assert [page.total for page in pages] == [0, 0, 0]
    async with AsyncClient(server.base_url, token, retries=0) as client:
        outcomes = await asyncio.gather(*(client.list_inbox() for _ in range(3)), return_exceptions=True)
    assert {error.code for error in outcomes if isinstance(error, SimrelayError)} == {1011}


# verify_webhook against the reference implementation.

BODY = json.dumps({"event": "sms.status", "time": 1, "data": {"id": "a" * 24, "status": 4}}).encode()


def signed(secret: str, *, at: float | None = None, body: bytes = BODY) -> dict[str, str]:
    moment = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    signature = Signer(secret).sign("msg_1", moment, body.decode())
    return {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(moment.timestamp())),
        "Webhook-Signature": signature,
    }


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def agree(secret: str, body: bytes, headers: dict[str, str], **options: Any) -> bool:
    """Both verifiers' verdict, which must be the same."""
    try:
        ours = verify_webhook(secret, body, headers, **options)
    except WebhookVerificationError:
        ours = None
    try:
        theirs = Signer(secret).verify(body, headers)
    except SignerError:
        theirs = None
    assert ours == theirs
    return ours is not None


def test_verify_webhook_accepts_what_standardwebhooks_signs() -> None:
    secret = new_secret()
    headers = signed(secret)
    assert agree(secret, BODY, headers)
    assert verify_webhook(secret, BODY, headers) == json.loads(BODY)
    assert verify_webhook(base64.b64decode(secret[6:]), BODY, headers) == json.loads(BODY)
    other = Signer(new_secret()).sign("msg_1", datetime.now(tz=UTC), BODY.decode())
    several = {**headers, "Webhook-Signature": f"v2,abc {other} {headers['Webhook-Signature']}"}
    assert agree(secret, BODY, several)
    assert agree(secret, BODY, signed(secret, at=time.time() - 200))


def test_verify_webhook_rejects_a_tampered_body_a_wrong_secret_and_stale_times() -> None:
    secret = new_secret()
    headers = signed(secret)
    assert not agree(secret, BODY.replace(b'"status": 4', b'"status": 5'), headers)
    assert not agree(new_secret(), BODY, headers)
    assert not agree(secret, BODY, signed(secret, at=time.time() - 301))
    assert not agree(secret, BODY, signed(secret, at=time.time() + 301))
    assert not agree(secret, BODY, {**headers, "Webhook-Id": "msg_2"})
    assert not agree(secret, BODY, {k: v for k, v in headers.items() if k != "Webhook-Signature"})
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(secret, BODY, signed(secret, at=time.time() - 200), tolerance=100)
