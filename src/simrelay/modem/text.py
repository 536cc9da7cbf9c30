"""SMS in text mode (AT+CMGF=1, 3GPP TS 27.005 §3-4), the fallback for modems without PDU mode:
what AT+CMGS is given, and received SMS and status reports read from +CMGR/+CMGL/+CMT/+CDS into
the same `Deliver` and `StatusReport` values PDU mode gives. Pure, no I/O.

Text mode sets the TPDU header apart (AT+CSMP) and carries no user data header, so a long text
goes out as separate SMS, one per part, split where the server counts its parts; received parts of
a concatenated SMS cannot be joined. Addresses and texts are written in the TE character set
(AT+CSCS): received ones are always read in "UCS2", whose hex keeps every character and never looks
like a result code; a text goes out in "GSM" only when each character's GSM code is a printable
byte (no NUL for "@", no ESC for "€", no Ctrl-Z for "Ξ", which would end or cancel the input).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from simrelay import gsm7
from simrelay.modem.fields import Alphabet, PduError, coding_of, encode_address, split_text
from simrelay.modem.pdu import Deliver, StatusReport, status_of
from simrelay.modem.results import AtValue, answer_body, split_values

__all__ = [
    "READ_CHARSET",
    "SUBMIT_FO",
    "TEXT_STATS",
    "VALIDITY",
    "TextEntry",
    "TextPart",
    "decode_text_deliver",
    "decode_text_report",
    "encode_text_submit",
    "read_text_entries",
]

SUBMIT_FO = 0x31
"""<fo> of AT+CSMP: SMS-SUBMIT, TP-VPF relative, TP-SRR. The SIM800 Series AT Command Manual
(V1.05, §4.2.15 AT+CSMP): "SMS status report is supported under text mode if <fo> is set to 49"."""
VALIDITY = 167
"""<vp> of AT+CSMP: TP-VP relative, 24 hours, the default the manuals give."""
READ_CHARSET = "UCS2"
"""The TE character set everything is read in (and the modem rests in between sends)."""

# <stat> in text mode (27.005 §3.1) and the PDU mode number the rest of the driver uses.
TEXT_STATS = {"REC UNREAD": 0, "REC READ": 1, "STO UNSENT": 2, "STO SENT": 3, "ALL": 4}
_UDHI = 0x40
_INTERNATIONAL = 145  # <toda>/<tooa>: international number, ISDN plan (23.040 9.1.2.5)
_UNKNOWN_TYPE = 129
_SCTS = re.compile(r"^(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d\d?)$")


@dataclass(frozen=True, slots=True)
class TextPart:
    """One text-mode AT+CMGS: AT+CSCS=`charset` and AT+CSMP with `dcs` first, then
    `AT+CMGS="<address>",<toda>`, `data` after the prompt, and Ctrl-Z."""

    charset: str  # "GSM" (the GSM codes as bytes) or "UCS2" (hex of UTF-16 BE)
    dcs: int  # 0 GSM 7-bit, 8 UCS-2
    address: str  # the number, written in `charset`
    toda: int
    data: str
    seq: int  # 1-based
    total: int


def _sendable_as_gsm(text: str) -> bool:
    for char in text:
        try:
            codes = gsm7.septets_of(char)
        except KeyError:
            return False
        # One printable byte each: the extension table needs ESC, which cancels the input.
        if len(codes) != 1 or not 0x20 <= codes[0] < 0x7F:
            return False
    return True


def encode_text_submit(number: str, text: str) -> list[TextPart]:
    """The AT+CMGS parts of a text to `number` ("+<digits>" or "<digits>"): in GSM when every
    character is a printable GSM code, else in UCS-2; split as the server counts parts. ValueError
    for a number that is not one, or a text needing more than 255 parts."""
    encode_address(number)  # ValueError for anything but "+<digits>" or "<digits>"
    toda = _INTERNATIONAL if number.startswith("+") else _UNKNOWN_TYPE
    gsm = _sendable_as_gsm(text)
    payloads = split_text(text, Alphabet.GSM7 if gsm else Alphabet.UCS2)
    if len(payloads) > 0xFF:
        raise ValueError(f"the text needs {len(payloads)} parts, more than 255")
    if gsm:
        address, charset, dcs = number, "GSM", 0
    else:
        address, charset, dcs = number.encode("utf-16-be").hex().upper(), "UCS2", 8
    return [
        TextPart(
            charset=charset,
            dcs=dcs,
            address=address,
            toda=toda,
            # GSM: the septet codes are the bytes (all printable, so ASCII); UCS2: hex.
            data=payload.decode("ascii") if gsm else payload.hex().upper(),
            seq=seq,
            total=len(payloads),
        )
        for seq, payload in enumerate(payloads, start=1)
    ]


def _from_hex(value: str) -> str:
    try:
        return bytes.fromhex(value).decode("utf-16-be")
    except ValueError:
        raise PduError(f"{value[:20]!r} is not UCS2 hex") from None


def _address(value: AtValue, type_value: AtValue | None, *, charset: str) -> str:
    address = str(value)
    if charset == "UCS2":
        address = _from_hex(address)
    if type_value == _INTERNATIONAL and not address.startswith("+"):
        address = "+" + address
    return address


def _timestamp(value: AtValue) -> datetime:
    """<scts>/<dt>: "yy/MM/dd,hh:mm:ss±zz", the zone in quarter hours (27.005 §3.1, 27.007 +CCLK)."""
    match = _SCTS.match(str(value))
    if match is None:
        raise PduError(f"{value!r} is not a text-mode time stamp")
    year, month, day, hour, minute, second = (int(match.group(n)) for n in range(1, 7))
    zone = timezone(timedelta(minutes=15 * int(match.group(7))))
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError as error:
        raise PduError(f"{value!r} is no date: {error}") from None


def decode_text_deliver(header: Sequence[AtValue], data: str, *, charset: str = READ_CHARSET) -> Deliver:
    """A received SMS from a text-mode header and its data line, the header being the values after
    <stat> of +CMGR (`<oa>,[<alpha>],<scts>[,<tooa>,<fo>,<pid>,<dcs>,<sca>,<tosca>,<length>]`),
    after <index>,<stat> of +CMGL (`<oa>,[<alpha>],<scts>[,<tooa>,<length>]`), or all of +CMT's.
    Without <dcs> (AT+CSDH=0, or +CMGL) the data is read as `charset` text. PduError, as for a
    PDU, if the header is not an SMS-DELIVER's or a value does not decode."""
    if len(header) < 3 or not isinstance(header[0], str) or not header[2]:
        raise PduError(f"{list(header)[:3]} is not the header of a received SMS")
    detailed = len(header) >= 10  # +CMGR and +CMT with AT+CSDH=1
    fo, pid, dcs = (header[4], header[5], header[6]) if detailed else (0, 0, None)
    if not isinstance(fo, int) or not isinstance(pid, int) or not isinstance(dcs, int | None):
        raise PduError(f"<fo>, <pid> and <dcs> are numbers, not {header[4:7]}")
    alphabet, message_class = coding_of(dcs) if dcs is not None else (None, None)
    if alphabet is Alphabet.DATA8 or fo & _UDHI:
        # 27.005 §3.1: 8-bit data, and any user data with a header, come as hex octets.
        text, alphabet = data.upper(), Alphabet.DATA8
    elif charset == "UCS2" or alphabet is Alphabet.UCS2:
        text = _from_hex(data)  # GSM 7-bit text converted to the TE set, or UCS-2 octets in hex
    else:
        text = data
    if alphabet is None:
        alphabet = Alphabet.GSM7 if gsm7.fits(text) else Alphabet.UCS2
    sca = header[7] if detailed and header[7] else None
    return Deliver(
        smsc=_address(sca, header[8], charset=charset) if sca is not None else None,
        originator=_address(header[0], header[3] if len(header) > 3 else None, charset=charset),
        timestamp=_timestamp(header[2]),
        text=text,
        alphabet=alphabet,
        concat=None,
        message_class=message_class,
        pid=pid,
        dcs=dcs if dcs is not None else (8 if alphabet is Alphabet.UCS2 else 0),
    )


