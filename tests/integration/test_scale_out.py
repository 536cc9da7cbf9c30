"""Two server nodes on one PostgreSQL: an SMS accepted by one node reaches a phone connected to
the other within a fraction of a second (PostgreSQL NOTIFY, or Redis pub/sub when Redis is
configured), and phones on both nodes share the work without sending any SMS twice."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from simrelay.agent.simulator import LedgerEvent
from tests.integration.cluster import Cluster

pytestmark = pytest.mark.integration

DELIVERED = 4
SLOW_TICK = "5"
"""The safety-net timer, long: only a signal between the nodes can explain a fast offer."""


@pytest.mark.parametrize("transport", ["postgres", "redis"])
async def test_an_sms_sent_through_one_node_is_offered_at_once_by_the_node_its_phones_are_on(
    cluster: Callable[..., Awaitable[Cluster]], transport: str
) -> None:
    nodes = await cluster(redis=transport == "redis", dispatch_tick_seconds=SLOW_TICK)
    await nodes.fleet(nodes.b, 5)
    offered: dict[str, float] = {}

    def on_event(event: LedgerEvent) -> None:
        if event.kind == "offer":
            offered.setdefault(event.message_id, time.monotonic())

    nodes.gateway.ledger.listeners.append(on_event)
    waits: list[float] = []
    for number in range(20):
        message_id = await nodes.send(nodes.gateway.http, number)
        accepted = time.monotonic()
        await nodes.gateway.ledger.wait_for(lambda i=message_id: i in offered, timeout=10)
        # The offer can beat the HTTP answer to this process: that counts as no wait at all.
        waits.append(max(0.0, offered[message_id] - accepted))
        # Settled before the next: a report ending a lease would wake node B's dispatcher too.
        await nodes.gateway.wait_status(message_id, DELIVERED)
    p50, worst = statistics.median(waits), max(waits)
    summary = (
        f"{transport}: send (node A) -> offer (node B) p50 {p50 * 1000:.0f} ms, max {worst * 1000:.0f} ms"
    )
    assert p50 < 0.2, summary
    assert worst < 1.0, summary


async def test_phones_on_two_nodes_share_500_sms_sent_through_both_and_send_each_once(
    cluster: Callable[..., Awaitable[Cluster]],
) -> None:
    nodes = await cluster()
    on_a = await nodes.fleet(nodes.a, 10)
    on_b = await nodes.fleet(nodes.b, 10)
    sends_by_device: Counter[str] = Counter()
    nodes.gateway.ledger.listeners.append(
        lambda event: sends_by_device.update([event.device_id]) if event.kind == "sent" else None
    )
    limit = asyncio.Semaphore(20)

    async def send(number: int) -> str:
        async with limit:
            return await nodes.send(nodes.gateway.http if number % 2 else nodes.http_b, number)

    ids = set(await asyncio.gather(*(send(n) for n in range(500))))
    ledger = nodes.gateway.ledger
    statuses = await nodes.wait_delivered(ids, timeout=60)
    by_node = {
        name: sum(sends_by_device[phone.device_id] for phone in fleet.phones)
        for name, fleet in (("A", on_a), ("B", on_b))
    }
    summary = (
        f"{len(ids)} SMS, {list(statuses.values()).count(DELIVERED)} of {len(statuses)} delivered, "
        f"sent {ledger.sent.total()} times, {len(ledger.duplicates())} sent twice, sends by node {by_node}"
    )
    assert len(ids) == 500 and set(statuses) == ids, summary
    assert all(statuses[i] == DELIVERED for i in ids), summary
    assert not ledger.duplicates(), f"{dict(list(ledger.duplicates().items())[:10])}: {summary}"
    assert set(ledger.sent) == ids, summary
    assert by_node["A"] > 0 and by_node["B"] > 0, f"the phones of one node did all the work: {summary}"
