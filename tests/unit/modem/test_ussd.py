"""USSD requests and answers: vectors from Huawei sticks and smspdudecoder, plain-text answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrelay import gsm7
from simrelay.modem.ussd import decode_ussd, encode_ussd

GSM7_CHARS = sorted(gsm7.BASIC | gsm7.EXTENSION)


@pytest.mark.parametrize(
    ("code", "packed"),
    [
        ("*100#", "AA180C3602"),  # the balance request of many Huawei E-series how-tos
        # andrewbird/wader wader/common/hardware/huawei.py: AT+CUSD=1,"AA510C061B01",15
        ("*#100#", "AA510C061B01"),
        # smspdudecoder codecs.GSM.encode docstring: 7 characters, CR in the 7 spare bits
        ("*115*5#", "AA58ACA6AA8D1A"),
        ("1234567", "31D98C56B3DD1A"),
    ],
)
def test_packed_request(code: str, packed: str) -> None:
    assert encode_ussd(code, packed=True) == packed
    assert decode_ussd(packed, 15) == code


def test_plain_request_is_the_code() -> None:
    assert encode_ussd("*100#", packed=False) == "*100#"


def test_request_outside_gsm7_is_refused() -> None:
    with pytest.raises(ValueError, match="GSM 7-bit"):
        encode_ussd("*100#ы", packed=False)


def test_cr_ending_on_an_octet_boundary_is_doubled() -> None:
    # 23.038 6.1.2.3.1: a wanted final CR that ends on an octet boundary gets a second one, or the
    # reader would strip it as padding; CR CR means the same as CR.
    packed = encode_ussd("1234567\r", packed=True)
    assert len(bytes.fromhex(packed)) == 8  # 9 septets
    assert decode_ussd(packed, 15) == "1234567\r\r"


def test_packed_answer_from_a_network() -> None:
    # andrewbird/wader wader/common/hardware/huawei.py: an MTN balance answer, +CUSD <dcs> 0.
    payload = (
        "D95399CD7EB340F9771D840EDBCB0AA9CD25CB81C269393DDD2E831430D0B43945CD53A0B09BACA0B964305053082"
        "287E9619722FBAE83C2F232E8ED0635A94E90F6ED2EBB405076393C2F83C8E9301BA48AD162AAD808647ECB41E4323"
        "D9C6697C92071981D768FCB739742287FD7CF683A88FE06E5DF7590380F6A529D2E"
    )
    assert decode_ussd(payload, 0) == (
        "Y'ello, you have\nR6.29 airtime \n0 SMS(s) and\n4.20 MB data.\nYou are on MTN Zone. "
        "Please dial *141*1# for detailed balances.\nBrought to you by MTN."
    )


def test_ucs2_answer() -> None:
    # "Баланс: 100 р." as UTF-16 BE hex, the form modems give for dcs 72 (0x48).
    payload = "04110430043B0430043D0441003A00200031003000300020" + "0440002E"
    assert decode_ussd(payload, 72) == "Баланс: 100 р."


def test_ucs2_answer_with_language_prefix() -> None:
    # dcs 0x11: two packed GSM-7 letters ("ru") first, then UCS-2.
    assert decode_ussd("F23A" + "04140430", 0x11) == "Да"


def test_gsm7_answer_with_language_prefix() -> None:
    # dcs 0x10: "en" and CR lead the text.
    payload = gsm7.pack(gsm7.encode_septets("en\rHello")).hex()
    assert decode_ussd(payload, 0x10) == "Hello"


@pytest.mark.parametrize(
    ("payload", "dcs"),
    [
        ("Balance: 100.00 rub", 15),  # text USSD mode (SIMCom, Quectel)
        ("Баланс 100 р.", 72),  # a modem that decoded UCS-2 for us
        ("ABC", 72),  # hex, but not whole UTF-16 units
        ("ABC", 15),  # odd-length hex
        ("", 15),
        ("48656C6C6F", 0x44),  # 8-bit data: handed back as it came
    ],
)
def test_answer_that_is_not_encoded_comes_back_as_is(payload: str, dcs: int) -> None:
    assert decode_ussd(payload, dcs) == payload


# A final CR can come back doubled: see test_cr_ending_on_an_octet_boundary_is_doubled.
@given(
    code=st.text(alphabet=st.sampled_from(GSM7_CHARS), min_size=1, max_size=160).filter(
        lambda code: not code.endswith("\r")
    )
)
def test_packed_round_trip(code: str) -> None:
    assert decode_ussd(encode_ussd(code, packed=True), 15) == code
