"""USSD strings of AT+CUSD (3GPP TS 27.007 7.15): requests packed for the modems that want them,
and the answers of +CUSD decoded by their data coding scheme (the CBS one, TS 23.038 5). Pure."""

from __future__ import annotations

import string

from simrelay import gsm7
from simrelay.modem.fields import Alphabet

REQUEST_DCS = 15
"""The <dcs> of AT+CUSD=1,"<str>",15: GSM 7-bit, language unspecified."""

_CR = 0x0D


def encode_ussd(code: str, *, packed: bool) -> str:
    """The <str> of AT+CUSD=1,"<str>",15 for a code such as "*100#".

    Huawei E-series sticks (in their default ^USSDMODE) want it as packed GSM 7-bit in hex; most
    other modems take the text itself. ValueError for a character outside the GSM 7-bit alphabet."""
    septets = gsm7.encode_septets(code)
    if not packed:
        return code
    # 23.038 6.1.2.3.1: seven spare bits would read as a trailing "@", so a CR fills them; a CR the
    # text really ends with on an octet boundary is doubled so the reader's strip keeps one.
    if len(septets) % 8 == 7 or (len(septets) % 8 == 0 and septets.endswith(b"\r")):
        septets += bytes([_CR])
    return gsm7.pack(septets).hex().upper()


def _coding(dcs: int) -> tuple[Alphabet, int]:
    """The alphabet of a CBS data coding scheme, and how much (septets for GSM-7, octets for
    UCS-2) of the message is a language prefix to drop."""
    if dcs == 0x10:  # GSM-7, led by a two-letter language and CR
        return Alphabet.GSM7, 3
    if dcs == 0x11:  # UCS-2, led by a two-letter language in two packed octets
        return Alphabet.UCS2, 2
    if 0x40 <= dcs <= 0x7F or 0x90 <= dcs <= 0x9F:  # general data coding; with a UDH
        if dcs & 0x20 and dcs < 0x80:  # compressed: pass it on
            return Alphabet.DATA8, 0
        return (Alphabet.GSM7, Alphabet.DATA8, Alphabet.UCS2, Alphabet.GSM7)[dcs >> 2 & 3], 0
    if dcs >= 0xF0:
        return (Alphabet.DATA8 if dcs & 0x04 else Alphabet.GSM7), 0
    # Language groups 0x00-0x0F and 0x20-0x2F are GSM-7; 23.038 has the reserved ones read so too.
    return Alphabet.GSM7, 0


def _is_hex(payload: str, unit: int) -> bool:
    return len(payload) % (2 * unit) == 0 and all(char in string.hexdigits for char in payload)


def decode_ussd(payload: str, dcs: int) -> str:
    """The text of a +CUSD answer: <str> and <dcs> as the modem gave them.

    Packed GSM 7-bit hex (dcs 15 and the other GSM-7 schemes) and UCS-2 hex (dcs 72) decode; a
    payload that is not hex of the right length is the text already (modems in text USSD mode
    answer so) and comes back as it is, as does 8-bit data. A plain answer that happens to be
    valid hex ("1234") cannot be told apart and decodes as packed septets."""
    alphabet, prefix = _coding(dcs)
    if alphabet is Alphabet.UCS2 and _is_hex(payload, 2) and len(payload) >= 2 * prefix:
        data = bytes.fromhex(payload)[prefix:]
        return data[: len(data) // 2 * 2].decode("utf-16-be", "replace")
    if alphabet is not Alphabet.GSM7 or not payload or not _is_hex(payload, 1):
        return payload
    data = bytes.fromhex(payload)
    septets = gsm7.unpack(data, 8 * len(data) // 7)
    if len(septets) % 8 == 0 and septets.endswith(bytes([_CR])):
        septets = septets[:-1]
    return gsm7.decode_septets(septets[prefix:])
