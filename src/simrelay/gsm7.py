"""The GSM 7-bit default alphabet (3GPP TS 23.038 6.2.1) and its packing into octets (6.1.2.1),
for the modem host's PDUs and SMPP's data_coding 0 alike.

Text becomes septet codes (an extension-table character is ESC + code); `pack` and `unpack` move
septets in and out of octets, least significant bit first, after any fill bits a UDH leaves.
"""

from __future__ import annotations

import codecs

# Imported for its side effect: it registers the "gsm03.38" codec looked up below.
import gsm0338  # type: ignore[import-untyped]  # noqa: F401

ESC = 0x1B


def _tables() -> tuple[dict[int, str], dict[int, str]]:
    # gsm0338 owns the character names of the 23.038 tables; what it decodes is what we send.
    codec = codecs.lookup("gsm03.38")
    basic = {code: codec.decode(bytes([code]))[0] for code in range(0x80) if code != ESC}
    extension: dict[int, str] = {}
    for code in range(0x80):
        try:
            extension[code] = codec.decode(bytes([ESC, code]))[0]
        except UnicodeDecodeError:
            continue
    return basic, extension


_BASIC_BY_CODE, _EXTENSION_BY_CODE = _tables()
_CODE_OF: dict[str, bytes] = {char: bytes([code]) for code, char in _BASIC_BY_CODE.items()}
_CODE_OF.update({char: bytes([ESC, code]) for code, char in _EXTENSION_BY_CODE.items()})

BASIC: frozenset[str] = frozenset(_BASIC_BY_CODE.values())
"""The characters of the default alphabet, ESC left out: a literal U+001B cannot be sent."""
EXTENSION: frozenset[str] = frozenset(_EXTENSION_BY_CODE.values())
"""The characters of the default extension table; each costs two septets."""


def fits(text: str) -> bool:
    return all(char in _CODE_OF for char in text)


def septets_of(char: str) -> bytes:
    """The septet codes of one character: one code, or ESC and a code. KeyError if it has none."""
    return _CODE_OF[char]


def encode_septets(text: str) -> bytes:
    """The septet codes of a text, one per octet; ValueError names the first character without one."""
    try:
        return b"".join(_CODE_OF[char] for char in text)
    except KeyError as error:
        raise ValueError(f"{error.args[0]!r} is not in the GSM 7-bit default alphabet") from None


def decode_septets(septets: bytes) -> str:
    chars: list[str] = []
    escaped = False
    for code in septets:
        if escaped:
            escaped = False
            # 23.038 6.2.1.1: ESC ESC is kept for a future table and shows as a space; a code the
            # extension table lacks shows as the default alphabet's character.
            if code == ESC:
                chars.append(" ")
            else:
                chars.append(_EXTENSION_BY_CODE.get(code) or _BASIC_BY_CODE[code & 0x7F])
        elif code == ESC:
            escaped = True
        else:
            chars.append(_BASIC_BY_CODE[code & 0x7F])
    return "".join(chars)


def pack(septets: bytes, *, fill_bits: int = 0) -> bytes:
    """Septets packed into octets after `fill_bits` zero bits (the fill that aligns a UDH)."""
    bits = 0
    for position, code in enumerate(septets):
        bits |= (code & 0x7F) << (fill_bits + 7 * position)
    width = fill_bits + 7 * len(septets)
    return bits.to_bytes((width + 7) // 8, "little")


def unpack(data: bytes, count: int, *, fill_bits: int = 0) -> bytes:
    """`count` septets read from `data` after `fill_bits` bits; ValueError if data is too short."""
    if fill_bits + 7 * count > 8 * len(data):
        raise ValueError(f"{len(data)} octets hold fewer than {count} septets")
    bits = int.from_bytes(data, "little") >> fill_bits
    return bytes((bits >> (7 * position)) & 0x7F for position in range(count))
