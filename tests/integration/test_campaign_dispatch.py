"""Campaigns against a real server process and a simulated phone: a paused campaign's SMS reach
the phone only once it resumes; a cancelled one's never do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.gateway import Gateway, gateway_env, running_gateway

pytestmark = pytest.mark.integration

WAITING, SEND_FAILED, DELIVERED = 0, 3, 4


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


@pytest.fixture
async def gateway(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(env, tmp_path) as gw:
        yield gw


async def start_campaign(gateway: Gateway, count: int) -> tuple[str, list[str]]:
    recipients = [{"phone_number": f"7999000000{i}", "vars": {"i": str(i)}} for i in range(count)]
    answer = await gateway.http.post(
        "/v1/sms/bulk", headers=gateway.headers, json={"message": "Hi {i}", "recipients": recipients}
    )
    assert answer.status_code == 200, answer.text
    listed = await gateway.http.get("/v1/sms", headers=gateway.headers, params={"limit": 100})
    return answer.json()["campaign_id"], [item["id"] for item in listed.json()["sms_list"]]


async def change(gateway: Gateway, what: str, campaign_id: str) -> None:
    answer = await gateway.http.post(
        f"/v1/campaigns/{what}", headers=gateway.headers, json={"campaign_id": campaign_id}
    )
    assert answer.status_code == 204, answer.text


async def test_a_paused_campaign_reaches_the_phone_only_after_it_resumes(gateway: Gateway) -> None:
    phone = await gateway.phone(start=False)  # paired: the account has a device, not yet connected
    campaign_id, ids = await start_campaign(gateway, 3)
    await change(gateway, "pause", campaign_id)
    phone.start()
    await gateway.ledger.wait_for(lambda: phone.connected, timeout=10)
    await asyncio.sleep(2.0)  # two dispatch ticks: every chance to offer them
    assert not any(gateway.ledger.received_offers[message_id] for message_id in ids)
    assert [(await gateway.get(message_id))["status"] for message_id in ids] == [WAITING] * 3
    await change(gateway, "resume", campaign_id)
    for message_id in ids:
        await gateway.wait_status(message_id, DELIVERED)
    assert dict(gateway.ledger.sent) == dict.fromkeys(ids, 1)
    got = await gateway.http.post(
        "/v1/campaigns/get", headers=gateway.headers, json={"campaign_id": campaign_id}
    )
    assert (got.json()["state"], got.json()["counts"]["4"]) == ("done", 3)


async def test_a_cancelled_campaign_never_reaches_the_phone(gateway: Gateway) -> None:
    phone = await gateway.phone(start=False)
    campaign_id, ids = await start_campaign(gateway, 2)
    await change(gateway, "cancel", campaign_id)
    phone.start()
    await gateway.ledger.wait_for(lambda: phone.connected, timeout=10)
    await asyncio.sleep(2.0)
    assert not any(gateway.ledger.received_offers[message_id] for message_id in ids)
    for message_id in ids:
        assert await gateway.statuses(message_id) == [WAITING, SEND_FAILED]
        assert (await gateway.history(message_id))[-1]["reason"] == "cancelled"
