"""Calendar budgets of a device's SIMs through the API, on both databases: a daily cap holds
offers back until it is raised, quiet hours hold them until they end, and the settings are
validated and read back (devices/budgets.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.gateway import gateway_env
from tests.integration.rig import Rig, open_rig

pytestmark = pytest.mark.integration

WAITING = 0
QUIET = 1.5
"""How long a test watches for an offer that must not come."""


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)  # asyncio.run inside: not in an async fixture


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(env, tmp_path, email="budgets@example.com") as rig:
        yield rig


def error_code(response: httpx.Response) -> int:
    code: int = response.json()["errors"]["code"]
    return code


async def test_a_daily_cap_holds_offers_back_and_raising_it_frees_them_at_once(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await gateway.edit_device(device.device_id, sim_limit_per_day=2, timezone="Asia/Vladivostok")
    await device.connect()
    burst = [await gateway.send(device_id=device.device_id) for _ in range(5)]
    offered = [(await device.next("offer", timeout=3))["id"] for _ in range(2)]
    assert set(offered) <= set(burst)
    await asyncio.sleep(QUIET)
    assert device.offers() == [], "a third offer on a day capped at two"
    assert [(await gateway.get(message_id))["status"] for message_id in burst] == [WAITING] * 5

    raised = time.monotonic()
    await gateway.edit_device(device.device_id, sim_limit_per_day=4)
    more = [(await device.next("offer", timeout=3))["id"] for _ in range(2)]
    assert time.monotonic() - raised < 3 and not set(more) & set(offered)
    await asyncio.sleep(QUIET)
    assert device.offers() == [], "a fifth offer on a day capped at four"


async def test_quiet_hours_hold_offers_until_they_are_over(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    now = datetime.now(UTC)
    # An hour either side of now, in the device's zone: now is quiet.
    start, end = (now - timedelta(hours=1)).strftime("%H:00"), (now + timedelta(hours=1)).strftime("%H:00")
    await gateway.edit_device(device.device_id, quiet_hours=f"{start}-{end}", timezone="UTC")
    await device.connect()
    message_id = await gateway.send(device_id=device.device_id)
    await asyncio.sleep(QUIET)
    assert device.offers() == [], "an offer in quiet hours"
    await gateway.edit_device(device.device_id, quiet_hours="")
    assert (await device.next("offer", timeout=3))["id"] == message_id


async def test_sim_budget_settings_are_validated_and_read_back(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)

    async def edit(**fields: Any) -> httpx.Response:
        return await gateway.call("/v1/devices/edit", {"device_id": device.device_id, **fields})

    chosen = {
        "sim_limit_per_day": 200,
        "sim_limit_per_month": 3000,
        "sim_warmup_days": 14,
        "sim_strategy": "least_used",
        "quiet_hours": "22:00-08:00",
        "timezone": "Europe/Moscow",
        "sim_new_recipients_per_day": 20,
        "sticky_days": 7,
        "pause_after_failures": 3,
        "pause_minutes": 90,
    }
    assert (await edit(**chosen)).status_code == 204
    settings = (await gateway.call("/v1/devices/settings", {"device_id": device.device_id})).json()
    assert {name: settings[name] for name in chosen} == chosen
    for bad in (
        {"sim_limit_per_day": -1},
        {"sim_limit_per_month": 1_000_001},
        {"sim_warmup_days": 366},
        {"quiet_hours": "22:00"},
        {"quiet_hours": "25:00-08:00"},
        {"quiet_hours": "08:00-08:00"},
        {"timezone": "Mars/Olympus"},
        {"sim_strategy": "stickiest"},
        {"timezone": ""},
        {"sim_new_recipients_per_day": -1},
        {"sticky_days": 0},
        {"sticky_days": 366},
        {"pause_after_failures": -2},
        {"pause_minutes": 0},
        {"pause_minutes": 10081},
    ):
        response = await edit(**bad)
        assert response.status_code == 400 and error_code(response) == 2010, (bad, response.text)
    for wrong_type in (
        {"sim_limit_per_day": "3"},
        {"quiet_hours": 22},
        {"timezone": None, "sim_warmup_days": 1.5},
    ):
        response = await edit(**wrong_type)
        assert response.status_code == 400 and error_code(response) == 1001, (wrong_type, response.text)
    after = (await gateway.call("/v1/devices/settings", {"device_id": device.device_id})).json()
    assert after == settings, "a refused edit changes nothing"


async def test_round_robin_and_least_used_spread_offers_over_the_sims(gateway: Rig) -> None:
    device = await gateway.raw(connect=False)
    await gateway.edit_device(device.device_id, sim_strategy="round_robin", to_sim=-1)
    await device.connect(sims=[{"slot": 0}, {"slot": 1}, {"slot": 2}])
    for _ in range(6):
        await gateway.send(device_id=device.device_id)
    offers = [await device.next("offer", timeout=3) for _ in range(6)]
    assert [offer["sim"] for offer in offers] == [0, 1, 2, 0, 1, 2]
    for offer in offers:  # the window frees for what comes next
        for kind in ("taken", "sent"):
            assert (await device.report({"type": kind, "id": offer["id"], "parts": 1}))["type"] == "ack"

    await gateway.edit_device(device.device_id, sim_strategy="least_used")
    # Today slot 0, 1 and 2 sent two each: least_used keeps them even.
    for _ in range(3):
        await gateway.send(device_id=device.device_id)
    assert sorted([(await device.next("offer", timeout=3))["sim"] for _ in range(3)]) == [0, 1, 2]
