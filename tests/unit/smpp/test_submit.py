"""From submit_sm to what the send path stores: destinations, text by data_coding and the parts
of long messages (UDH or SAR) put back into one message."""

from __future__ import annotations

import pytest

from simrelay.smpp.codes import CommandStatus, Ton
from simrelay.smpp.fields import PduError
from simrelay.smpp.pdu import SubmitSm
from simrelay.smpp.submit import Assembler, Part, SubmitError, phone_of, read_part, text_of
from simrelay.smpp.text import Concat, encode_parts
from simrelay.smpp.tlv import Options

S = CommandStatus


def udh_parts(text: str, reference: int = 7, destination: str = "79990001122") -> list[SubmitSm]:
    coding, parts = encode_parts(text, reference=reference)
    return [
        SubmitSm(
            sequence=n, destination_addr=destination, esm_class=0x40, data_coding=coding, short_message=part
        )
        for n, part in enumerate(parts, start=1)
    ]


@pytest.mark.parametrize(
    ("ton", "address", "phone"),
    [
        (Ton.INTERNATIONAL, "79990001122", "+79990001122"),
        (Ton.INTERNATIONAL, "+7999", "+7999"),
        (0, "7999", "7999"),
    ],
)
def test_phone_of(ton: int, address: str, phone: str) -> None:
    assert phone_of(SubmitSm(dest_addr_ton=ton, destination_addr=address)) == phone


@pytest.mark.parametrize("address", ["", "12", "+", "7999-0001", "abc", "1" * 31])
def test_a_destination_that_is_no_phone_number(address: str) -> None:
    with pytest.raises(SubmitError) as caught:
        phone_of(SubmitSm(dest_addr_ton=Ton.INTERNATIONAL, destination_addr=address))
    assert caught.value.status == S.ESME_RINVDSTADR


def test_message_payload_and_short_message_both_set_is_refused() -> None:
    pdu = SubmitSm(destination_addr="7999", short_message=b"a", options=Options(message_payload=b"b"))
    with pytest.raises(PduError) as caught:
        read_part(pdu)
    assert caught.value.status == S.ESME_RINVMSGLEN


def test_message_payload_carries_a_long_text_whole() -> None:
    part = read_part(
        SubmitSm(
            destination_addr="7999",
            data_coding=8,
            options=Options(message_payload="Ж".encode("utf-16-be") * 300),
        )
    )
    assert part.concat is None
    assert text_of([part]) == "Ж" * 300


def test_udh_parts_become_one_message_with_one_id_for_every_part() -> None:
    text = "Привет! " * 30  # UCS-2, 4 parts
    pdus = udh_parts(text)
    assert len(pdus) == 4
    assembler = Assembler(timeout=60, limit=10)
    ids = []
    for pdu in [pdus[2], pdus[0], pdus[3]]:  # out of order
        message_id, done = assembler.add(read_part(pdu))
        assert done is None
        ids.append(message_id)
    message_id, done = assembler.add(read_part(pdus[1]))
    assert done is not None and text_of(done) == text
    assert set(ids) == {message_id}
    assert len(assembler) == 0


def test_a_surrogate_pair_split_over_two_parts_joins() -> None:
    octets = "a😀b".encode("utf-16-be")  # the emoji's two halves go to different parts
    parts = [
        Part("", "7999", 8, octets[:4], Concat(1, 2, 1)),
        Part("", "7999", 8, octets[4:], Concat(1, 2, 2)),
    ]
    assert text_of(parts) == "a😀b"


def test_sar_parts_and_a_part_sent_twice() -> None:
    def sar(seq: int, text: bytes) -> SubmitSm:
        options = Options(sar_msg_ref_num=300, sar_total_segments=2, sar_segment_seqnum=seq)
        return SubmitSm(destination_addr="7999", short_message=text, options=options)

    assembler = Assembler(timeout=60, limit=10)
    first, done = assembler.add(read_part(sar(1, b"stale ")))
    assert done is None
    assert assembler.add(read_part(sar(1, b"hello ")))[1] is None  # replaces the first copy
    second, done = assembler.add(read_part(sar(2, b"world")))
    assert second == first
    assert done is not None and text_of(done) == "hello world"


def test_parts_to_other_numbers_or_references_are_other_messages() -> None:
    assembler = Assembler(timeout=60, limit=10)
    a = assembler.add(read_part(udh_parts("x" * 200, reference=1)[0]))[0]
    b = assembler.add(read_part(udh_parts("x" * 200, reference=2)[0]))[0]
    c = assembler.add(read_part(udh_parts("x" * 200, reference=1, destination="79990003344")[0]))[0]
    assert len({a, b, c}) == 3


def test_a_message_whose_parts_do_not_all_come_in_time_is_dropped() -> None:
    assembler = Assembler(timeout=10, limit=10)
    pdus = udh_parts("y" * 200)
    first, _ = assembler.add(read_part(pdus[0]), now=100.0)
    # The second part after the timeout starts a new message that never completes.
    later, done = assembler.add(read_part(pdus[1]), now=111.0)
    assert done is None and later != first
    assert len(assembler) == 1


def test_too_many_messages_in_the_making() -> None:
    assembler = Assembler(timeout=60, limit=2)
    for reference in (1, 2):
        assembler.add(read_part(udh_parts("z" * 200, reference=reference)[0]))
    with pytest.raises(SubmitError) as caught:
        assembler.add(read_part(udh_parts("z" * 200, reference=3)[0]))
    assert caught.value.status == S.ESME_RMSGQFUL


def test_a_udh_of_one_part_is_a_plain_message() -> None:
    pdu = SubmitSm(destination_addr="7999", esm_class=0x40, short_message=bytes([5, 0, 3, 9, 1, 1]) + b"hi")
    part = read_part(pdu)
    assert part.concat is None and text_of([part]) == "hi"
