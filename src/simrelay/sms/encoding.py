"""Choose the SMS encoding of a text (GSM 03.38 7-bit or UCS-2) and count the parts it needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# GSM 03.38 default alphabet, in code order 0x00..0x7F. 0x1B is left out: it is the escape to the
# extension table, not a character, so a literal U+001B in a text cannot be sent as gsm7.
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"  # 0x00-0x1A
    "ÆæßÉ"  # 0x1C-0x1F
    " !\"#¤%&'()*+,-./0123456789:;<=>?"  # 0x20-0x3F
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"  # 0x40-0x5F
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"  # 0x60-0x7F
)

# Extension table: each is sent as ESC + code, so it costs two septets.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

# A concatenated part gives 6 of its 140 octets to the UDH: 7 septets (with fill bits) or 3 UCS-2 units.
GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67


@dataclass(frozen=True, slots=True)
class Encoding:
    name: str  # "gsm7" or "ucs2"
    units: int  # septets for gsm7 (extension-table chars count 2), UTF-16 code units for ucs2
    parts: int  # number of SMS parts (1 for empty text)


GSM7_ALL: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    return GSM7_ALL.issuperset(text)


def _count_parts(widths: Iterable[int], total: int, single: int, multi: int) -> int:
    if total <= single:
        return 1
    # Greedy fill, but an escape pair or a surrogate pair is one unbreakable item: a handset cannot
    # decode half of one, so when it does not fit it moves whole to the next part (which may leave
    # the previous part one unit short).
    parts, used = 1, 0
    for width in widths:
        if used + width > multi:
            parts += 1
            used = 0
        used += width
    return parts


def encoding_of(text: str) -> Encoding:
    if len(text) <= UCS2_SINGLE and text.isascii() and GSM7_ALL.issuperset(text):
        # The common short text: at most 140 septets even if all were escapes, so one part.
        units = len(text) + sum(text.count(c) for c in GSM7_EXTENSION)
        return Encoding(name="gsm7", units=units, parts=1)
    if is_gsm7(text):
        widths = [2 if c in GSM7_EXTENSION else 1 for c in text]
        name, single, multi = "gsm7", GSM7_SINGLE, GSM7_MULTI
    else:
        # Python strings hold code points; astral ones take a surrogate pair in UTF-16.
        widths = [2 if ord(c) > 0xFFFF else 1 for c in text]
        name, single, multi = "ucs2", UCS2_SINGLE, UCS2_MULTI
    total = sum(widths)
    return Encoding(name=name, units=total, parts=_count_parts(widths, total, single, multi))
