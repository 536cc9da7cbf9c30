"""The Redis client and every Redis key the service uses."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    return Redis.from_url(url, decode_responses=False)


def rate_limit_key(account_id: str, endpoint: str, window: int) -> str:
    """Fixed one-second window counter of one account on one endpoint."""
    return f"simrelay:rl:{account_id}:{endpoint}:{window}"


def guess_key(key: str) -> str:
    """Failed guesses under one key (accounts/guessing.py): a hash {n, t}."""
    return f"simrelay:guess:{key}"
