"""In-process rate limiter: a budget per account and endpoint per one-second window."""

import time

from simrelay.api.ratelimit import LocalRateLimiter


async def test_budget_is_per_account_and_endpoint(monkeypatch) -> None:
    now = [1000.2]
    monkeypatch.setattr(time, "time", lambda: now[0])
    limiter = LocalRateLimiter(2)
    decisions = [await limiter.hit("a", "send") for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert [d.remaining for d in decisions] == [1, 0, 0]
    assert (await limiter.hit("a", "get")).allowed
    assert (await limiter.hit("b", "send")).allowed
    assert decisions[2].reset == 1


async def test_budget_refills_in_the_next_window(monkeypatch) -> None:
    now = [1000.9]
    monkeypatch.setattr(time, "time", lambda: now[0])
    limiter = LocalRateLimiter(1)
    assert (await limiter.hit("a", "send")).allowed
    assert not (await limiter.hit("a", "send")).allowed
    now[0] = 1001.0
    assert (await limiter.hit("a", "send")).allowed


def test_headers_follow_the_ietf_draft() -> None:
    from simrelay.api.ratelimit import Decision

    headers = Decision(True, 10, 7, 1).headers("sms-send")
    assert headers == {"RateLimit-Policy": '"sms-send";q=10;w=1', "RateLimit": '"sms-send";r=7;t=1'}
