"""SMS PDUs for GSM modems in PDU mode (AT+CMGF=0; 3GPP TS 23.040 and 23.038): SMS-SUBMIT for
AT+CMGS, SMS-DELIVER from +CMT/+CMGR/+CMGL, SMS-STATUS-REPORT from +CDS. Hex in, hex out, no I/O.

Every PDU a modem takes or gives starts with the SMSC field; the submits here carry 00 there, so
the modem uses the SMSC stored on its SIM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from simrelay import gsm7
from simrelay.modem.fields import (
    Alphabet,
    Concat,
    PduError,
    Reader,
    coding_of,
    decode_user_data,
    encode_address,
    encode_user_data,
    join_texts,
    read_address,
    read_smsc,
    read_timestamp,
    split_text,
)

__all__ = [
    "Alphabet",
    "Concat",
    "Deliver",
    "PduError",
    "ReportStatus",
    "StatusReport",
    "SubmitPart",
    "decode_deliver",
    "decode_status_report",
    "encode_submit",
    "join_texts",
    "status_of",
    "tpdu_length",
]

# First-octet bits of a TPDU (23.040 9.2.3).
_MTI_MASK = 0x03
_MTI_DELIVER = 0x00
_MTI_SUBMIT = 0x01
_MTI_STATUS_REPORT = 0x02
_VPF_RELATIVE = 0x10
_SRR = 0x20  # SMS-SUBMIT: status report requested (SMS-DELIVER: status report indication)
_UDHI = 0x40


@dataclass(frozen=True, slots=True)
class SubmitPart:
    """One AT+CMGS: `AT+CMGS=<length>`, then `hex` and Ctrl-Z."""

    hex: str  # the SMSC field (00) and the TPDU, upper-case hex
    length: int  # the TPDU's octets, SMSC field excluded, as AT+CMGS wants
    seq: int  # 1-based
    total: int


@dataclass(frozen=True, slots=True)
class Deliver:
    """A received SMS (SMS-DELIVER), or one part of a concatenated one."""

    smsc: str | None
    originator: str  # "+<digits>" international, "<digits>" otherwise, or an alphanumeric name
    timestamp: datetime  # TP-SCTS, in the time zone the SMSC wrote
    text: str  # decoded; 8-bit data as upper-case hex (see Alphabet.DATA8)
    alphabet: Alphabet
    concat: Concat | None  # this part's place in a concatenated SMS; None for a single SMS
    message_class: int | None  # 0 is a flash SMS; None when the DCS sets no class
    pid: int  # TP-PID as received (0x00 for an ordinary SMS)
    dcs: int  # TP-DCS as received


class ReportStatus(StrEnum):
    """TP-ST (23.040 9.2.3.15) in the three outcomes the server tells apart."""

    DELIVERED = "delivered"  # 0x00-0x1F: transaction completed (received, forwarded, replaced)
    PENDING = "pending"  # 0x20-0x3F: temporary error, the SMSC still tries
    FAILED = "failed"  # 0x40-0x7F: permanent error, or temporary and the SMSC gave up


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A status report (SMS-STATUS-REPORT) for a submitted SMS."""

    smsc: str | None
    reference: int  # TP-MR: the <mr> that +CMGS answered for the submit it reports on
    recipient: str  # "+<digits>" international, "<digits>" otherwise
    submitted: datetime  # TP-SCTS: when the SMSC took the SMS
    discharged: datetime  # TP-DT: when it was delivered, or the last attempt or failure
    status: ReportStatus
    status_code: int  # TP-ST as received


def tpdu_length(pdu: str) -> int:
    """The <length> of AT+CMGS, +CMT, +CMGR and +CDS for a hex PDU: its octets past the SMSC field."""
    reader = Reader(pdu)
    reader.take(reader.octet())
    return len(reader.rest())


def _relative_validity(period: timedelta) -> int:
    # TP-VP relative (23.040 9.2.3.12.1), rounded up to the next period it can say, so the SMSC
    # never drops an SMS sooner than asked; clamped to its 5 minutes .. 63 weeks.
    minutes = math.ceil(period.total_seconds() / 60)
    if minutes <= 12 * 60:
        return max(math.ceil(minutes / 5) - 1, 0)
    if minutes <= 24 * 60:
        return 143 + math.ceil((minutes - 12 * 60) / 30)
    days = math.ceil(minutes / (24 * 60))
    if days <= 30:
        return 166 + days
    return min(192 + math.ceil(days / 7), 255)


