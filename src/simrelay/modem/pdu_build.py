"""The PDUs a modem hands up, built: SMS-DELIVER and SMS-STATUS-REPORT, the inverses of
`pdu.decode_deliver` and `pdu.decode_status_report`, for tests and fake modems. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime

from simrelay import gsm7
from simrelay.modem.fields import (
    Alphabet,
    Concat,
    encode_address,
    encode_smsc,
    encode_timestamp,
    encode_user_data,
    split_text,
)

# First octets: the message type, and TP-MMS set ("no more messages waiting"), as SMSCs send them.
_DELIVER = 0x04
_STATUS_REPORT = 0x06
_UDHI = 0x40
_ALPHABET_BITS = {Alphabet.GSM7: 0x00, Alphabet.DATA8: 0x04, Alphabet.UCS2: 0x08}


def encode_deliver(
    originator: str,
    text: str,
    *,
    timestamp: datetime,
    reference: int = 0,
    smsc: str | None = None,
    alphabet: Alphabet | None = None,
    message_class: int | None = None,
) -> list[str]:
    """The hex SMS-DELIVER PDUs (SMSC field first) of a text from `originator` ("+<digits>",
    "<digits>" or an alphanumeric name), split as `encode_submit` splits.

    The alphabet is GSM-7 when the text fits it, else UCS-2, unless given; for DATA8 the text is
    the data in hex. A reference above 255 takes the 16-bit concatenation element (IEI 0x08)."""
    if alphabet is None:
        alphabet = Alphabet.GSM7 if gsm7.fits(text) else Alphabet.UCS2
    if not 0 <= reference <= 0xFFFF:
        raise ValueError(f"a concatenation reference is 0-65535, not {reference}")
    dcs = _ALPHABET_BITS[alphabet]
    if message_class is not None:
        if not 0 <= message_class <= 3:
            raise ValueError(f"a message class is 0-3, not {message_class}")
        dcs |= 0x10 | message_class
    head = encode_smsc(smsc)
    address = encode_address(originator, alphanumeric=True)
    stamp = encode_timestamp(timestamp)
    payloads = split_text(text, alphabet)
    total = len(payloads)
    if total > 0xFF:
        raise ValueError(f"the text needs {total} parts, more than a concatenated SMS holds")
    pdus = []
    for seq, payload in enumerate(payloads, start=1):
        concat = Concat(reference=reference, total=total, seq=seq) if total > 1 else None
        udl, ud = encode_user_data(payload, alphabet, concat)
        first = _DELIVER | (_UDHI if concat else 0)
        tpdu = bytes([first]) + address + bytes([0x00, dcs]) + stamp + bytes([udl]) + ud
        pdus.append((head + tpdu).hex().upper())
    return pdus


def encode_status_report(
    recipient: str,
    *,
    reference: int,
    status_code: int,
    submitted: datetime,
    discharged: datetime,
    smsc: str | None = None,
) -> str:
    """The hex SMS-STATUS-REPORT PDU (SMSC field first) for the submit numbered `reference` (the
    <mr> of +CMGS), with TP-ST `status_code` (0x00 delivered; see pdu.ReportStatus)."""
    if not 0 <= reference <= 0xFF or not 0 <= status_code <= 0xFF:
        raise ValueError("TP-MR and TP-ST are single octets")
    tpdu = bytes([_STATUS_REPORT, reference]) + encode_address(recipient)
    tpdu += encode_timestamp(submitted) + encode_timestamp(discharged) + bytes([status_code])
    return (encode_smsc(smsc) + tpdu).hex().upper()
