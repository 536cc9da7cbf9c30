"""python-smpplib, an SMPP implementation no one here wrote, as the other end: what it encodes
decodes here to the same fields, and what is encoded here it parses to the same fields."""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.gsm  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.smpp.codes import CommandStatus, DataCoding, EsmType, MessageState
from simrelay.smpp.pdu import (
    Bind,
    BindReceiver,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    DataSm,
    DataSmResp,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    decode_pdu,
)
from simrelay.smpp.receipt import Receipt, format_receipt, parse_receipt, receipt_options
from simrelay.smpp.text import decode_text, encode_parts, split_udh
from simrelay.smpp.tlv import NetworkErrorCode, Options
from tests.unit.smpp.strategies import integers


class _Client:
    """All smpplib's PDUs ask of a client: the next sequence number."""

    sequence = 1

    def next_sequence(self) -> int:
        return self.sequence


CLIENT = _Client()


def theirs(command: str, *, sequence: int, **fields: Any) -> bytes:
    pdu = smpplib.smpp.make_pdu(command, client=CLIENT, **fields)
    # Set after construction: smpplib keeps a client's sequence over a `sequence` argument.
    pdu.sequence = sequence
    octets: bytes = pdu.generate()
    return octets


def parsed(pdu: Pdu) -> Any:
    return smpplib.smpp.parse_pdu(pdu.encode(), client=CLIENT, allow_unknown_opt_params=True)


ascii_text = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


def words(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=ascii_text, max_size=size - 1)


# --- smpplib encodes, simrelay decodes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "cls"),
    [
        ("bind_transmitter", BindTransmitter),
        ("bind_receiver", BindReceiver),
        ("bind_transceiver", BindTransceiver),
    ],
)
def test_binds(command: str, cls: type[Bind]) -> None:
    octets = theirs(command, sequence=1, system_id="esme1", password="secret", addr_ton=1, addr_npi=1)
    assert decode_pdu(octets) == cls(
        sequence=1, system_id="esme1", password="secret", interface_version=0x34, addr_ton=1, addr_npi=1
    )


@pytest.mark.parametrize(
    ("command", "fields", "pdu"),
    [
        ("enquire_link", {}, EnquireLink(sequence=5)),
        ("enquire_link_resp", {}, EnquireLinkResp(sequence=5)),
        ("unbind", {}, Unbind(sequence=5)),
        ("unbind_resp", {}, UnbindResp(sequence=5)),
        ("generic_nack", {"status": 3}, GenericNack(sequence=5, status=CommandStatus.ESME_RINVCMDID)),
        ("submit_sm_resp", {"message_id": "abc123"}, SubmitSmResp(sequence=5, message_id="abc123")),
        ("data_sm_resp", {"message_id": "abc123"}, DataSmResp(sequence=5, message_id="abc123")),
        (
            "query_sm",
            {"message_id": "abc123", "source_addr_ton": 5, "source_addr": "simrelay"},
            QuerySm(sequence=5, message_id="abc123", source_addr_ton=5, source_addr="simrelay"),
        ),
        (
            "data_sm",
            {"destination_addr": "15551234567", "data_coding": 8, "message_payload": "Ж".encode("utf-16-be")},
            DataSm(
                sequence=5,
                destination_addr="15551234567",
                data_coding=8,
                options=Options(message_payload=b"\x04\x16"),
            ),
        ),
    ],
)
def test_simple_pdus(command: str, fields: dict[str, Any], pdu: Pdu) -> None:
    assert decode_pdu(theirs(command, sequence=5, **fields)) == pdu


times = st.just("") | st.from_regex(r"[0-9]{2}(0[1-9]|1[0-2])[0-2][0-9]{7}0[0-4][0-9][-+R]", fullmatch=True)


