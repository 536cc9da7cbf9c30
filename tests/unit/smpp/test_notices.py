"""Which status changes become receipts for which registered_delivery, and the deliver_sm a
queued notice becomes."""

from __future__ import annotations

import pytest

from simrelay.smpp import notices
from simrelay.smpp.codes import DataCoding, EsmType, MessageState, Ton
from simrelay.smpp.delivery import SHORT_MESSAGE_MAX, deliver_sm
from simrelay.smpp.receipt import receipt_of
from simrelay.sms import leases
from simrelay.sms.status import Change, Status


def change(status: Status, reason: str = "") -> Change:
    return Change("m1", status, at=1_800_000_000.0, reason=reason)


@pytest.mark.parametrize(
    ("status", "reason", "state"),
    [
        (Status.DELIVERED, "", MessageState.DELIVERED),
        (Status.NOT_DELIVERED, "", MessageState.UNDELIVERABLE),
        (Status.SENT, "", MessageState.ENROUTE),
        (Status.SEND_FAILED, "no network", MessageState.UNDELIVERABLE),
        (Status.SEND_FAILED, leases.EXPIRED, MessageState.EXPIRED),
        (Status.SEND_FAILED, leases.OPTED_OUT, MessageState.REJECTED),
        (Status.SEND_FAILED, leases.CANCELLED, MessageState.DELETED),
        (Status.TAKEN, "", None),
        (Status.WAITING, leases.REQUEUED, None),
    ],
)
def test_state_of_a_change(status: Status, reason: str, state: MessageState | None) -> None:
    assert notices.state_of(change(status, reason)) == state


FAILURES = {MessageState.UNDELIVERABLE, MessageState.EXPIRED}


@pytest.mark.parametrize(
    ("registered_delivery", "told"),
    [
        (0x00, set()),
        (0x01, {MessageState.DELIVERED, *FAILURES}),
        (0x02, FAILURES),
        (0x03, {MessageState.DELIVERED}),
        (0x10, {MessageState.ENROUTE}),
        (
            0x11,
            {MessageState.ENROUTE, MessageState.DELIVERED, MessageState.UNDELIVERABLE, MessageState.EXPIRED},
        ),
    ],
)
def test_registered_delivery_chooses_the_receipts(registered_delivery: int, told: set[MessageState]) -> None:
    states = [MessageState.ENROUTE, MessageState.DELIVERED, MessageState.UNDELIVERABLE, MessageState.EXPIRED]
    assert {state for state in states if notices.told(registered_delivery, state)} == told


RECEIPT = {
    "kind": notices.RECEIPT,
    "source_addr": "79990001122",
    "source_ton": Ton.INTERNATIONAL,
    "source_npi": 1,
    "destination_addr": "Shop",
    "dest_ton": Ton.ALPHANUMERIC,
    "dest_npi": 0,
    "message_id": "6b15036786fc09560ee3404e",
    "state": int(MessageState.DELIVERED),
    "error": "000",
    "submitted": 1_800_000_000.0,
    "done": 1_800_000_060.0,
    "text": "Привет, it is here",
}


def test_a_receipt_notice_reads_back_as_the_receipt() -> None:
    pdu = deliver_sm(RECEIPT, sequence=7)
    assert (pdu.sequence, pdu.esm_class, pdu.data_coding) == (7, EsmType.DELIVERY_RECEIPT, 0)
    assert (pdu.source_addr, pdu.destination_addr, pdu.dest_addr_ton) == ("79990001122", "Shop", 5)
    receipt = receipt_of(pdu)
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.error) == (
        RECEIPT["message_id"],
        MessageState.DELIVERED,
        "000",
    )
    assert (receipt.submitted, receipt.done) == (1_800_000_000.0, 1_800_000_060.0)
    assert receipt.text == "??????, it is here"  # ASCII only, so data_coding 0 reads the same anywhere


def mo(text: str, sender: str = "79161234567") -> dict[str, object]:
    return {
        "kind": notices.MO,
        "source_addr": sender,
        "source_ton": Ton.INTERNATIONAL,
        "source_npi": 1,
        "destination_addr": "",
        "dest_ton": 0,
        "dest_npi": 0,
        "text": text,
        "received_id": "r1",
    }


def test_mo_goes_in_the_default_alphabet_or_ucs2_and_long_in_message_payload() -> None:
    latin = deliver_sm(mo("Code [1234] €"), sequence=1)
    assert (latin.esm_class, latin.data_coding, latin.options.message_payload) == (
        0,
        DataCoding.DEFAULT,
        None,
    )
    cyrillic = deliver_sm(mo("Ответ"), sequence=2)
    assert (cyrillic.data_coding, cyrillic.short_message) == (DataCoding.UCS2, "Ответ".encode("utf-16-be"))
    long_text = "Ж" * 200  # 400 octets in UCS-2: more than short_message holds
    long = deliver_sm(mo(long_text), sequence=3)
    assert long.short_message == b"" and long.options.message_payload == long_text.encode("utf-16-be")
    assert len(long_text.encode("utf-16-be")) > SHORT_MESSAGE_MAX


def test_a_sender_name_that_no_address_field_holds_is_cut_to_fit() -> None:
    pdu = deliver_sm(mo("hi", sender="Очень длинное имя отправителя"), sequence=1)
    assert len(pdu.source_addr) == 20 and pdu.encode()  # encodes: Latin-1, no NUL, 20 characters
