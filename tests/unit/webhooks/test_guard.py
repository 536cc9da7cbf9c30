"""SSRF guard: which webhook URLs and addresses are refused (the check at connect time is in
test_client.py). Names resolve through a dict: no test resolves or connects to anything."""

from __future__ import annotations

import pytest

from simrelay.webhooks.guard import (
    UrlRefused,
    check_url,
    forbidden_reason,
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
