"""What the Android app's tests share: a server with the mobile API on both databases, the
account's pairing code, and emulated apps of any released version (tests/integration/smsgate/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.android.helpers import EMAIL, PRIVATE_TOKEN
from tests.integration.gateway import gateway_env
from tests.integration.rig import Rig, open_rig
from tests.integration.server import free_port
from tests.integration.smsgate import SmsGateApp


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    port = free_port()
    return gateway_env(
        tmp_path,
        request.param,
        public_url=f"http://127.0.0.1:{port}",
        mobile_private_token=PRIVATE_TOKEN,
        mobile_account=EMAIL,
        mobile_ping_seconds="1",
        webhook_allow_private="1",
        webhook_tick_seconds="0.1",
    )


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    port = int(env["SIMRELAY_PUBLIC_URL"].rpartition(":")[2])
    async with open_rig(env, tmp_path, email=EMAIL, port=port) as rig:
        yield rig


@pytest.fixture
async def apps(gateway: Rig) -> AsyncIterator[list[SmsGateApp]]:
    started: list[SmsGateApp] = []
    yield started
    for app in started:
        await app.close()
