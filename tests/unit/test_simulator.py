"""The reference device (simrelay.agent.simulator) against a scripted fake server on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from typing import Any

import httpx
import pytest
import typer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from simrelay.agent.simulator import (
    LIMIT_EXCEEDED,
    Fleet,
    Ledger,
    PairingError,
    SimulatedPhone,
    SimulatorOptions,
    count_parts,
)
from simrelay.cli.simulate import parse_range

DEVICE_ID = "65f0c1e2a1b2c3d4e5f60718"
TOKEN = "sdt_test"
FAST: dict[str, Any] = {
    "send_ms": (1, 5),
    "delivery_delay_ms": (1, 5),
    "reconnect_min": 0.02,
    "reconnect_max": 0.1,
    "seed": 7,
}


class FakeLink:
    """One device connection as the fake server sees it; acks every report unless told not to."""

    def __init__(self, ws: ServerConnection, server: FakeServer) -> None:
        self.ws = ws
        self.server = server
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.close_code: int | None = None

    async def next(self, *types: str, timeout: float = 3.0) -> dict[str, Any]:
        """The next frame of one of `types` (heartbeats are skipped unless asked for)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if frame["type"] in types:
                    return frame

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def welcome(self, **extra: Any) -> dict[str, Any]:
        hello = await self.next("hello")
        await self.send(
            {
                "type": "welcome",
                "protocol": 1,
                "device_id": DEVICE_ID,
                "server_time": 0.0,
                "heartbeat_seconds": 30,
                "lease_seconds": 60,
                **extra,
            }
        )
        return hello

    async def offer(self, message_id: str, **extra: Any) -> None:
        await self.send(
            {
                "type": "offer",
                "id": message_id,
                "phone_number": "79990001122",
                "message": "Your code is 4711",
                "sim": None,
                "encoding": "gsm7",
                "parts": 1,
                "lease_seconds": 60,
                "attempt": 1,
                **extra,
            }
        )

    def abort(self) -> None:
        self.ws.transport.abort()


class FakeServer:
    def __init__(self) -> None:
        self.base_url = ""
        self.links: asyncio.Queue[FakeLink] = asyncio.Queue()
        self.no_ack: set[str] = set()  # report types left unanswered

    def authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path != "/device/v1/ws" or request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return connection.respond(HTTPStatus.FORBIDDEN, "forbidden\n")
        return None

    async def handle(self, ws: ServerConnection) -> None:
        link = FakeLink(ws, self)
        await self.links.put(link)
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if "seq" in frame and frame["type"] not in self.no_ack:
                    await ws.send(json.dumps({"type": "ack", "seq": frame["seq"]}))
                await link.frames.put(frame)
        except ConnectionClosed:
            pass
        finally:
            link.close_code = ws.close_code
            link.closed.set()

    async def accept(self, timeout: float = 3.0) -> FakeLink:
        return await asyncio.wait_for(self.links.get(), timeout)

    async def connected(self, phone: SimulatedPhone) -> FakeLink:
        link = await self.accept()
        await link.welcome()
        await phone.ledger.wait_for(lambda: phone.connected)
        return link


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = FakeServer()
    async with serve(fake.handle, "127.0.0.1", 0, process_request=fake.authorize) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        fake.base_url = f"http://127.0.0.1:{port}"
        yield fake


@pytest.fixture
async def make_phone(server: FakeServer) -> AsyncIterator[Callable[..., SimulatedPhone]]:
    phones: list[SimulatedPhone] = []

    def make(token: str = TOKEN, **options: Any) -> SimulatedPhone:
        phone = SimulatedPhone(
            server.base_url,
            device_id=DEVICE_ID,
            token=token,
            options=SimulatorOptions(**{**FAST, **options}),
            ledger=Ledger(),
        )
        phones.append(phone)
        phone.start()
        return phone

    yield make
    for phone in phones:
        await phone.stop()


