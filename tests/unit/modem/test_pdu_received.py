"""SMS-DELIVER and SMS-STATUS-REPORT decoding: PDUs published by other implementations, and round
trips through the builders a fake modem uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smspdudecoder.easy import read_incoming_sms  # type: ignore[import-untyped]

from simrelay import gsm7
from simrelay.modem.fields import encode_timestamp
from simrelay.modem.pdu import (
    Alphabet,
    Concat,
    PduError,
    ReportStatus,
    decode_deliver,
    decode_status_report,
    join_texts,
    tpdu_length,
)
from simrelay.modem.pdu_build import encode_deliver, encode_status_report

GSM7_CHARS = sorted(gsm7.BASIC | gsm7.EXTENSION)
CYRILLIC = [chr(code) for code in range(0x410, 0x450)]
EMOJI = ["\U0001f600", "\U0001f44d", "\U0001f680", "\u2764"]


def zone(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


# --- SMS-DELIVER vectors -------------------------------------------------------------------------


def test_deliver_with_smsc_and_positive_zone() -> None:
    # faucamp/python-gsmmodem test/test_pdu.py, test_decode: "Test2".
    sms = decode_deliver("06917228195339040B917228214365F700003130805120618005D4F29C2E03")
    assert sms.smsc == "+2782913593"
    assert sms.originator == "+27821234567"
    assert sms.timestamp == datetime(2013, 3, 8, 15, 2, 16, tzinfo=zone(2))
    assert sms.timestamp.utcoffset() == timedelta(hours=2)
    assert (sms.text, sms.alphabet, sms.concat) == ("Test2", Alphabet.GSM7, None)


def test_deliver_with_extension_characters() -> None:
    # Same source: "@{tést}!" (ESC pairs, and é from the default alphabet).
    sms = decode_deliver("06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910")
    assert sms.text == "@{tést}!"


def test_deliver_with_negative_zone() -> None:
    # jackkum/node-pdu tests/parsing.test.ts "Negative SCTS Time Zone offset": zone octet 2B is -8 h.
    sms = decode_deliver("07919730071111F1000B919746121611F100008111700212222B0DC8329BFD6681EE6F399B1C02")
    assert sms.timestamp.utcoffset() == timedelta(hours=-8)
    assert sms.timestamp == datetime(2018, 11, 7, 20, 21, 22, tzinfo=zone(-8))
    assert sms.text == "Hello, world!"


def test_cyrillic_ucs2_deliver() -> None:
    # jackkum/node-pdu tests/parsing.test.ts "UCS2 encoded" (Russian "Hello, world!").
    sms = decode_deliver(
        "07919730071111F1000B919746121611F100088111800212222318"
        "041F04400438043204350442002C0020043C043804400021"
    )
    assert (sms.text, sms.alphabet, sms.dcs) == ("Привет, мир!", Alphabet.UCS2, 0x08)
    assert sms.smsc == "+79037011111"


def test_cyrillic_ucs2_from_cmgr_has_its_length() -> None:
    # The sample in chan_quectel's at_parse.c: "+CMGR: 1,,31" then this PDU.
    pdu = "07911234567890F3040B911234556780F20008012150220040210C041F04400438043204350442"
    assert tpdu_length(pdu) == 31
    sms = decode_deliver(pdu)
    assert sms.text == "Привет"
    assert sms.timestamp.utcoffset() == timedelta(hours=3)


def test_alphanumeric_originator() -> None:
    # jackkum/node-pdu tests/parsing.test.ts "Alphanumeric OA" (type D0, GSM-7 packed name).
    sms = decode_deliver(
        "07911326060032F0000DD0D432DBFC96D30100001121313121114012D7327BFC6E9741F437885A669BDF723A"
    )
    assert sms.originator == "Telfort"
    assert sms.text == "Welcome to Telfort"
    assert sms.timestamp == datetime(2011, 12, 13, 13, 12, 11, tzinfo=zone(1))


def test_flash_sms_has_class_0() -> None:
    # jackkum/node-pdu tests/parsing.test.ts "Flash SMS": DCS 10.
    sms = decode_deliver("07919730071111F1000B919746121611F10010811170021222231054747A0E4ACF416190991D9EA343")
    assert (sms.message_class, sms.text) == (0, "This is a flash!")


def test_national_originator_and_8bit_concatenation() -> None:
    # faucamp/python-gsmmodem test/test_pdu.py: a one-part concatenated SMS, reference C3, from a
    # national number (type 81), UDH then text after one fill bit.
    sms = decode_deliver(
        "0591721891F1400781721881F800003160526104848059050003C30101916536FB1DCABEEB2074D85E064941B19C"
        "AB060319A5C522289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87A7E565D0DB0D82C5"
        "5EB0DB4B068BCD5C20"
    )
    assert (sms.smsc, sms.originator) == ("+2781191", "2781188")
    assert sms.concat == Concat(reference=0xC3, total=1, seq=1)
    assert sms.text == "Hello!You have R 19.50 FREE airtime available. R 19.50 will expire on 01/07/2013. "


@pytest.mark.parametrize(
    ("pdu", "concat", "text"),
    [
        # jackkum/node-pdu tests/parsing.test.ts, "Concatenated messages with 8bit ref." and "16bit ref."
        (
            "07919730071111F1400B919746121611F10000100161916223230D0500032E020190E175DD1D06",
            Concat(reference=0x2E, total=2, seq=1),
            "Hakuna",
        ),
        (
            "07919730071111F1400B919746121611F10000100161916233230E0500032E020240ED303D4C0F03",
            Concat(reference=0x2E, total=2, seq=2),
            " matata",
        ),
        (
            "07919730071111F1400B919746121611F10000811170021222230E06080412340201C8329BFD6601",
            Concat(reference=0x1234, total=2, seq=1),
            "Hello,",
        ),
        (
            "07919730071111F1400B919746121611F10000811170021232230F06080412340202A0FB5BCE268700",
            Concat(reference=0x1234, total=2, seq=2),
            " world!",
        ),
    ],
)
def test_concatenated_parts(pdu: str, concat: Concat, text: str) -> None:
    sms = decode_deliver(pdu)
    assert (sms.concat, sms.text) == (concat, text)


def test_8bit_data_is_hex() -> None:
    # DCS 04: 8-bit data. Built by hand from python-gsmmodem's 8-bit submit vector ("Hello world!").
    pdu = "0591721891F1040B917228214365F70004313080512061800C48656C6C6F20776F726C6421"
    sms = decode_deliver(pdu)
    assert (sms.alphabet, sms.text) == (Alphabet.DATA8, "48656C6C6F20776F726C6421")


@pytest.mark.parametrize(
    ("dcs", "alphabet", "message_class"),
    [
        (0x00, Alphabet.GSM7, None),
        (0x04, Alphabet.DATA8, None),
        (0x08, Alphabet.UCS2, None),
        (0x0C, Alphabet.GSM7, None),  # reserved alphabet: read as GSM-7 (23.038 4)
        (0x18, Alphabet.UCS2, 0),
        (0x11, Alphabet.GSM7, 1),
        (0x36, Alphabet.DATA8, 2),  # compressed: handed on as octets
        (0x48, Alphabet.UCS2, None),  # marked for automatic deletion
        (0x90, Alphabet.GSM7, None),  # reserved group
        (0xC8, Alphabet.GSM7, None),  # message waiting, discard
        (0xE0, Alphabet.UCS2, None),  # message waiting, store, UCS-2
        (0xF0, Alphabet.GSM7, 0),
        (0xF5, Alphabet.DATA8, 1),
        (0xF6, Alphabet.DATA8, 2),
    ],
)
def test_data_coding_schemes(dcs: int, alphabet: Alphabet, message_class: int | None) -> None:
    text = "0102" if alphabet is Alphabet.DATA8 else "Ok"
    [pdu] = encode_deliver("+1", text, timestamp=datetime(2024, 1, 1, tzinfo=UTC), alphabet=alphabet)
    # The builder writes the plain DCS of the alphabet after SMSC 00, first octet, address 0191F1
    # and PID; swap in the one under test.
    octets = bytearray.fromhex(pdu)
    assert octets[6] == {Alphabet.GSM7: 0x00, Alphabet.DATA8: 0x04, Alphabet.UCS2: 0x08}[alphabet]
    octets[6] = dcs
    sms = decode_deliver(octets.hex())
    assert (sms.alphabet, sms.message_class, sms.text, sms.dcs) == (alphabet, message_class, text, dcs)


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pdu", "message"),
    [
        ("zz", "hex"),
        ("", "short"),
        ("0006D60B911326880736F4111011719551401110117195714000", "not an SMS-DELIVER"),
        ("06917228195339040B917228214365", "short"),
        ("06917228195339040B917228214365F700003130805120618005D4F2", "fewer than 5 septets"),
        ("06917228195339040B917228214365F70000313080512061800AD4F29C2E03", "fewer than 10 septets"),
        ("06917228195339040B917228214365F700003131805120618005D4F29C2E03", "no date"),
        ("06917228195339040B917228214365F7000031308051206A8005D4F29C2E03", "semi-octets"),
    ],
)
def test_broken_deliver_raises_pdu_error(pdu: str, message: str) -> None:
    with pytest.raises(PduError, match=message):
        decode_deliver(pdu)


def test_deliver_is_not_a_status_report() -> None:
    with pytest.raises(PduError, match="not an SMS-STATUS-REPORT"):
        decode_status_report("06917228195339040B917228214365F700003130805120618005D4F29C2E03")


# --- SMS-STATUS-REPORT -----------------------------------------------------------------------------


def test_status_report_vector() -> None:
    # faucamp/python-gsmmodem test/test_pdu.py, test_decode: a delivered report for TP-MR 214.
    pdu = "0006D60B911326880736F4111011719551401110117195714000"
    report = decode_status_report(pdu)
    assert report.smsc is None
    assert (report.reference, report.recipient) == (214, "+31628870634")
    assert report.submitted == datetime(2011, 1, 11, 17, 59, 15, tzinfo=zone(1))
    assert report.discharged == datetime(2011, 1, 11, 17, 59, 17, tzinfo=zone(1))
    assert (report.status, report.status_code) == (ReportStatus.DELIVERED, 0x00)
    # The builder writes the same octets back.
    assert (
        encode_status_report(
            report.recipient,
            reference=report.reference,
            status_code=report.status_code,
            submitted=report.submitted,
            discharged=report.discharged,
        )
        == pdu
    )


def test_zte_status_report_with_a_garbled_recipient_still_decodes() -> None:
    # Same source: captured from a ZTE modem; its recipient digits are broken, the rest is sound.
    report = decode_status_report("0297F1061C0F910B487228297020F5317062419272803170624192138000")
    assert report.reference == 28
    assert report.submitted == datetime(2013, 7, 26, 14, 29, 27, tzinfo=zone(2))
    assert report.discharged == datetime(2013, 7, 26, 14, 29, 31, tzinfo=zone(2))
    assert report.status is ReportStatus.DELIVERED


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0x00, ReportStatus.DELIVERED),  # received by the SME
        (0x02, ReportStatus.DELIVERED),  # replaced by the SC
        (0x1F, ReportStatus.DELIVERED),  # SC-specific, still "transaction completed"
        (0x20, ReportStatus.PENDING),  # congestion, still trying
        (0x25, ReportStatus.PENDING),  # quality of service not available, still trying
        (0x3F, ReportStatus.PENDING),
        (0x40, ReportStatus.FAILED),  # remote procedure error
        (0x41, ReportStatus.FAILED),  # incompatible destination
        (0x5F, ReportStatus.FAILED),
        (0x60, ReportStatus.FAILED),  # congestion, SC gave up
        (0x6F, ReportStatus.FAILED),
        (0x7F, ReportStatus.FAILED),
        (0x80, ReportStatus.FAILED),  # reserved
    ],
)
def test_status_codes_map_to_outcomes(code: int, status: ReportStatus) -> None:
    moment = datetime(2025, 3, 1, 12, 0, tzinfo=zone(3))
    pdu = encode_status_report(
        "+79161234567", reference=9, status_code=code, submitted=moment, discharged=moment
    )
    report = decode_status_report(pdu)
    assert (report.status, report.status_code) == (status, code)


# --- round trips -------------------------------------------------------------------------------------

timestamps = st.builds(
    lambda moment, quarters: moment.replace(tzinfo=timezone(quarters * timedelta(minutes=15))),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)).map(
        lambda moment: moment.replace(microsecond=0)
    ),
    st.integers(min_value=-79, max_value=79),
)
originators = st.one_of(
    st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True),
    st.text(alphabet=st.sampled_from(GSM7_CHARS), min_size=1, max_size=11).filter(
        lambda name: len(gsm7.encode_septets(name)) <= 11 and not name.lstrip("+").isdigit()
    ),
)
texts = st.text(alphabet=st.sampled_from(GSM7_CHARS + CYRILLIC + EMOJI), max_size=400)


@given(originator=originators, text=texts, timestamp=timestamps, reference=st.integers(0, 0xFFFF))
def test_deliver_round_trip(originator: str, text: str, timestamp: datetime, reference: int) -> None:
    pdus = encode_deliver(originator, text, timestamp=timestamp, reference=reference, smsc="+79037011111")
    parts = [decode_deliver(pdu) for pdu in pdus]
    for seq, sms in enumerate(parts, start=1):
        assert (sms.originator, sms.smsc) == (originator, "+79037011111")
        assert sms.timestamp == timestamp
        assert sms.timestamp.utcoffset() == timestamp.utcoffset()
        if len(parts) > 1:
            assert sms.concat == Concat(reference=reference, total=len(parts), seq=seq)
    assert join_texts([sms.text for sms in parts]) == text


@given(text=st.text(alphabet=st.sampled_from(sorted(gsm7.BASIC) + CYRILLIC + EMOJI), max_size=400))
def test_smspdudecoder_reads_built_delivers(text: str) -> None:
    # Basic alphabet only: see test_pdu_submit on smspdudecoder and extension characters.
    pdus = encode_deliver("+79161234567", text, timestamp=datetime(2024, 5, 6, 7, 8, 9, tzinfo=zone(-2.5)))
    decoded = [read_incoming_sms(pdu) for pdu in pdus]
    assert "".join(item["content"] for item in decoded) == text
    assert decoded[0]["sender"] == "+79161234567"
    assert decoded[0]["date"] == datetime(2024, 5, 6, 9, 38, 9, tzinfo=UTC)


@given(
    recipient=st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True),
    reference=st.integers(0, 255),
    code=st.integers(0, 255),
    submitted=timestamps,
    discharged=timestamps,
)
def test_status_report_round_trip(
    recipient: str, reference: int, code: int, submitted: datetime, discharged: datetime
) -> None:
    pdu = encode_status_report(
        recipient, reference=reference, status_code=code, submitted=submitted, discharged=discharged
    )
    report = decode_status_report(pdu)
    assert (report.recipient, report.reference, report.status_code) == (recipient, reference, code)
    assert (report.submitted, report.discharged) == (submitted, discharged)
    assert report.submitted.utcoffset() == submitted.utcoffset()


def _ucs2_part(user_data: bytes, *, has_header: bool) -> str:
    stamp = encode_timestamp(datetime(2024, 1, 1, tzinfo=UTC))
    first = 0x44 if has_header else 0x04
    tpdu = bytes([first, 1, 0x91, 0xF1, 0x00, 0x08]) + stamp + bytes([len(user_data)]) + user_data
    return "00" + tpdu.hex()


def test_surrogate_pair_split_by_a_sender_is_joined() -> None:
    # Some senders cut UTF-16 between the halves of a pair; each part keeps its half for the join.
    emoji = "\U0001f600".encode("utf-16-be")
    halves = ((1, "a".encode("utf-16-be") + emoji[:2]), (2, emoji[2:] + "b".encode("utf-16-be")))
    parts = [
        decode_deliver(_ucs2_part(bytes([5, 0x00, 3, 7, 2, seq]) + half, has_header=True))
        for seq, half in halves
    ]
    assert [part.text for part in parts] == ["a\ud83d", "\ude00b"]
    assert join_texts([part.text for part in parts]) == "a\U0001f600b"


def test_lone_surrogate_in_a_single_sms_becomes_a_replacement_character() -> None:
    half = "\U0001f600".encode("utf-16-be")[:2]
    assert decode_deliver(_ucs2_part(half + "b".encode("utf-16-be"), has_header=False)).text == "\ufffdb"


def test_odd_ucs2_octet_becomes_a_replacement_character() -> None:
    assert decode_deliver(_ucs2_part("b".encode("utf-16-be") + b"\x00", has_header=False)).text == "b\ufffd"
