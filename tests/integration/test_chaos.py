"""Chaos: 5,000 SMS through 20 simulated phones on the native protocol and 4 emulated SMSGate
apps (releases 1.68, 1.66 and 1.53) while phones lose their connections at random, apps go
offline for up to twice the hard timeout (sending what they hold meanwhile), and the server is
killed (SIGKILL) twice. Sends are counted on the radio side of every phone and app together:
every SMS is accepted once, ends in a final status, and none is sent twice (the lease rule)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.gateway import Gateway, gateway_env, open_gateway
from tests.integration.server import Server
from tests.integration.smsgate import PROFILES, Options, SmsGateApp

pytestmark = pytest.mark.integration

WAITING, TAKEN, SENT, SEND_FAILED, DELIVERED, NOT_DELIVERED = range(6)
FINAL = {SEND_FAILED, DELIVERED, NOT_DELIVERED}

TOTAL = 5000
PHONES = 20
APPS = (PROFILES["1.68"], PROFILES["1.68"], PROFILES["1.66"], PROFILES["1.53"])
APP_SEND_MS = (300, 1000)
"""Slower radios than the native phones': an app holds fetched SMS long enough to go offline
with some in hand."""
APP_OFFLINE_EVERY = 0.3
APP_OFFLINE_SECONDS = (2.0, 8.0)
"""Up to more than twice the hard timeout (3 s): some apps come back after their SMS was given
up on ("device lost") and report what their radio did meanwhile."""
IN_FLIGHT = 50
KILLS_AT = (TOTAL // 3, 2 * TOTAL // 3)
"""Accepted SMS at which the server is killed and started again on the same port."""
DISCONNECT_EVERY = 0.3
SEND_DEADLINE = 90.0
"""Seconds one SMS may take to be accepted, retries included."""
SETTLE_TIMEOUT = 120.0
PAGE = 100
CHAOS_PHONES: dict[str, Any] = {
    "send_ms": (5, 20),
    "delivery_delay_ms": (5, 30),
    "fail_rate": 0.05,
    "undelivered_rate": 0.02,
    "reconnect_min": 0.1,
    "reconnect_max": 0.5,
}


@pytest.fixture(params=["postgres", "sqlite"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param, access_log="false", mobile_ping_seconds="1")


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Gateway]:
    server = Server(env, tmp_path / "logs").start()
    gw = await open_gateway(server, "chaos@example.com")
    try:
        yield gw
    finally:
        await gw.close()
        gw.server.kill()


@dataclass
class Chaos:
    """Kills and restarts the gateway's server, cuts phones' connections, and counts both."""

    gateway: Gateway
    log_dir: Path
    servers: list[Server] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)
    disconnects: int = 0
    apps: list[SmsGateApp] = field(default_factory=list)
    offline_periods: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.servers.append(self.gateway.server)

    async def restart(self, reason: str) -> None:
        """SIGKILL, then a new server on the same port (the phones and the HTTP client come back)."""
        old = self.gateway.server
        started = time.monotonic()
        await asyncio.to_thread(old.kill)
        new = Server(old.env, self.log_dir, port=old.port, name=f"server-{len(self.servers) + 1}")
        self.servers.append(new)
        await asyncio.to_thread(new.start)
        self.gateway.server = new
        self.restarts.append(f"{reason}: down {time.monotonic() - started:.1f} s")

    async def cut_connections(self, stop: asyncio.Event, rng: random.Random) -> None:
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.5, 1.5) * DISCONNECT_EVERY)
            rng.choice(self.gateway.phones).disconnect()
            self.disconnects += 1

    async def start_apps(self) -> None:
        code = self.gateway.pairing_code(len(APPS)).replace(" ", "")
        for number, profile in enumerate(APPS):
            options = Options(fail_rate=CHAOS_PHONES["fail_rate"], send_ms=APP_SEND_MS)
            app = SmsGateApp(
                self.gateway.server.base_url,
                name=f"chaos/app{number}",
                options=options,
                profile=profile,
                ledger=self.gateway.ledger,
            )
            self.apps.append(app)
            await app.start(register_with=f"Code {code}")

    async def take_apps_offline(self, stop: asyncio.Event, rng: random.Random) -> None:
        """One app at a time loses the network for a while; its radio keeps sending."""
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.5, 1.5) * APP_OFFLINE_EVERY)
            app = rng.choice(self.apps)
            seconds = rng.uniform(*APP_OFFLINE_SECONDS)
            app.go_offline()
            self.offline_periods.append(seconds)
            try:
                await asyncio.wait_for(stop.wait(), seconds)
            except TimeoutError:
                pass
            app.go_online()

    async def settle_apps(self, timeout: float) -> None:
        """Until every app's radio has done what it holds and its reports went through (a phone
        back from offline may send an SMS that had already been given up on as "device lost")."""
        deadline = time.monotonic() + timeout
        while any(app.busy for app in self.apps) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def close_apps(self) -> None:
        for app in self.apps:
            await app.close()

    def log_events(self, *names: str) -> Counter[str]:
        found: Counter[str] = Counter()
        for server in self.servers:
            for record in server.log_records():
                if record.get("event") in names or record.get("level") in ("error", "critical"):
                    found[str(record.get("event"))] += 1
        return found

    def log_lines(self, predicate: Callable[[dict[str, Any]], bool], limit: int = 5) -> list[dict[str, Any]]:
        lines = [r for server in self.servers for r in server.log_records() if predicate(r)]
        return lines[:limit]


@dataclass
class Sender:
    """Sends SMS through the API; each retry after a failure repeats its Idempotency-Key."""

    gateway: Gateway
    accepted: list[str] = field(default_factory=list)
    retries: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, number: int) -> str:
        body = {"message": f"chaos {number}", "phone_number": f"7999{number:07d}"}
        headers = {**self.gateway.headers, "Idempotency-Key": f"chaos-{number}"}
        deadline = time.monotonic() + SEND_DEADLINE
        while True:
            try:
                response = await self.gateway.http.post(
                    "/v1/sms/send", headers=headers, json=body, timeout=10
                )
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                message_id = str(response.json()["id"])
                self.accepted.append(message_id)
                self.changed.set()
                return message_id
            # Refused connections while the server is down, 5xx while it dies, 409 while an
            # earlier try with this key is still being stored: all worth another try.
            if response is not None and response.status_code < 500 and response.status_code != 409:
                raise AssertionError(f"SMS {number} refused: {response.status_code} {response.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"SMS {number} not accepted within {SEND_DEADLINE} s")
            self.retries += 1
            await asyncio.sleep(0.1)

    async def send_all(self, total: int) -> list[str]:
        limit = asyncio.Semaphore(IN_FLIGHT)

        async def one(number: int) -> str:
            async with limit:
                return await self.send(number)

        return list(await asyncio.gather(*(one(n) for n in range(total))))

    async def wait_accepted(self, count: int) -> None:
        while len(self.accepted) < count:
            self.changed.clear()
            await self.changed.wait()


async def list_all(gateway: Gateway) -> tuple[int, dict[str, int]]:
    """(total_records, {id: status}) from every page of GET /v1/sms."""
    first = await gateway.http.get("/v1/sms", headers=gateway.headers, params={"limit": PAGE, "offset": 1})
    assert first.status_code == 200, first.text
    total = int(first.json()["pagination"]["total_records"])
    pages = [first]
    for number in range(2, -(-total // PAGE) + 1):
        response = await gateway.http.get(
            "/v1/sms", headers=gateway.headers, params={"limit": PAGE, "offset": number}
        )
        assert response.status_code == 200, response.text
        pages.append(response)
    statuses = {sms["id"]: int(sms["status"]) for page in pages for sms in page.json()["sms_list"]}
    return total, statuses


async def count_by_status(gateway: Gateway) -> Counter[int]:
    """SMS per status from /metrics: one cheap request (the database holds only this test's SMS)."""
    response = await gateway.http.get("/metrics")
    assert response.status_code == 200, response.text
    counts: Counter[int] = Counter()
    for line in response.text.splitlines():
        if line.startswith('simrelay_sms{status="'):
            counts[int(line.split('"')[1])] = int(float(line.split()[-1]))
    return counts


async def last_reasons(gateway: Gateway, message_ids: list[str]) -> list[str]:
    reasons = []
    for message_id in message_ids:
        response = await gateway.http.post(
            "/v1/sms/history", headers=gateway.headers, json={"id": message_id}
        )
        reasons.append(str(response.json()["history"][-1]["reason"]))
    return reasons


async def wait_final(gateway: Gateway, total: int, timeout: float) -> tuple[int, dict[str, int]]:
    """Every SMS's status once `total` are final (or at the timeout), from every page of the list."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = await count_by_status(gateway)
        if sum(counts[status] for status in FINAL) >= total:
            break
        await asyncio.sleep(0.5)
    return await list_all(gateway)


@pytest.mark.timeout(400)
async def test_5000_sms_survive_disconnects_and_two_server_kills_sent_at_most_once(
    gateway: Gateway, tmp_path: Path
) -> None:
    started = time.monotonic()
    events: list[tuple[float, Any]] = []
    gateway.ledger.listeners.append(lambda event: events.append((time.monotonic() - started, event)))
    await gateway.fleet(PHONES, **CHAOS_PHONES)
    chaos = Chaos(gateway, tmp_path / "logs")
    await chaos.start_apps()
    sender = Sender(gateway)
    stop_cutting = asyncio.Event()
    cutter = asyncio.create_task(chaos.cut_connections(stop_cutting, random.Random(7)))
    offline = asyncio.create_task(chaos.take_apps_offline(stop_cutting, random.Random(11)))

    async def kill_twice() -> None:
        for number, at in enumerate(KILLS_AT, 1):
            await sender.wait_accepted(at)
            await chaos.restart(f"kill {number} at {len(sender.accepted)} accepted")

    killer = asyncio.create_task(kill_twice())
    try:
        ids = await sender.send_all(TOTAL)
        await asyncio.wait_for(killer, 60)
        stop_cutting.set()
        await asyncio.gather(cutter, offline, return_exceptions=True)  # every app back online
        await wait_final(gateway, TOTAL, SETTLE_TIMEOUT)
        await chaos.settle_apps(SETTLE_TIMEOUT)
        total, statuses = await wait_final(gateway, TOTAL, SETTLE_TIMEOUT)
    finally:
        stop_cutting.set()
        killer.cancel()
        await asyncio.gather(cutter, killer, offline, return_exceptions=True)
        await chaos.close_apps()

    ledger = gateway.ledger
    # Sent (or failed) but the report never acknowledged: once all is final, none should be left.
    unconfirmed = sorted({i for phone in gateway.phones for i in phone.unconfirmed})
    counts = Counter(statuses.values())
    not_final = {i: statuses.get(i) for i in ids if statuses.get(i) not in FINAL}
    # Status 3 that no radio explains (neither sent nor failed by a phone), with its reason.
    silent = [i for i in ids if statuses[i] == SEND_FAILED and not ledger.failed[i] and not ledger.sent[i]]
    silent_reasons = dict(zip(silent, await last_reasons(gateway, silent), strict=True))
    reasons = Counter(silent_reasons.values())
    # Offered SIMRELAY_MAX_ATTEMPTS times, each offer cut short by a disconnect or a kill: 3 by
    # design (attempts are offers, so that an SMS that makes phones drop it cannot go round for
    # ever). Explained, while it stays rare; any other silent status 3 is not.
    out_of_offers = [i for i, why in silent_reasons.items() if why.startswith("not sent after")]
    # Listed to an app as its network went: the answer never arrived, no device ever had it,
    # and the lease rule, which cannot know that, ends it in 3 "device lost".
    app_ids = {app.device_id for app in chaos.apps}
    lapsed_at_apps = {
        r["message_id"]
        for r in chaos.log_lines(
            lambda r: r.get("event") == "lease_lapsed" and r["device_id"] in app_ids, limit=TOTAL
        )
    }
    # Or listed to an app that had not started it when its network went (its radio works
    # through the SMS it holds one by one); the server gave up on it as "device lost", and the
    # app, back online, saw it cancelled and never sent it. The lease rule cannot tell this from
    # an app that sent it meanwhile, so 3 is the right end; the app's own record shows which.
    cancelled_at_apps = {
        i for app in chaos.apps for i, local in app.messages.items() if local.state == "Cancelled"
    }
    lost_in_transit = [
        i
        for i, why in silent_reasons.items()
        if why == "device lost"
        and i in lapsed_at_apps
        and (not ledger.received_offers[i] or i in cancelled_at_apps)
    ]
    unexplained = [i for i in silent if i not in out_of_offers and i not in lost_in_transit]
    lost = chaos.log_lines(lambda r: r.get("event") == "lease_lapsed" and bool(r.get("handed")), limit=TOTAL)
    summary = (
        f"{len(set(ids))} SMS accepted, total_records={total}, statuses {dict(sorted(counts.items()))}, "
        f"sent {len(ledger.sent)} ids / {ledger.sent.total()} sends, failed by phones {len(ledger.failed)}, "
        f"dropped {ledger.dropped.total()}, offers {ledger.received_offers.total()}, "
        f"send retries {sender.retries}, {chaos.disconnects} disconnects, restarts {chaos.restarts}, "
        f"sent twice {len(ledger.duplicates())}, unconfirmed {len(unconfirmed)}, "
        f"sent by apps {sum(len(app.sent) for app in chaos.apps)}, app offline periods "
        f"{len(chaos.offline_periods)} (longest {max(chaos.offline_periods, default=0):.1f} s), "
        f"server events {dict(chaos.log_events('lease_lapsed'))}, of them device lost {len(lost)}, "
        f"status 3 without a radio outcome {len(silent)} ({dict(reasons)}), "
        f"{time.monotonic() - started:.0f} s"
    )
    assert len(set(ids)) == TOTAL, f"an SMS accepted twice under two keys? {summary}"
    assert total == TOTAL and set(statuses) == set(ids), f"lost or extra SMS: {summary}"
    duplicates = ledger.duplicates()
    lapsed = [
        (r["timestamp"], r["message_id"], r["device_id"])
        for r in chaos.log_lines(lambda r: r.get("event") == "lease_lapsed" and r["message_id"] in duplicates)
    ]
    story = [
        f"{at:.2f} {event.kind} {event.device_id[-4:]} {event.detail}"
        for at, event in events
        if duplicates and event.message_id == next(iter(duplicates))
    ]
    sent_twice = (
        f"{len(duplicates)} sent twice, e.g. {list(duplicates)[:5]}; their lapsed leases: {lapsed}; "
        f"the first one's story: {story}"
    )
    assert not duplicates, f"{sent_twice}; {summary}"
    assert not not_final, f"{len(not_final)} not final, e.g. {list(not_final.items())[:10]}: {summary}"
    assert set(ledger.sent) <= set(ids)
    unsent_but_done = [i for i in ids if statuses[i] in (DELIVERED, NOT_DELIVERED) and ledger.sent[i] != 1]
    assert not unsent_but_done, f"delivered but not sent once: {unsent_but_done[:10]}; {summary}"
    sent_but_failed = [i for i in ids if statuses[i] == SEND_FAILED and ledger.sent[i]]
    assert not sent_but_failed, f"status 3 although a phone sent it: {sent_but_failed[:10]}; {summary}"
    assert not unexplained, f"status 3 that no phone's radio explains: {unexplained[:10]}; {summary}"
    assert len(out_of_offers) <= TOTAL // 1000, f"offers cut short too often: {out_of_offers[:10]}; {summary}"
    assert len(lost_in_transit) <= TOTAL // 100, (
        f"lost in transit too often: {lost_in_transit[:10]}; {summary}"
    )
    assert len(chaos.restarts) == len(KILLS_AT), summary
