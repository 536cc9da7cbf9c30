"""The courier's connections spread over small pools (httpcore's pool looks at every connection
it holds on each request), and its attempts take the pools in turn."""

from __future__ import annotations

import httpcore
import httpx

from simrelay.webhooks.courier import Courier, Policy
from simrelay.webhooks.guard import CONNECTIONS_PER_POOL, guarded_transports


def pool_sizes(transports: list[httpx.AsyncBaseTransport]) -> list[int]:
    sizes = []
    for transport in transports:
        pool = transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, httpcore.AsyncConnectionPool)
        sizes.append(pool._max_connections)
    return sizes


def test_connections_are_split_into_pools_of_at_most_four() -> None:
    assert CONNECTIONS_PER_POOL == 4
    assert pool_sizes(guarded_transports(allow_private=False, connections=32)) == [4] * 8
    assert pool_sizes(guarded_transports(allow_private=False, connections=1)) == [1]
    assert pool_sizes(guarded_transports(allow_private=False, connections=5)) == [3, 3]


async def test_attempts_take_the_pools_in_turn() -> None:
    seen: list[str] = []

    def answer(name: str) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(name)
            return httpx.Response(200)

        return httpx.MockTransport(handler)

    courier = Courier(None, Policy("key"), transport=[answer("a"), answer("b")])  # type: ignore[arg-type]
    try:
        for _ in range(4):
            outcome = await courier.post("http://hooks.example/", b"{}", {})
            assert outcome.ok
    finally:
        for client in courier._clients:
            await client.aclose()
    assert seen == ["a", "b", "a", "b"]
