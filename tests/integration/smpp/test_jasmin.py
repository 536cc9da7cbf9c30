"""Jasmin (jasmind with its HTTP API, an SMPP client no one here wrote) bound to a real `simrelay
serve` as its SMSC through an SMPP client connector: messages sent with Jasmin's `POST /send` are
stored under the account of the connector's SMPP user and sent by its phone, short, long (split
by SAR TLVs) and Cyrillic (UCS-2); its dlr-url hears of simrelay's acceptance and refusal. On
SQLite and PostgreSQL: one simrelay, one Jasmin per database."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.gateway import gateway_env
from tests.integration.smpp.jasmin import (
    FAILING_PREFIX,
    Jasmin,
    close_vhost,
    open_vhost,
    require_jasmin,
    start_jasmin,
)
from tests.integration.smpp.peers import Callbacks, Simrelay

# One Jasmin for the module: under xdist its tests run on one worker (make test: --dist loadgroup).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.xdist_group("jasmin"),
]

SUCCESS = r'Success "([0-9a-f-]{36})"'


@pytest.fixture(scope="module")
def amqp_spec() -> str:
    return str(require_jasmin())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def env(
    request: pytest.FixtureRequest, amqp_spec: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return gateway_env(tmp_path_factory.mktemp("data"), request.param)


@pytest.fixture(scope="module")
def jasmin(
    simrelay: Simrelay, callbacks: Callbacks, amqp_spec: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Jasmin]:
    vhost = open_vhost(f"simrelay-peers-{os.getpid()}")
    try:
        jasmin, processes = start_jasmin(
            tmp_path_factory.mktemp("jasmin"),
            smpp_port=simrelay.smpp_port,
            spec=Path(amqp_spec),
            vhost=vhost,
            mo_url=callbacks.url("/mo"),
        )
        try:
            yield jasmin
        finally:
            processes.stop(grace=20)
    finally:
        close_vhost(vhost)


def accepted(answer: tuple[int, str]) -> str:
    """Jasmin's id of the message it accepted."""
    status, body = answer
    found = re.fullmatch(SUCCESS, body.strip())
    assert status == 200 and found, answer
    return found[1]


async def test_short_message_through_jasmin_is_sent_by_the_phone(jasmin: Jasmin, simrelay: Simrelay) -> None:
    accepted(jasmin.send("79990003301", "Hello from Jasmin"))
    sms = await simrelay.delivered("79990003301")
    assert sms["message"] == "Hello from Jasmin"


async def test_long_message_through_jasmin_is_one_sms(jasmin: Jasmin, simrelay: Simrelay) -> None:
    text = "Jasmin splits this text into parts with SAR TLVs, simrelay joins them again. " * 5
    assert len(text) > 300
    accepted(jasmin.send("79990003302", text))
    assert (await simrelay.delivered("79990003302"))["message"] == text


async def test_cyrillic_message_through_jasmin_as_ucs2(jasmin: Jasmin, simrelay: Simrelay) -> None:
    short, long = "Привет из Jasmin!", "Длинное сообщение по-русски, в нескольких частях. " * 4
    for number, text in (("79990003303", short), ("79990003304", long)):
        # coding 8 is UCS-2; Jasmin sends hex-content's octets as they are.
        accepted(jasmin.send(number, None, coding="8", **{"hex-content": text.encode("utf-16-be").hex()}))
    assert (await simrelay.delivered("79990003303"))["message"] == short
    assert (await simrelay.delivered("79990003304"))["message"] == long


