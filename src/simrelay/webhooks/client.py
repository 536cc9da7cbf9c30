"""The HTTP client of webhook deliveries: aiohttp behind the SSRF guard.

aiohttp rather than httpx (which the SDK and the tests use): a delivery is one small POST, and
httpx spent 0.7-0.8 ms of CPU on each against aiohttp's 0.1 ms (measured side by side against
one loopback receiver, 32 in flight; bench/README, issue 17), which held the courier near 700
deliveries a second on one core.

Every new connection goes through `GuardedResolver`, which resolves the name, refuses it if any
of its addresses may not be called (guard.refusal) and hands aiohttp exactly the addresses it
checked, so the name is never resolved a second time (DNS rebinding). aiohttp does not ask a
resolver about an IP written in the URL, so those are checked before each request.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from simrelay.webhooks.guard import Resolver, refusal, system_resolve

KEEPALIVE_SECONDS = 5.0
Route = Callable[[str], str]
"""checked IP -> the IP to dial: the identity, except in tests that must not leave the machine."""


class Refused(OSError):
    """The guard refused the address (its message starts "refused: ")."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    head: bytes
    """The start of the body, at most the `keep` bytes asked for."""
    retry_after: str | None


class GuardedResolver(AbstractResolver):
    def __init__(self, *, allow_private: bool, resolver: Resolver, route: Route | None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.route: Route = route or (lambda ip: ip)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:
            raise OSError(f"{host} could not be resolved: {exc}") from exc
        if not addresses:
            raise Refused(f"refused: {host} resolves to no address")
        if not self.allow_private:
            reason = refusal(host, addresses)
            if reason is not None:
                raise Refused(f"refused: {reason}")
        return [
            {
                "hostname": host,
                "host": self.route(ip),
                "port": port,
                "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in addresses
        ]

    async def close(self) -> None:
        pass


class WebhookClient:
    """POSTs deliveries over at most `connections` kept-alive connections."""

    def __init__(
        self,
        *,
        allow_private: bool,
        connections: int,
        user_agent: str,
        resolver: Resolver = system_resolve,
        route: Route | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.connections = connections
        self.user_agent = user_agent
        self.resolver = GuardedResolver(allow_private=allow_private, resolver=resolver, route=route)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: aiohttp binds a session to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.connections,
                resolver=self.resolver,
                # Every new connection asks the guard again, as DNS may answer differently now.
                use_dns_cache=False,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=httpx.create_ssl_context(),  # certifi's roots, as the httpx client had
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.user_agent},
                skip_auto_headers=("Accept-Encoding",),
                auto_decompress=False,
                trust_env=False,  # no proxy from the environment between the guard and the host
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, keep: int) -> Answer:
        """Raises Refused, aiohttp.ClientError or TimeoutError (the caller bounds the time)."""
        target = yarl.URL(url)
        host = target.raw_host or ""
        if _is_address(host):
            # aiohttp dials an address in the URL without asking the resolver: check it here.
            if not self.allow_private:
                reason = refusal(host, [host])
                if reason is not None:
                    raise Refused(f"refused: {reason}")
            routed = self.resolver.route(host)
            if routed != host:
                headers = {**headers, "Host": target.raw_authority}
                target = target.with_host(routed)
        session = self._open()
        async with session.post(target, data=body, headers=headers, allow_redirects=False) as response:
            head = b""
            while len(head) < keep:
                chunk = await response.content.read(keep - len(head))
                if not chunk:
                    break
                head += chunk
            return Answer(response.status, head, response.headers.get("Retry-After"))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
