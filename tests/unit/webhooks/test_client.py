"""The delivery client checks every new connection with the SSRF guard and dials exactly the
addresses it checked. Names resolve through a dict; `route` sends the public test address to a
server on 127.0.0.1, so nothing leaves the machine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest

from simrelay.webhooks.client import Refused, WebhookClient
from tests.unit.webhooks.test_guard import PUBLIC, Resolver

OTHER = "93.184.216.35"


@dataclass
class Receiver:
    """A bare HTTP/1.1 server on 127.0.0.1 that keeps each request's bytes and answers 200 "ok"."""

    port: int = 0
    requests: list[bytes] = field(default_factory=list)
    first_bytes: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.first_bytes.append(head[:5])
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nRetry-After: 7\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            self.first_bytes.append(b"")
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


def to_loopback(routed: list[str], *, down: tuple[str, ...] = ()) -> Callable[[str], str]:
    """Records each address dialled; sends the ones in `down` to a loopback address nobody listens on."""

    def route(ip: str) -> str:
        routed.append(ip)
        return "127.0.0.3" if ip in down else "127.0.0.1"

    return route


async def post(client: WebhookClient, url: str) -> tuple[int, bytes]:
    try:
        answer = await client.post(url, b'{"a":1}', {"Content-Type": "application/json"}, keep=1024)
        return answer.status, answer.head
    finally:
        await client.close()


async def test_the_checked_address_is_the_one_dialled_under_the_url_s_name(receiver: Receiver) -> None:
    routed: list[str] = []
    client = WebhookClient(
        allow_private=False,
        connections=4,
        user_agent="simrelay/test",
        resolver=Resolver({"hook.test": [PUBLIC]}),
        route=to_loopback(routed),
    )
    assert await post(client, f"http://hook.test:{receiver.port}/in") == (200, b"ok")
    assert routed == [PUBLIC]
    (request,) = receiver.requests
    assert request.startswith(b"POST /in HTTP/1.1\r\n")
    assert f"Host: hook.test:{receiver.port}\r\n".encode() in request
    assert b"User-Agent: simrelay/test\r\n" in request
    assert request.endswith(b'{"a":1}')


async def test_dns_rebinding_is_refused_at_connect_time(receiver: Receiver) -> None:
    resolver = Resolver({"hook.test": ["10.0.0.5"]})  # the name now points inside
    routed: list[str] = []
    client = WebhookClient(
        allow_private=False, connections=4, user_agent="t", resolver=resolver, route=to_loopback(routed)
    )
    with pytest.raises(aiohttp.ClientError) as caught:
        await post(client, f"http://hook.test:{receiver.port}/")
    assert "refused: hook.test resolves to 10.0.0.5: private" in str(caught.value.__cause__ or caught.value)
    assert routed == [] and receiver.requests == []


async def test_one_private_address_among_public_ones_refuses_them_all(receiver: Receiver) -> None:
    routed: list[str] = []
    resolver = Resolver({"hook.test": [PUBLIC, "169.254.169.254"]})
    client = WebhookClient(
        allow_private=False, connections=4, user_agent="t", resolver=resolver, route=to_loopback(routed)
    )
    with pytest.raises(aiohttp.ClientError):
        await post(client, f"http://hook.test:{receiver.port}/")
    assert routed == [] and receiver.requests == []


async def test_every_new_connection_asks_the_resolver_again(receiver: Receiver) -> None:
    resolver = Resolver({"hook.test": [PUBLIC]})
    client = WebhookClient(
        allow_private=False, connections=4, user_agent="t", resolver=resolver, route=to_loopback([])
    )
    url = f"http://hook.test:{receiver.port}/"
    try:
        assert (await client.post(url, b"", {}, keep=10)).status == 200
        resolver.answers["hook.test"] = ["10.0.0.5"]  # the name now points inside
        # Two at once: one takes the kept-alive connection, the other needs a new one.
        results = await asyncio.gather(
            *(client.post(url, b"", {}, keep=10) for _ in range(2)), return_exceptions=True
        )
    finally:
        await client.close()
    assert sorted(type(result).__name__ for result in results) == ["Answer", "ClientConnectorDNSError"]
    assert resolver.asked == ["hook.test", "hook.test"]
    assert len(receiver.requests) == 2


async def test_addresses_are_tried_in_order(receiver: Receiver) -> None:
    routed: list[str] = []
    client = WebhookClient(
        allow_private=False,
        connections=4,
        user_agent="t",
        resolver=Resolver({"hook.test": [PUBLIC, OTHER]}),
        route=to_loopback(routed, down=(PUBLIC,)),
    )
    assert await post(client, f"http://hook.test:{receiver.port}/") == (200, b"ok")
    assert routed == [PUBLIC, OTHER]
    assert len(receiver.requests) == 1


async def test_tls_names_the_host_not_the_address(receiver: Receiver) -> None:
    """The ClientHello carries the name in SNI, in clear: the certificate is checked against it."""
    client = WebhookClient(
        allow_private=False,
        connections=4,
        user_agent="t",
        resolver=Resolver({"hook.test": [PUBLIC]}),
        route=to_loopback([]),
    )
    seen: list[bytes] = []

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(4096))
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(aiohttp.ClientError):
            await post(client, f"https://hook.test:{port}/")
    assert seen and seen[0][:1] == b"\x16"  # a TLS handshake record
    assert b"hook.test" in seen[0]
    assert PUBLIC.encode() not in seen[0]


async def test_an_ip_in_the_url_is_checked_without_a_resolver(receiver: Receiver) -> None:
    resolver = Resolver({})
    client = WebhookClient(allow_private=False, connections=4, user_agent="t", resolver=resolver)
    with pytest.raises(Refused, match="refused: 127.0.0.1: loopback"):
        await post(client, f"http://127.0.0.1:{receiver.port}/")
    with pytest.raises(Refused, match="refused: ::1: loopback"):
        await post(client, f"http://[::1]:{receiver.port}/")
    assert receiver.requests == [] and resolver.asked == []


async def test_a_real_loopback_request_goes_through_when_private_addresses_are_allowed(
    receiver: Receiver,
) -> None:
    client = WebhookClient(allow_private=True, connections=4, user_agent="t")
    status, head = await post(client, f"http://127.0.0.1:{receiver.port}/hook")
    assert (status, head) == (200, b"ok")
    assert len(receiver.requests) == 1


async def test_localhost_by_name_is_refused_by_default(receiver: Receiver) -> None:
    client = WebhookClient(allow_private=False, connections=4, user_agent="t")
    with pytest.raises(aiohttp.ClientError):
        await post(client, f"http://localhost:{receiver.port}/hook")
    assert receiver.requests == []


async def test_only_as_much_of_the_answer_as_asked_is_read(receiver: Receiver) -> None:
    client = WebhookClient(allow_private=True, connections=4, user_agent="t")
    try:
        answer = await client.post(f"http://127.0.0.1:{receiver.port}/", b"", {}, keep=1)
    finally:
        await client.close()
    assert (answer.status, answer.head, answer.retry_after) == (200, b"o", "7")


def test_the_route_hook_defaults_to_the_checked_address() -> None:
    client = WebhookClient(allow_private=False, connections=1, user_agent="t")
    assert client.resolver.route(PUBLIC) == PUBLIC
