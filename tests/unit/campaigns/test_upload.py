"""The panel's recipients CSV: header row, a phone column, the other columns as variables;
each file refused whole for a reason the page can word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simrelay.campaigns import upload
from simrelay.campaigns.upload import BadUpload, decode_upload, parse_recipients
from simrelay.web.i18n import TEXTS


def test_the_phone_column_and_every_other_column_as_variables() -> None:
    upload = parse_recipients("name,phone_number,code\r\nAnn,+79990001122,42\r\nBob, 79990001133 ,7\r\n")
    assert upload.recipients == [
        {"phone_number": "+79990001122", "vars": {"name": "Ann", "code": "42"}},
        {"phone_number": "79990001133", "vars": {"name": "Bob", "code": "7"}},
    ]
    assert upload.lines == [2, 3]


def test_a_phone_column_is_accepted_too_in_any_case() -> None:
    upload = parse_recipients(" Phone ;x\n".replace(";", ",") + "79990001122,1\n")
    assert upload.recipients == [{"phone_number": "79990001122", "vars": {"x": "1"}}]


def test_phone_number_wins_over_phone_which_is_then_a_variable() -> None:
    upload = parse_recipients("phone,phone_number\nhome,79990001122\n")
    assert upload.recipients == [{"phone_number": "79990001122", "vars": {"phone": "home"}}]


def test_lines_count_blank_lines_and_quoted_line_breaks() -> None:
    text = 'phone,note\n79990000001,"two\nlines"\n\n79990000002,x\n'
    upload = parse_recipients(text)
    assert upload.lines == [2, 5]
    assert upload.recipients[0]["vars"] == {"note": "two\nlines"}


def test_a_short_row_lacks_the_missing_variables_and_extra_cells_are_ignored() -> None:
    upload = parse_recipients("phone,name,code\n79990000001,Ann\n79990000002,Bob,1,extra\n")
    assert [r["vars"] for r in upload.recipients] == [{"name": "Ann"}, {"name": "Bob", "code": "1"}]


def test_a_row_without_its_number_keeps_an_empty_one_to_be_rejected_later() -> None:
    upload = parse_recipients("name,phone\nAnn\n")
    assert upload.recipients == [{"phone_number": "", "vars": {"name": "Ann"}}]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("phone,name\n", "empty"),
        ("phone,name\n,\n", "empty"),
        ("number,name\n79990001122,Ann\n", "no_phone_column"),
        ('phone\n"79990001122\n', "bad_csv"),
        ('phone,name\n79990001122,"Ann"x\n', "bad_csv"),
    ],
)
def test_a_file_is_refused_whole(text: str, reason: str) -> None:
    with pytest.raises(BadUpload) as refused:
        parse_recipients(text)
    assert refused.value.reason == reason


def test_more_rows_than_a_bulk_send_takes_are_refused() -> None:
    rows = "".join(f"7999{i:07d}\n" for i in range(4))
    assert len(parse_recipients("phone\n" + rows, max_rows=4).recipients) == 4
    with pytest.raises(BadUpload) as refused:
        parse_recipients("phone\n" + rows + "79990009999\n", max_rows=4)
    assert refused.value.reason == "too_many_rows"


def test_the_default_limit_is_the_bulk_apis() -> None:
    rows = "79990001122\n" * 10_001
    with pytest.raises(BadUpload, match="too_many_rows"):
        parse_recipients("phone\n" + rows)
    assert len(parse_recipients("phone\n" + "79990001122\n" * 10_000).recipients) == 10_000


def test_decoding_takes_utf8_drops_a_bom_and_refuses_the_rest() -> None:
    assert decode_upload("\ufeffphone,имя\n".encode(), max_bytes=100) == "phone,имя\n"
    with pytest.raises(BadUpload, match="not_utf8"):
        decode_upload("phone,имя\n".encode("cp1251"), max_bytes=100)
    with pytest.raises(BadUpload, match="too_large"):
        decode_upload(b"x" * 101, max_bytes=100)
    assert decode_upload(b"x" * 100, max_bytes=100) == "x" * 100


def test_every_refusal_has_the_panels_words_in_both_languages() -> None:
    """The page shows `upload_<reason>`: a reason without a text would leave a blank error."""
    reasons = set(re.findall(r'BadUpload\("(\w+)"\)', Path(upload.__file__).read_text()))
    assert reasons == {"too_large", "not_utf8", "empty", "no_phone_column", "too_many_rows", "bad_csv"}
    assert all(set(TEXTS[f"upload_{reason}"]) == {"ru", "en"} for reason in reasons | {"no_file"})
