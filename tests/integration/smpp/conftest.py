"""What the Kannel and Jasmin modules share: simrelay for the module's database (each module
gives `env`) and a receiver of the peer's HTTP callbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.integration.smpp.peers import Callbacks, Simrelay, open_simrelay


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def simrelay(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Simrelay]:
    async with open_simrelay(env, tmp_path_factory.mktemp("simrelay")) as simrelay:
        yield simrelay


@pytest.fixture(scope="module")
def callbacks(simrelay: Simrelay) -> Iterator[Callbacks]:
    """A receiver per simrelay (per database), so that no test sees the other run's callbacks."""
    callbacks = Callbacks()
    try:
        yield callbacks
    finally:
        callbacks.close()
