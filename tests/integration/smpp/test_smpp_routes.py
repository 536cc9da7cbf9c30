"""SMPP routes through a real `simrelay serve`: a route made with the CLI binds to a fake SMSC
(tests/fakes/smsc.py), sends what the API is asked to send, turns receipts into statuses 4 and 5
and MO into the inbox, survives the SMSC dropping the link, retries when throttled, and never
writes an SMS twice, nor lets another device send one whose submit_sm went unanswered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from simrelay.smpp.codes import ESM_UDHI, CommandStatus
from tests.fakes.smsc import FakeSmsc
from tests.integration.gateway import Gateway, gateway_env, open_gateway
from tests.integration.server import Server, cli, cli_json, run_cli

pytestmark = pytest.mark.integration

EMAIL = "routes@example.com"
ROUTE_SETTINGS = {
    "lease_seconds": "30",
    "lease_hard_seconds": "60",
    "smpp_route_check_seconds": "0.3",
    "smpp_route_reconnect_seconds": "0.2",
    "smpp_route_enquire_seconds": "2",
}


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param, **ROUTE_SETTINGS)


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    fake = FakeSmsc()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Gateway]:
    server = Server(env, tmp_path / "logs")
    server.start()
    try:
        gateway = await open_gateway(server, EMAIL)
        try:
            yield gateway
        finally:
            await gateway.close()
    finally:
        server.kill()


async def create_route(gateway: Gateway, smsc: FakeSmsc, *options: str, password: str = "") -> str:
    route = await asyncio.to_thread(
        cli_json,
        gateway.server.env,
        *("smpp", "route", "create", EMAIL, "--host", "127.0.0.1", "--port", str(smsc.port)),
        *("--system-id", smsc.system_id, "--password", password or smsc.password, "--json", *options),
    )
    if not password:
        await smsc.wait_for(lambda: smsc.bound)
    return str(route["id"])


async def reason_of(gateway: Gateway, message_id: str) -> str:
    return str((await gateway.history(message_id))[-1]["reason"])


async def test_create_list_delete_and_the_password_is_never_shown(gateway: Gateway, smsc: FakeSmsc) -> None:
    route_id = await create_route(gateway, smsc, "--source-addr", "Shop", "--tps", "50", "--window", "4")
    listed = json.loads(
        await asyncio.to_thread(cli, gateway.server.env, "smpp", "route", "list", EMAIL, "--json")
    )
    assert listed == [
        {
            "id": route_id,
            "name": "SMPP 127.0.0.1",
            "host": "127.0.0.1",
            "port": smsc.port,
            "system_id": smsc.system_id,
            "source_addr": "Shop",
            "tps": 50.0,
            "window": 4,
        }
    ]
    # Quiet for longer than three heartbeat intervals (1.5 s here), the route's device stays
    # connected, and so does its SMSC link.
    await asyncio.sleep(5)
    assert smsc.binds == 1 and smsc.bound
    devices = (await gateway.http.get("/v1/devices", headers=gateway.headers, params={"limit": 100})).text
    assert route_id in devices and smsc.password not in devices
    assert smsc.password not in gateway.server.stderr()

    await asyncio.to_thread(cli, gateway.server.env, "smpp", "route", "delete", EMAIL, route_id)
    await smsc.wait_for(lambda: not smsc.bound)
    assert (
        json.loads(await asyncio.to_thread(cli, gateway.server.env, "smpp", "route", "list", EMAIL, "--json"))
        == []
    )


async def test_a_route_that_cannot_bind_is_offline_and_others_send(gateway: Gateway, smsc: FakeSmsc) -> None:
    await create_route(gateway, smsc, password="wrong")
    await smsc.wait_for(lambda: smsc.refused_binds >= 2)  # it keeps trying, with back-off
    await gateway.phone()
    ids = [await gateway.send(message=f"Via the phone {n}") for n in range(3)]
    for message_id in ids:
        await gateway.wait_status(message_id, {2, 4})
    assert all(gateway.ledger.sent[message_id] == 1 for message_id in ids)
    assert smsc.submitted == [] and smsc.binds == 0


async def test_cli_refuses_what_smpp_cannot_carry(gateway: Gateway, smsc: FakeSmsc) -> None:
    base = ("smpp", "route", "create", EMAIL, "--host", "127.0.0.1", "--system-id", "x", "--password")
    for args, error in [
        ((*base, "pw", "--port", "0"), "port must be"),
        ((*base, "much-too-long", "--port", "2775"), "password must be"),
        ((*base, "pw", "--port", "2775", "--window", "0"), "window must be"),
        ((*base, "pw", "--port", "2775", "--tps", "-1"), "tps must be"),
    ]:
        done = await asyncio.to_thread(run_cli, gateway.server.env, *args, check=False)
        assert done.returncode != 0 and error in done.stdout + done.stderr, (args, done.stdout, done.stderr)
    done = await asyncio.to_thread(
        run_cli, gateway.server.env, "smpp", "route", "delete", EMAIL, "65f0c1e2a1b2c3d4e5f60718", check=False
    )
    assert done.returncode != 0 and "no SMPP route" in done.stdout + done.stderr


async def test_sends_with_receipts_and_mo_reaches_the_inbox(gateway: Gateway, smsc: FakeSmsc) -> None:
    route_id = await create_route(gateway, smsc, "--source-addr", "Shop")
    long_text = "Long message " + "x" * 300
    ids = {
        text: await gateway.send(device_id=route_id, message=text, phone_number="79990001122")
        for text in ("Hello one", "Привет, мир", long_text)
    }
    for message_id in ids.values():
        await gateway.wait_status(message_id, 4)
    assert smsc.texts()["Hello one"] == 1 and smsc.texts()["Привет, мир"] == 1
    parts = [s for s in smsc.submitted if s.text.startswith("Long message") or set(s.text) == {"x"}]
    assert len(parts) == 3 and all(s.esm_class & ESM_UDHI for s in parts)
    assert "".join(s.text for s in parts) == long_text
    first = next(s for s in smsc.submitted if s.text == "Hello one")
    assert (first.destination, first.source) == ("79990001122", "Shop")
    assert (await gateway.get(ids[long_text]))["device_id"] == route_id

    smsc.receipt_stat = "UNDELIV"
    undelivered = await gateway.send(device_id=route_id, message="Not this time")
    await gateway.wait_status(undelivered, 5)

    smsc.send_mo("79990003344", "STOP please")
    smsc.send_mo("79990003344", "A long answer, ", "in two parts")

    async def inbox() -> list[str]:
        response = await gateway.http.get("/v1/inbox", headers=gateway.headers, params={"limit": 100})
        assert response.status_code == 200, response.text
        return [json.dumps(item, ensure_ascii=False) for item in response.json()["inbox_list"]]

    async with asyncio.timeout(10):
        while len(await inbox()) < 2:
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    items = await inbox()
    assert len(items) == 2, items
    assert any("STOP please" in item for item in items)
    assert any("A long answer, in two parts" in item for item in items)
    assert all(route_id in item and "79990003344" in item for item in items)
    assert all(status == CommandStatus.ESME_ROK for status in smsc.deliver_answers)


async def test_survives_the_smsc_dropping_the_link_and_sends_nothing_twice(
    gateway: Gateway, smsc: FakeSmsc
) -> None:
    route_id = await create_route(gateway, smsc)
    smsc.drop_on_submit = 1  # the first submit_sm is read, never answered, and the link cut
    texts = [f"Message {n}" for n in range(6)]
    ids = [await gateway.send(device_id=route_id, message=text) for text in texts]
    finals = [(await gateway.wait_status(message_id, {3, 4}, timeout=20))["status"] for message_id in ids]
    assert smsc.binds >= 2
    # Every submit_sm written before the cut (the window lets several go) got no answer: those
    # SMS may have gone out, so they end in status 3; the rest went after the reconnection.
    assert 1 <= finals.count(3) < len(ids) and finals.count(4) >= 1
    for text, message_id, final in zip(texts, ids, finals, strict=True):
        if final == 3:
            assert "may have been sent" in await reason_of(gateway, message_id)
            assert smsc.texts()[text] <= 1 and smsc.accepted_texts()[text] == 0
        else:
            assert smsc.texts()[text] == 1 and smsc.accepted_texts()[text] == 1
    assert sum(smsc.texts().values()) <= len(ids)
    await asyncio.sleep(1.5)  # nothing is written again later either
    assert sum(smsc.texts().values()) <= len(ids) and max(smsc.texts().values()) == 1


async def test_a_withheld_response_is_never_sent_again_anywhere(gateway: Gateway, smsc: FakeSmsc) -> None:
    route_id = await create_route(gateway, smsc)
    smsc.withhold_next = 1
    withheld = await gateway.send(message="Withheld")
    # No answer within the response timeout (2 s here): the SMSC counts as gone, the link is
    # cut and bound again; the SMS may have gone out, so it ends in status 3, and no phone
    # that joins later is ever offered it.
    sms = await gateway.wait_status(withheld, 3, timeout=15)
    assert sms["status"] == 3 and "may have been sent" in await reason_of(gateway, withheld)
    phone = await gateway.phone()
    await smsc.wait_for(lambda: smsc.bound)
    after = await gateway.send(message="After the phone joined")
    await gateway.wait_status(after, {2, 4}, timeout=15)
    await asyncio.sleep(1.0)
    assert gateway.ledger.received_offers[withheld] == 0
    assert smsc.texts()["Withheld"] == 1
    assert (await gateway.get(withheld))["status"] == 3
    assert phone.connected and route_id


async def test_a_crash_after_writing_never_sends_again(gateway: Gateway, smsc: FakeSmsc) -> None:
    route_id = await create_route(gateway, smsc)
    smsc.withhold_next = 1
    written = await gateway.send(device_id=route_id, message="Written, then the crash")
    await smsc.wait_for(lambda: smsc.texts()["Written, then the crash"] == 1)
    # SIGKILL while the submit_sm awaits its answer; the new process takes the route over once
    # the dead one's claim lapsed, and knows from the part record that it may have gone out.
    await asyncio.to_thread(gateway.server.kill)
    smsc.drop()
    await asyncio.to_thread(gateway.server.start)
    await smsc.wait_for(lambda: smsc.bound, timeout=20)
    await gateway.wait_status(written, 3, timeout=15)
    assert "may have been sent" in await reason_of(gateway, written)
    smsc.receipt_delay = 0.0  # a receipt right behind its submit_sm_resp
    after = await gateway.send(device_id=route_id, message="After the restart")
    await gateway.wait_status(after, 4, timeout=15)
    await asyncio.sleep(1.0)
    assert smsc.texts() == {"Written, then the crash": 1, "After the restart": 1}


async def test_throttled_parts_are_written_again_later_and_delivered(
    gateway: Gateway, smsc: FakeSmsc
) -> None:
    route_id = await create_route(gateway, smsc)
    smsc.throttle_next = 2
    message_id = await gateway.send(device_id=route_id, message="Slow down")
    await gateway.wait_status(message_id, 4, timeout=15)
    assert smsc.texts()["Slow down"] == 3 and smsc.accepted_texts()["Slow down"] == 1

    smsc.refuse_next = [CommandStatus.ESME_RINVDSTADR]
    refused = await gateway.send(device_id=route_id, message="Refused")
    await gateway.wait_status(refused, 3)
    assert "ESME_RINVDSTADR" in await reason_of(gateway, refused)
    assert smsc.texts()["Refused"] == 1


async def test_only_throttled_when_the_link_drops_it_is_let_go_and_sent_later(
    gateway: Gateway, smsc: FakeSmsc
) -> None:
    route_id = await create_route(gateway, smsc)
    smsc.throttle_next = 1000
    message_id = await gateway.send(device_id=route_id, message="Throttled, then cut")
    await smsc.wait_for(lambda: smsc.texts()["Throttled, then cut"] >= 1)
    smsc.drop()
    smsc.throttle_next = 0
    # Refused every time, it never reached the SMSC: the route lets it go, and it is offered
    # (to the route, as it is pinned there) again and delivered, accepted once.
    await gateway.wait_status(message_id, 4, timeout=30)
    assert smsc.accepted_texts()["Throttled, then cut"] == 1 and smsc.binds >= 2
    assert 3 not in await gateway.statuses(message_id)


async def test_two_nodes_run_a_route_once_and_take_it_over(tmp_path: Path, smsc: FakeSmsc) -> None:
    env = await asyncio.to_thread(gateway_env, tmp_path, "postgres", **ROUTE_SETTINGS)  # asyncio.run inside
    a = Server(env, tmp_path / "logs", name="node-a").start()
    b = Server(env, tmp_path / "logs", name="node-b")
    try:
        b.start()  # after A: A has migrated the database
        gateway = await open_gateway(a, EMAIL)
        try:
            route_id = await create_route(gateway, smsc)
            await asyncio.sleep(2)  # several claim periods: the other node never binds too
            assert smsc.binds == 1 and smsc.most_bound == 1
            # Whichever node runs the route, one of the two kills hits it; the survivor takes
            # the route over once the claim lapsed.
            sent = []
            for label, dead, alive in (("B", a, b), ("A", b, a)):
                await asyncio.to_thread(dead.kill)
                gateway.http.base_url = httpx.URL(alive.base_url)
                message_id = await gateway.send(device_id=route_id, message=f"Via node {label}")
                await gateway.wait_status(message_id, 4, timeout=20)
                sent.append(f"Via node {label}")
                if dead is a:
                    await asyncio.to_thread(a.start)
            assert smsc.binds >= 2 and smsc.most_bound == 1
            assert smsc.texts() == dict.fromkeys(sent, 1)
        finally:
            await gateway.close()
    finally:
        a.kill()
        b.kill()