def encode_submit(
    number: str,
    text: str,
    *,
    reference: int,
    request_status_report: bool = True,
    validity: timedelta | None = None,
) -> list[SubmitPart]:
    """The SMS-SUBMIT parts of a text to `number` ("+<digits>" international, "<digits>" national
    or short), in GSM-7 when every character has a code there, else in UCS-2.

    `reference` (0-255) ties the parts of a long text together; the caller keeps the counter so
    this stays pure. Parts split as the server counts them. ValueError for a number that is not
    one, a text that needs more than 255 parts or holds a lone surrogate."""
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"a concatenation reference is 0-255, not {reference}")
    address = encode_address(number)
    alphabet = Alphabet.GSM7 if gsm7.fits(text) else Alphabet.UCS2
    payloads = split_text(text, alphabet)
    total = len(payloads)
    if total > 0xFF:
        raise ValueError(f"the text needs {total} parts, more than a concatenated SMS holds")
    first = _MTI_SUBMIT | (_SRR if request_status_report else 0)
    validity_octets = b""
    if validity is not None:
        first |= _VPF_RELATIVE
        validity_octets = bytes([_relative_validity(validity)])
    dcs = 0x08 if alphabet is Alphabet.UCS2 else 0x00
    parts = []
    for seq, payload in enumerate(payloads, start=1):
        concat = Concat(reference=reference, total=total, seq=seq) if total > 1 else None
        udl, ud = encode_user_data(payload, alphabet, concat)
        # TP-MR 00: the modem numbers the submit itself and answers that number in +CMGS: <mr>.
        tpdu = bytes([first | (_UDHI if concat else 0), 0x00]) + address
        tpdu += bytes([0x00, dcs]) + validity_octets + bytes([udl]) + ud
        parts.append(SubmitPart(hex="00" + tpdu.hex().upper(), length=len(tpdu), seq=seq, total=total))
    return parts


def decode_deliver(pdu: str) -> Deliver:
    """A received SMS from the hex PDU of +CMT, +CMGR or +CMGL (SMSC field first); PduError if it
    is no SMS-DELIVER or does not decode."""
    reader = Reader(pdu)
    smsc = read_smsc(reader)
    first = reader.octet()
    if first & _MTI_MASK != _MTI_DELIVER:
        raise PduError(f"first octet {first:02X} is not an SMS-DELIVER")
    originator = read_address(reader)
    pid = reader.octet()
    dcs = reader.octet()
    timestamp = read_timestamp(reader)
    alphabet, message_class = coding_of(dcs)
    length = reader.octet()
    concat, text = decode_user_data(reader.rest(), length, alphabet=alphabet, has_header=bool(first & _UDHI))
    return Deliver(
        smsc=smsc,
        originator=originator,
        timestamp=timestamp,
        text=text,
        alphabet=alphabet,
        concat=concat,
        message_class=message_class,
        pid=pid,
        dcs=dcs,
    )


def status_of(code: int) -> ReportStatus:
    """TP-ST as the outcome the server tells apart."""
    if code < 0x20:
        return ReportStatus.DELIVERED
    if code < 0x40:
        return ReportStatus.PENDING
    # 0x40-0x7F: errors after which the SMSC stops trying. 23.040 reserves 0x80-0xFF; reading one
    # as final keeps such a report from leaving the SMS pending for ever.
    return ReportStatus.FAILED


def decode_status_report(pdu: str) -> StatusReport:
    """A status report from the hex PDU of +CDS or +CMGR (SMSC field first); PduError if it is no
    SMS-STATUS-REPORT or does not decode. Optional fields past TP-ST are not read."""
    reader = Reader(pdu)
    smsc = read_smsc(reader)
    first = reader.octet()
    if first & _MTI_MASK != _MTI_STATUS_REPORT:
        raise PduError(f"first octet {first:02X} is not an SMS-STATUS-REPORT")
    reference = reader.octet()
    recipient = read_address(reader)
    submitted = read_timestamp(reader)
    discharged = read_timestamp(reader)
    code = reader.octet()
    return StatusReport(
        smsc=smsc,
        reference=reference,
        recipient=recipient,
        submitted=submitted,
        discharged=discharged,
        status=status_of(code),
        status_code=code,
    )
