"""What a route (smpp/route.py) writes and reports, without I/O: the submit_sm of a part, the
report that ends an SMS from its part records, and the device-protocol report of a receipt or
an MO deliver_sm."""

from __future__ import annotations

import time
import uuid
from typing import Any

from simrelay.smpp.codes import ESM_TYPE_MASK, ESM_UDHI, CommandStatus, EsmType, MessageState, Npi, Ton
from simrelay.smpp.pdu import DataSm, DeliverSm, SubmitSm
from simrelay.smpp.receipt import receipt_of
from simrelay.smpp.routes import WrittenPart
from simrelay.smpp.submit import Part, text_of
from simrelay.smpp.text import message_octets, sar_concat, split_udh

Frame = dict[str, Any]

RETRY_LATER = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
"""submit_sm_resp statuses that say "not now": the part is written again later on the same route.
Kannel does the same (gw/smsc/smsc_smpp.c, smpp_status_to_smscconn_failure_reason: these two
fail "temporarily" and are queued again, every other status is "rejected"), and so does vumi's
SMPP transport (vumi/transports/smpp/smpp_service.py, throttle_statuses)."""
MAY_HAVE_BEEN_SENT = "no answer to submit_sm from the SMSC (may have been sent)"
OUTCOMES = {
    MessageState.DELIVERED: True,
    MessageState.EXPIRED: False,
    MessageState.DELETED: False,
    MessageState.UNDELIVERABLE: False,
    MessageState.REJECTED: False,
    MessageState.UNKNOWN: False,
}
"""Final receipt states, delivered or not; ENROUTE and ACCEPTED are not an outcome yet."""


def is_receipt(pdu: DeliverSm | DataSm) -> bool:
    return pdu.esm_class & ESM_TYPE_MASK == EsmType.DELIVERY_RECEIPT


def submit_sm(phone: str, *, source_addr: str, data_coding: int, payload: bytes, multipart: bool) -> SubmitSm:
    """One part, asking for a receipt. A sender of digits is an international number, any other
    an alphanumeric sender; a destination of 8 digits or more is international, fewer a short
    code (as modem/radio.py decides)."""
    digits = phone.lstrip("+")
    source = source_addr
    if not source:
        source_ton, source_npi = Ton.UNKNOWN, Npi.UNKNOWN
    elif source.lstrip("+").isdigit():
        source, source_ton, source_npi = source.lstrip("+"), Ton.INTERNATIONAL, Npi.ISDN
    else:
        source_ton, source_npi = Ton.ALPHANUMERIC, Npi.UNKNOWN
    return SubmitSm(
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source,
        dest_addr_ton=Ton.INTERNATIONAL if len(digits) >= 8 else Ton.UNKNOWN,
        dest_addr_npi=Npi.ISDN,
        destination_addr=digits,
        esm_class=ESM_UDHI if multipart else 0,
        registered_delivery=1,
        data_coding=data_coding,
        short_message=payload,
    )


def final_report(message_id: str, parts: list[WrittenPart]) -> Frame:
    """The report an SMS's part records call for (`parts`: at least one). A part written and
    never answered may have gone out: `failed`, never written again. Only throttled parts: none
    went out, so the SMS is let go (`dropped`) for any device to send."""
    total = parts[0].parts
    states = [part.state for part in parts]
    if "written" in states:
        return {"type": "failed", "id": message_id, "reason": MAY_HAVE_BEEN_SENT}
    if "rejected" in states:
        return {"type": "failed", "id": message_id, "reason": "the SMSC refused it"}
    accepted = states.count("accepted")
    if accepted == total:
        return {"type": "sent", "id": message_id, "parts": total}
    if accepted == 0:
        return {"type": "dropped", "id": message_id, "attempt": None}
    return {"type": "failed", "id": message_id, "reason": f"only {accepted} of {total} parts were accepted"}


def receipt_outcome(pdu: DeliverSm | DataSm) -> tuple[str, bool] | None:
    """(the SMSC's message_id, delivered) of a final receipt; None for an intermediate or
    unreadable one. PduError as `receipt_of`."""
    receipt = receipt_of(pdu)
    if receipt is None:
        return None
    delivered = OUTCOMES.get(receipt.state)
    return None if delivered is None else (receipt.message_id, delivered)


def incoming_part(pdu: DeliverSm | DataSm) -> Part:
    """What an MO deliver_sm (or data_sm) carries: the whole message, or one part of a long one
    (a UDH, or the SAR TLVs). `source_addr` is the sender, with its `+` when international."""
    if isinstance(pdu, DeliverSm):
        octets = message_octets(pdu.short_message, pdu.options)
    else:
        octets = pdu.options.message_payload or b""
    concat = None
    if pdu.esm_class & ESM_UDHI:
        concat, octets = split_udh(octets)
    else:
        concat = sar_concat(pdu.options)
    if concat is not None and concat.total == 1:
        concat = None
    sender = pdu.source_addr
    if pdu.source_addr_ton == Ton.INTERNATIONAL and not sender.startswith("+"):
        sender = "+" + sender
    return Part(sender, pdu.destination_addr, pdu.data_coding, octets, concat)


def received_report(parts: list[Part], *, report_id: str | None = None) -> Frame:
    """The `received` report of an MO message from its parts in order. `report_id` names it so
    that a report sent twice is stored once; the SMSC gives an MO no id of its own, so an MO it
    delivers again (after a lost deliver_sm_resp) is stored again. PduError for a coding that
    is not text."""
    return {
        "type": "received",
        "id": report_id or uuid.uuid4().hex,
        "phone_number": parts[0].source_addr,
        "message": text_of(parts),
        "received_at": int(time.time()),
    }
