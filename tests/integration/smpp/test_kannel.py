"""Kannel (bearerbox + smsbox, an SMPP client no one here wrote) bound to a real `simrelay serve`
as its SMSC: messages submitted through Kannel's sendsms interface are stored under the account
of Kannel's SMPP user and sent by its phone, short, long (Kannel splits them into UDH parts) and
Cyrillic (UCS-2); its dlr-url hears of simrelay's acceptance and refusal. On SQLite and PostgreSQL:
one simrelay, one Kannel per database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.gateway import gateway_env
from tests.integration.smpp.kannel import Kannel, require_kannel, start_kannel
from tests.integration.smpp.peers import FAILING_ID, Callbacks, Simrelay

# One Kannel for the module: under xdist its tests run on one worker (make test: --dist loadgroup).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.xdist_group("kannel"),
]


@pytest.fixture(scope="module")
def kannel_installed() -> None:
    require_kannel()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def env(
    request: pytest.FixtureRequest, kannel_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return gateway_env(tmp_path_factory.mktemp("data"), request.param)


@pytest.fixture(scope="module")
def kannel(
    simrelay: Simrelay, callbacks: Callbacks, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kannel]:
    kannel, processes = start_kannel(
        tmp_path_factory.mktemp("kannel"), smpp_port=simrelay.smpp_port, mo_url=callbacks.url("/mo")
    )
    try:
        yield kannel
    finally:
        processes.stop()


async def test_short_message_through_kannel_is_sent_by_the_phone(kannel: Kannel, simrelay: Simrelay) -> None:
    assert kannel.sendsms("+79990002201", "Hello from Kannel") == (202, "0: Accepted for delivery")
    sms = await simrelay.delivered("79990002201")
    assert sms["message"] == "Hello from Kannel"


async def test_long_message_through_kannel_is_one_sms(kannel: Kannel, simrelay: Simrelay) -> None:
    text = "Kannel splits this text into parts with a UDH, simrelay joins them again. " * 5
    assert len(text) > 300
    assert kannel.sendsms("+79990002202", text) == (202, "0: Accepted for delivery")
    sms = await simrelay.delivered("79990002202")
    assert sms["message"] == text


async def test_cyrillic_message_through_kannel_as_ucs2(kannel: Kannel, simrelay: Simrelay) -> None:
    short, long = "Привет из Kannel!", "Длинное сообщение по-русски, в нескольких частях. " * 4
    for number, text in (("+79990002203", short), ("+79990002204", long)):
        # coding=2 is UCS-2 (data_coding 8); charset says what the text parameter is in.
        assert kannel.sendsms(number, text, coding="2", charset="UTF-8") == (202, "0: Accepted for delivery")
    assert (await simrelay.delivered("79990002203"))["message"] == short
    assert (await simrelay.delivered("79990002204"))["message"] == long


async def test_kannel_reports_simrelays_answers_to_its_dlr_url(
    kannel: Kannel, simrelay: Simrelay, callbacks: Callbacks
) -> None:
    # dlr-mask 8 + 16: the SMSC's acceptance and refusal of the submit_sm (Kannel's own reports,
    # made from submit_sm_resp; %F is the message_id the SMSC answered, %A its answer).
    dlr = callbacks.url("/dlr") + "?type=%d&id=%F&to=%p&answer=%A&tag="
    for number, tag in (("+79990002205", "good"), ("12", "bad")):
        answer = kannel.sendsms(number, "Report this", **{"dlr-mask": "24", "dlr-url": dlr + tag})
        assert answer == (202, "0: Accepted for delivery")
    [accepted] = await callbacks.wait_for(lambda c: c.get("tag") == "good")
    [refused] = await callbacks.wait_for(lambda c: c.get("tag") == "bad")
    sms = await simrelay.delivered("79990002205")
    assert (accepted["type"], accepted["id"]) == ("8", sms["id"]), accepted
    assert accepted["answer"] == "ACK/"
    # ESME_RINVDSTADR: simrelay's refusal of a destination that is no phone number
    assert (refused["type"], refused["answer"]) == ("16", "NACK/0x0000000b/Invalid Destination Address")


async def test_kannel_routes_by_smsc_id_to_the_failing_account(kannel: Kannel, simrelay: Simrelay) -> None:
    answer = kannel.sendsms("+79990002206", "Nobody will get this", smsc=FAILING_ID)
    assert answer == (202, "0: Accepted for delivery")
    sms = await simrelay.send_failed("79990002206")
    assert sms["message"] == "Nobody will get this"
    assert "79990002206" not in [sms["phone_number"] for sms in (await simrelay.listed()).values()]


async def test_kannel_hears_delivery_receipts_with_the_right_stat(
    kannel: Kannel, simrelay: Simrelay, callbacks: Callbacks
) -> None:
    # dlr-mask 1 + 2: the final receipt, delivered or not (Kannel asks with registered_delivery 1
    # and reads the receipt's text; %d is 1 for DELIVRD, 2 for UNDELIV).
    dlr = callbacks.url("/dlr") + "?type=%d&id=%F&answer=%A&tag="
    receipts = {"dlr-mask": "3"}
    assert kannel.sendsms("+79990002207", "Receipt please", **receipts, **{"dlr-url": dlr + "delivered"}) == (
        202,
        "0: Accepted for delivery",
    )
    assert kannel.sendsms(
        "+79990002208", "Receipt please", smsc=FAILING_ID, **receipts, **{"dlr-url": dlr + "undelivered"}
    ) == (202, "0: Accepted for delivery")
    delivered = await simrelay.delivered("79990002207")
    failed = await simrelay.send_failed("79990002208")

    [good] = await callbacks.wait_for(lambda c: c.get("tag") == "delivered")
    [bad] = await callbacks.wait_for(lambda c: c.get("tag") == "undelivered")
    assert (good["type"], good["id"]) == ("1", delivered["id"]), good
    assert f"id:{delivered['id']} " in good["answer"] and " stat:DELIVRD " in good["answer"], good
    assert (bad["type"], bad["id"]) == ("2", failed["id"]), bad
    assert f"id:{failed['id']} " in bad["answer"] and " stat:UNDELIV " in bad["answer"], bad


# Kannel discards a deliver_sm whose destination_addr is empty (gw/smsc/smsc_smpp.c, pdu_to_msg:
# "Malformed destination_addr `(null)', may not be empty"): simrelay's MO always names one.
async def test_sms_received_by_the_phone_reaches_kannels_sms_service(
    kannel: Kannel, simrelay: Simrelay, callbacks: Callbacks
) -> None:
    await simrelay.phone.receive_sms("+79161230001", "Hello Kannel, from a phone")
    await simrelay.phone.receive_sms("+79161230002", "Привет, Kannel! Это входящее SMS.")
    [latin] = await callbacks.wait_for(lambda c: c["path"] == "/mo" and c["from"].endswith("79161230001"))
    [cyrillic] = await callbacks.wait_for(lambda c: c["path"] == "/mo" and c["from"].endswith("79161230002"))
    assert latin["from"].lstrip("+") == "79161230001", latin
    assert (latin["text"], latin["smsc"]) == ("Hello Kannel, from a phone", "simrelay"), latin
    # The UCS-2 deliver_sm reaches the get-url as text, recoded by Kannel (%c then reads 0).
    assert cyrillic["text"] == "Привет, Kannel! Это входящее SMS.", cyrillic
    assert latin["to"] and cyrillic["to"], (latin, cyrillic)  # Kannel drops an MO without one
