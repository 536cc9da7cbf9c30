"""What SMS search matches: one stored, case-folded text per SMS, and needles made to fit it."""

from __future__ import annotations

from simrelay.sms.schemas import CONTROL

SEPARATOR = "\x1f"
"""Between text and number: a control character that no message and no needle may contain,
so a search never matches across the two fields."""


def search_text(message: str, phone_number: str) -> str:
    return message.casefold() + SEPARATOR + phone_number


def needle(search: str) -> str | None:
    """The case-folded substring to look for; None when no SMS can match it.

    A leading `+` before digits is dropped, as it is from stored numbers. Control characters
    (other than the newline and tab a message may hold) match nothing, and databases refuse
    some of them (PostgreSQL and NUL).
    """
    if CONTROL.search(search):
        return None
    if search.startswith("+") and search[1:].isdigit():
        search = search[1:]
    return search.casefold()