def decode_text_report(values: Sequence[AtValue], *, charset: str = READ_CHARSET) -> StatusReport:
    """A status report from `<fo>,<mr>,[<ra>],[<tora>],<scts>,<dt>,<st>`: +CDS in text mode, and the
    values after <stat> of +CMGR (after <index>,<stat> of +CMGL) for a stored one. The recipient is
    read in `charset` where it decodes, else kept as given. PduError if it is not a report's."""
    if len(values) < 7 or not all(isinstance(values[n], int) for n in (0, 1, 6)):
        raise PduError(f"{list(values)} is not a text-mode status report")
    reference, code = values[1], values[6]
    assert isinstance(reference, int) and isinstance(code, int)
    if not 0 <= reference <= 0xFF or not 0 <= code <= 0xFF:
        raise PduError(f"<mr> {reference} and <st> {code} are single octets")
    try:
        recipient = _address(values[2], values[3], charset=charset)
    except PduError:
        recipient = str(values[2])  # the report arrived while the modem was in another set
    return StatusReport(
        smsc=None,
        reference=reference,
        recipient=recipient,
        submitted=_timestamp(values[4]),
        discharged=_timestamp(values[5]),
        status=status_of(code),
        status_code=code,
    )


def _stat(value: AtValue) -> int | None:
    if isinstance(value, int):
        return value  # some firmwares answer numbers in text mode too
    return TEXT_STATS.get(value.upper())


@dataclass(frozen=True, slots=True)
class TextEntry:
    """One message of a text-mode +CMGL or +CMGR answer."""

    index: int | None  # None for +CMGR, which names none
    stat: int  # as in PDU mode: 0 unread, 1 read, 2 unsent, 3 sent
    header: tuple[AtValue, ...]  # the values after <stat>
    data: str  # the line after the header; "" for a status report, which has none


def read_text_entries(lines: Sequence[str], prefix: str) -> list[TextEntry]:
    """The messages of a text-mode +CMGL or +CMGR answer. A status report's header starts with
    <fo>, a number, where the others start with a quoted address, and no data line follows it."""
    entries: list[TextEntry] = []
    for number, line in enumerate(lines):
        if not line.startswith(prefix + ":"):
            continue
        values = split_values(answer_body(line, prefix))
        index: int | None = None
        if prefix == "+CMGL":
            first, values = values[0], values[1:]
            if not isinstance(first, int):
                continue
            index = first
        stat = _stat(values[0]) if values else None
        if stat is None:
            continue
        header = values[1:]
        data = ""
        has_data = bool(header) and not isinstance(header[0], int)
        if has_data and number + 1 < len(lines) and not lines[number + 1].startswith(prefix + ":"):
            data = lines[number + 1]
        entries.append(TextEntry(index, stat, header, data))
    return entries