async def test_hello_carries_protocol_1_sims_and_an_empty_held_list(server, make_phone) -> None:
    phone = make_phone(sims=2)
    link = await server.accept()
    hello = await link.welcome()
    assert hello["protocol"] == 1
    assert hello["held"] == []
    assert hello["sims"] == [{"slot": 0, "name": "SIM1"}, {"slot": 1, "name": "SIM2"}]
    assert "seq" not in hello
    assert 0 <= hello["battery"] <= 100
    await phone.ledger.wait_for(lambda: phone.connected)


async def test_offer_is_taken_sent_and_each_part_delivered(server, make_phone) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    await link.offer("m1", parts=2)
    taken = await link.next("taken")
    sent = await link.next("sent")
    deliveries = [await link.next("delivery"), await link.next("delivery")]
    assert taken["id"] == sent["id"] == "m1"
    assert sent["parts"] == 2
    assert [(d["part"], d["parts"], d["delivered"]) for d in deliveries] == [(0, 2, True), (1, 2, True)]
    seqs = [taken["seq"], sent["seq"], *(d["seq"] for d in deliveries)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    await phone.ledger.wait_for(lambda: phone.held == [] and phone.pending_reports == 0)
    assert phone.ledger.sent == {"m1": 1} and phone.ledger.confirmed == {"m1": 1}
    assert phone.ledger.delivered == {"m1": 2}


async def test_parts_from_length_counts_the_text_not_the_offer(server, make_phone) -> None:
    phone = make_phone(parts_from_length=True)
    link = await server.connected(phone)
    await link.offer("latin", message="a" * 161, parts=1)
    assert (await link.next("sent"))["parts"] == 2
    await link.offer("cyrillic", message="я" * 71, parts=1)
    assert (await link.next("sent"))["parts"] == 2


@pytest.mark.parametrize(
    ("text", "parts"),
    [("", 1), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("я" * 70, 1), ("я" * 71, 2)],
)
def test_count_parts(text: str, parts: int) -> None:
    assert count_parts(text) == parts


async def test_fail_rate_one_reports_failed_with_a_reason_and_no_delivery(server, make_phone) -> None:
    phone = make_phone(fail_rate=1.0)
    link = await server.connected(phone)
    await link.offer("m1")
    failed = await link.next("failed", "sent")
    assert failed["type"] == "failed" and failed["id"] == "m1" and failed["reason"]
    await phone.ledger.wait_for(lambda: phone.held == [])
    assert not phone.ledger.sent and phone.ledger.failed == {"m1": 1}
    assert not phone.ledger.delivered and not phone.ledger.undelivered


async def test_refuse_after_n_each_sims_carrier_refuses_as_android_reports_it(server, make_phone) -> None:
    phone = make_phone(sims=2, refuse_after=2)
    link = await server.connected(phone)
    outcomes = []
    for number, sim in enumerate([0, 0, 0, 1, 1, 1, 0]):
        await link.offer(f"m{number}", sim=sim)
        report = await link.next("failed", "sent")
        outcomes.append((sim, report["type"], report.get("reason", "")))
    assert [kind for _, kind, _ in outcomes] == ["sent", "sent", "failed", "sent", "sent", "failed", "failed"]
    assert {reason for _, kind, reason in outcomes if kind == "failed"} == {LIMIT_EXCEEDED}
    assert "RESULT_ERROR_LIMIT_EXCEEDED" in LIMIT_EXCEEDED


async def test_sim_slot_the_phone_lacks_fails_the_send(server, make_phone) -> None:
    phone = make_phone(sims=1)
    link = await server.connected(phone)
    await link.offer("m1", sim=1)
    failed = await link.next("failed", "sent")
    assert failed == {"type": "failed", "seq": failed["seq"], "id": "m1", "reason": "no SIM in slot 1"}


async def test_unacked_report_is_sent_again_after_reconnect_and_held_until_then(server, make_phone) -> None:
    server.no_ack = {"sent"}
    phone = make_phone()
    first = await server.connected(phone)
    await first.offer("m1")
    sent = await first.next("sent")
    assert phone.unconfirmed == ["m1"]
    server.no_ack = set()
    first.abort()
    second = await server.accept()
    hello = await second.welcome()
    assert hello["held"] == ["m1"]  # rule 4: held until its final report is acknowledged
    again = await second.next("sent")
    assert again["id"] == "m1" and again["seq"] > sent["seq"]
    await phone.ledger.wait_for(lambda: phone.held == [] and phone.pending_reports == 0)
    assert phone.ledger.sent == {"m1": 1}


async def test_drop_before_sending_answers_dropped_and_never_sends(server, make_phone) -> None:
    phone = make_phone(send_ms=(300, 300))
    link = await server.connected(phone)
    await link.offer("m1")
    await link.next("taken")
    await link.send({"type": "drop", "id": "m1", "reason": "deleted"})
    assert (await link.next("dropped", "sent"))["type"] == "dropped"
    assert phone.held == []
    await asyncio.sleep(0.4)
    assert not phone.ledger.sent and phone.ledger.drops == {"m1": 1}


async def test_drop_of_an_unknown_id_answers_dropped(server, make_phone) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    await link.send({"type": "drop", "id": "never-seen", "reason": "not_held"})
    assert (await link.next("dropped"))["id"] == "never-seen"


async def test_drop_after_sending_answers_with_the_report(server, make_phone) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    await link.offer("m1")
    await link.next("sent")
    await phone.ledger.wait_for(lambda: phone.held == [])
    await link.send({"type": "drop", "id": "m1", "reason": "lease_expired"})
    answer = await link.next("dropped", "sent")
    assert answer["type"] == "sent" and answer["id"] == "m1"
    assert phone.ledger.sent == {"m1": 1}


async def test_lease_passed_before_sending_answers_dropped_without_sending(server, make_phone) -> None:
    phone = make_phone(send_ms=(100, 100))
    link = await server.connected(phone)
    await link.offer("m1", lease_seconds=0.02)
    assert (await link.next("dropped", "sent"))["type"] == "dropped"
    assert not phone.ledger.sent and phone.held == []


async def test_held_offer_is_listed_in_the_next_hello_and_sent_after_resume(server, make_phone) -> None:
    phone = make_phone(send_ms=(200, 200))
    link = await server.connected(phone)
    await link.offer("m1")
    await link.next("taken")
    phone.disconnect()
    resumed = await server.accept()
    assert (await resumed.welcome())["held"] == ["m1"]
    assert (await resumed.next("sent"))["id"] == "m1"
    assert phone.ledger.sent == {"m1": 1}


async def test_killed_phone_does_nothing_until_started_again(server, make_phone) -> None:
    phone = make_phone(send_ms=(150, 150))
    link = await server.connected(phone)
    await link.offer("m1")
    await link.next("taken")
    phone.kill()
    await asyncio.sleep(0.3)
    assert not phone.ledger.sent and phone.held == ["m1"] and server.links.empty()
    phone.start()
    resumed = await server.accept()
    assert (await resumed.welcome())["held"] == ["m1"]
    await resumed.next("sent")
    assert phone.ledger.sent == {"m1": 1}


async def test_repeated_offer_of_a_held_id_is_sent_once(server, make_phone) -> None:
    phone = make_phone(send_ms=(50, 50))
    link = await server.connected(phone)
    await link.offer("m1")
    await link.offer("m1", attempt=2)
    await link.next("sent")
    await phone.ledger.wait_for(lambda: phone.held == [])
    await link.offer("m1", attempt=3)  # finished: the phone says so again instead of sending
    assert (await link.next("sent", "taken"))["type"] == "sent"
    await asyncio.sleep(0.1)
    assert phone.ledger.sent == {"m1": 1} and phone.ledger.taken == {"m1": 1}
    assert phone.ledger.received_offers == {"m1": 3}


async def test_drop_after_take_cuts_the_connection_then_resumes_and_sends(server, make_phone) -> None:
    phone = make_phone(drop_after_take=1.0)
    link = await server.connected(phone)
    await link.offer("m1")
    await link.next("taken")
    await asyncio.wait_for(link.closed.wait(), 3)
    assert link.close_code == 1006  # no close frame
    assert not phone.ledger.sent  # it waits for the next connection
    resumed = await server.accept()
    assert (await resumed.welcome())["held"] == ["m1"]
    assert (await resumed.next("sent"))["id"] == "m1"
    assert phone.ledger.sent == {"m1": 1}


async def test_not_leased_answer_to_taken_makes_the_phone_forget_the_offer(server, make_phone) -> None:
    server.no_ack = {"taken"}
    phone = make_phone(send_ms=(200, 200))
    link = await server.connected(phone)
    await link.offer("m1")
    taken = await link.next("taken")
    await link.send({"type": "error", "seq": taken["seq"], "code": "not_leased", "message": "not yours"})
    await phone.ledger.wait_for(lambda: phone.held == [])
    await asyncio.sleep(0.3)
    assert not phone.ledger.sent and phone.pending_reports == 0


async def test_unknown_frames_and_fields_are_ignored(server, make_phone) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    await link.send({"type": "from_protocol_1_5", "anything": [1, 2]})
    await link.ws.send("not json")
    await link.offer("m1", future_field={"x": 1})
    assert (await link.next("sent"))["id"] == "m1"


async def test_heartbeats_carry_seq_and_vitals(server, make_phone) -> None:
    phone = make_phone(heartbeat_seconds=0.05)
    link = await server.connected(phone)
    beat = await link.next("heartbeat")
    assert isinstance(beat["seq"], int) and 0 <= beat["battery"] <= 100 and beat["sims"]
    assert phone.pending_reports == 0  # heartbeats are not kept for re-sending


async def test_receive_sms_reports_received(server, make_phone) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    inbox_id = await phone.receive_sms("+79990001122", "STOP", id="inbox-1", sim=0)
    received = await link.next("received")
    assert inbox_id == "inbox-1"
    assert received["id"] == "inbox-1" and received["message"] == "STOP" and received["sim"] == 0
    assert isinstance(received["received_at"], int) and received["phone_number"] == "+79990001122"


async def test_stop_closes_with_1000_and_does_not_reconnect(server, make_phone) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    await phone.stop()
    await asyncio.wait_for(link.closed.wait(), 3)
    assert link.close_code == 1000 and not phone.connected and not phone.running
    await asyncio.sleep(0.1)
    assert server.links.empty()


@pytest.mark.parametrize(("code", "reason"), [(4001, "unauthorized"), (4003, "replaced")])
async def test_terminal_close_codes_stop_the_phone(server, make_phone, code: int, reason: str) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    await link.ws.close(code)
    await phone.ledger.wait_for(lambda: phone.stop_reason == reason and not phone.running)
    await asyncio.sleep(0.1)
    assert server.links.empty()


@pytest.mark.parametrize("code", [1001, 4004, 1011])
async def test_other_close_codes_reconnect(server, make_phone, code: int) -> None:
    phone = make_phone()
    link = await server.connected(phone)
    await link.ws.close(code)
    await server.connected(phone)
    assert phone.connections == 2 and phone.stop_reason is None


async def test_refused_token_at_the_handshake_stops_the_phone(server, make_phone) -> None:
    phone = make_phone(token="sdt_revoked")
    await phone.ledger.wait_for(lambda: phone.stop_reason == "unauthorized")
    assert not phone.running and server.links.empty()


def pairing_transport(uses: int) -> tuple[httpx.MockTransport, list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/device/v1/pair"
        bodies.append(json.loads(request.content))
        if len(bodies) > uses:
            return httpx.Response(400, json={"error": {"code": "invalid_code", "message": "used up"}})
        number = len(bodies)
        return httpx.Response(
            200,
            json={
                "device_id": f"dev-{number}",
                "token": f"sdt_{number}",
                "protocol": 1,
                "ws_path": "/device/v1/ws",
                "heartbeat_seconds": 30,
            },
        )

    return httpx.MockTransport(handle), bodies


async def test_pair_trades_the_code_for_device_id_and_token() -> None:
    transport, bodies = pairing_transport(uses=1)
    async with httpx.AsyncClient(transport=transport) as client:
        phone = await SimulatedPhone.pair("http://gw.test", "ABCD-EFGH", name="Kitchen", client=client)
        with pytest.raises(PairingError) as refused:
            await SimulatedPhone.pair("http://gw.test", "ABCD-EFGH", client=client)
    assert (phone.device_id, phone.token, phone.name) == ("dev-1", "sdt_1", "Kitchen")
    assert bodies[0]["code"] == "ABCD-EFGH" and bodies[0]["name"] == "Kitchen" and bodies[0]["app_version"]
    assert refused.value.status == 400 and refused.value.code == "invalid_code"


async def test_fleet_pairs_count_phones_sharing_one_ledger() -> None:
    transport, bodies = pairing_transport(uses=5)
    ledger = Ledger()
    async with httpx.AsyncClient(transport=transport) as client:
        fleet = await Fleet.pair("http://gw.test", "ABCD-EFGH", count=5, ledger=ledger, client=client)
        with pytest.raises(PairingError):
            await Fleet.pair("http://gw.test", "ABCD-EFGH", count=2, client=client)
    assert sorted(phone.device_id for phone in fleet.phones) == [f"dev-{n}" for n in range(1, 6)]
    assert all(phone.ledger is ledger for phone in fleet.phones)
    assert fleet.stats()["phones"] == 5 and fleet.stats()["connected"] == 0


async def test_fleet_runs_phones_against_the_server(server) -> None:
    ledger = Ledger()
    options = SimulatorOptions(**FAST)
    phones = [
        SimulatedPhone(server.base_url, device_id=f"dev-{n}", token=TOKEN, options=options, ledger=ledger)
        for n in range(3)
    ]
    fleet = Fleet(phones=phones, ledger=ledger)
    fleet.start()
    links = [await server.accept() for _ in phones]
    for link in links:
        await link.welcome()
    await ledger.wait_for(lambda: fleet.stats()["connected"] == 3)
    for n, link in enumerate(links):
        await link.offer(f"m{n}")
    await ledger.wait_for(lambda: len(ledger.delivered) == 3)
    await fleet.stop()
    stats = fleet.stats()
    assert stats["sent"] == 3 and stats["sent_twice"] == 0 and stats["connected"] == 0


def test_parse_range() -> None:
    assert parse_range("50..200") == (50, 200)
    assert parse_range("100") == (100, 100)
    for bad in ("abc", "200..50", "-1..5", "1..x"):
        with pytest.raises(typer.BadParameter):
            parse_range(bad)


async def test_a_repeated_dropped_names_its_attempt_so_a_newer_offer_is_taken(server, make_phone) -> None:
    server.no_ack = {"dropped"}
    phone = make_phone(send_ms=(300, 300))
    first = await server.connected(phone)
    await first.offer("m1", attempt=1)
    await first.next("taken")
    await first.send({"type": "drop", "id": "m1", "reason": "lease_expired"})
    assert (await first.next("dropped"))["attempt"] == 1
    first.abort()
    second = await server.accept()
    assert (await second.welcome())["held"] == []  # let go, though `dropped` is unacknowledged
    assert (await second.next("dropped"))["attempt"] == 1  # re-sent, naming the old lease
    await second.offer("m1", attempt=2)  # the server ignores a `dropped` of attempt 1 now
    await phone.ledger.wait_for(lambda: phone.ledger.sent.get("m1") == 1, timeout=3)
    assert phone.ledger.taken == {"m1": 2}


async def test_a_dropped_without_attempt_blocks_a_new_offer_until_acknowledged(server, make_phone) -> None:
    server.no_ack = {"dropped"}
    phone = make_phone(send_ms=(300, 300))
    first = await server.connected(phone)
    await first.offer("m1", attempt=None)
    await first.next("taken")
    await first.send({"type": "drop", "id": "m1", "reason": "lease_expired"})
    await first.next("dropped")
    first.abort()
    second = await server.accept()
    await second.welcome()
    await second.next("dropped")
    await second.offer("m1", attempt=None)  # the late `dropped` could release this lease too
    await asyncio.sleep(0.4)
    assert phone.ledger.taken == {"m1": 1} and not phone.ledger.sent
