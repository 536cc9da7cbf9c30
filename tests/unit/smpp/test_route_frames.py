"""What a route writes and reports: submit_sm addressing, the report that ends an SMS from its
part records, receipts and MO turned into device-protocol reports."""

from __future__ import annotations

import pytest

from simrelay.smpp.codes import ESM_UDHI, CommandStatus, EsmType, MessageState, Npi, Ton
from simrelay.smpp.fields import PduError
from simrelay.smpp.pdu import DataSm, DeliverSm
from simrelay.smpp.route_frames import (
    MAY_HAVE_BEEN_SENT,
    final_report,
    incoming_part,
    is_receipt,
    receipt_outcome,
    received_report,
    submit_sm,
)
from simrelay.smpp.routes import WrittenPart
from simrelay.smpp.tlv import Options

ID = "65f0c1e2a1b2c3d4e5f60720"


def test_submit_sm_addresses_and_flags() -> None:
    pdu = submit_sm("+79990001122", source_addr="Shop", data_coding=8, payload=b"\x00A", multipart=True)
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == (
        "79990001122",
        Ton.INTERNATIONAL,
        Npi.ISDN,
    )
    assert (pdu.source_addr, pdu.source_addr_ton) == ("Shop", Ton.ALPHANUMERIC)
    assert pdu.esm_class == ESM_UDHI and pdu.registered_delivery == 1 and pdu.data_coding == 8
    digits = submit_sm("900", source_addr="+4915112345678", data_coding=0, payload=b"x", multipart=False)
    assert (digits.source_addr, digits.source_addr_ton, digits.source_addr_npi) == (
        "4915112345678",
        Ton.INTERNATIONAL,
        Npi.ISDN,
    )
    assert (digits.destination_addr, digits.dest_addr_ton, digits.esm_class) == ("900", Ton.UNKNOWN, 0)
    none = submit_sm("79990001122", source_addr="", data_coding=0, payload=b"x", multipart=False)
    assert (none.source_addr, none.source_addr_ton) == ("", Ton.UNKNOWN)


def part(state: str, index: int = 0, parts: int = 1) -> WrittenPart:
    return WrittenPart(ID, index, parts, state, "abc" if state == "accepted" else None)


@pytest.mark.parametrize(
    ("states", "total", "expected"),
    [
        (["accepted"], 1, {"type": "sent", "id": ID, "parts": 1}),
        (["accepted", "accepted"], 2, {"type": "sent", "id": ID, "parts": 2}),
        (["accepted", "written"], 2, {"type": "failed", "id": ID, "reason": MAY_HAVE_BEEN_SENT}),
        (["written"], 1, {"type": "failed", "id": ID, "reason": MAY_HAVE_BEEN_SENT}),
        (["rejected"], 1, {"type": "failed", "id": ID, "reason": "the SMSC refused it"}),
        (["throttled"], 1, {"type": "dropped", "id": ID, "attempt": None}),
        (["accepted"], 2, {"type": "failed", "id": ID, "reason": "only 1 of 2 parts were accepted"}),
    ],
)
def test_final_report(states: list[str], total: int, expected: dict[str, object]) -> None:
    parts = [part(state, index, total) for index, state in enumerate(states)]
    assert final_report(ID, parts) == expected


def receipt(text: str, **options: object) -> DeliverSm:
    return DeliverSm(
        esm_class=EsmType.DELIVERY_RECEIPT, short_message=text.encode(), options=Options(**options)
    )  # type: ignore[arg-type]


def test_receipt_outcomes() -> None:
    delivered = receipt(
        "id:1a2b sub:001 dlvrd:001 submit date:2612060700 done date:2612060701 stat:DELIVRD err:000 text:hi"
    )
    assert is_receipt(delivered) and receipt_outcome(delivered) == ("1a2b", True)
    assert receipt_outcome(receipt("id:7 sub:001 dlvrd:000 stat:UNDELIV err:001 text:")) == ("7", False)
    assert receipt_outcome(receipt("id:7 sub:001 dlvrd:000 stat:EXPIRED err:001 text:")) == ("7", False)
    assert receipt_outcome(receipt("id:7 stat:ENROUTE")) is None
    assert receipt_outcome(receipt("id:7 stat:ACCEPTD")) is None
    assert receipt_outcome(receipt("nothing useful")) is None
    # The TLVs win over the text (as in Kannel and Jasmin).
    tlv = receipt("id:7 stat:UNDELIV", receipted_message_id="99", message_state=MessageState.DELIVERED)
    assert receipt_outcome(tlv) == ("99", True)
    assert not is_receipt(DeliverSm(esm_class=0))


def test_incoming_parts_and_the_received_report() -> None:
    mo = DeliverSm(
        source_addr_ton=Ton.INTERNATIONAL,
        source_addr="79990001122",
        destination_addr="1234",
        data_coding=8,
        short_message="Привет".encode("utf-16-be"),
    )
    part = incoming_part(mo)
    assert (part.source_addr, part.phone, part.concat) == ("+79990001122", "1234", None)
    report = received_report([part])
    assert report["type"] == "received" and report["phone_number"] == "+79990001122"
    assert report["message"] == "Привет" and len(report["id"]) == 32 and report["received_at"] > 0
    assert received_report([part])["id"] != report["id"]
    assert received_report([part], report_id="abc")["id"] == "abc"

    first = incoming_part(
        DeliverSm(source_addr="900", esm_class=ESM_UDHI, short_message=bytes([5, 0, 3, 7, 2, 1]) + b"ST")
    )
    second = incoming_part(
        DeliverSm(
            source_addr="900",
            options=Options(sar_msg_ref_num=7, sar_total_segments=2, sar_segment_seqnum=2),
            short_message=b"OP",
        )
    )
    assert first.concat is not None and (first.concat.reference, first.concat.total, first.concat.seq) == (
        7,
        2,
        1,
    )
    assert second.concat is not None and second.concat.seq == 2 and first.source_addr == "900"
    assert received_report([first, second])["message"] == "STOP"
    alone = incoming_part(DeliverSm(esm_class=ESM_UDHI, short_message=bytes([5, 0, 3, 9, 1, 1]) + b"HI"))
    assert alone.concat is None and alone.octets == b"HI"  # a "long" message of one part

    payload = incoming_part(DataSm(source_addr="900", options=Options(message_payload=b"HELP")))
    assert received_report([payload])["message"] == "HELP"
    binary = incoming_part(DeliverSm(source_addr="900", data_coding=4, short_message=b"\x01\x02"))
    with pytest.raises(PduError) as error:
        received_report([binary])
    assert error.value.status == CommandStatus.ESME_RINVDCS
