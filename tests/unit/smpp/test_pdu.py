"""SMPP PDUs: byte vectors from other implementations' test suites, decoded to the fields they
state and encoded back, and round trips of every PDU type."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.smpp.codes import CommandId, CommandStatus, EsmType, MessageState
from simrelay.smpp.fields import FramingError, PduError
from simrelay.smpp.pdu import (
    Bind,
    BindReceiver,
    BindReceiverResp,
    BindResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
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
    error_response,
    pdu_class,
)
from simrelay.smpp.tlv import NetworkErrorCode, Options, Tlv
from tests.unit.smpp.strategies import pdus

ALL_CLASSES: list[type[Pdu]] = [
    BindTransmitter,
    BindTransmitterResp,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    DataSm,
    DataSmResp,
    QuerySm,
    QuerySmResp,
]


def decoded(hex_pdu: str) -> Pdu:
    return decode_pdu(bytes.fromhex(hex_pdu))


# --- mozes/smpp.pdu tests/test_pdu_encoding.py (the codec under Jasmin): exact bytes both ways ------


@pytest.mark.parametrize(
    ("cls", "command_id"),
    [(BindTransmitter, "00000002"), (BindReceiver, "00000001"), (BindTransceiver, "00000009")],
)
def test_bind_vector(cls: type[Bind], command_id: str) -> None:
    # do_bind_conversion_test
    hex_pdu = (
        f"0000002d{command_id}0000000000000002" + "7465737400736563726574004f5441003402063132372e302e302e2a00"
    )
    pdu = cls(
        sequence=2,
        system_id="test",
        password="secret",
        system_type="OTA",
        interface_version=0x34,
        addr_ton=2,
        addr_npi=6,
        address_range="127.0.0.*",
    )
    assert decoded(hex_pdu) == pdu
    assert pdu.encode().hex() == hex_pdu


@pytest.mark.parametrize(
    ("cls", "command_id"),
    [
        (BindTransmitterResp, "80000002"),
        (BindReceiverResp, "80000001"),
        (BindTransceiverResp, "80000009"),
    ],
)
def test_bind_resp_vector_has_sc_interface_version(cls: type[BindResp], command_id: str) -> None:
    hex_pdu = f"0000001d{command_id}0000000000000001" + "54534937353838000210000134"
    pdu = cls(sequence=1, system_id="TSI7588", options=Options(sc_interface_version=0x34))
    assert decoded(hex_pdu) == pdu
    assert pdu.encode().hex() == hex_pdu


@pytest.mark.parametrize(
    ("pdu", "hex_pdu"),
    [
        (Unbind(sequence=4), "00000010000000060000000000000004"),
        (UnbindResp(sequence=5), "00000010800000060000000000000005"),
        (GenericNack(sequence=0, status=CommandStatus.ESME_RSYSERR), "00000010800000000000000800000000"),
        (EnquireLink(sequence=6), "00000010000000150000000000000006"),
        (EnquireLinkResp(sequence=7), "00000010800000150000000000000007"),
        (
            QuerySmResp(message_id="Smsc2003", message_state=MessageState.UNKNOWN),
            "0000001c800000030000000000000000536d73633230303300000700",
        ),
    ],
)
def test_header_only_and_query_sm_resp_vectors(pdu: Pdu, hex_pdu: str) -> None:
    assert decoded(hex_pdu) == pdu
    assert pdu.encode().hex() == hex_pdu


def test_submit_sm_vector() -> None:
    # test_SubmitSM_conversion: alphanumeric source, GSM class 2 (0xF2), receipt requested.
    hex_pdu = (
        "000000360000000400000000000024440005006d6f62696c65776179000101313230383233300000000000000100f2"
        "000548454c4c4f"
    )
    pdu = SubmitSm(
        sequence=9284,
        source_addr_ton=5,
        source_addr="mobileway",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="1208230",
        registered_delivery=1,
        data_coding=0xF2,
        short_message=b"HELLO",
    )
    assert decoded(hex_pdu) == pdu
    assert pdu.encode().hex() == hex_pdu


def test_submit_sm_with_udh_vector() -> None:
    # test_SubmitSM_ringtone_conversion: esm_class 0x40 (UDHI), 8-bit class 1 (0xF5).
    udh_and_data = (
        "06050415811581024a3a5db5a5cdcda5bdb8040084d8c51381481381481381481381481381381481581681781881881061"
        "881061b81081181081881061881061681081781081881061881061b81081181081881061881061681081781081b81881"
        "321081b81881221081b818811210824dc1446000"
    )
    hex_pdu = (
        "000000a900000004000000000006f3910005006d6f62696c65776179000101333336393830393334320040000000000100f5"
        "0075" + udh_and_data
    )
    pdu = decoded(hex_pdu)
    assert isinstance(pdu, SubmitSm)
    assert (pdu.sequence, pdu.esm_class, pdu.data_coding) == (455569, 0x40, 0xF5)
    assert pdu.short_message == bytes.fromhex(udh_and_data)
    assert pdu.encode().hex() == hex_pdu


def test_deliver_sm_mo_vector() -> None:
    # test_DeliverSM_syniverse_MO_conversion: Latin-1 text, a sequence number past 2**31.
    hex_pdu = (
        "0000004d00000005000000009f88f12441575342440001013136353035353531323334000101313737333535353430373000"
        "000000000000000300117468657265206973206e6f2073706f6f6e"
    )
    pdu = DeliverSm(
        sequence=2676551972,
        service_type="AWSBD",
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="16505551234",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="17735554070",
        data_coding=3,
        short_message=b"there is no spoon",
    )
    assert decoded(hex_pdu) == pdu
    assert pdu.encode().hex() == hex_pdu


def test_deliver_sm_receipt_vector() -> None:
    # test_DeliverSM_handset_ack_conversion: receipt text with a trailing NUL, message_state and
    # receipted_message_id TLVs.
    text = (
        b"id:1891273321 sub:001 dlvrd:001 submit date:1305050826 done date:1305050826 stat:DELIVRD err:000"
        b" Text:DLVRD TO MOBILE\x00"
    )
    hex_pdu = (
        "000000b900000005000000000000000a434d5400010036353135353535363738000100313233000400000000000000"
        "0076" + text.hex() + "0427000102001e0009373042413841363900"
    )
    pdu = DeliverSm(
        sequence=10,
        service_type="CMT",
        source_addr_ton=1,
        source_addr="6515555678",
        dest_addr_ton=1,
        destination_addr="123",
        esm_class=EsmType.DELIVERY_RECEIPT,
        short_message=text,
        options=Options(message_state=MessageState.DELIVERED, receipted_message_id="70BA8A69"),
    )
    assert decoded(hex_pdu) == pdu
    assert pdu.encode().hex() == hex_pdu


def test_deliver_sm_network_error_code_vector() -> None:
    # test_DeliverSM_with_network_error_code (Jasmin #117): GSM (3), error 0.
    text = (
        b"id:bc59b8aa-2fd2-4035-8113-19301e050079 sub:001 dlvrd:001 submit date:150508144058 done"
        b" date:150508144058 stat:DELIVRD err:000 text:-"
    )
    hex_pdu = (
        "000000f30000000500000000000000010001013439313532353637393438383700010130343035313330363939390000"
        "000000000000f20085" + text.hex() + "042300030300000427000102001e0025"
        "62633539623861612d326664322d343033352d383131332d31393330316530353030373900"
    )
    pdu = decoded(hex_pdu)
    assert isinstance(pdu, DeliverSm)
    assert pdu.options == Options(
        network_error_code=NetworkErrorCode(network_type=3, error_code=0),
        message_state=MessageState.DELIVERED,
        receipted_message_id="bc59b8aa-2fd2-4035-8113-19301e050079",
    )
    assert pdu.short_message == text
    assert pdu.encode().hex() == hex_pdu


def test_unknown_tlvs_pass_through_in_order() -> None:
    # test_DeliverSM_with_subaddress: source_subaddress and dest_subaddress have no name here.
    hex_pdu = (
        "00000066000000050000000000000001424d38000101343631323334353637383900010131343034363635333431300000"
        "000000000000f2001b48656c6c6f2049276d206120626967672066616e206f6620796f7502020004a037343202030005"
        "a034313331"
    )
    pdu = decoded(hex_pdu)
    assert pdu.options.other == (
        Tlv(0x0202, bytes.fromhex("a0373432")),
        Tlv(0x0203, bytes.fromhex("a034313331")),
    )
    assert pdu.encode().hex() == hex_pdu


def test_openmarket_submit_sm_example() -> None:
    # OpenMarket's SMPP v4 docs, "Example submit_sm request and response messages" (mt-examples):
    # a short code source (TON 3), a validity period, a final receipt requested.
    hex_pdu = (
        "0000006b00000004000000000005c4a34f4d5634000301383033363200010138313233343530303130303000000000"
        "003138303130353132303030303030342b0001000000255265706c792059657320746f206f707420696e206f72204e"
        "6f20746f206f7074206f75742e"
    )
    pdu = SubmitSm(
        sequence=0x5C4A3,
        service_type="OMV4",
        source_addr_ton=3,
        source_addr_npi=1,
        source_addr="80362",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="812345001000",
        validity_period="180105120000004+",
        registered_delivery=1,
        short_message=b"Reply Yes to opt in or No to opt out.",
    )
    assert decoded(hex_pdu) == pdu
    assert pdu.encode().hex() == hex_pdu


# --- jookies/jasmin tests/protocols/smpp/test_pdu_decoding.py: PDUs real SMSCs sent -----------------


def test_network_error_code_in_ascii() -> None:
    # test_deliver_sm_unknown_param_network_error_code: the SMSC wrote "000" as text.
    pdu = decoded(
        "000000e40000000500000000542e0f21312e303030000101323434393335353535300005005a41500004000000000000"
        "00008069643a3661336564393861363634343465386162616333616364396262613836353666207375623a30303120"
        "646c7672643a303030207375626d697420646174653a31343130313630303336353020646f6e6520646174653a3134"
        "3130313630303338303020737461743a554e44454c4956206572723a30303020746578743a0423000330303004270001"
        "05001e0021366133656439386136363434346538616261633361636439626261383635366600"
    )
    assert pdu.options.network_error_code == NetworkErrorCode(network_type=0x30, error_code=0x3030)
    assert pdu.options.message_state == MessageState.UNDELIVERABLE
    assert pdu.options.receipted_message_id == "6a3ed98a66444e8abac3acd9bba8656f"


def test_receipt_in_message_payload() -> None:
    # test_deliver_sm_with_message_payload: sm_length 0, the text in message_payload.
    pdu = decoded(
        "0000009200000005000000000001693c00000032313635333532303730330000003737383800040000000001000000"
        "000424004f69643a30303030343336393439207375626d697420646174653a3135303432313135303820646f6e652064"
        "6174653a3135303432313135303820737461743a44454c49565244206572723a30303000001e00063661616435000427"
        "000102"
    )
    assert isinstance(pdu, DeliverSm)
    assert pdu.short_message == b""
    assert pdu.options.message_payload == (
        b"id:0000436949 submit date:1504211508 done date:1504211508 stat:DELIVRD err:000\x00"
    )
    assert (pdu.options.receipted_message_id, pdu.options.message_state) == ("6aad5", 2)


@pytest.mark.parametrize(
    ("hex_pdu", "command_id", "status", "fields"),
    [
        # test_invalid_command_length (#124): an error bind_transceiver_resp with an empty system_id.
        (
            "0000001180000009000000530000000100",
            CommandId.BIND_TRANSCEIVER_RESP,
            CommandStatus.ESME_RINVSYSTYP,
            {"system_id": ""},
        ),
        # test_invalid_command_length_2 (#128): an error submit_sm_resp that kept its body.
        (
            "00000019800000040000000a00000002303030303030303000",
            CommandId.SUBMIT_SM_RESP,
            CommandStatus.ESME_RINVSRCADR,
            {"message_id": "00000000"},
        ),
        # test_unknown_command_status_34 (#563): a status SMPP 3.4 does not define, no body.
        ("00000010800000040000002200000002", CommandId.SUBMIT_SM_RESP, 0x22, {"message_id": ""}),
    ],
)
def test_error_responses_as_smscs_send_them(
    hex_pdu: str, command_id: CommandId, status: int, fields: dict[str, str]
) -> None:
    pdu = decoded(hex_pdu)
    assert pdu.command_id == command_id
    assert pdu.status == status
    assert {name: getattr(pdu, name) for name in fields} == fields


def test_unknown_status_stays_an_int() -> None:
    pdu = decoded("00000010800000040000002200000002")
    assert type(pdu.status) is int
    assert type(decoded("00000010800000040000000a00000002").status) is CommandStatus


@pytest.mark.parametrize(
    ("hex_pdu", "other_tags"),
    [
        # test_unknown_tag_value_0x1454 (#322)
        (
            "000000c9000000050000000003088101000101393731353634313034303934000500534b5954454c45434f4d000400"
            "000000000000007b69643a313435313030333135333230323234393537207375623a30303120646c7672643a303031"
            "207375626d697420646174653a3135313030333137333220646f6e6520646174653a313531303033313733322073"
            "7461743a44454c49565244206572723a3030303020746578743a5465737420286d65686469290423000303000014"
            "540004000000011418000400000030",
            [0x1454, 0x1418],
        ),
        # test_unknown_tag_value_0x60D (#325)
        (
            "000000de0000000500000000569d3e3600000033353236393136303034303300000030000400000000000000008569"
            "643a3444313943383343207375623a30303120646c7672643a303031207375626d697420646174653a313531303039"
            "3031303520646f6e6520646174653a3135313030393031303520737461743a44454c49565244206572723a303030"
            "3020746578743a4757323530204d43433d323730204d4e433d312042696c6c696e674d4e433d31001e000934443139"
            "4338334300000e000101060d000731323730303100060f000532373030310427000102",
            [0x000E, 0x060D, 0x060F],
        ),
        # test_invalid_option_vendor_specific_bypass (#577): a vendor TLV on a bind response.
        ("0000001c80000009000000000000000159656e746131001002000134", [0x1002]),
        # test_deliver_sm_resp_opt_param_not_allow_more_messages_to_send (#938)
        (
            "000000cb00000005000000000000000b000201363930373137373035380005003532303030000400000000000000007a"
            "69643a30343136333432303734207375623a30303120646c7672643a303031207375626d697420646174653a323130"
            "3130343135323220646f6e6520646174653a3231303130343135323220737461743a44454c49565244206572723a30"
            "303020746578743a8441894f8820454e544f84482e208c4150414b41000e0001010006000101001e00093138643065"
            "3033610004270001020426000101",
            [0x000E, 0x0006, 0x0426],
        ),
    ],
)
def test_tlvs_without_a_name_are_kept(hex_pdu: str, other_tags: list[int]) -> None:
    pdu = decoded(hex_pdu)
    assert [tlv.tag for tlv in pdu.options.other] == other_tags
    assert decode_pdu(pdu.encode()) == pdu


def test_ucs2_submit_sm_with_section_sign() -> None:
    # test_smpp_drop_on_unknown_char (#954): "§" in UCS-2.
    pdu = decoded("000000250000000400000000000000020005003200010033000000000000010008000200a7")
    assert isinstance(pdu, SubmitSm)
    assert (pdu.source_addr_ton, pdu.source_addr, pdu.destination_addr) == (5, "2", "3")
    assert (pdu.data_coding, pdu.short_message) == (8, "§".encode("utf-16-be"))


# --- python-smpplib smpplib/tests/test_command.py --------------------------------------------------


def test_smpplib_receipt_vector() -> None:
    # test_parse_deliver_sm: receipt text in message_payload (its text: part in UCS-2), network
    # types and more_messages_to_send as TLVs without a name here.
    pdu = decode_pdu(
        b"\x00\x00\x00\xcb\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01\x00"
        b"\x01\x0131600000000\x00\x05\x00XXX YYYY\x00\x04\x00\x00\x00\x00\x00"
        b"\x00\x00\x00\x00\x00\x0e\x00\x01\x01\x00\x06\x00\x01\x01\x00\x1e\x00"
        b"\t1d305b4c\x00\x04'\x00\x01\x02\x04$\x00rid:0489708364 sub:001"
        b" dlvrd:001 submit date:1810151907 done date:1810151907 stat:DELIVRD"
        b" err:000 text:\x04\x1f\x04@\x048\x042\x045\x04B\x04&\x00\x01\x01"
    )
    assert isinstance(pdu, DeliverSm)
    assert (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr) == (1, 1, "31600000000")
    assert (pdu.dest_addr_ton, pdu.destination_addr) == (5, "XXX YYYY")
    assert (pdu.options.receipted_message_id, pdu.options.message_state) == ("1d305b4c", 2)
    assert pdu.options.message_payload is not None
    assert pdu.options.message_payload.startswith(b"id:0489708364 sub:001")
    assert [tlv.tag for tlv in pdu.options.other] == [0x000E, 0x0006, 0x0426]


# --- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda cls: cls.__name__)
@settings(deadline=None)  # CI runs suites side by side on two cores
@given(data=st.data())
def test_round_trip(cls: type[Pdu], data: st.DataObject) -> None:
    pdu = data.draw(pdus(cls))
    octets = pdu.encode()
    assert int.from_bytes(octets[:4], "big") == len(octets)
    assert int.from_bytes(octets[4:8], "big") == cls.command_id
    assert decode_pdu(octets) == pdu


def test_every_class_is_registered_under_its_command_id() -> None:
    assert {pdu_class(cls.command_id) for cls in ALL_CLASSES} == set(ALL_CLASSES)
    assert pdu_class(CommandId.SUBMIT_MULTI) is None


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSmResp(sequence=3, status=CommandStatus.ESME_RINVDSTADR, message_id="abc"),
        BindTransceiverResp(sequence=3, status=CommandStatus.ESME_RINVPASWD, system_id="simrelay"),
    ],
)
def test_error_response_goes_without_body(pdu: Pdu) -> None:
    # SMPP 3.4 §4.1.2 and §4.4.2: the body is not returned with a non-zero command_status.
    octets = pdu.encode()
    assert len(octets) == 16
    assert decode_pdu(octets) == type(pdu)(sequence=3, status=pdu.status)


def test_error_data_sm_resp_keeps_its_tlvs() -> None:
    # data_sm_resp reports a failure in TLVs (§4.7.2), so its body stays.
    pdu = DataSmResp(
        sequence=1,
        status=CommandStatus.ESME_RDELIVERYFAILURE,
        options=Options(other=(Tlv(0x0425, b"\x01"),)),
    )
    assert decode_pdu(pdu.encode()) == pdu


# --- answering what did not decode -----------------------------------------------------------------


def test_body_error_is_answered_with_the_commands_own_response() -> None:
    error = PduError("x", status=CommandStatus.ESME_RINVDSTADR, command_id=CommandId.SUBMIT_SM, sequence=9)
    assert error_response(error) == SubmitSmResp(sequence=9, status=CommandStatus.ESME_RINVDSTADR)


def test_unknown_command_is_answered_with_generic_nack() -> None:
    error = PduError("x", status=CommandStatus.ESME_RINVCMDID, command_id=0x00000099, sequence=4)
    assert error_response(error) == GenericNack(sequence=4, status=CommandStatus.ESME_RINVCMDID)


def test_broken_stream_is_answered_with_generic_nack_even_for_a_known_command() -> None:
    error = FramingError(
        "x", status=CommandStatus.ESME_RINVCMDLEN, command_id=CommandId.SUBMIT_SM, sequence=2
    )
    assert error_response(error) == GenericNack(sequence=2, status=CommandStatus.ESME_RINVCMDLEN)


def test_header_unread_is_answered_with_generic_nack_sequence_zero() -> None:
    error = PduError("x", status=CommandStatus.ESME_RINVCMDLEN)
    assert error_response(error) == GenericNack(sequence=0, status=CommandStatus.ESME_RINVCMDLEN)


@pytest.mark.parametrize("command_id", [CommandId.SUBMIT_SM_RESP, 0x80000099])
def test_broken_response_is_not_answered(command_id: int) -> None:
    error = PduError("x", status=CommandStatus.ESME_RINVCMDLEN, command_id=command_id, sequence=1)
    assert error_response(error) is None