async def test_jasmin_reports_simrelays_answers_to_its_dlr_url(
    jasmin: Jasmin, simrelay: Simrelay, callbacks: Callbacks
) -> None:
    # dlr-level 1: Jasmin's report of the SMSC's submit_sm_resp, by its own message id.
    dlr = {"dlr": "yes", "dlr-level": "1", "dlr-method": "POST", "dlr-url": callbacks.url("/dlr")}
    good = accepted(jasmin.send("79990003305", "Report this", **dlr))
    bad = accepted(jasmin.send("12", "Report this", **dlr))
    [ack] = await callbacks.wait_for(lambda c: c.get("id") == good)
    [nack] = await callbacks.wait_for(lambda c: c.get("id") == bad)
    assert (ack["level"], ack["message_status"], ack["connector"]) == ("1", "ESME_ROK", "simrelay"), ack
    # ESME_RINVDSTADR: simrelay's refusal of a destination that is no phone number
    assert nack["message_status"] == "ESME_RINVDSTADR", nack
    await simrelay.delivered("79990003305")


async def test_jasmin_routes_by_destination_to_the_failing_account(
    jasmin: Jasmin, simrelay: Simrelay
) -> None:
    number = FAILING_PREFIX + "1"
    accepted(jasmin.send(number, "Nobody will get this"))
    sms = await simrelay.send_failed(number)
    assert sms["message"] == "Nobody will get this"
    assert number not in [sms["phone_number"] for sms in (await simrelay.listed()).values()]


async def test_jasmin_hears_delivery_receipts_with_the_right_stat(
    jasmin: Jasmin, simrelay: Simrelay, callbacks: Callbacks
) -> None:
    # dlr-level 2: the final receipt only (registered_delivery 1), by Jasmin's own message id.
    dlr = {"dlr": "yes", "dlr-level": "2", "dlr-method": "POST", "dlr-url": callbacks.url("/dlr")}
    good = accepted(jasmin.send("79990003306", "Receipt please", **dlr))
    bad = accepted(jasmin.send(FAILING_PREFIX + "2", "Receipt please", **dlr))
    delivered = await simrelay.delivered("79990003306")
    failed = await simrelay.send_failed(FAILING_PREFIX + "2")

    [receipt] = await callbacks.wait_for(lambda c: c.get("id") == good)
    [refusal] = await callbacks.wait_for(lambda c: c.get("id") == bad)
    # Jasmin upper-cases the SMSC's message ids (managers/content.py, `.upper().lstrip('0')`).
    assert (receipt["level"], receipt["message_status"]) == ("2", "DELIVRD"), receipt
    assert receipt["id_smsc"] == delivered["id"].upper(), receipt
    assert (receipt["sub"], receipt["dlvrd"], receipt["err"]) == ("001", "001", "000"), receipt
    assert (refusal["level"], refusal["message_status"]) == ("2", "UNDELIV"), refusal
    assert refusal["id_smsc"] == failed["id"].upper(), refusal
    assert (refusal["dlvrd"], refusal["err"]) == ("000", "001"), refusal


async def test_sms_received_by_the_phone_reaches_jasmins_http_connector(
    jasmin: Jasmin, simrelay: Simrelay, callbacks: Callbacks
) -> None:
    await simrelay.phone.receive_sms("+79161230003", "Hello Jasmin, from a phone")
    await simrelay.phone.receive_sms("+79161230004", "Привет, Jasmin! Это входящее SMS.")
    [latin] = await callbacks.wait_for(lambda c: c["path"] == "/mo" and c["from"].endswith("79161230003"))
    [cyrillic] = await callbacks.wait_for(lambda c: c["path"] == "/mo" and c["from"].endswith("79161230004"))
    assert (latin["from"], latin["content"], latin["origin-connector"]) == (
        "79161230003",
        "Hello Jasmin, from a phone",
        "simrelay",
    ), latin
    # Jasmin posts data_coding as the octet itself (routing/throwers.py, DataCodingEncoder).
    assert cyrillic["coding"] == "\x08", cyrillic
    # ... and content as the octets of short_message, undecoded: `binary` has them in hex.
    assert bytes.fromhex(cyrillic["binary"]).decode("utf-16-be") == "Привет, Jasmin! Это входящее SMS."
