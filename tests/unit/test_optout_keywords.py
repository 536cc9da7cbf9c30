"""Opt-out keywords: whole messages only, any case, punctuation around the word ignored."""

from __future__ import annotations

import pytest

from simrelay.inbox.keywords import opt_out_keyword
from simrelay.inbox.service import sender_number


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop",
        "sToP",
        "STOPALL",
        "stopall",
        "UNSUBSCRIBE",
        "Cancel",
        "end",
        "QUIT",
        "СТОП",
        "стоп",
        "Стоп",
        "ОТПИСАТЬСЯ",
        "отписаться",
        "Отписка",
        "отмена",
        "  STOP  ",
        "\nstop\t",
        "STOP!",
        "stop.",
        "Stop!!!",
        "...stop...",
        '"STOP"',
        "«СТОП»",
        "(стоп)",
        "СТОП!",
        "stop 🙏",
    ],
)
def test_stop_words_are_stop(text: str) -> None:
    assert opt_out_keyword(text) == "stop"


@pytest.mark.parametrize(
    "text",
    [
        "START",
        "start",
        "Start!",
        "UNSTOP",
        "unstop",
        "SUBSCRIBE",
        "Subscribe.",
        "YES",
        "yes",
        "Yes!",
        "СТАРТ",
        "старт",
        "Подписаться",
        "ПОДПИСАТЬСЯ",
        " «старт» ",
    ],
)
def test_start_words_are_start(text: str) -> None:
    assert opt_out_keyword(text) == "start"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!!",
        "please stop calling",
        "STOP sending me these",
        "don't cancel my order",
        "end of the day",
        "yes please",
        "Стоп, я перезвоню",
        "не надо стоп",
        "stop all",
        "stops",
        "unstoppable",
        "s t o p",
        "st-op",
        "STOP1",
        "1STOP",
        "стопка",
        "отменить",
        "подписка",
        "Hello",
        "STOP STOP",
    ],
)
def test_anything_else_is_no_keyword(text: str) -> None:
    assert opt_out_keyword(text) is None


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("79990001122", "79990001122"),
        ("+79990001122", "79990001122"),
        ("+7 (999) 000-11-22", "79990001122"),
        ("8 999 000 11 22", "89990001122"),
        ("900", "900"),
        ("12", None),
        ("++79990001122", None),
        ("7999+0001122", None),
        ("MyBank", None),
        ("Tele2", None),
        ("", None),
        ("1" * 31, None),
    ],
)
def test_sender_number_keeps_digits_of_numbers_only(sender: str, expected: str | None) -> None:
    assert sender_number(sender) == expected
