"""Receipts and MO over SMPP, seen by smpplib against a real `simrelay serve --smpp-port` with
simulated phones: deliver_sm with the receipt text and TLVs after the phones report, kept while
no receiver is bound, sent again when unanswered; received SMS as plain deliver_sm."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import smpplib.gsm  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

from simrelay.smpp.codes import CommandStatus, MessageState
from simrelay.smpp.receipt import parse_receipt
from tests.integration.gateway import gateway_env
from tests.integration.smpp.smsc import RECEIPT_ESM, next_deliver_sm, nothing_more, open_smsc, submit

pytestmark = pytest.mark.integration

S = CommandStatus


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, request.param)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return gateway_env(tmp_path, "sqlite")


def receipt_fields(pdu: Any) -> tuple[str, int, str, str, str]:
    return (
        pdu.receipted_message_id.decode(),
        pdu.message_state,
        pdu.source_addr.decode(),
        pdu.destination_addr.decode(),
        parse_receipt(pdu.short_message).state.stat,  # type: ignore[union-attr]
    )


async def test_receipts_follow_the_phones_reports(env: dict[str, str], tmp_path: Path) -> None:
    async with open_smsc(env, tmp_path) as smsc:
        await smsc.gateway.phone()

        def run() -> None:
            with smsc.bound() as client:
                delivered = submit(client, "Hello with a receipt, cut at 20", registered_delivery=1)
                silent = submit(client, "No receipt wanted", registered_delivery=0)
                failures_only = submit(client, "Receipt on failure only", registered_delivery=2)
                long_text = "Долгое сообщение с квитанцией. " * 5
                long_id = submit(client, long_text, registered_delivery=1)
                step_by_step = submit(client, "Intermediate too", registered_delivery=0x11)

                got: dict[str, list[Any]] = {}
                for _ in range(4):
                    pdu = next_deliver_sm(client)
                    assert pdu.esm_class == RECEIPT_ESM
                    got.setdefault(pdu.receipted_message_id.decode(), []).append(pdu)
                nothing_more(client)
            # Nothing for the SMS that asked for none, nor for the delivered one that asked only
            # to hear of a failure.
            assert sorted(got) == sorted([delivered, long_id, step_by_step])
            assert [receipt_fields(pdu)[4] for pdu in got[step_by_step]] == ["ENROUTE", "DELIVRD"]
            assert (silent, failures_only) not in got
            assert receipt_fields(got[delivered][0]) == (
                delivered,
                MessageState.DELIVERED,
                "79990001122",
                "Shop",
                "DELIVRD",
            )
            # The receipt goes back to the submitter's address, with its TON: "Shop" was alphanumeric.
            pdu = got[delivered][0]
            assert (pdu.source_addr_ton, pdu.dest_addr_ton) == (
                smpplib.consts.SMPP_TON_INTL,
                smpplib.consts.SMPP_TON_ALNUM,
            )
            text = pdu.short_message.decode("ascii")
            assert text.startswith(f"id:{delivered} sub:001 dlvrd:001 submit date:")
            assert text.endswith(" stat:DELIVRD err:000 text:Hello with a receipt")
            assert parse_receipt(got[long_id][0].short_message).message_id == long_id  # type: ignore[union-attr]

        await asyncio.to_thread(run)


async def test_a_failed_send_is_receipted_undeliverable(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    async with open_smsc(sqlite_env, tmp_path) as smsc:
        await smsc.gateway.phone(undelivered_rate=1.0)

        def run() -> None:
            with smsc.bound() as client:
                on_failure = submit(client, "Will not arrive", registered_delivery=2)
                submit(client, "Will not arrive either", registered_delivery=3)  # on success only
                pdu = next_deliver_sm(client)
                nothing_more(client)
            assert receipt_fields(pdu) == (
                on_failure,
                MessageState.UNDELIVERABLE,
                "79990001122",
                "Shop",
                "UNDELIV",
            )
            assert " err:001 " in pdu.short_message.decode()

        await asyncio.to_thread(run)


async def test_receipts_and_mo_wait_for_a_receiver_and_come_again_when_unanswered(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["SIMRELAY_SMPP_ANSWER_SECONDS"] = "2"
    async with open_smsc(env, tmp_path) as smsc:
        phone = await smsc.gateway.phone()

        def send() -> str:
            with smsc.bound("transmitter") as client:
                return submit(client, "Receipt for later", registered_delivery=1)

        sms_id = await asyncio.to_thread(send)
        await smsc.gateway.wait_status(sms_id, 4)
        await phone.receive_sms("+79161234567", "Ответ: да")
        await phone.receive_sms("MyBank", "Code 1234")

        def unanswered() -> list[Any]:
            with smsc.bound("receiver") as client:
                return [next_deliver_sm(client, answer=None) for _ in range(3)]

        first = await asyncio.to_thread(unanswered)

        def answered() -> list[Any]:
            with smsc.bound("receiver") as client:
                pdus = [next_deliver_sm(client) for _ in range(3)]
                nothing_more(client)
                return pdus

        again = await asyncio.to_thread(answered)

        def after() -> None:
            with smsc.bound("receiver") as client:
                nothing_more(client, 3.0)  # answered ones are gone for good

        await asyncio.to_thread(after)

    for pdus in (first, again):
        receipt, *mo = sorted(pdus, key=lambda pdu: pdu.esm_class, reverse=True)
        assert receipt.esm_class == RECEIPT_ESM
        assert receipt.receipted_message_id.decode() == sms_id
        by_sender = {pdu.source_addr.decode(): pdu for pdu in mo}
        assert set(by_sender) == {"79161234567", "MyBank"}
        cyrillic, latin = by_sender["79161234567"], by_sender["MyBank"]
        assert (cyrillic.esm_class, cyrillic.data_coding) == (0, smpplib.consts.SMPP_ENCODING_ISO10646)
        assert cyrillic.short_message.decode("utf-16-be") == "Ответ: да"
        assert cyrillic.source_addr_ton == smpplib.consts.SMPP_TON_INTL
        assert cyrillic.destination_addr  # Kannel drops an MO without one
        assert (latin.data_coding, latin.short_message) == (0, b"Code 1234")
        assert latin.source_addr_ton == smpplib.consts.SMPP_TON_ALNUM


async def test_a_transmitter_gets_no_deliver_sm_and_a_receiver_bound_later_does(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    async with open_smsc(sqlite_env, tmp_path) as smsc:
        phone = await smsc.gateway.phone()
        await phone.receive_sms("+79161234567", "to a transmitter")

        def run() -> None:
            with smsc.bound("transmitter") as client:
                nothing_more(client)
            with smsc.bound("receiver") as client:
                pdu = next_deliver_sm(client)
                assert pdu.short_message == b"to a transmitter"

        await asyncio.to_thread(run)


async def test_query_sm_tells_the_state_of_a_submitted_sms(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    async with open_smsc(sqlite_env, tmp_path) as smsc:
        phone = await smsc.gateway.phone()

        def send() -> str:
            with smsc.bound("transmitter") as client:
                return submit(client, "Query me")

        sms_id = await asyncio.to_thread(send)
        await smsc.gateway.wait_status(sms_id, 4)
        await phone.stop()  # the next one stays on its way
        waiting = await smsc.gateway.send(message="Not sent yet")

        def query() -> list[Any]:
            with smsc.bound("transceiver") as client:
                answers = []
                for message_id in (sms_id.upper(), waiting, "0" * 24):
                    sent = smpplib.smpp.make_pdu("query_sm", client=client, message_id=message_id)
                    client.send_pdu(sent)
                    answer = client.read_pdu()
                    assert (answer.command, answer.sequence) == ("query_sm_resp", sent.sequence)
                    answers.append(answer)
                return answers

        delivered, on_its_way, unknown = await asyncio.to_thread(query)
    assert (delivered.status, delivered.message_state, delivered.error_code) == (0, MessageState.DELIVERED, 0)
    assert delivered.final_date.decode().endswith("00+")
    assert (on_its_way.status, on_its_way.message_state) == (0, MessageState.ENROUTE)
    assert not on_its_way.final_date
    assert unknown.status == S.ESME_RQUERYFAIL