@settings(deadline=None)  # CI runs suites side by side on two cores
@given(
    data=st.data(),
    short_message=st.binary(max_size=254),
    tlvs=st.fixed_dictionaries(
        {},
        optional={
            "user_message_reference": integers(2),
            "source_port": integers(2),
            "destination_port": integers(2),
            "sar_msg_ref_num": integers(2),
            "sar_total_segments": integers(1),
            "sar_segment_seqnum": integers(1),
            "message_payload": st.binary(min_size=1, max_size=260),
        },
    ),
)
def test_submit_sm(data: st.DataObject, short_message: bytes, tlvs: dict[str, Any]) -> None:
    if "message_payload" in tlvs:
        short_message = b""  # smpplib refuses both at once, as SMPP 3.4 §5.3.2.32 asks
    fields: dict[str, Any] = {
        "service_type": data.draw(words(6)),
        "source_addr_ton": data.draw(integers(1)),
        "source_addr_npi": data.draw(integers(1)),
        "source_addr": data.draw(words(21)),
        "dest_addr_ton": data.draw(integers(1)),
        "dest_addr_npi": data.draw(integers(1)),
        "destination_addr": data.draw(words(21)),
        "esm_class": data.draw(integers(1)),
        "protocol_id": data.draw(integers(1)),
        "priority_flag": data.draw(integers(1)),
        "schedule_delivery_time": data.draw(times),
        "validity_period": data.draw(times),
        "registered_delivery": data.draw(integers(1)),
        "replace_if_present_flag": data.draw(integers(1)),
        "data_coding": data.draw(integers(1)),
        "sm_default_msg_id": data.draw(integers(1)),
    }
    sequence = data.draw(st.integers(min_value=1, max_value=0x7FFFFFFF))
    octets = theirs("submit_sm", sequence=sequence, short_message=short_message or None, **fields, **tlvs)
    assert decode_pdu(octets) == SubmitSm(
        sequence=sequence, short_message=short_message, options=Options(**tlvs), **fields
    )


def test_deliver_sm_receipt_with_tlvs() -> None:
    octets = theirs(
        "deliver_sm",
        sequence=9,
        source_addr="15551234567",
        destination_addr="simrelay",
        esm_class=4,
        short_message=b"id:ab12 sub:001 dlvrd:000 submit date:2612060430 done date:2612060431 stat:UNDELIV"
        b" err:034",
        receipted_message_id="ab12",
        message_state=5,
        network_error_code=b"\x03\x00\x22",
    )
    pdu = decode_pdu(octets)
    assert isinstance(pdu, DeliverSm)
    assert pdu.options == Options(
        network_error_code=NetworkErrorCode(3, 0x22),
        message_state=MessageState.UNDELIVERABLE,
        receipted_message_id="ab12",
    )
    receipt = parse_receipt(pdu.short_message)
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.error) == ("ab12", MessageState.UNDELIVERABLE, "034")


@pytest.mark.parametrize(
    "text",
    [
        "Привет, мир! Это длинное сообщение, которое не помещается в одну SMS. " * 3,  # UCS-2 parts
        "Plain GSM text with {braces}, € and @ signs, long enough for three parts. " * 5,  # GSM-7 parts
    ],
)
def test_long_message_from_smpplib_reassembles(text: str) -> None:
    parts, coding, esm_class = smpplib.gsm.make_parts(text)
    assert len(parts) > 1
    messages = []
    for sequence, part in enumerate(parts, start=1):
        pdu = decode_pdu(
            theirs(
                "submit_sm", sequence=sequence, short_message=part, esm_class=esm_class, data_coding=coding
            )
        )
        assert isinstance(pdu, SubmitSm)
        assert (pdu.esm_class, pdu.data_coding) == (0x40, coding)
        messages.append(pdu.short_message)
    split = [split_udh(message) for message in messages]
    assert [concat.seq if concat else None for concat, _ in split] == list(range(1, len(parts) + 1))
    # Parts join as octets before decoding: smpplib cuts GSM-7 text every 153 octets, which can
    # split an escape pair.
    assert decode_text(b"".join(rest for _, rest in split), coding) == text


# --- simrelay encodes, smpplib parses ----------------------------------------------------------------


def test_submit_sm_resp() -> None:
    answer = parsed(SubmitSmResp(sequence=3, message_id="6752b9a0c1d2e3f405a6b7c8"))
    assert (answer.command, answer.sequence, answer.status) == ("submit_sm_resp", 3, 0)
    assert answer.message_id == b"6752b9a0c1d2e3f405a6b7c8"


def test_error_submit_sm_resp_without_body() -> None:
    answer = parsed(SubmitSmResp(sequence=3, status=CommandStatus.ESME_RTHROTTLED))
    assert (answer.command, answer.sequence, answer.status) == ("submit_sm_resp", 3, 0x58)
    assert answer.message_id is None


def test_bind_transceiver_resp() -> None:
    answer = parsed(
        BindTransceiverResp(sequence=1, system_id="simrelay", options=Options(sc_interface_version=0x34))
    )
    assert (answer.command, answer.system_id, answer.sc_interface_version) == (
        "bind_transceiver_resp",
        b"simrelay",
        0x34,
    )


