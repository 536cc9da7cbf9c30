"""SMSC delivery receipts (SMPP 3.4 Appendix B): the text a deliver_sm with esm_class 0x04
carries, built and parsed, and the receipt read from such a PDU with its TLVs.

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:...

The appendix calls the format vendor-specific; what is built here is that example, which
Kannel's sscanf (gw/smsc/smsc_smpp.c) and Jasmin's patterns (jasmin/protocols/smpp/
operations.py, isDeliveryReceipt) both read. The parser takes the variants they do: dates
with seconds (YYMMDDhhmmss), sub and dlvrd missing or unpadded, err of any width, "Text:".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from simrelay.smpp.codes import DataCoding, MessageState
from simrelay.smpp.pdu import DataSm, DeliverSm
from simrelay.smpp.text import message_octets
from simrelay.smpp.tlv import Options


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt. Dates are UTC seconds (whole minutes in the text, or seconds)."""

    message_id: str
    state: MessageState
    submitted: float | None = None
    done: float | None = None
    error: str = "000"  # err: a network- or SMSC-specific code, kept as written
    text: str = ""  # the first characters of the message
    sub: int | None = None  # parts submitted; None: 1 when built, absent when parsed
    dlvrd: int | None = None  # parts delivered; None: 1 if DELIVERED else 0 when built


_TEXT_LENGTH = 20
# Characters whose GSM 7-bit code is their ASCII code: the receipt text sent as data_coding 0
# reads the same to a client that takes the octets as ASCII (Kannel's sscanf does) and to one
# that decodes GSM 7-bit. Any other character of the message becomes "?".
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !\"#%&'()*+,-./:;<=>?")


def _date(moment: float | None) -> str:
    if moment is None:
        return "0000000000"
    return datetime.fromtimestamp(moment, UTC).strftime("%y%m%d%H%M")


def format_receipt(receipt: Receipt) -> str:
    """The receipt's text, ASCII only, so data_coding 0 carries it as is (see `_SAFE`); dates
    in UTC, "0000000000" for one not known. ValueError for an id or err that is not one word:
    a space would end the field early for every parser."""
    for value in (receipt.message_id, receipt.error):
        if not value or any(char.isspace() for char in value):
            raise ValueError(f"id {receipt.message_id!r} and err {receipt.error!r} are one word each")
    sub = 1 if receipt.sub is None else receipt.sub
    dlvrd = receipt.dlvrd
    if dlvrd is None:
        dlvrd = 1 if receipt.state is MessageState.DELIVERED else 0
    text = "".join(char if char in _SAFE else "?" for char in receipt.text[:_TEXT_LENGTH])
    return (
        f"id:{receipt.message_id} sub:{sub:03d} dlvrd:{dlvrd:03d} submit date:{_date(receipt.submitted)}"
        f" done date:{_date(receipt.done)} stat:{receipt.state.stat} err:{receipt.error} text:{text}"
    )


def receipt_options(receipt: Receipt) -> Options:
    """The receipted_message_id and message_state TLVs (§5.3.2.12, §5.3.2.35) that go with the
    text; SMPP 3.4 clients read these first."""
    return Options(receipted_message_id=receipt.message_id, message_state=receipt.state)


_KNOWN_STATES = frozenset(int(state) for state in MessageState)
_STATES = {state.stat: state for state in MessageState}
# Long names some SMSCs write, and the interim states Kannel reads as "buffered".
_STATES.update(
    DELIVERED=MessageState.DELIVERED,
    UNDELIVERABLE=MessageState.UNDELIVERABLE,
    ACCEPTED=MessageState.ACCEPTED,
    REJECTED=MessageState.REJECTED,
    ACKED=MessageState.ENROUTE,
    BUFFRED=MessageState.ENROUTE,
    BUFFERD=MessageState.ENROUTE,
)

_FIELDS = {
    "id": re.compile(r"(?:^|\s)id:(\S+)", re.IGNORECASE | re.ASCII),
    "sub": re.compile(r"\bsub:(\d+)", re.IGNORECASE | re.ASCII),
    "dlvrd": re.compile(r"\bdlvrd:(\d+)", re.IGNORECASE | re.ASCII),
    "submitted": re.compile(r"\bsubmit date:(\d+)", re.IGNORECASE | re.ASCII),
    "done": re.compile(r"\bdone date:(\d+)", re.IGNORECASE | re.ASCII),
    "stat": re.compile(r"\bstat:(\w+)", re.IGNORECASE | re.ASCII),
    "error": re.compile(r"\berr:(\S+)", re.IGNORECASE | re.ASCII),
}
_TEXT = re.compile(r"\btext:", re.IGNORECASE | re.ASCII)


def _parse_date(digits: str) -> float | None:
    # YYMMDDhhmm, or YYMMDDhhmmss (Clickatell's and Jasmin's own, per Jasmin's tests); anything
    # else, and a date that is none, reads as unknown rather than failing the receipt.
    if len(digits) not in (10, 12):
        return None
    # Years are 20YY: strptime's %y would read 69-99 as 1969-1999.
    padded = digits.ljust(12, "0")
    year, month, day, hour, minute, second = (int(padded[at : at + 2]) for at in range(0, 12, 2))
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    except ValueError:
        return None


def parse_receipt(message: str | bytes) -> Receipt | None:
    """The receipt in a message's text (bytes are read as Latin-1), or None when it has no id
    and stat. A stat this module does not know reads as UNKNOWN."""
    if isinstance(message, bytes):
        message = message.decode("latin-1")
    # Some SMSCs end the text with a NUL, as if it were a C-Octet String.
    message = message.rstrip("\x00")
    found = _TEXT.search(message)
    head, text = (message[: found.start()], message[found.end() :]) if found else (message, "")
    values = {name: match[1] for name, pattern in _FIELDS.items() if (match := pattern.search(head))}
    if "id" not in values or "stat" not in values:
        return None
    return Receipt(
        message_id=values["id"],
        state=_STATES.get(values["stat"].upper(), MessageState.UNKNOWN),
        submitted=_parse_date(values["submitted"]) if "submitted" in values else None,
        done=_parse_date(values["done"]) if "done" in values else None,
        error=values.get("error", ""),
        text=text,
        sub=int(values["sub"]) if "sub" in values else None,
        dlvrd=int(values["dlvrd"]) if "dlvrd" in values else None,
    )


def receipt_of(pdu: DeliverSm | DataSm) -> Receipt | None:
    """The receipt a deliver_sm or data_sm carries, or None. Its TLVs win over its text, as in
    Kannel and Jasmin: receipted_message_id and a known message_state, then the text's id and
    stat. Call it for esm_class with EsmType.DELIVERY_RECEIPT; PduError as `message_octets`."""
    octets = pdu.options.message_payload or b""
    if isinstance(pdu, DeliverSm):
        octets = message_octets(pdu.short_message, pdu.options)
    if pdu.data_coding == DataCoding.UCS2 and len(octets) % 2 == 0:
        parsed = parse_receipt(octets.decode("utf-16-be", "replace"))
    else:
        parsed = parse_receipt(octets)
    message_id = pdu.options.receipted_message_id or (parsed.message_id if parsed else None)
    state = None
    if pdu.options.message_state in _KNOWN_STATES:
        state = MessageState(pdu.options.message_state)
    elif parsed is not None:
        state = parsed.state
    if not message_id or state is None:
        return None
    return replace(parsed or Receipt(message_id, state, error=""), message_id=message_id, state=state)
