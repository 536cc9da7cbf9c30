"""Throttling of guessed secrets (accounts/guessing.py)."""

from __future__ import annotations

import pytest

from simrelay.accounts import guessing
from simrelay.accounts.guessing import GuessPolicy, LocalGuesses, TooManyGuesses, address_key


def test_waits_start_after_the_free_failures_and_double() -> None:
    policy = GuessPolicy(free=5, first_wait=2.0, longest_wait=600.0, forget_after=900.0)
    assert [policy.wait(n, 100.0, 100.0) for n in range(4, 9)] == [0.0, 2.0, 4.0, 8.0, 16.0]
    assert policy.wait(30, 100.0, 100.0) == 600.0
    assert policy.wait(6, 100.0, 103.0) == 1.0  # part of the wait has passed
    assert policy.wait(20, 100.0, 1001.0) == 0.0  # forgotten


async def test_a_key_waits_after_its_failures_and_a_success_clears_it() -> None:
    guesses = LocalGuesses(GuessPolicy(free=2, first_wait=60.0))
    keys = ["pair:addr:127.0.0.2", "pair:code:x"]
    for _ in range(2):
        await guessing.check(guesses, keys)
        await guesses.failed(keys)
    with pytest.raises(TooManyGuesses) as refused:
        await guessing.check(guesses, keys)
    assert 59 <= refused.value.retry_after <= 60
    await guessing.check(guesses, ["pair:addr:127.0.0.1"])  # another address is not held up
    await guesses.succeeded(keys)
    await guessing.check(guesses, keys)


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    assert address_key("pair", "2001:db8:1:2:aaaa::1") == address_key("pair", "2001:db8:1:2:bbbb::9")
    assert address_key("pair", "2001:db8:1:3::1") != address_key("pair", "2001:db8:1:2::1")
    assert address_key("pair", "127.0.0.2") == "pair:addr:127.0.0.2"


async def test_a_stranger_cannot_lock_the_owner_out_from_elsewhere() -> None:
    """Failures from one address stop that address; failures from many slow every address
    for that account by a few seconds at most (WIDE_POLICY), never more."""
    guesses = LocalGuesses(GuessPolicy(free=5, first_wait=60.0))
    stranger = guessing.credential_keys("login", "owner@example.com", "127.0.0.2")
    for _ in range(5):
        await guesses.failed(stranger)
    with pytest.raises(TooManyGuesses):
        await guessing.check(guesses, stranger)
    owner = guessing.credential_keys("login", "owner@example.com", "127.0.0.1")
    await guessing.check(guesses, owner)  # the owner, elsewhere, is not held up
    for host in range(3, 40):  # many addresses, 1 failure each: the wide key counts them all
        await guesses.failed(guessing.credential_keys("login", "owner@example.com", f"127.0.0.{host}"))
    with pytest.raises(TooManyGuesses) as slowed:
        await guessing.check(guesses, owner)
    assert slowed.value.retry_after <= guessing.WIDE_POLICY.longest_wait
    other = guessing.credential_keys("login", "other@example.com", "127.0.0.1")
    await guessing.check(guesses, other)  # another account is not concerned
