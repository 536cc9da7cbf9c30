"""Message text by data_coding, the UDH and SAR of long messages, and deliver_sm parts: vectors,
round trips, and agreement with the server's counting and with smpplib's GSM encoder."""

from __future__ import annotations

import pytest
import smpplib.gsm  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.smpp.codes import CommandStatus, DataCoding
from simrelay.smpp.fields import PduError
from simrelay.smpp.text import (
    Concat,
    DefaultAlphabet,
    decode_text,
    encode_parts,
    encode_text,
    gsm7_fits,
    message_octets,
    sar_concat,
    split_udh,
)
from simrelay.smpp.tlv import Options
from simrelay.sms.encoding import GSM7_ALL, encoding_of, is_gsm7

GSM7_CHARS = sorted(GSM7_ALL)
CYRILLIC = [chr(code) for code in range(0x410, 0x450)]
EMOJI = ["\U0001f600", "\U0001f44d", "\U0001f680", "\u2764"]
gsm7_texts = st.text(alphabet=st.sampled_from(GSM7_CHARS), max_size=400)
any_texts = st.text(alphabet=st.sampled_from(GSM7_CHARS + CYRILLIC + EMOJI), max_size=300)
S = CommandStatus


# --- decoding --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("octets", "text"),
    [
        (b"Hello", "Hello"),
        (bytes([0x00, 0x02, 0x11, 0x7F]), "@$_à"),
        (b"\x1b\x28\x1b\x65\x1b\x29", "{€}"),
        (b"a\x1b\x1bb", "a b"),  # 23.038 6.2.1.1: ESC ESC shows as a space
        (b"\x1b\x41", "A"),  # ESC and a code the extension table lacks: the default character
        (b"ok\x1b", "ok"),  # a lone ESC at the end shows nothing
    ],
)
def test_gsm7_unpacked(octets: bytes, text: str) -> None:
    assert decode_text(octets, 0) == text


def test_gsm_message_class_codings_are_the_default_alphabet() -> None:
    # 0xF0-0xF3: 23.038 group F, default alphabet, classes 0-3 (mozes/smpp.pdu's vectors use 0xF2).
    for coding in range(0xF0, 0xF4):
        assert decode_text(b"HELLO\x00", coding) == "HELLO@"


def test_octet_above_0x7f_is_no_gsm7() -> None:
    with pytest.raises(PduError, match="Latin-1") as caught:
        decode_text("café".encode("latin-1"), 0)
    assert caught.value.status == S.ESME_RINVDCS


def test_latin1_default_alphabet() -> None:
    assert decode_text("café @$".encode("latin-1"), 0, default_alphabet=DefaultAlphabet.LATIN1) == "café @$"


@pytest.mark.parametrize(
    ("coding", "octets", "text"),
    [
        (DataCoding.IA5, b"plain @ ascii", "plain @ ascii"),
        (DataCoding.LATIN1, "Größe ½".encode("latin-1"), "Größe ½"),
        (DataCoding.CYRILLIC, "Привет".encode("iso8859-5"), "Привет"),
        (DataCoding.LATIN_HEBREW, "שלום".encode("iso8859-8"), "שלום"),
        (DataCoding.UCS2, "Привет, мир!".encode("utf-16-be"), "Привет, мир!"),
        (DataCoding.UCS2, "ok 😀".encode("utf-16-be"), "ok 😀"),
    ],
)
def test_other_text_codings(coding: int, octets: bytes, text: str) -> None:
    assert decode_text(octets, coding) == text


def test_lone_surrogate_in_ucs2_is_replaced() -> None:
    assert decode_text(bytes.fromhex("d83d0041"), DataCoding.UCS2) == "\ufffdA"


def test_odd_ucs2() -> None:
    with pytest.raises(PduError) as caught:
        decode_text(b"\x04\x1f\x04", DataCoding.UCS2)
    assert caught.value.status == S.ESME_RINVMSGLEN


