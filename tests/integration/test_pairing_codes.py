"""Pairing codes: 8 digits that every kind of device can type (the SMSGate app's field takes
digits only: res/layout/dialog_first_start.xml#L123, v1.34.0 to v1.68.0), one code for the
native protocol and the app, and wrong guesses throttled per client address and per code, on
one node and, through Redis, across nodes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from simrelay.accounts.passwords import hash_password
from tests.integration.gateway import gateway_env
from tests.integration.rig import Rig, open_rig
from tests.integration.server import Server, cli_json, reset_redis14

pytestmark = pytest.mark.integration

EMAIL = "codes@example.com"
FREE = 5
"""Wrong codes a key may have before it must wait (accounts/guessing.py)."""


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email=EMAIL) as rig:
        yield rig


def client_from(server: Server, address: str) -> httpx.AsyncClient:
    """A client whose requests come from another loopback address."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=10)


async def pair_native(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post("/device/v1/pair", json={"code": code, "name": "native"})


async def pair_app(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post(
        "/mobile/v1/device",
        json={"name": "samsung/a52"},
        headers={"authorization": f"Code {code}", "user-agent": "me.capcom.smsgateway/1.68.0"},
    )


async def test_codes_are_eight_digits_and_pair_either_kind_of_device(gateway: Rig) -> None:
    made = cli_json(gateway.server.env, "device", "pair", EMAIL, "--uses", "3", "--json")
    assert re.fullmatch(r"\d{4} \d{4}", made["code"]), made
    digits = made["code"].replace(" ", "")
    assert parse_qs(urlparse(made["qr_payload"]).query)["code"] == [digits]
    assert (await pair_native(gateway.http, made["code"])).status_code == 200
    assert (await pair_native(gateway.http, digits[:4] + "-" + digits[4:])).status_code == 200
    assert (await pair_app(gateway.http, digits)).status_code == 201  # typed in the app
    assert (await pair_app(gateway.http, digits)).status_code == 401  # used up
    assert (await pair_native(gateway.http, "ABCD-EFGH")).status_code == 400


async def test_the_apps_own_login_code_is_a_pairing_code(gateway: Rig) -> None:
    await gateway.update_account(password_hash=hash_password("pw 1234567890"))
    response = await gateway.http.get("/mobile/v1/user/code", auth=(EMAIL, "pw 1234567890"))
    assert response.status_code == 200
    code = response.json()["code"]
    assert re.fullmatch(r"\d{4} \d{4}", code)
    assert (await pair_native(gateway.http, code.replace(" ", ""))).status_code == 200


async def test_wrong_codes_make_that_address_wait_while_others_pair(gateway: Rig) -> None:
    async with client_from(gateway.server, "127.0.0.2") as guesser:
        for attempt in range(FREE):
            wrong = f"{attempt:08d}"
            assert (await pair_native(guesser, wrong)).status_code == 400
        refused = await pair_app(guesser, "99999999")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # Even the right code is not checked while the address waits.
        blocked = await pair_native(guesser, gateway.code)
        assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "throttled"
    # Someone else, elsewhere, pairs as usual.
    assert (await pair_native(gateway.http, gateway.code)).status_code == 200


async def test_one_code_tried_from_many_addresses_waits_too(gateway: Rig) -> None:
    target = "13572468"
    for host in range(2, 2 + FREE):
        async with client_from(gateway.server, f"127.0.0.{host}") as guesser:
            assert (await pair_native(guesser, target)).status_code == 400
    async with client_from(gateway.server, "127.0.0.30") as fresh:
        assert (await pair_native(fresh, target)).status_code == 429
        assert (await pair_native(fresh, "24681357")).status_code == 400  # another code is checked


async def test_two_nodes_on_redis_count_the_same_wrong_codes(tmp_path: Path) -> None:
    env = gateway_env(tmp_path, "sqlite", redis_url=reset_redis14())
    nodes = [Server(env, tmp_path / "logs", name=f"node{i}") for i in range(2)]
    try:
        for node in nodes:
            node.start()
        for attempt in range(FREE):
            async with client_from(nodes[attempt % 2], "127.0.0.2") as guesser:
                assert (await pair_native(guesser, f"{attempt:08d}")).status_code == 400
        for node in nodes:
            async with client_from(node, "127.0.0.2") as guesser:
                assert (await pair_native(guesser, "87654321")).status_code == 429
    finally:
        for node in nodes:
            node.kill()
