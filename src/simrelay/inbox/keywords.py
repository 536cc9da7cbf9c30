"""Opt-out keywords: which received SMS mean "stop texting me" or "texting me is fine again"."""

from __future__ import annotations

from typing import Literal

STOP_WORDS = frozenset(
    word.casefold()
    for word in (
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "СТОП",
        "ОТПИСАТЬСЯ",
        "ОТПИСКА",
        "ОТМЕНА",
    )
)
START_WORDS = frozenset(
    word.casefold() for word in ("START", "UNSTOP", "SUBSCRIBE", "YES", "СТАРТ", "ПОДПИСАТЬСЯ")
)


def opt_out_keyword(text: str) -> Literal["stop", "start"] | None:
    """Which keyword the whole message is: "stop", "start", or None for anything else.

    Case and the punctuation, symbols and spaces around the word don't matter ("Stop!",
    "«СТОП»"); anything else in the message does.
    """
    # The whole message, not a word in it: "please stop calling", "don't cancel my order" or
    # "end of the day" are conversation, and treating them as opt-outs would silently cut
    # people off without their asking. A sender who means it replies with the bare word.
    word = _strip_surrounding(text.strip().casefold())
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def _strip_surrounding(text: str) -> str:
    """Drops leading and trailing characters that are neither letters nor digits."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]
