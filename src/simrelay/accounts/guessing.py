"""Throttling of guesses: every check of a secret someone types (pairing codes, passwords)
counts failures per key, such as the client address and the value or account tried, and past a
few makes the next try wait, doubling each time.

Keys are chosen so that no stranger can lock a user out: failures count per client address,
per identity from that address, and per identity from anywhere ("wide" keys), whose waits stay
short (a few seconds: they slow a guesser with many addresses, never the account's owner for
long). In-process by default; with Redis every server node counts the same failures. A success
clears the keys it names.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from simrelay.storage.redis import guess_key


@dataclass(frozen=True, slots=True)
class GuessPolicy:
    free: int = 5
    """Failures per key before any wait."""
    first_wait: float = 2.0
    """Seconds after the first failure past the free ones; each further failure doubles it."""
    longest_wait: float = 600.0
    forget_after: float = 900.0
    """A key with no failure for this long starts over."""

    def wait(self, failures: int, last: float, now: float) -> float:
        """Seconds until the next try is allowed (0: now)."""
        if failures < self.free or now - last > self.forget_after:
            return 0.0
        wait = min(self.longest_wait, self.first_wait * 2.0 ** (failures - self.free))
        return max(0.0, last + wait - now)


WIDE = "wide:"
"""Prefix of keys counted from every address: they get WIDE_POLICY."""
WIDE_POLICY = GuessPolicy(free=20, first_wait=1.0, longest_wait=5.0)


TOKEN = "token:"
"""Prefix of the keys of API token checks: they get TOKEN_POLICY. Tokens are signed, so a
wrong one is noise or a forgotten key, not a guess that could succeed: more free tries and
short waits."""
TOKEN_POLICY = GuessPolicy(free=20, first_wait=1.0, longest_wait=60.0)


def policy_for(key: str, policy: GuessPolicy) -> GuessPolicy:
    if key.startswith(WIDE):
        return WIDE_POLICY
    return TOKEN_POLICY if key.startswith(TOKEN) else policy


class Guesses(Protocol):
    async def wait(self, keys: Sequence[str]) -> int:
        """Whole seconds the caller must wait before trying with these keys (0: go ahead)."""

    async def failed(self, keys: Sequence[str]) -> None: ...

    async def succeeded(self, keys: Sequence[str]) -> None: ...


class LocalGuesses:
    def __init__(self, policy: GuessPolicy | None = None) -> None:
        self.policy = policy or GuessPolicy()
        self._failures: dict[str, tuple[int, float]] = {}

    async def wait(self, keys: Sequence[str]) -> int:
        now = time.time()
        waits = [policy_for(key, self.policy).wait(*self._failures.get(key, (0, 0.0)), now) for key in keys]
        return math.ceil(max(waits, default=0.0))

    async def failed(self, keys: Sequence[str]) -> None:
        now = time.time()
        if len(self._failures) > 100_000:
            self._failures = {
                k: v for k, v in self._failures.items() if now - v[1] <= self.policy.forget_after
            }
        for key in keys:
            count, last = self._failures.get(key, (0, 0.0))
            if now - last > self.policy.forget_after:
                count = 0
            self._failures[key] = (count + 1, now)

    async def succeeded(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


class RedisGuesses:
    """Each key is a hash {n: failures, t: last failure} that expires when it is forgotten."""

    def __init__(self, redis: Redis, policy: GuessPolicy | None = None) -> None:
        self.policy = policy or GuessPolicy()
        self._redis = redis

    async def wait(self, keys: Sequence[str]) -> int:
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(guess_key(key), "n", "t")
            rows = await pipe.execute()
        waits = [
            policy_for(key, self.policy).wait(int(count), float(last), now)
            for key, (count, last) in zip(keys, rows, strict=True)
            if count is not None and last is not None
        ]
        return math.ceil(max(waits, default=0.0))

    async def failed(self, keys: Sequence[str]) -> None:
        now = time.time()
        ttl = math.ceil(self.policy.forget_after)
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.hincrby(guess_key(key), "n", 1)
                pipe.hset(guess_key(key), "t", repr(now))
                pipe.expire(guess_key(key), ttl)
            await pipe.execute()

    async def succeeded(self, keys: Sequence[str]) -> None:
        if keys:
            await self._redis.delete(*(guess_key(key) for key in keys))


class TooManyGuesses(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


async def check(guesses: Guesses, keys: Sequence[str]) -> None:
    """Raises TooManyGuesses if a try with these keys must wait."""
    wait = await guesses.wait(keys)
    if wait > 0:
        raise TooManyGuesses(wait)


def address_key(scope: str, host: str) -> str:
    """The key of a client address: an IPv6 client is counted by its /64, which one host
    usually has to itself (trying from each of its addresses would not help)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"{scope}:addr:{host[:64]}"
    if address.version == 6:
        return f"{scope}:addr:{ipaddress.ip_network(f'{address}/64', strict=False).network_address}/64"
    return f"{scope}:addr:{address}"


def token_keys(host: str) -> list[str]:
    """The keys of an API token check from `host`: its address only (a wrong token names no
    account to count against)."""
    return [address_key(TOKEN.rstrip(":"), host)]


def credential_keys(scope: str, identity: str, host: str) -> list[str]:
    """The keys of a password check of `identity` from `host`: the address, the identity from
    that address, and the identity from anywhere (see WIDE)."""
    address = address_key(scope, host)
    return [address, f"{scope}:id:{identity}@{address}", f"{WIDE}{scope}:id:{identity}"]