@pytest.mark.parametrize(
    ("coding", "octets"),
    [
        (DataCoding.BINARY, b"\x01\x02"),
        (DataCoding.BINARY_2, b"\x01"),
        (0xF5, b"\x01"),  # GSM class 1, 8-bit data
        (DataCoding.JIS, b"\x30\x21"),
        (DataCoding.KS_C_5601, b"\xb0\xa1"),
        (0x42, b"x"),  # reserved
        (DataCoding.IA5, b"caf\xe9"),  # not ASCII
        (DataCoding.LATIN_HEBREW, b"\xa1"),  # no character in ISO-8859-8
    ],
)
def test_binary_and_unknown_codings_are_refused(coding: int, octets: bytes) -> None:
    with pytest.raises(PduError) as caught:
        decode_text(octets, coding)
    assert caught.value.status == S.ESME_RINVDCS


# --- encoding --------------------------------------------------------------------------------------


def test_alphabet_is_the_servers() -> None:
    # The server counts a text as GSM-7 exactly when this codec would send it as data_coding 0.
    for code in range(0x3000):
        assert gsm7_fits(chr(code)) == is_gsm7(chr(code)), hex(code)


@settings(deadline=None)  # CI runs suites side by side on two cores
@given(gsm7_texts.filter(lambda text: not {"\f", "§"} & set(text)))
def test_gsm7_octets_match_smpplib(text: str) -> None:
    # smpplib's gsm_encode is an independent table. It lacks the form feed (ESC 0x0A) of 23.038
    # and has "`" where 23.038 has "§" (0x5F); see the next test.
    assert encode_text(text) == (0, smpplib.gsm.gsm_encode(text))


def test_section_sign_is_0x5f() -> None:
    # 3GPP TS 23.038 6.2.1: 0x5F is "§" (gsm0338 agrees); smpplib 2.2.4 cannot encode it.
    assert encode_text("§") == (0, b"\x5f")
    assert decode_text(b"\x5f", 0) == "§"


@settings(deadline=None)
@given(any_texts)
def test_encode_decode_round_trip(text: str) -> None:
    coding, octets = encode_text(text)
    assert coding == (DataCoding.DEFAULT if is_gsm7(text) else DataCoding.UCS2)
    assert decode_text(octets, coding) == text


@settings(deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=50))
def test_latin1_client_round_trip(text: str) -> None:
    coding, octets = encode_text(text, default_alphabet=DefaultAlphabet.LATIN1)
    assert coding == (DataCoding.DEFAULT if all(ord(char) < 0x100 for char in text) else DataCoding.UCS2)
    assert decode_text(octets, coding, default_alphabet=DefaultAlphabet.LATIN1) == text


def test_lone_surrogate_refuses_to_encode() -> None:
    with pytest.raises(ValueError):
        encode_text("a\ud800")


# --- message, UDH and SAR --------------------------------------------------------------------------


def test_message_payload_replaces_an_empty_short_message() -> None:
    assert message_octets(b"", Options(message_payload=b"long")) == b"long"
    assert message_octets(b"short", Options()) == b"short"
    with pytest.raises(PduError) as caught:
        message_octets(b"short", Options(message_payload=b"long"))
    assert caught.value.status == S.ESME_RINVMSGLEN


@pytest.mark.parametrize(
    ("message", "concat", "rest"),
    [
        (bytes.fromhex("050003cc0201") + b"Hello", Concat(0xCC, 2, 1), b"Hello"),
        (bytes.fromhex("06080412340202") + b"x", Concat(0x1234, 2, 2), b"x"),
        # A port element (IEI 05) before the concatenation element.
        (bytes.fromhex("0b05040b8423f00003070301") + b"wap", Concat(7, 3, 1), b"wap"),
        (bytes.fromhex("0605040b8423f0") + b"port only", None, b"port only"),
        (bytes.fromhex("050003070300") + b"x", None, b"x"),  # part 0: ignored (23.040 9.2.3.24.1)
        (bytes.fromhex("050003070304") + b"x", None, b"x"),  # part past the total: ignored
        (bytes.fromhex("00") + b"empty udh", None, b"empty udh"),
    ],
)
def test_split_udh(message: bytes, concat: Concat | None, rest: bytes) -> None:
    assert split_udh(message) == (concat, rest)


