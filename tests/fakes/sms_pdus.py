"""A minimal SMS-DELIVER / SMS-STATUS-REPORT encoder for the fake modems (3GPP TS 23.040 §9.2).

Written apart from `simrelay.modem.pdu` on purpose, so each checks the other: GSM-7 (with the
23.038 extension table) or UCS-2 user data, an optional concatenation header (IEI 00), numeric
addresses only. Submissions are decoded with the independent `smspdudecoder` library instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO

from smspdudecoder.fields import SMSSubmit

# 3GPP TS 23.038 §6.2.1, the default alphabet by septet value (0x1B is the escape to the extension table).
GSM7 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
assert len(GSM7) == 128

SMSC = "+491710760000"
_WHEN = datetime(2026, 12, 5, 14, 30, 15, tzinfo=UTC)


def gsm7_septets(text: str) -> list[int] | None:
    """The septets for `text`, or None when a character is outside the GSM-7 alphabet."""
    septets: list[int] = []
    for char in text:
        if char in GSM7_EXTENSION:
            septets += [0x1B, GSM7_EXTENSION[char]]
        elif char in GSM7 and char != "\x1b":
            septets.append(GSM7.index(char))
        else:
            return None
    return septets


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    """Septets packed LSB first (23.038 §6.1.2.1); `fill_bits` align them after a UDH."""
    out = bytearray()
    accumulator, bits = 0, fill_bits
    for septet in septets:
        accumulator |= septet << bits
        bits += 7
        while bits >= 8:
            out.append(accumulator & 0xFF)
            accumulator >>= 8
            bits -= 8
    if bits:
        out.append(accumulator & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int | None = None) -> list[int]:
    total = len(data) * 8 // 7 if count is None else count
    value = int.from_bytes(data, "little")
    return [(value >> (7 * n)) & 0x7F for n in range(total)]


def pack_ussd(text: str) -> str:
    """USSD text as the hex of packed GSM-7 (what a Huawei stick wants with dcs 15). A last
    septet left empty is filled with CR, as 23.038 §6.1.2.3.1 says, so it is not read as '@'."""
    septets = gsm7_septets(text)
    assert septets is not None, text
    if len(septets) % 8 == 7:
        septets.append(0x0D)
    return pack_septets(septets).hex().upper()


def unpack_ussd(hex_text: str) -> str:
    septets = unpack_septets(bytes.fromhex(hex_text))
    if len(bytes.fromhex(hex_text)) * 8 % 7 == 0 and septets and septets[-1] in (0x00, 0x0D):
        septets.pop()
    text, escape = [], False
    for septet in septets:
        if septet == 0x1B:
            escape = True
            continue
        if escape:
            text.append(next((c for c, v in GSM7_EXTENSION.items() if v == septet), " "))
            escape = False
        else:
            text.append(GSM7[septet])
    return "".join(text)


def encode_address(number: str) -> bytes:
    """A numeric TP address: digit count, type (0x91 international, 0x81 unknown), semi-octets."""
    digits = number.lstrip("+")
    kind = 0x91 if number.startswith("+") else 0x81
    padded = digits + ("F" if len(digits) % 2 else "")
    swapped = "".join(padded[n + 1] + padded[n] for n in range(0, len(padded), 2))
    return bytes([len(digits), kind]) + bytes.fromhex(swapped)


def encode_smsc(number: str = SMSC) -> bytes:
    body = encode_address(number)[1:]  # the SMSC length counts octets, not digits
    return bytes([len(body)]) + body


def encode_timestamp(when: datetime = _WHEN) -> bytes:
    """TP-SCTS: seven swapped semi-octets, the zone in quarter hours (UTC here)."""
    fields = [when.year % 100, when.month, when.day, when.hour, when.minute, when.second, 0]
    return bytes(((value % 10) << 4) | (value // 10) for value in fields)


@dataclass(frozen=True, slots=True)
class Pdu:
    """A PDU as a modem shows it: hex with the SMSC in front, and the TPDU length for headers."""

    hex: str
    tpdu_length: int


def _with_smsc(tpdu: bytes) -> Pdu:
    return Pdu((encode_smsc() + tpdu).hex().upper(), len(tpdu))


def encode_deliver(sender: str, text: str, *, concat: tuple[int, int, int] | None = None) -> Pdu:
    """One SMS-DELIVER; `concat` = (reference, parts, part number) adds the 8-bit concat UDH."""
    udh = bytes([5, 0x00, 3, *concat]) if concat else b""
    septets = gsm7_septets(text)
    first = 0x04 | (0x40 if udh else 0)  # TP-MMS: no more messages waiting; TP-UDHI
    if septets is not None:
        fill = (7 - len(udh) * 8 % 7) % 7 if udh else 0
        header_septets = (len(udh) * 8 + fill) // 7
        user_data = udh + pack_septets(septets, fill)
        dcs, udl = 0x00, header_septets + len(septets)
    else:
        user_data = udh + text.encode("utf-16-be")
        dcs, udl = 0x08, len(user_data)
    tpdu = bytes([first]) + encode_address(sender) + bytes([0x00, dcs]) + encode_timestamp()
    return _with_smsc(tpdu + bytes([udl]) + user_data)


def encode_status_report(reference: int, recipient: str, status: int) -> Pdu:
    """SMS-STATUS-REPORT for message reference `reference`; TP-ST 0x00 delivered, 0x40-0x7F failed."""
    tpdu = bytes([0x06, reference]) + encode_address(recipient) + encode_timestamp() + encode_timestamp()
    return _with_smsc(tpdu + bytes([status]))


def encode_submit(recipient: str, text: str, *, status_report: bool = True) -> Pdu:
    """An SMS-SUBMIT in GSM-7 with no SMSC ("00"), for tests that need one before pdu.py exists;
    relative validity (VPF 10) of one day."""
    septets = gsm7_septets(text)
    assert septets is not None, text
    first = 0x01 | 0x10 | (0x20 if status_report else 0)  # SUBMIT, VPF relative, TP-SRR
    tpdu = bytes([first, 0x00]) + encode_address(recipient) + bytes([0x00, 0x00, 0xA7, len(septets)])
    tpdu += pack_septets(septets)
    return Pdu("00" + tpdu.hex().upper(), len(tpdu))


@dataclass(frozen=True, slots=True)
class Submitted:
    """What smspdudecoder reads in an SMS-SUBMIT: who, what, whether a report was requested."""

    recipient: str
    text: str
    status_report: bool
    concat: tuple[int, int, int] | None  # (reference, parts, part number)


def read_submit(pdu_hex: str) -> Submitted:
    """Decodes an AT+CMGS PDU (SMSC part first) with smspdudecoder; ValueError if it is not one."""
    sms = SMSSubmit.decode(StringIO(pdu_hex))
    recipient = sms["recipient"]["number"]
    if sms["recipient"]["toa"]["ton"] == "international":
        recipient = "+" + recipient
    concat = None
    for element in (sms["user_data"].get("header") or {}).get("elements", []):
        if element["iei"] in (0x00, 0x08):
            data = element["data"]
            concat = (data["reference"], data["parts_count"], data["part_number"])
    return Submitted(recipient, sms["user_data"]["data"], bool(sms["header"]["srr"]), concat)
