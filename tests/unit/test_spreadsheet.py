"""CSV for spreadsheets: RFC 4180 lines in UTF-8, and text that a spreadsheet would run as a
formula turned into text (OWASP's CSV injection advice)."""

from __future__ import annotations

import csv
import io

import pytest

from simrelay.spreadsheet import csv_lines, defused


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+79990001122", "+79990001122"),  # a phone number: only digits after the sign
        ("-1", "-1"),
        ("+1+2", "'+1+2"),
        ("-1)*SUM(A1", "'-1)*SUM(A1"),
        ("+7999\n=1", "'+7999\n=1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("", ""),
        ("Привет", "Привет"),
    ],
)
def test_text_that_would_be_a_formula_gets_an_apostrophe_and_a_signed_number_does_not(
    cell: str, written: str
) -> None:
    assert defused(cell) == written


def test_numbers_and_empty_cells_stay_as_they_are() -> None:
    assert defused(-2) == -2 and defused(None) is None


def test_lines_are_crlf_utf8_and_read_back() -> None:
    rows = [["id", "message", "sim"], ["1", 'два "слова",\nстроки', None], ["2", "=1", -2]]
    data = csv_lines(rows)
    assert data.startswith(b"id,message,sim\r\n")
    assert data.decode("utf-8").endswith("2,'=1,-2\r\n")
    back = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert back == [["id", "message", "sim"], ["1", 'два "слова",\nстроки', ""], ["2", "'=1", "-2"]]
