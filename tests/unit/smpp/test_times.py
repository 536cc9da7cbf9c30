"""SMPP time strings (SMPP 3.4 §7.1.1): absolute and relative, vectors from mozes/smpp.pdu's
tests/test_smpp_time.py and the spec's definition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.smpp.times import format_time, parse_time


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> float:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC).timestamp()


NOW = utc(2026, 12, 6, 4, 30)


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        # test_parse_absolute_no_offset: 23:34:29.8 at UTC
        ("070927233429800+", utc(2007, 9, 27, 23, 34, 29, 800000)),
        # test_parse_absolute_positive_offset: 48 quarter hours ahead of UTC, so 12 h earlier in UTC
        ("070927233429848+", utc(2007, 9, 27, 11, 34, 29, 800000)),
        # test_parse_absolute_negative_offset: 12 h behind UTC
        ("070927233429848-", utc(2007, 9, 28, 11, 34, 29, 800000)),
        ("261206063000008+", utc(2026, 12, 6, 4, 30)),  # Central European Summer Time, +2 h
        # OpenMarket's submit_sm example (see test_pdu): 12:00 at +1 h
        ("180105120000004+", utc(2018, 1, 5, 11)),
    ],
)
def test_absolute(value: str, moment: float) -> None:
    assert parse_time(value, now=NOW) == pytest.approx(moment)


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("000000001000000R", NOW + 600),  # test_parse_relative_mins_only: 10 minutes
        ("000001000000000R", NOW + 86400),
        ("000000000000000R", NOW),
        # test_parse_relative: 2 years, 6 months, 10 days, 23:34:29
        ("020610233429000R", utc(2029, 6, 16, 4, 30) + 23 * 3600 + 34 * 60 + 29),
        ("000000000000548R", NOW),  # t and nn are ignored in a relative time
    ],
)
def test_relative(value: str, moment: float) -> None:
    assert parse_time(value, now=NOW) == moment


def test_relative_months_end_on_the_last_day() -> None:
    assert parse_time("000100000000000R", now=utc(2024, 1, 31, 12)) == utc(2024, 2, 29, 12)
    assert parse_time("010000000000000R", now=utc(2024, 2, 29)) == utc(2025, 2, 28)


def test_empty_is_none() -> None:
    assert parse_time("", now=NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        "0709272334298+",  # too short
        "070927233429800+0",  # too long
        "07092723342980 +",
        "070927233429800X",
        "070927233429849+",  # 49 quarter hours
        "071327233429800+",  # month 13
        "070931233429800+",  # 31 September
        "070927243429800+",  # hour 24
        "０70927233429800+",  # a digit that is not ASCII
    ],
)
def test_invalid(value: str) -> None:
    with pytest.raises(ValueError):
        parse_time(value, now=NOW)


@settings(deadline=None)  # CI runs suites side by side on two cores
@given(st.integers(min_value=946684800 * 10, max_value=4102444799 * 10).map(lambda tenths: tenths / 10))
def test_format_round_trip(moment: float) -> None:
    text = format_time(moment)
    assert len(text) == 16 and text.endswith("00+")
    assert parse_time(text, now=0) == pytest.approx(moment, abs=0.1)


@pytest.mark.parametrize("moment", [utc(1999, 12, 31, 23, 59), utc(2100, 1, 1)])
def test_format_outside_2000_2099(moment: float) -> None:
    with pytest.raises(ValueError, match="2000-2099"):
        format_time(moment)
