"""Text mode (27.005 §3-4): what AT+CMGS is given, and received SMS and status reports read from
the text-mode headers of +CMGR, +CMGL, +CMT and +CDS. Header shapes as in the SIM800 manual V1.09
(AT+CMGL p. 115, AT+CMGR p. 118) and 27.005 §3.4.1 (+CMT, +CDS)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from simrelay.modem.fields import Alphabet, PduError
from simrelay.modem.pdu import ReportStatus, encode_submit
from simrelay.modem.results import data_follows, parse_urc, pdu_length, split_values
from simrelay.modem.text import decode_text_deliver, decode_text_report, encode_text_submit, read_text_entries


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def values(line: str) -> tuple:
    return split_values(line.split(":", 1)[1])


def test_gsm_text_goes_as_gsm_codes_with_dcs_0_and_an_international_toda():
    (part,) = encode_text_submit("+79990001122", "Ärger? ¿Ñu!")
    assert (part.charset, part.dcs, part.address, part.toda) == ("GSM", 0, "+79990001122", 145)
    # 23.038: Ä is 0x5B, ¿ 0x60, Ñ 0x5D; in the "GSM" set those codes are the bytes sent.
    assert part.data == "[rger? `]u!"
    assert (part.seq, part.total) == (1, 1)


def test_cyrillic_goes_as_ucs2_hex_with_dcs_8_and_the_number_in_ucs2_too():
    (part,) = encode_text_submit("+79990001122", "Привет")
    assert (part.charset, part.dcs, part.toda) == ("UCS2", 8, 145)
    # 27.005 §3.1: <da> is written in the TE character set, so in "UCS2" as hex as well.
    assert part.address == ucs2("+79990001122")
    assert part.data == ucs2("Привет")


@pytest.mark.parametrize("char", ["@", "$", "_", "é", "€", "[", "\n"])
def test_gsm_characters_whose_codes_are_no_printable_byte_go_as_ucs2(char):
    # @ is NUL, $ 0x02, _ 0x11 (XON), é 0x05, LF 0x0A; € and [ need ESC, which cancels AT+CMGS.
    (part,) = encode_text_submit("12345", f"a{char}b")
    assert (part.charset, part.dcs, part.toda) == ("UCS2", 8, 129)
    assert part.data == ucs2(f"a{char}b")


@pytest.mark.parametrize("text", ["x" * 161, "y" * 400, "Ж" * 71, "Ж" * 200])
def test_long_texts_are_split_where_the_server_counts_parts(text):
    parts = encode_text_submit("+4915112345678", text)
    assert len(parts) == len(encode_submit("+4915112345678", text, reference=0))
    assert [(part.seq, part.total) for part in parts] == [(n, len(parts)) for n in range(1, len(parts) + 1)]
    if parts[0].charset == "GSM":
        assert "".join(part.data for part in parts) == text
        assert {len(part.data) for part in parts[:-1]} == {153}
    else:
        assert "".join(bytes.fromhex(part.data).decode("utf-16-be") for part in parts) == text


@pytest.mark.parametrize("number", ["", "+", "+49 151", "call me"])
def test_a_number_that_is_not_one_cannot_be_encoded(number):
    with pytest.raises(ValueError):
        encode_text_submit(number, "hi")


def test_a_text_cds_is_a_status_report_with_its_reference_and_outcome():
    line = '+CDS: 6,12,"+79990001122",145,"26/12/05,14:30:15+12","26/12/05,14:31:20+12",0'
    report = decode_text_report(values(line), charset="GSM")
    plus_three = timezone(timedelta(hours=3))
    assert (report.reference, report.recipient, report.status, report.status_code) == (
        12, "+79990001122", ReportStatus.DELIVERED, 0
    )  # fmt: skip
    assert report.submitted == datetime(2026, 12, 5, 14, 30, 15, tzinfo=plus_three)
    assert report.discharged == datetime(2026, 12, 5, 14, 31, 20, tzinfo=plus_three)


@pytest.mark.parametrize(
    ("st", "status"),
    [(0x1F, ReportStatus.DELIVERED), (0x20, ReportStatus.PENDING), (0x41, ReportStatus.FAILED),
     (0x80, ReportStatus.FAILED)],
)  # fmt: skip
def test_the_report_outcome_follows_tp_st_ranges(st, status):
    report = decode_text_report((6, 7, "", "", "26/12/05,14:30:15-08", "26/12/05,14:30:15-08", st))
    assert report.status is status and report.status_code == st
    assert report.submitted.utcoffset() == timedelta(hours=-2)


def test_a_report_recipient_in_ucs2_is_decoded_and_one_in_another_set_kept():
    stamp = "26/12/05,14:30:15+00"
    assert decode_text_report((6, 1, ucs2("+4915"), 145, stamp, stamp, 0)).recipient == "+4915"
    # A +CDS that came while the modem was in "GSM" (a send under way) is read as it is.
    assert decode_text_report((6, 1, "+4915", 145, stamp, stamp, 0)).recipient == "+4915"


@pytest.mark.parametrize(
    "fields",
    [
        (6, 1, "", "", "26/12/05,14:30:15+00", "26/12/05,14:30:15+00"),  # no <st>
        ("+4915", "", "26/12/05,14:30:15+00", 145, 4),  # an SMS header, not a report's
        (6, 300, "", "", "26/12/05,14:30:15+00", "26/12/05,14:30:15+00", 0),  # <mr> past an octet
        (6, 1, "", "", "yesterday", "26/12/05,14:30:15+00", 0),
        (6, 1, "", "", "26/13/05,14:30:15+00", "26/12/05,14:30:15+00", 0),  # month 13
    ],
)
def test_what_is_no_text_status_report_is_a_pdu_error(fields):
    with pytest.raises(PduError):
        decode_text_report(fields)


def test_a_detailed_cmgr_in_ucs2_gives_the_sms_its_sender_time_smsc_and_text():
    header = values(
        f'+CMGR: "REC UNREAD","{ucs2("+4915100001")}","","26/12/05,14:30:15+04",145,4,0,8,'
        f'"{ucs2("+491710760000")}",145,12'
    )[1:]
    sms = decode_text_deliver(header, ucs2("Привет"))
    assert (sms.originator, sms.smsc, sms.text, sms.alphabet, sms.dcs) == (
        "+4915100001", "+491710760000", "Привет", Alphabet.UCS2, 8
    )  # fmt: skip
    assert sms.timestamp == datetime(2026, 12, 5, 14, 30, 15, tzinfo=timezone(timedelta(hours=1)))
    assert sms.concat is None and sms.message_class is None


def test_gsm_text_read_in_ucs2_is_converted_and_keeps_its_gsm_alphabet():
    header = (ucs2("+4915100001"), "", "26/12/05,14:30:15+00", 145, 4, 0, 0, ucs2("+491710760000"), 145, 5)
    sms = decode_text_deliver(header, ucs2("Hi @€"))
    assert (sms.text, sms.alphabet, sms.dcs, sms.smsc) == ("Hi @€", Alphabet.GSM7, 0, "+491710760000")


def test_a_short_cmgl_header_has_no_dcs_and_the_text_is_read_in_the_charset():
    header = values(f'+CMGL: 3,"REC READ","{ucs2("1234")}","","26/12/05,14:30:15+00",129,6')[2:]
    sms = decode_text_deliver(header, ucs2("Ответ"))
    assert (sms.originator, sms.text, sms.alphabet) == ("1234", "Ответ", Alphabet.UCS2)
    # Without <dcs> a text that fits GSM-7 is taken for GSM-7.
    assert decode_text_deliver(header, ucs2("plain")).alphabet is Alphabet.GSM7


def test_a_cmt_in_the_gsm_set_keeps_the_text_and_adds_the_plus_of_an_international_tooa():
    header = values('+CMT: "4915100001","","26/12/05,14:30:15+00",145,4,0,0,"491710760000",145,5')
    sms = decode_text_deliver(header, "hello", charset="GSM")
    assert (sms.originator, sms.smsc, sms.text) == ("+4915100001", "+491710760000", "hello")


def test_8_bit_data_and_user_data_with_a_header_stay_hex():
    header = (ucs2("+4915100001"), "", "26/12/05,14:30:15+00", 145, 4, 0, 4, "", 145, 2)
    sms = decode_text_deliver(header, "c0ff")
    assert (sms.text, sms.alphabet, sms.smsc) == ("C0FF", Alphabet.DATA8, None)
    with_udh = (ucs2("+4915100001"), "", "26/12/05,14:30:15+00", 145, 0x44, 0, 0, "", 145, 9)
    assert decode_text_deliver(with_udh, "050003420201C834").text == "050003420201C834"


@pytest.mark.parametrize(
    ("header", "data"),
    [
        ((6, 12, "", "", "26/12/05,14:30:15+00", "26/12/05,14:30:15+00", 0), ""),  # a status report
        (("+4915", "", ""), "hi"),  # no time stamp
        ((ucs2("+4915"), "", "26/12/05,14:30:15+00"), "not hex"),  # UCS2 that is not hex
        ((ucs2("+4915"), "", "26/12/05,14:30:15+00", 145, "x", 0, 0, "", 145, 2), ucs2("hi")),
    ],
)
def test_what_is_no_received_sms_is_a_pdu_error(header, data):
    with pytest.raises(PduError):
        decode_text_deliver(header, data)


def test_a_text_listing_gives_each_message_and_reports_have_no_data_line():
    lines = [
        f'+CMGL: 1,"REC UNREAD","{ucs2("+4915100001")}","","26/12/05,14:30:15+00",145,4',
        ucs2("Hallo"),
        '+CMGL: 2,"REC READ",6,17,"+7999",145,"26/12/05,14:30:15+00","26/12/05,14:30:20+00",0',
        f'+CMGL: 4,"STO SENT","{ucs2("+7999")}","",,145,2',
        ucs2("Hi"),
        '+CMGL: 5,"NEW STATE","x","","26/12/05,14:30:15+00"',  # an unknown <stat>: skipped
        "garbage",
    ]
    entries = read_text_entries(lines, "+CMGL")
    assert [(entry.index, entry.stat, entry.data) for entry in entries] == [
        (1, 0, ucs2("Hallo")), (2, 1, ""), (4, 3, ucs2("Hi"))
    ]  # fmt: skip
    assert decode_text_report(entries[1].header).reference == 17
    assert decode_text_deliver(entries[0].header, entries[0].data).text == "Hallo"


def test_a_text_cmgr_has_no_index_and_an_empty_text_no_data():
    entries = read_text_entries(['+CMGR: "REC READ","+4915","","26/12/05,14:30:15+00"'], "+CMGR")
    assert [(entry.index, entry.stat, entry.header[0], entry.data) for entry in entries] == [
        (None, 1, "+4915", "")
    ]


@pytest.mark.parametrize(
    ("line", "length", "follows"),
    [
        ("+CMT: ,23", 23, False),  # PDU mode: [<alpha>],<length>
        ('+CMT: "Alice",23', 23, False),
        ("+CDS: 25", 25, False),
        ("+CBM: 88", 88, False),
        ('+CDS: 6,12,"+7999",145,"26/12/05,14:30:15+00","26/12/05,14:30:20+00",0', None, False),
        ('+CMT: "+4915","","26/12/05,14:30:15+00"', None, True),
        ('+CMT: "+4915","","26/12/05,14:30:15+00",145,4,0,0,"+4917",145,5', None, True),
        ("+CBM: 1,50,0,1,1", None, True),
        ('+CMTI: "SM",3', None, False),
    ],
)
def test_pdu_headers_announce_a_length_and_text_cmt_and_cbm_a_data_line(line, length, follows):
    urc = parse_urc(line)
    assert pdu_length(urc) == length
    assert data_follows(urc) is follows
