"""TPDU fields of 3GPP TS 23.040 shared by the SMS encoders and decoders: addresses, time stamps,
the data coding scheme, and user data with its concatenation header."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from simrelay import gsm7


class PduError(ValueError):
    """A PDU that does not decode: not hex, cut short, or a field out of its range."""


class Alphabet(StrEnum):
    GSM7 = "gsm7"  # the GSM 7-bit default alphabet and its extension table, packed in septets
    DATA8 = "data8"  # 8-bit data (or compressed text): the text holds its octets as upper-case hex
    UCS2 = "ucs2"  # UTF-16 BE; a character outside the BMP takes a surrogate pair


@dataclass(frozen=True, slots=True)
class Concat:
    """The concatenation element of a UDH (IEI 0x00, or 0x08 for a reference above 255)."""

    reference: int
    total: int
    seq: int  # 1-based


# Octets a part gives its text: 140 less the UDH of an 8-bit concatenation element (6 octets). In
# septets, the UDH and its fill bit take 7 of 160. The server counts parts with the same numbers.
_LIMITS = {Alphabet.GSM7: (160, 153), Alphabet.UCS2: (70, 67), Alphabet.DATA8: (140, 134)}
_UNIT = {Alphabet.GSM7: 1, Alphabet.UCS2: 2, Alphabet.DATA8: 1}  # octets per counted unit


class Reader:
    """A cursor over the octets of a hex PDU; running out raises PduError."""

    def __init__(self, pdu: str) -> None:
        try:
            self._data = bytes.fromhex(pdu.strip())
        except ValueError:
            raise PduError("a PDU is written in hex") from None
        self._at = 0

    def take(self, count: int) -> bytes:
        if self._at + count > len(self._data):
            raise PduError(f"the PDU ends {self._at + count - len(self._data)} octets short")
        chunk = self._data[self._at : self._at + count]
        self._at += count
        return chunk

    def octet(self) -> int:
        return self.take(1)[0]

    def rest(self) -> bytes:
        chunk = self._data[self._at :]
        self._at = len(self._data)
        return chunk


# Semi-octet digits (TS 24.008 10.5.4.7); 0xF pads an odd count.
_BCD = "0123456789*#abc"


def _encode_bcd(digits: str) -> bytes:
    nibbles = [_BCD.index(digit) for digit in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(low | high << 4 for low, high in zip(nibbles[::2], nibbles[1::2], strict=True))


def _decode_bcd(octets: bytes) -> str:
    nibbles = (nibble for octet in octets for nibble in (octet & 0xF, octet >> 4))
    return "".join(_BCD[nibble] for nibble in nibbles if nibble != 0xF)


def _digits_and_type(number: str) -> tuple[str, int] | None:
    digits = number.removeprefix("+")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 20):
        return None
    # 0x91: international, ISDN plan, written with a "+"; 0x81: unknown type (national or short).
    return digits, 0x91 if number.startswith("+") else 0x81


def encode_address(address: str, *, alphanumeric: bool = False) -> bytes:
    """TP-DA/TP-OA/TP-RA: "+<digits>" international, "<digits>" national or short, or, when
    `alphanumeric`, any other text of up to 11 septets as a GSM 7-bit name (type 0xD0)."""
    number = _digits_and_type(address)
    if number is not None:
        digits, type_octet = number
        return bytes([len(digits), type_octet]) + _encode_bcd(digits)
    if not alphanumeric:
        raise ValueError(f"{address!r} is not a phone number: + and up to 20 digits, or digits")
    septets = gsm7.encode_septets(address)
    if not 0 < len(septets) <= 11:
        raise ValueError(f"an alphanumeric address holds 1 to 11 septets, {address!r} needs {len(septets)}")
    # The length counts the semi-octets the packed name uses.
    return bytes([math.ceil(7 * len(septets) / 4), 0xD0]) + gsm7.pack(septets)


def read_address(reader: Reader) -> str:
    length = reader.octet()
    type_octet = reader.octet()
    octets = reader.take((length + 1) // 2)
    type_of_number = type_octet & 0x70
    if type_of_number == 0x50:
        return gsm7.decode_septets(gsm7.unpack(octets, 4 * length // 7))
    digits = _decode_bcd(octets)[:length]
    return "+" + digits if type_of_number == 0x10 else digits


def encode_smsc(number: str | None) -> bytes:
    """The SMSC field before a TPDU; None is the single octet 00: "use the SIM's SMSC"."""
    if number is None:
        return b"\x00"
    parsed = _digits_and_type(number)
    if parsed is None or not parsed[0]:
        raise ValueError(f"{number!r} is not an SMSC number")
    digits, type_octet = parsed
    bcd = _encode_bcd(digits)
    return bytes([1 + len(bcd), type_octet]) + bcd


def read_smsc(reader: Reader) -> str | None:
    length = reader.octet()
    if length == 0:
        return None
    type_octet = reader.octet()
    digits = _decode_bcd(reader.take(length - 1))
    return "+" + digits if type_octet & 0x70 == 0x10 else digits


def _swapped(value: int) -> int:
    return (value % 10) << 4 | value // 10


def _unswapped(octet: int) -> int:
    tens, units = octet & 0xF, octet >> 4
    if tens > 9 or units > 9:
        raise PduError(f"{octet:02X} is not two decimal semi-octets")
    return 10 * tens + units


_QUARTER = timedelta(minutes=15)


def encode_timestamp(moment: datetime) -> bytes:
    """TP-SCTS / TP-DT: an aware datetime of 2000-2099 whose UTC offset is whole quarter hours."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a time stamp carries its time zone: pass an aware datetime")
    quarters, rest = divmod(abs(offset), _QUARTER)
    if rest or quarters > 79 or not 2000 <= moment.year <= 2099:
        raise ValueError(f"{moment.isoformat()} has no TP-SCTS form")
    fields = (moment.year - 2000, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    # Bit 3 of the zone octet is the sign; the tens digit of the quarters sits below it.
    zone = _swapped(quarters) | (0x08 if offset < timedelta(0) else 0)
    return bytes(_swapped(field) for field in fields) + bytes([zone])


def read_timestamp(reader: Reader) -> datetime:
    octets = reader.take(7)
    year, month, day, hour, minute, second = (_unswapped(octet) for octet in octets[:6])
    zone = octets[6]
    quarters = _unswapped(zone & 0xF7)
    offset = quarters * (-_QUARTER if zone & 0x08 else _QUARTER)
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError as error:
        raise PduError(f"the time stamp {octets.hex().upper()} is no date: {error}") from None


def coding_of(dcs: int) -> tuple[Alphabet, int | None]:
    """The alphabet and message class (0-3, None if unset) of an SMS data coding scheme (23.038 4)."""
    group = dcs >> 4
    if group <= 0x7:  # general data coding, marked for automatic deletion or not
        alphabet = (Alphabet.GSM7, Alphabet.DATA8, Alphabet.UCS2, Alphabet.GSM7)[dcs >> 2 & 3]
        if dcs & 0x20:
            # Compressed (23.042): nobody sends it and we cannot inflate it, so pass the octets on.
            alphabet = Alphabet.DATA8
        return alphabet, dcs & 3 if dcs & 0x10 else None
    if group == 0xE:  # message waiting indication, store, UCS-2
        return Alphabet.UCS2, None
    if group == 0xF:  # data coding / message class
        return Alphabet.DATA8 if dcs & 0x04 else Alphabet.GSM7, dcs & 3
    # Message waiting groups 0xC/0xD use GSM-7; 23.038 says the reserved 0x8-0xB are read as GSM-7.
    return Alphabet.GSM7, None


def split_text(text: str, alphabet: Alphabet) -> list[bytes]:
    """The payload of each part: septet codes, UTF-16 BE octets, or (DATA8) the octets of hex text.

    Greedy, as the server counts parts: an escape pair or a surrogate pair moves whole to the next
    part when it does not fit, since a handset cannot show half of one."""
    if alphabet is Alphabet.GSM7:
        pieces = [gsm7.septets_of(char) for char in text]
    elif alphabet is Alphabet.UCS2:
        pieces = [char.encode("utf-16-be") for char in text]
    else:
        pieces = [bytes([octet]) for octet in bytes.fromhex(text)]
    single, multi = _LIMITS[alphabet]
    unit = _UNIT[alphabet]
    if sum(len(piece) for piece in pieces) <= single * unit:
        return [b"".join(pieces)]
    parts: list[bytes] = []
    current = bytearray()
    for piece in pieces:
        if len(current) + len(piece) > multi * unit:
            parts.append(bytes(current))
            current.clear()
        current += piece
    parts.append(bytes(current))
    return parts


def _concat_header(concat: Concat) -> bytes:
    if concat.reference > 0xFF:
        element = bytes([0x08, 4]) + concat.reference.to_bytes(2, "big")
    else:
        element = bytes([0x00, 3, concat.reference])
    element += bytes([concat.total, concat.seq])
    return bytes([len(element)]) + element


def encode_user_data(payload: bytes, alphabet: Alphabet, concat: Concat | None) -> tuple[int, bytes]:
    """TP-UDL and TP-UD for a payload from `split_text`, with a concatenation UDH when given."""
    header = _concat_header(concat) if concat is not None else b""
    if alphabet is not Alphabet.GSM7:
        return len(header) + len(payload), header + payload
    # The text starts on a septet boundary: fill bits pad the UDH up to one (23.040 9.2.3.24).
    header_septets = math.ceil(8 * len(header) / 7)
    fill_bits = 7 * header_septets - 8 * len(header)
    return header_septets + len(payload), header + gsm7.pack(payload, fill_bits=fill_bits)


def _read_concat(header: bytes) -> Concat | None:
    concat = None
    at = 0
    while at < len(header):
        if at + 2 > len(header) or at + 2 + header[at + 1] > len(header):
            raise PduError("an information element runs past the end of the UDH")
        iei, value = header[at], header[at + 2 : at + 2 + header[at + 1]]
        at += 2 + len(value)
        if (iei, len(value)) in ((0x00, 3), (0x08, 4)):
            reference = int.from_bytes(value[:-2], "big")
            total, seq = value[-2], value[-1]
            # 23.040 9.2.3.24.1: an element with a part number of 0 or past the total is ignored.
            if 0 < seq <= total:
                concat = Concat(reference=reference, total=total, seq=seq)
    return concat


def decode_user_data(
    data: bytes, length: int, *, alphabet: Alphabet, has_header: bool
) -> tuple[Concat | None, str]:
    """The concatenation element and the text of TP-UD (octets past TP-UDL, `length` its value).

    UCS-2 parts of a concatenated SMS keep a surrogate half at their edges (as a lone surrogate)
    for the reassembly to join; in a single SMS such a half becomes U+FFFD."""
    header = b""
    if has_header:
        if not data or data[0] + 1 > len(data):
            raise PduError("the UDH is longer than the user data")
        header = data[1 : 1 + data[0]]
    concat = _read_concat(header)
    header_length = len(header) + 1 if has_header else 0
    if alphabet is Alphabet.GSM7:
        header_septets = math.ceil(8 * header_length / 7)
        if header_septets > length:
            raise PduError("the UDH is longer than TP-UDL")
        fill_bits = 7 * header_septets - 8 * header_length
        try:
            septets = gsm7.unpack(data[header_length:], length - header_septets, fill_bits=fill_bits)
        except ValueError as error:
            raise PduError(str(error)) from None
        return concat, gsm7.decode_septets(septets)
    if not header_length <= length <= len(data):
        raise PduError(f"TP-UDL {length} does not match {len(data)} octets of user data")
    payload = data[header_length:length]
    if alphabet is Alphabet.DATA8:
        return concat, payload.hex().upper()
    text = payload[: len(payload) // 2 * 2].decode("utf-16-be", "surrogatepass")
    if len(payload) % 2:
        text += "\ufffd"
    return concat, text if concat is not None else join_texts([text])


def join_texts(texts: list[str]) -> str:
    """Texts of parts joined: a surrogate pair split across two made whole, a lone half made U+FFFD."""
    return "".join(texts).encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
