"""SSRF guard: which webhook URLs are refused, at creation and again at connect time.

No test opens a connection to anything but 127.0.0.1: names resolve through a dict, and
connections to other addresses go to a stub that records the address it was given.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpcore
import httpx
import pytest

from simrelay.webhooks.guard import (
    UrlRefused,
    check_url,
    forbidden_reason,
    guarded_transport,
    parse_url,
)

PUBLIC = "93.184.216.34"


class Resolver:
    """Answers from a dict; `answers` can change between calls, as DNS can."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[host]


class FakeStream(httpcore.AsyncNetworkStream):
    """Plays a canned HTTP/1.1 response and keeps what was written and the TLS name asked for."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.written = b""
        self.server_hostname: str | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        chunk, self.response = self.response[:max_bytes], self.response[max_bytes:]
        return chunk

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written += buffer

    async def aclose(self) -> None:
        pass

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> FakeStream:
        self.server_hostname = server_hostname
        return self


class Connector:
    """Records each address asked for; fails for those in `down`, else returns a FakeStream."""

    def __init__(self, down: tuple[str, ...] = ()) -> None:
        self.down = down
        self.asked: list[tuple[str, int]] = []
        self.streams: list[FakeStream] = []

    async def __call__(self, ip: str, port: int, timeout: float | None) -> httpcore.AsyncNetworkStream:
        self.asked.append((ip, port))
        if ip in self.down:
            raise httpcore.ConnectError(f"stub: {ip} is down")
        stream = FakeStream(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        self.streams.append(stream)
        return stream


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "cgnat"),
        ("100.100.100.200", "metadata"),
        ("168.63.129.16", "metadata"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "benchmark"),
        ("240.0.0.1", "reserved"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("fd00:ec2::254", "metadata"),
        ("fc00::1", "private"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("fec0::1", "reserved"),
    ],
)
async def test_a_host_resolving_to_a_non_public_address_is_refused(address, kind) -> None:
    assert forbidden_reason(address) == kind
    with pytest.raises(UrlRefused) as refused:
        await check_url(
            "https://hook.test/x", allow_private=False, resolver=Resolver({"hook.test": [address]})
        )
    assert address in refused.value.reason
    assert kind in refused.value.reason


@pytest.mark.parametrize(
    "address", [PUBLIC, "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]
)
async def test_a_public_address_is_allowed(address) -> None:
    assert forbidden_reason(address) is None
    await check_url("https://hook.test/x", allow_private=False, resolver=Resolver({"hook.test": [address]}))


def test_what_is_not_an_address_is_refused() -> None:
    assert forbidden_reason("hook.test") is not None


async def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    resolver = Resolver({"hook.test": [PUBLIC, "10.0.0.1"]})
    with pytest.raises(UrlRefused, match="10.0.0.1"):
        await check_url("http://hook.test/", allow_private=False, resolver=resolver)


async def test_a_host_resolving_to_nothing_is_refused() -> None:
    with pytest.raises(UrlRefused, match="no address"):
        await check_url("http://hook.test/", allow_private=False, resolver=Resolver({"hook.test": []}))


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(UrlRefused, match="could not be resolved"):
        await check_url("http://hook.test/", allow_private=False, resolver=fail)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hook.test/",
        "file:///etc/passwd",
        "gopher://hook.test/",
        "javascript:alert(1)",
        "http://user:pw@example.com/",
        "http://user@example.com/",
        "http:///path",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://exa mple.com/",
        "http://example.com/\n",
        "http://example.com/\t",
        "http://example.com/" + "a" * 2000,
    ],
)
async def test_urls_that_are_not_plain_http_are_refused_before_resolving(url) -> None:
    resolver = Resolver({})
    for allow_private in (False, True):
        with pytest.raises(UrlRefused):
            await check_url(url, allow_private=allow_private, resolver=resolver)
    assert resolver.asked == []


def test_parse_url_gives_scheme_host_and_port() -> None:
    assert parse_url("https://hook.test/x?y=1") == ("https", "hook.test", 443)
    assert parse_url("HTTP://Hook.Test:8080/") == ("http", "hook.test", 8080)
    assert parse_url("http://[::1]:8080/") == ("http", "::1", 8080)
    assert parse_url("http://bücher.test/") == ("http", "xn--bcher-kva.test", 80)


def test_refusal_carries_its_reason() -> None:
    with pytest.raises(UrlRefused) as refused:
        parse_url("ftp://hook.test/")
    assert refused.value.reason == str(refused.value) == "only http and https URLs are allowed"


async def test_allow_private_skips_the_address_checks_but_not_the_scheme() -> None:
    resolver = Resolver({"hook.test": ["10.0.0.1"]})
    await check_url("http://hook.test/", allow_private=True, resolver=resolver)
    with pytest.raises(UrlRefused):
        await check_url("ftp://hook.test/", allow_private=True, resolver=resolver)


async def send(transport: httpx.AsyncBaseTransport, url: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=transport, timeout=10, follow_redirects=False) as client:
        return await client.get(url)


async def test_dns_rebinding_is_refused_at_connect_time() -> None:
    resolver = Resolver({"hook.test": [PUBLIC]})
    await check_url("http://hook.test/", allow_private=False, resolver=resolver)
    resolver.answers["hook.test"] = ["10.0.0.5"]
    connector = Connector()
    transport = guarded_transport(allow_private=False, resolver=resolver, connect=connector)
    with pytest.raises(httpx.ConnectError, match=r"refused: hook\.test resolves to 10\.0\.0\.5.*private"):
        await send(transport, "http://hook.test/")
    assert connector.asked == []


async def test_one_private_address_at_connect_time_refuses_them_all() -> None:
    connector = Connector()
    resolver = Resolver({"hook.test": [PUBLIC, "169.254.169.254"]})
    transport = guarded_transport(allow_private=False, resolver=resolver, connect=connector)
    with pytest.raises(httpx.ConnectError, match="refused"):
        await send(transport, "http://hook.test/")
    assert connector.asked == []


async def test_the_checked_address_is_the_one_connected_to() -> None:
    # This also fails if httpx stops sending requests through AsyncHTTPTransport._pool,
    # which guarded_transport replaces: the stub connector would then never be called.
    connector = Connector()
    resolver = Resolver({"hook.test": [PUBLIC]})
    response = await send(
        guarded_transport(allow_private=False, resolver=resolver, connect=connector),
        "http://hook.test:8080/x",
    )
    assert response.text == "ok"
    assert connector.asked == [(PUBLIC, 8080)]
    assert b"Host: hook.test:8080\r\n" in connector.streams[0].written


async def test_tls_is_verified_against_the_host_name_not_the_address() -> None:
    connector = Connector()
    resolver = Resolver({"hook.test": [PUBLIC]})
    response = await send(
        guarded_transport(allow_private=False, resolver=resolver, connect=connector), "https://hook.test/"
    )
    assert response.status_code == 200
    assert connector.asked == [(PUBLIC, 443)]
    assert connector.streams[0].server_hostname == "hook.test"


async def test_addresses_are_tried_in_order() -> None:
    other = "93.184.216.35"
    connector = Connector(down=(PUBLIC,))
    resolver = Resolver({"hook.test": [PUBLIC, other]})
    response = await send(
        guarded_transport(allow_private=False, resolver=resolver, connect=connector), "http://hook.test/"
    )
    assert response.text == "ok"
    assert connector.asked == [(PUBLIC, 80), (other, 80)]


async def test_the_last_error_surfaces_when_every_address_fails() -> None:
    connector = Connector(down=(PUBLIC,))
    resolver = Resolver({"hook.test": [PUBLIC]})
    transport = guarded_transport(allow_private=False, resolver=resolver, connect=connector)
    with pytest.raises(httpx.ConnectError, match="stub: 93.184.216.34 is down"):
        await send(transport, "http://hook.test/")


class Handler(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = b"hello from loopback"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_url() -> Iterator[str]:
    Handler.hits = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_a_real_request_goes_through_when_private_addresses_are_allowed(loopback_url) -> None:
    response = await send(guarded_transport(allow_private=True), loopback_url)
    assert response.status_code == 200
    assert response.text == "hello from loopback"
    assert Handler.hits == 1


async def test_a_real_loopback_server_is_refused_by_default(loopback_url) -> None:
    with pytest.raises(httpx.ConnectError, match="refused: 127.0.0.1: loopback"):
        await send(guarded_transport(allow_private=False), loopback_url)
    assert Handler.hits == 0
