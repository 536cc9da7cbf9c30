"""The GSM 7-bit alphabet and septet packing, by published vectors and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrelay import gsm7
from simrelay.sms.encoding import GSM7_BASIC, GSM7_EXTENSION

GSM7_CHARS = sorted(gsm7.BASIC | gsm7.EXTENSION)


def test_alphabet_is_the_servers() -> None:
    # The modem must choose GSM-7 exactly when the server counted the text as GSM-7.
    assert gsm7.BASIC == GSM7_BASIC
    assert gsm7.EXTENSION == GSM7_EXTENSION


def test_hellohello_packs_to_the_classic_vector() -> None:
    # 3GPP TS 23.038 6.1.2.1.1 packing; the vector from smspdudecoder's GSM.encode docstring and
    # many PDU tutorials (dreamfabric's "hellohello").
    assert gsm7.pack(gsm7.encode_septets("hellohello")).hex().upper() == "E8329BFD4697D9EC37"


@pytest.mark.parametrize(
    ("text", "packed"),
    [
        # faucamp/python-gsmmodem test/test_pdu.py, TestGsm7
        ("Hello World!", "C8329BFD065DDF72363904"),
        ("[{abc}]~", "1BDE0615168F37A98D6FD303"),
        ("{åΦΓΛΩΠΨΣΘ€}", "1BD44332A1542C174C6653DEA400"),
        ("a[]{}€", "E10D6FE3DBA036A94D19"),
        # smspdudecoder codecs.GSM.encode docstring
        ("2 € par mois", "32D0A60C8287E5A0F63B3D07"),
    ],
)
def test_packing_matches_other_implementations(text: str, packed: str) -> None:
    septets = gsm7.encode_septets(text)
    assert gsm7.pack(septets).hex().upper() == packed
    assert gsm7.decode_septets(gsm7.unpack(bytes.fromhex(packed), len(septets))) == text


def test_extension_character_is_escape_and_code() -> None:
    assert gsm7.encode_septets("€") == bytes([0x1B, 0x65])
    assert gsm7.encode_septets("{") == bytes([0x1B, 0x28])


def test_text_outside_the_alphabet_is_refused() -> None:
    assert not gsm7.fits("Привет")
    assert not gsm7.fits("\x1b")
    with pytest.raises(ValueError, match="'П'"):
        gsm7.encode_septets("aП")


def test_escape_before_an_unknown_code_shows_the_default_character() -> None:
    # 23.038 6.2.1.1: ESC + a code the extension table lacks reads as the default alphabet's character.
    assert gsm7.decode_septets(bytes([0x1B, 0x41])) == "A"


def test_double_escape_shows_a_space() -> None:
    assert gsm7.decode_septets(bytes([0x1B, 0x1B, 0x41])) == " A"


@given(
    text=st.text(alphabet=st.sampled_from(GSM7_CHARS), max_size=200),
    fill_bits=st.integers(min_value=0, max_value=6),
)
def test_pack_unpack_round_trip(text: str, fill_bits: int) -> None:
    septets = gsm7.encode_septets(text)
    packed = gsm7.pack(septets, fill_bits=fill_bits)
    assert len(packed) == (fill_bits + 7 * len(septets) + 7) // 8
    assert gsm7.decode_septets(gsm7.unpack(packed, len(septets), fill_bits=fill_bits)) == text


def test_fill_bits_are_zero_and_come_first() -> None:
    # One fill bit shifts "A" (0x41) up by one: 0x82.
    assert gsm7.pack(bytes([0x41]), fill_bits=1) == bytes([0x82])


def test_unpack_refuses_too_few_octets() -> None:
    with pytest.raises(ValueError, match="fewer than 2 septets"):
        gsm7.unpack(b"\x41", 2)
