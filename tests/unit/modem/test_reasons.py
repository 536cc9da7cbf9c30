"""Send failures in words with their number, and the id an incoming SMS gets on every read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simrelay.modem.inbox import received_id
from simrelay.modem.reasons import describe_error, send_failure
from simrelay.modem.results import parse_final


def error_of(line: str):
    final = parse_final(line, "AT+CMGS=20")
    assert final is not None and final.error is not None
    return final.error


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("+CMS ERROR: 38", "+CMS ERROR 38: network out of order"),
        ("+CMS ERROR: 42", "+CMS ERROR 42: congestion"),
        ("+CMS ERROR: 322", "+CMS ERROR 322: memory full"),
        ("+CMS ERROR: 330", "+CMS ERROR 330: SMSC address unknown"),
        ("+CMS ERROR: 331", "+CMS ERROR 331: no network service"),
        ("+CMS ERROR: 332", "+CMS ERROR 332: network timeout"),
        ("+CMS ERROR: 500", "+CMS ERROR 500: unknown error"),
        ("+CMS ERROR: memory full", "+CMS ERROR 322: memory full"),
        ("+CMS ERROR: 999", "+CMS ERROR 999: error"),
        ("+CME ERROR: 30", "+CME ERROR 30: no network service"),
        ("ERROR", "modem answered ERROR"),
    ],
)
def test_cms_errors_become_reasons_that_keep_their_number(line: str, reason: str) -> None:
    assert describe_error(error_of(line)) == reason


def test_a_part_refused_after_others_went_out_says_how_many() -> None:
    reason = send_failure(error_of("+CMS ERROR: 42"), sent_parts=1, parts=3)
    assert reason == "+CMS ERROR 42: congestion (part 2 of 3; 1 part(s) went out)"
    assert send_failure(error_of("+CMS ERROR: 42"), sent_parts=0, parts=3) == "+CMS ERROR 42: congestion"


def test_the_received_id_is_the_same_on_every_read_and_differs_by_sms() -> None:
    when = datetime(2026, 12, 5, 14, 30, 15, tzinfo=UTC)
    first = received_id("867856030000001", originator="+4915100001", timestamp=when, text="Привет")
    assert first == received_id("867856030000001", originator="+4915100001", timestamp=when, text="Привет")
    assert first.startswith("m-") and len(first) <= 64
    others = {
        received_id("867856030000002", originator="+4915100001", timestamp=when, text="Привет"),
        received_id("867856030000001", originator="+4915100002", timestamp=when, text="Привет"),
        received_id(
            "867856030000001", originator="+4915100001", timestamp=when.replace(second=16), text="Привет"
        ),
        received_id("867856030000001", originator="+4915100001", timestamp=when, text="Привет!"),
    }
    assert first not in others and len(others) == 4
