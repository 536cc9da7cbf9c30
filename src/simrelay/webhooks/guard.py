"""SSRF guard for outgoing webhook requests.

A webhook URL is chosen by an API user, so without a guard the server would fetch whatever
it names: its own admin ports, the cloud metadata service, hosts on the private network.
`check_url` refuses such a URL when the webhook is created; webhooks/client.py checks again on
every new connection, because DNS can answer differently by then (rebinding), and connects to
the very address it checked rather than resolving the name a second time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable

import httpx

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""host, port -> the IP addresses (as strings) it resolves to."""

MAX_URL_LENGTH = 2000


def _ipv6() -> str:
    """RFC 3986's IPv6address: eight groups, `::` standing for one or more zero groups."""
    h16, octet = "[0-9A-Fa-f]{1,4}", "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = f"(?:{h16}:{h16}|{octet}(?:\\.{octet}){{3}})"
    forms = [f"(?:{h16}:){{6}}{ls32}", f"::(?:{h16}:){{5}}{ls32}"]
    for before, after in [(0, 4), (1, 3), (2, 2), (3, 1)]:
        forms.append(f"(?:(?:{h16}:){{0,{before}}}{h16})?::(?:{h16}:){{{after}}}{ls32}")
    forms += [
        f"(?:(?:{h16}:){{0,4}}{h16})?::{ls32}",
        f"(?:(?:{h16}:){{0,5}}{h16})?::{h16}",
        f"(?:(?:{h16}:){{0,6}}{h16})?::",
    ]
    return "|".join(forms)


def _international_name() -> str:
    """A host name with Latin-1 or Cyrillic letters, as IDNA (which httpx applies to it) takes
    it: letters and digits, a hyphen only between them, labels short enough for their xn--
    form to stay within 63 (29 letters: random mixes of these letters measured at most 60),
    at most five labels."""
    other = "\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u00ff\\u0401\\u0410-\\u044f\\u0451"
    letter = f"[A-Za-z0-9{other}]"
    label = f"{letter}{{1,20}}(?:-{letter}{{1,9}})?"
    international = f"{letter}{{0,14}}[{other}]{letter}{{0,14}}"
    return f"(?:{label}\\.){{0,2}}{international}(?:\\.{label}){{0,2}}"


_NAME_CHAR = "[A-Za-z0-9_~!$&'()*+,;=-]"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_HOST = "|".join(
    [
        f"(?:{_NAME_CHAR}+\\.)*[A-Za-z]{_NAME_CHAR}*",
        _international_name(),
        f"{_OCTET}(?:\\.{_OCTET}){{3}}",
        f"\\[(?:{_ipv6()})\\]",
    ]
)
_PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
URL_PATTERN = f"^[Hh][Tt][Tt][Pp][Ss]?://(?:{_HOST})(?::{_PORT})?(?:[/?#][!-~]*)?$"
"""What a webhook URL may be (2009 otherwise), as the OpenAPI document states it: http(s); a
host name in ASCII whose last label starts with a letter, or one with Latin-1 or Cyrillic
letters (others in their xn-- form), an IPv4 address or a bracketed IPv6 one; a port
1..65535; then printable ASCII (other characters percent-encoded). `parse_url` requires it
of every URL (API, panel, CLI) after its own checks, which give the more precise reasons; a
unit test shows that httpx takes all of it."""
URL = re.compile(URL_PATTERN)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Named even where a range rule below already covers them: 168.63.129.16 (Azure) sits in
# public space and nothing else catches it, and naming the others keeps them refused, with
# a clear reason, should a range rule ever be loosened (say, CGNAT or ULA for one setup).
METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("168.63.129.16"),  # Azure wireserver
}

# From IANA's special-purpose registry: every IPv4 range that is not globally reachable.
IPV4_RANGES = [
    (ipaddress.ip_network(net), kind)
    for net, kind in [
        ("0.0.0.0/8", "unspecified"),  # Linux connects 0.0.0.0 to the local host
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "cgnat"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmark"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    ]
]

# IPv6 is refused outside global unicast (2000::/3) by default, so only the exceptions
# inside it and the ranges worth a precise reason are listed. Forms that embed an IPv4
# address are unwrapped first (see `embedded_ipv4`).
IPV6_RANGES = [
    (ipaddress.ip_network(net), kind)
    for net, kind in [
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
        ("2001:2::/48", "benchmark"),
        ("2001::/23", "reserved"),  # protocol assignments, Teredo among them
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
    ]
]
GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(Exception):
    """The URL may not be called; `reason` is a short English explanation (shown to API users)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def system_resolve(host: str, port: int) -> list[str]:
    """Resolve with the system resolver; IP literals come back unchanged, without DNS."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden_reason(address: str) -> str | None:
    """None if webhooks may call `address`, else what kind of address it is."""
    try:
        # The zone of a link-local address says nothing about where it points.
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    return reason_for(ip)


def reason_for(ip: IPAddress) -> str | None:
    if ip in METADATA:
        return "metadata"
    if isinstance(ip, ipaddress.IPv4Address):
        return next((kind for net, kind in IPV4_RANGES if ip in net), None)
    inner = embedded_ipv4(ip)
    if inner is not None:
        kind = reason_for(inner)
        # Only the mapped, NAT64 and 6to4 forms still reach a public IPv4 host; the
        # IPv4-compatible form is deprecated and has no business in a webhook URL.
        if kind is None and ip in IPV4_COMPATIBLE:
            return "reserved"
        return kind
    kind = next((kind for net, kind in IPV6_RANGES if ip in net), None)
    if kind is None and ip not in GLOBAL_UNICAST:
        return "reserved"
    return kind


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that the OS or a gateway would really reach through `ip`, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL webhooks may call, else UrlRefused.

    Parsed by httpx itself, so the host checked here is the host httpx will connect to.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise UrlRefused("the URL contains whitespace or control characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UrlRefused(f"the URL is not valid: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise UrlRefused("only http and https URLs are allowed")
    if parsed.userinfo:
        # Credentials in the URL would be stored and shown like any other part of it.
        raise UrlRefused("the URL may not contain a user name or password")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UrlRefused("the URL has no host")
    port = parsed.port
    if port is None:
        port = 443 if parsed.scheme == "https" else 80
    if not 1 <= port <= 65535:
        raise UrlRefused(f"port {port} is not valid")
    if not URL.fullmatch(url):
        raise UrlRefused(
            "the URL must be http(s)://host[:port][/path] with the path in ASCII (other characters "
            "percent-encoded) and a host name in ASCII, Latin-1 or Cyrillic letters (others in "
            "their xn-- form)"
        )
    return parsed.scheme, host, port


async def check_url(url: str, *, allow_private: bool, resolver: Resolver = system_resolve) -> None:
    """Refuse (UrlRefused) a URL webhooks may not call, as it resolves now."""
    _, host, port = parse_url(url)
    if allow_private:
        return
    try:
        addresses = await resolver(host, port)
    except OSError:
        raise UrlRefused(f"{host} could not be resolved") from None
    reason = refusal(host, addresses)
    if reason is not None:
        raise UrlRefused(reason)


def refusal(host: str, addresses: list[str]) -> str | None:
    """Why `host` may not be called at these addresses; every one of them must be public."""
    if not addresses:
        return f"{host} resolves to no address"
    for address in addresses:
        kind = forbidden_reason(address)
        if kind is not None:
            where = address if address == host else f"{host} resolves to {address}"
            return f"{where}: {kind} addresses may not be called"
    return None