@pytest.mark.parametrize(
    ("pdu", "command"),
    [
        (EnquireLink(sequence=7), "enquire_link"),
        (EnquireLinkResp(sequence=7), "enquire_link_resp"),
        (UnbindResp(sequence=7), "unbind_resp"),
        (GenericNack(sequence=7, status=CommandStatus.ESME_RINVCMDLEN), "generic_nack"),
    ],
)
def test_header_only(pdu: Pdu, command: str) -> None:
    answer = parsed(pdu)
    assert (answer.command, answer.sequence, answer.status) == (command, 7, pdu.status)


def test_query_sm_resp() -> None:
    answer = parsed(QuerySmResp(sequence=2, message_id="x1", final_date="261206043100000+", message_state=2))
    assert (answer.message_id, answer.final_date, answer.message_state, answer.error_code) == (
        b"x1",
        b"261206043100000+",
        2,
        0,
    )


def test_receipt_deliver_sm() -> None:
    receipt = Receipt(
        message_id="6752b9a0c1d2e3f405a6b7c8", state=MessageState.DELIVERED, submitted=1.8e9, done=1.8e9
    )
    text = format_receipt(receipt).encode("ascii")
    pdu = DeliverSm(
        sequence=11,
        source_addr="15551234567",
        destination_addr="simrelay",
        esm_class=EsmType.DELIVERY_RECEIPT,
        short_message=text,
        options=receipt_options(receipt),
    )
    answer = parsed(pdu)
    assert (answer.command, answer.sequence, answer.esm_class) == ("deliver_sm", 11, 4)
    assert answer.short_message == text
    assert (answer.receipted_message_id, answer.message_state) == (b"6752b9a0c1d2e3f405a6b7c8", 2)


def test_mo_parts() -> None:
    coding, parts = encode_parts("Ответ из телефона, длинный. " * 5, reference=42)
    for seq, part in enumerate(parts, start=1):
        answer = parsed(
            DeliverSm(
                sequence=seq, esm_class=0x40 if len(parts) > 1 else 0, data_coding=coding, short_message=part
            )
        )
        assert (answer.short_message, answer.data_coding, answer.esm_class) == (part, DataCoding.UCS2, 0x40)


@settings(deadline=None)
@given(
    data=st.data(),
    tlvs=st.fixed_dictionaries(
        {},
        optional={
            "user_message_reference": integers(2),
            "source_port": integers(2),
            "destination_port": integers(2),
            "sar_msg_ref_num": integers(2),
            "sar_total_segments": integers(1),
            "sar_segment_seqnum": integers(1),
            "message_payload": st.binary(max_size=260),
            "message_state": integers(1),
            "receipted_message_id": words(65),
        },
    ),
)
def test_deliver_sm(data: st.DataObject, tlvs: dict[str, Any]) -> None:
    strings = {"service_type": 6, "source_addr": 21, "destination_addr": 21}
    integers_ = [
        "source_addr_ton",
        "source_addr_npi",
        "dest_addr_ton",
        "dest_addr_npi",
        "esm_class",
        "protocol_id",
        "priority_flag",
        "registered_delivery",
        "data_coding",
    ]
    fields: dict[str, Any] = {name: data.draw(words(size)) for name, size in strings.items()}
    fields.update({name: data.draw(integers(1)) for name in integers_})
    fields["short_message"] = data.draw(st.binary(max_size=254))
    network_error = data.draw(st.none() | st.builds(NetworkErrorCode, integers(1), integers(2)))
    pdu = DeliverSm(
        sequence=data.draw(integers(4)), options=Options(network_error_code=network_error, **tlvs), **fields
    )
    answer = parsed(pdu)
    assert (answer.command, answer.sequence, answer.status) == ("deliver_sm", pdu.sequence, 0)
    for name in strings:
        assert getattr(answer, name) == fields[name].encode("ascii")
    for name in integers_:
        assert getattr(answer, name) == fields[name]
    # smpplib stops parsing when the body ends, so an empty short_message last in it reads None.
    assert (answer.short_message or b"") == fields["short_message"]
    for name, value in tlvs.items():
        assert getattr(answer, name) == (value.encode("ascii") if isinstance(value, str) else value)
    expected_error = None
    if network_error is not None:
        expected_error = bytes([network_error.network_type]) + network_error.error_code.to_bytes(2, "big")
    assert answer.network_error_code == expected_error
