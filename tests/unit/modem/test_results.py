"""Parsing what modems say: final codes in both error forms, parameter lists, URC names, PDU fits."""

from __future__ import annotations

import pytest

from simrelay.modem.at import command_prefix
from simrelay.modem.results import ErrorKind, parse_final, parse_urc, pdu_fits, split_values, urc_name


@pytest.mark.parametrize(
    ("line", "kind", "code"),
    [
        ("+CMS ERROR: 38", ErrorKind.CMS, 38),
        ("+CMS ERROR: invalid memory index", ErrorKind.CMS, 321),
        ("+CMS ERROR: Network timeout", ErrorKind.CMS, 332),
        ("+CME ERROR: 10", ErrorKind.CME, 10),
        ("+CME ERROR: SIM PIN required", ErrorKind.CME, 11),
        ("+CME ERROR: something new", ErrorKind.CME, None),
        ("ERROR", ErrorKind.ERROR, None),
        ("NO CARRIER", ErrorKind.NO_CARRIER, None),
        ("COMMAND NOT SUPPORT", ErrorKind.NOT_SUPPORTED, None),
    ],
)
def test_error_finals_carry_their_number_in_either_form(line, kind, code):
    final = parse_final(line, "AT+CMGS=20")
    assert final is not None and final.error is not None
    assert (final.error.kind, final.error.code) == (kind, code)
    assert "AT+CMGS=20" in str(final.error)


def test_ok_is_a_final_without_error_and_answers_are_not_finals():
    ok = parse_final("OK")
    assert ok is not None and ok.error is None
    assert parse_final("+CSQ: 20,0") is None
    assert parse_final("OKAY") is None


def test_values_split_outside_quotes_and_numbers_only_when_bare():
    assert split_values('0,"Balance: 5,00 EUR",15') == (0, "Balance: 5,00 EUR", 15)
    assert split_values('0,0,"26201",7') == (0, 0, "26201", 7)
    assert split_values(",23") == ("", 23)


def test_urc_names_known_and_unknown():
    assert urc_name('+CMTI: "SM",3') == "+CMTI"
    assert urc_name("^RSSI:17") == "^RSSI"
    assert urc_name("Call Ready") == "Call Ready"
    assert urc_name("+QIND: SMS DONE") == "+QIND"
    assert urc_name("+CSQ: 20,0") is None
    assert urc_name("867856030123456") is None
    assert parse_urc("^BOOT:20952309,0,0,0,75").values == (20952309, 0, 0, 0, 75)
    assert parse_urc("RING").values == ()


def test_a_pdu_fits_its_header_with_or_without_the_smsc():
    tpdu = "0031000D91945111325476F80000A705E8329BFD06"[2:]
    assert pdu_fits("00" + tpdu, 20)
    assert pdu_fits(tpdu, 20)
    assert not pdu_fits("00" + tpdu, 22)
    assert not pdu_fits("89490200001234567890", 20)  # an ICCID is digits, and of another length
    assert not pdu_fits("OK", 1)


@pytest.mark.parametrize(
    ("command", "prefix"),
    [("AT+CPIN?", "+CPIN"), ("AT^ICCID?", "^ICCID"), ("AT+CMGS=20", "+CMGS"), ("ATE0", None), ("AT", None)],
)
def test_command_prefix(command, prefix):
    assert command_prefix(command) == prefix
