"""Malformed PDUs give PduError with the command_status the session answers with (SMPP 3.4
§5.1.3), and the header's command_id and sequence once they were read; fields that do not fit
their type refuse to encode."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from simrelay.smpp.codes import CommandId, CommandStatus, Tag
from simrelay.smpp.fields import PduError
from simrelay.smpp.pdu import (
    BindTransceiver,
    BindTransmitter,
    DataSm,
    EnquireLink,
    Pdu,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    decode_pdu,
)
from simrelay.smpp.tlv import NetworkErrorCode, Options, Tlv

S = CommandStatus


def frame(command_id: int, body: bytes, *, sequence: int = 7) -> bytes:
    return (
        (16 + len(body)).to_bytes(4, "big")
        + command_id.to_bytes(4, "big")
        + bytes(4)
        + sequence.to_bytes(4, "big")
        + body
    )


def error_of(octets: bytes) -> PduError:
    with pytest.raises(PduError) as caught:
        decode_pdu(octets)
    return caught.value


SUBMIT = SubmitSm(sequence=7, source_addr="simrelay", destination_addr="+15551234567", short_message=b"hi")
SUBMIT_BODY = SUBMIT.encode()[16:]


# --- header ----------------------------------------------------------------------------------------


def test_short_header() -> None:
    error = error_of(bytes.fromhex("0000001000000015"))
    assert error.status == S.ESME_RINVCMDLEN
    assert (error.command_id, error.sequence) == (None, None)


@pytest.mark.parametrize("declared", [15, 17, 0x100])
def test_command_length_that_does_not_match(declared: int) -> None:
    octets = declared.to_bytes(4, "big") + bytes.fromhex("000000150000000000000003")
    error = error_of(octets)
    assert error.status == S.ESME_RINVCMDLEN
    assert (error.command_id, error.sequence) == (CommandId.ENQUIRE_LINK, 3)


@pytest.mark.parametrize("command_id", [0x00000099, CommandId.SUBMIT_MULTI, CommandId.OUTBIND, 0x80000099])
def test_command_this_codec_does_not_model(command_id: int) -> None:
    error = error_of(frame(command_id, b""))
    assert error.status == S.ESME_RINVCMDID
    assert (error.command_id, error.sequence) == (command_id, 7)


# --- mandatory fields ------------------------------------------------------------------------------


def test_request_without_its_body() -> None:
    error = error_of(frame(CommandId.SUBMIT_SM, b""))
    assert error.status == S.ESME_RINVCMDLEN
    assert (error.command_id, error.sequence) == (CommandId.SUBMIT_SM, 7)


@pytest.mark.parametrize("cut", [1, 5, 11, len(SUBMIT_BODY) - 3, len(SUBMIT_BODY) - 1])
def test_body_cut_short(cut: int) -> None:
    # Cut inside a C-Octet String (no NUL before the end), an Integer, or short_message.
    error = error_of(frame(CommandId.SUBMIT_SM, SUBMIT_BODY[:cut]))
    assert error.status == S.ESME_RINVCMDLEN
    assert (error.command_id, error.sequence) == (CommandId.SUBMIT_SM, 7)


def test_missing_nul_terminator() -> None:
    # bind_transmitter whose address_range, the last field, ends with the body and no NUL.
    body = BindTransmitter(system_id="esme", password="pw").encode()[16:-1] + b"12"
    error = error_of(frame(CommandId.BIND_TRANSMITTER, body))
    assert error.status == S.ESME_RINVCMDLEN


@pytest.mark.parametrize(
    ("pdu", "field", "size", "status"),
    [
        (BindTransceiver(), "system_id", 16, S.ESME_RINVSYSID),
        (BindTransceiver(), "password", 9, S.ESME_RINVPASWD),
        (BindTransceiver(), "system_type", 13, S.ESME_RINVSYSTYP),
        (BindTransceiver(), "address_range", 41, S.ESME_RBINDFAIL),
        (SubmitSm(), "service_type", 6, S.ESME_RINVSERTYP),
        (SubmitSm(), "source_addr", 21, S.ESME_RINVSRCADR),
        (SubmitSm(), "destination_addr", 21, S.ESME_RINVDSTADR),
        (SubmitSm(), "schedule_delivery_time", 17, S.ESME_RINVSCHED),
        (SubmitSm(), "validity_period", 17, S.ESME_RINVEXPIRY),
        (DataSm(), "destination_addr", 65, S.ESME_RINVDSTADR),
        (QuerySm(), "message_id", 65, S.ESME_RINVMSGID),
        (SubmitSmResp(), "message_id", 65, S.ESME_RINVMSGID),
    ],
)
def test_overlong_c_octet_string(pdu: Pdu, field: str, size: int, status: CommandStatus) -> None:
    # The longest value that fits, then one character more: the NUL comes one octet too late.
    longest = "x" * (size - 1)
    changes: dict[str, Any] = {field: longest}
    body = replace(pdu, **changes).encode()[16:]
    assert body.count(longest.encode() + b"\x00") == 1
    body = body.replace(longest.encode() + b"\x00", longest.encode() + b"y\x00")
    error = error_of(frame(pdu.command_id, body))
    assert error.status == status
    assert (error.command_id, error.sequence) == (pdu.command_id, 7)


def test_sm_length_over_254() -> None:
    body = SubmitSm(short_message=b"x" * 254).encode()[16:]
    body = body.replace(b"\xfe" + b"x" * 254, b"\xff" + b"x" * 255)
    assert error_of(frame(CommandId.SUBMIT_SM, body)).status == S.ESME_RINVMSGLEN


def test_sm_length_past_the_body() -> None:
    body = SUBMIT_BODY.replace(b"\x02hi", b"\x05hi")
    assert error_of(frame(CommandId.SUBMIT_SM, body)).status == S.ESME_RINVCMDLEN


# --- TLVs -----------------------------------------------------------------------------------------


def tlv(tag: int, value: bytes) -> bytes:
    return tag.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value


@pytest.mark.parametrize(
    "tail",
    [
        b"\x02",  # less than a tag
        b"\x04\x24\x00",  # tag and half a length
        tlv(Tag.SAR_MSG_REF_NUM, b"\x00\x01")[:-1],  # value cut short
        bytes.fromhex("04240010") + b"short",  # length past the end
        tlv(Tag.MESSAGE_STATE, b"\x02") + tlv(Tag.MESSAGE_STATE, b"\x05"),  # a named TLV twice
    ],
)
def test_truncated_or_repeated_tlv(tail: bytes) -> None:
    error = error_of(frame(CommandId.SUBMIT_SM, SUBMIT_BODY + tail))
    assert error.status == S.ESME_RINVOPTPARSTREAM
    assert (error.command_id, error.sequence) == (CommandId.SUBMIT_SM, 7)


def test_trailing_octets_after_a_bodiless_pdu_are_no_tlv() -> None:
    assert error_of(frame(CommandId.ENQUIRE_LINK, b"\x00")).status == S.ESME_RINVOPTPARSTREAM


def test_unnamed_tlv_may_repeat() -> None:
    pdu = decode_pdu(frame(CommandId.SUBMIT_SM, SUBMIT_BODY + tlv(0x1400, b"a") + tlv(0x1400, b"b")))
    assert pdu.options.other == (Tlv(0x1400, b"a"), Tlv(0x1400, b"b"))


@pytest.mark.parametrize(
    "tail",
    [
        tlv(Tag.SAR_MSG_REF_NUM, b"\x01"),
        tlv(Tag.SAR_TOTAL_SEGMENTS, b"\x00\x02"),
        tlv(Tag.SOURCE_PORT, b""),
        tlv(Tag.MESSAGE_STATE, b"\x00\x02"),
        tlv(Tag.NETWORK_ERROR_CODE, b"\x03\x00"),
        tlv(Tag.RECEIPTED_MESSAGE_ID, b"x" * 65 + b"\x00"),
    ],
)
def test_named_tlv_of_the_wrong_length(tail: bytes) -> None:
    assert error_of(frame(CommandId.SUBMIT_SM, SUBMIT_BODY + tail)).status == S.ESME_RINVPARLEN


def test_receipted_message_id_without_nul_is_read() -> None:
    pdu = decode_pdu(frame(CommandId.DELIVER_SM, SUBMIT_BODY + tlv(Tag.RECEIPTED_MESSAGE_ID, b"abc")))
    assert pdu.options.receipted_message_id == "abc"


def test_empty_network_error_code_reads_as_not_given() -> None:
    # Pythomnic3k's smpp34/smpp_pdu_param_table.py: "spec says 3 octets but I've encountered
    # empty strings".
    pdu = decode_pdu(frame(CommandId.DELIVER_SM, SUBMIT_BODY + tlv(Tag.NETWORK_ERROR_CODE, b"")))
    assert pdu.options.network_error_code is None


def test_empty_message_payload_is_present() -> None:
    pdu = decode_pdu(frame(CommandId.SUBMIT_SM, SUBMIT_BODY + tlv(Tag.MESSAGE_PAYLOAD, b"")))
    assert pdu.options.message_payload == b""


# --- encoding refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pdu", "message"),
    [
        (BindTransceiver(system_id="x" * 16), "longer than its 15"),
        (BindTransceiver(password="ĉ"), "outside Latin-1"),
        (SubmitSm(destination_addr="12\x0034"), "NUL"),
        (SubmitSm(short_message=b"x" * 255), "message_payload"),
        (SubmitSm(esm_class=0x100), "does not fit 1 octets"),
        (EnquireLink(sequence=1 << 32), "fit 4 octets"),
        (SubmitSm(options=Options(sar_msg_ref_num=0x10000)), "does not fit 2 octets"),
        (SubmitSm(options=Options(network_error_code=NetworkErrorCode(3, 0x10000))), "does not fit"),
        (SubmitSm(options=Options(receipted_message_id="x" * 65)), "longer than its 64"),
        (SubmitSm(options=Options(message_payload=b"x" * 0x10000)), "more than 65535"),
        (SubmitSm(options=Options(other=(Tlv(Tag.MESSAGE_STATE, b"\x02"),))), "set it there"),
        (SubmitSm(options=Options(other=(Tlv(0x10000, b""),))), "does not fit 2 octets"),
    ],
)
def test_field_that_does_not_fit_refuses_to_encode(pdu: Pdu, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pdu.encode()
