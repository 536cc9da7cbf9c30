"""source_addr → device mappings (`simrelay smpp sender`) seen through a real server: a mapped
source_addr goes out through its device and SIM, any other through any device; refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.gateway import gateway_env
from tests.integration.server import cli, cli_json, run_cli
from tests.integration.smpp.smsc import SYSTEM_ID, next_deliver_sm, open_smsc, submit

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


async def test_a_mapped_source_addr_goes_through_its_device_and_sim(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with open_smsc(env, tmp_path) as smsc:
        gateway = smsc.gateway
        first = await gateway.phone(sims=2)
        second = await gateway.phone(sims=2)
        sender = ("smpp", "sender")
        cli(
            env,
            *sender,
            "add",
            gateway.email,
            SYSTEM_ID,
            "Alerts",
            "--device",
            second.device_id,
            "--sim",
            "1",
        )
        assert cli_json(env, *sender, "list", gateway.email, SYSTEM_ID, "--json") == [
            {"source_addr": "Alerts", "device_id": second.device_id, "sim": 1}
        ]

        def send() -> tuple[list[str], list[str]]:
            with smsc.bound("transmitter") as client:
                mapped = [submit(client, f"alert {n}", source_addr="Alerts") for n in range(6)]
                free = [submit(client, f"shop {n}", source_addr="Shop") for n in range(6)]
            return mapped, free

        mapped, free = await asyncio.to_thread(send)
        for sms_id in mapped:
            sms = await gateway.wait_status(sms_id, 4)
            assert sms["device_id"] == second.device_id
            assert [c["sim"] for c in await gateway.history(sms_id) if c["status"] == 2] == [1]
        devices = {(await gateway.wait_status(sms_id, 4))["device_id"] for sms_id in free}
        assert devices <= {first.device_id, second.device_id}

        # An SMS the mapped device receives is addressed to the source_addr mapped to it, so a
        # reply from that source_addr goes back out through the same device and SIM.
        await second.receive_sms("+79161234567", "reply to alerts")
        await first.receive_sms("+79161234567", "to the other phone")

        def received() -> dict[str, str]:
            with smsc.bound("receiver") as client:
                pdus = [next_deliver_sm(client) for _ in range(2)]
            return {pdu.short_message.decode(): pdu.destination_addr.decode() for pdu in pdus}

        to = await asyncio.to_thread(received)
        assert to["reply to alerts"] == "Alerts"
        assert to["to the other phone"] not in ("", "Alerts")  # the device's name: never empty

        # Unmapped again: a new session sends "Alerts" through any device.
        cli(env, *sender, "delete", gateway.email, SYSTEM_ID, "Alerts")
        assert cli_json(env, *sender, "list", gateway.email, SYSTEM_ID, "--json") == []


async def test_mappings_refused(env: dict[str, str], tmp_path: Path) -> None:
    async with open_smsc(env, tmp_path) as smsc:
        gateway = smsc.gateway
        phone = await gateway.phone()
        other = "other@example.com"
        cli(env, "account", "create", other)
        cli(env, "smpp", "user", "create", other, "--system-id", "theirs", "--password", "pw")

        def refused(*args: str) -> str:
            done = run_cli(env, "smpp", "sender", *args, check=False)
            assert done.returncode != 0, done.stdout
            return done.stderr + done.stdout

        assert "no device" in refused("add", other, "theirs", "Alerts", "--device", phone.device_id)
        assert "no SMPP user" in refused(
            "add", gateway.email, "nobody", "Alerts", "--device", phone.device_id
        )
        assert "source_addr" in refused(
            "add", gateway.email, SYSTEM_ID, "A" * 21, "--device", phone.device_id
        )
        assert "to_sim" in refused(
            "add", gateway.email, SYSTEM_ID, "Alerts", "--device", phone.device_id, "--sim", "-3"
        )
        assert "no mapping" in refused("delete", gateway.email, SYSTEM_ID, "Alerts")
        assert cli_json(env, "smpp", "sender", "list", gateway.email, SYSTEM_ID, "--json") == []
