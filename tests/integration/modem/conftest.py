"""A fake modem of each family on a pty, and the driver opened on its slave path like a real port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from simrelay.modem.at import AtChannel
from simrelay.modem.commands import Modem
from simrelay.modem.port import open_channel
from simrelay.modem.readings import Timeouts
from tests.fakes.modem import FakeModem
from tests.fakes.quirks import HUAWEI_E3372, PROFILES, QUECTEL_EC25, SIM800, Profile

# Small enough that a hung modem fails a test fast, large enough for two shared CPU cores.
FAST = Timeouts(command=0.5, send=1.0, ussd=0.5, read=1.0)

pytestmark = pytest.mark.integration


@pytest.fixture(params=PROFILES, ids=[profile.family for profile in PROFILES])
def profile(request: pytest.FixtureRequest) -> Profile:
    return request.param


@pytest.fixture
async def fake(profile: Profile) -> AsyncIterator[FakeModem]:
    async with FakeModem(profile) as modem:
        yield modem


@contextlib.contextmanager
def plugged_in(*modems: FakeModem) -> Iterator[list[FakeModem]]:
    """Fakes answering on their ptys for the block, unplugged after it (also when it fails)."""
    for modem in modems:
        modem.start()
    try:
        yield list(modems)
    finally:
        for modem in modems:
            modem.vanish()


@pytest.fixture
async def channel(fake: FakeModem) -> AsyncIterator[AtChannel]:
    at = await open_channel(fake.path, timeout=FAST.command)
    try:
        yield at
    finally:
        await at.close()


@pytest.fixture
def modem(channel: AtChannel) -> Modem:
    return Modem(channel, timeouts=FAST)


__all__ = ["FAST", "HUAWEI_E3372", "QUECTEL_EC25", "SIM800"]
