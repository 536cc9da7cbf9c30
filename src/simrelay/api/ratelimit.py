"""Per-account, per-endpoint request budgets: fixed one-second windows.

In-process by default; with Redis every server node counts against the same budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from simrelay.storage.redis import rate_limit_key

WINDOW = 1


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Whole seconds until the window resets (what Retry-After says)."""

    def headers(self, endpoint: str) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{endpoint}";q={self.limit};w={WINDOW}',
            "RateLimit": f'"{endpoint}";r={self.remaining};t={self.reset}',
        }


class RateLimiter(Protocol):
    async def hit(self, account_id: str, endpoint: str) -> Decision: ...


def _decision(limit: int, count: int, now: float) -> Decision:
    reset = max(1, math.ceil((math.floor(now) + WINDOW) - now))
    return Decision(count <= limit, limit, max(0, limit - count), reset)


class LocalRateLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}

    async def hit(self, account_id: str, endpoint: str) -> Decision:
        now = time.time()
        window = int(now)
        key = (account_id, endpoint)
        start, count = self._windows.get(key, (window, 0))
        if start != window:
            start, count = window, 0
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        count += 1
        self._windows[key] = (start, count)
        return _decision(self.limit, count, now)


class RedisRateLimiter:
    def __init__(self, redis: Redis, limit: int) -> None:
        self.limit = limit
        self._redis = redis

    async def hit(self, account_id: str, endpoint: str) -> Decision:
        now = time.time()
        key = rate_limit_key(account_id, endpoint, int(now))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW + 1)
            count, _ = await pipe.execute()
        return _decision(self.limit, int(count), now)