@pytest.mark.parametrize(
    "message",
    [b"", bytes.fromhex("05000307"), bytes.fromhex("0300050307"), bytes.fromhex("0100")],
)
def test_broken_udh(message: bytes) -> None:
    with pytest.raises(PduError) as caught:
        split_udh(message)
    assert caught.value.status == S.ESME_RINVESMCLASS


def test_sar_tlvs() -> None:
    assert sar_concat(Options(sar_msg_ref_num=0x1234, sar_total_segments=3, sar_segment_seqnum=2)) == Concat(
        0x1234, 3, 2
    )
    assert sar_concat(Options(sar_msg_ref_num=1, sar_total_segments=3)) is None
    assert sar_concat(Options(sar_msg_ref_num=1, sar_total_segments=3, sar_segment_seqnum=0)) is None
    assert sar_concat(Options()) is None


def test_smpplib_long_cyrillic_message_reassembles() -> None:
    # What an unmodified smpplib client sends for a long Cyrillic text: UCS-2 parts behind UDHs.
    text = "Привет мир!\n" * 10
    parts, coding, esm_class = smpplib.gsm.make_parts(text)
    assert (coding, esm_class) == (DataCoding.UCS2, 0x40)
    split = [split_udh(part) for part in parts]
    assert [concat.seq for concat, _ in split if concat] == list(range(1, len(parts) + 1))
    assert decode_text(b"".join(rest for _, rest in split), coding) == text


# --- deliver_sm parts ------------------------------------------------------------------------------


def reassembled(coding: int, parts: list[bytes]) -> str:
    if len(parts) == 1:
        return decode_text(parts[0], coding)
    split = [split_udh(part) for part in parts]
    assert [concat for concat, _ in split] == [Concat(9, len(parts), seq) for seq in range(1, len(parts) + 1)]
    return decode_text(b"".join(rest for _, rest in split), coding)


@settings(deadline=None)
@given(any_texts)
def test_parts_reassemble_and_match_the_servers_count(text: str) -> None:
    coding, parts = encode_parts(text, reference=9)
    assert reassembled(coding, parts) == text
    assert len(parts) == encoding_of(text).parts
    assert all(len(part) <= 254 for part in parts)  # each fits short_message


def test_gsm7_part_sizes() -> None:
    coding, parts = encode_parts("a" * 160, reference=1)
    assert (coding, len(parts)) == (0, 1)
    coding, parts = encode_parts("a" * 161, reference=1)
    assert [len(part) for part in parts] == [6 + 153, 6 + 8]


def test_escape_pair_moves_whole_to_the_next_part() -> None:
    _, parts = encode_parts("a" * 152 + "€" + "b" * 10, reference=1)
    assert parts[0][6:] == b"a" * 152
    assert parts[1][6:8] == b"\x1b\x65"


def test_surrogate_pair_moves_whole_to_the_next_part() -> None:
    coding, parts = encode_parts("Ж" * 66 + "😀" + "Ж" * 5, reference=1)
    assert coding == DataCoding.UCS2
    assert len(parts[0]) == 6 + 2 * 66
    assert parts[1][6:10] == "😀".encode("utf-16-be")


def test_latin1_client_parts_count_characters() -> None:
    coding, parts = encode_parts("é" * 200, reference=3, default_alphabet=DefaultAlphabet.LATIN1)
    assert coding == 0
    assert [len(part) - 6 for part in parts] == [153, 47]


@pytest.mark.parametrize("reference", [-1, 256])
def test_reference_is_one_octet(reference: int) -> None:
    with pytest.raises(ValueError, match="0-255"):
        encode_parts("x", reference=reference)


def test_more_than_255_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="256 parts"):
        encode_parts("x" * 153 * 256, reference=1)
