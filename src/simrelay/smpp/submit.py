"""submit_sm into the send path of `POST /v1/sms/send`: the destination and text read from the
PDU, the parts of a long message put back together into one SMS, errors as command statuses.

A long message comes as parts (a UDH with esm_class 0x40, or the SAR TLVs), each its own
submit_sm that wants its own submit_sm_resp. The parts become one SMS, stored when the last one
arrives; every part is answered at once with the id that SMS will have, because many clients
send the next part only after the previous one's response (holding those responses until the
last part came would stall them). Only the response to the completing part waits for the commit;
if the rest never comes within the timeout, nothing is stored.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from simrelay.errors import ApiError
from simrelay.ids import new_object_id
from simrelay.smpp import notices
from simrelay.smpp.codes import ESM_UDHI, CommandStatus, Ton
from simrelay.smpp.fields import PduError
from simrelay.smpp.notices import Addresses
from simrelay.smpp.pdu import SubmitSm
from simrelay.smpp.senders import Target
from simrelay.smpp.text import Concat, decode_text, message_octets, sar_concat, split_udh
from simrelay.sms import service
from simrelay.sms.intake import Intake
from simrelay.sms.schemas import (
    DEFAULT_MAX_MESSAGE_LENGTH,
    MAX_MESSAGE_LENGTH,
    SendMessageRequest,
    check_phone,
)
from simrelay.storage.database import Database

_S = CommandStatus


class SubmitError(Exception):
    """A submit_sm refused with `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class Part:
    """What one submit_sm carries: the whole message, or one part of a long one."""

    source_addr: str
    phone: str  # destination_addr as `phone_number` takes it
    data_coding: int
    octets: bytes  # the text's octets, without a UDH
    concat: Concat | None
    registered_delivery: int = 0
    addresses: Addresses | None = None


def phone_of(pdu: SubmitSm) -> str:
    """destination_addr as a `phone_number`: an international number gets its `+`."""
    address = pdu.destination_addr
    if pdu.dest_addr_ton == Ton.INTERNATIONAL and not address.startswith("+"):
        address = "+" + address
    try:
        check_phone(address)  # the rule of `phone_number`, here so that a bad first part fails at once
    except ValueError:
        raise SubmitError(_S.ESME_RINVDSTADR, "destination_addr is not a phone number") from None
    return address


def read_part(pdu: SubmitSm) -> Part:
    """The part a submit_sm holds. SubmitError for a bad destination; PduError (with its
    status) for a message that does not read."""
    phone = phone_of(pdu)
    octets = message_octets(pdu.short_message, pdu.options)
    concat = None
    if pdu.esm_class & ESM_UDHI:
        concat, octets = split_udh(octets)
    else:
        concat = sar_concat(pdu.options)
    if concat is not None and concat.total == 1:
        concat = None  # a "long" message of one part is just a message
    addresses = Addresses(
        pdu.source_addr,
        pdu.source_addr_ton,
        pdu.source_addr_npi,
        pdu.destination_addr,
        pdu.dest_addr_ton,
        pdu.dest_addr_npi,
    )
    return Part(pdu.source_addr, phone, pdu.data_coding, octets, concat, pdu.registered_delivery, addresses)


def text_of(parts: list[Part]) -> str:
    """The text of a message's parts in order: octets joined before decoding when they share
    a coding (a UCS-2 surrogate pair or a GSM escape may straddle two parts), else each part's."""
    if len({part.data_coding for part in parts}) == 1:
        return decode_text(b"".join(part.octets for part in parts), parts[0].data_coding)
    return "".join(decode_text(part.octets, part.data_coding) for part in parts)


@dataclass(slots=True)
class _Pending:
    message_id: str
    started: float
    parts: dict[int, Part] = field(default_factory=dict)


class Assembler:
    """A session's long messages in the making, by (source, destination, reference, total)."""

    def __init__(self, *, timeout: float, limit: int) -> None:
        self._timeout = timeout
        self._limit = limit
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, part: Part, *, now: float | None = None) -> tuple[str, list[Part] | None]:
        """The id of the part's message, and all its parts in order once this one completes it.
        A part sent again replaces the earlier copy. SubmitError (ESME_RMSGQFUL) when the
        session already has `limit` messages in the making."""
        assert part.concat is not None
        now = time.monotonic() if now is None else now
        self._forget_stale(now)
        key = (part.source_addr, part.phone, part.concat.reference, part.concat.total)
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= self._limit:
                raise SubmitError(_S.ESME_RMSGQFUL, "too many long messages in the making")
            pending = self._pending[key] = _Pending(new_object_id(), now)
        pending.parts[part.concat.seq] = part
        if len(pending.parts) < part.concat.total:
            return pending.message_id, None
        del self._pending[key]
        return pending.message_id, [pending.parts[seq] for seq in sorted(pending.parts)]

    def _forget_stale(self, now: float) -> None:
        stale = [key for key, item in self._pending.items() if now - item.started > self._timeout]
        for key in stale:
            del self._pending[key]


@dataclass(frozen=True, slots=True)
class ReceiptAsk:
    """A submit_sm's registered_delivery and the addresses its receipts go back between."""

    registered_delivery: int
    addresses: Addresses


class Store(Protocol):
    async def store(
        self,
        *,
        account_id: str,
        phone: str,
        text: str,
        message_id: str | None = None,
        receipt: ReceiptAsk | None = None,
        target: Target | None = None,
    ) -> str:
        """The stored SMS's id, once committed; SubmitError with the status to answer."""
        ...


@dataclass(frozen=True, slots=True)
class SendPath:
    """What storing an SMS takes: the database, the intake, the validation context of the API."""

    db: Database
    intake: Intake
    context: Mapping[str, Any]

    async def store(
        self,
        *,
        account_id: str,
        phone: str,
        text: str,
        message_id: str | None = None,
        receipt: ReceiptAsk | None = None,
        target: Target | None = None,
    ) -> str:
        """The stored SMS's id, once committed, with the receipt it asks for, through the
        target's device if one is given. SubmitError with the status for what the API would
        answer with an error."""
        body: dict[str, Any] = {"phone_number": phone, "message": text}
        if target is not None:
            body.update(device_id=target.device_id, to_sim=target.to_sim)
        try:
            request = SendMessageRequest.model_validate(body, context=dict(self.context))
        except ValidationError as exc:
            raise SubmitError(self._status_of(exc, text), str(exc)) from None
        try:
            return await service.send_message(
                self.db,
                self.intake,
                request,
                account_id=account_id,
                raw_body=b"",
                idempotency_key=None,
                message_id=message_id,
                also=_receipt_wanted(receipt, account_id=account_id, text=text),
            )
        except ApiError as exc:
            # No device (1004), the month's quota used (1006), or a mapped device deleted since
            # the session loaded its mappings: the SMS cannot be taken.
            raise SubmitError(_S.ESME_RSUBMITFAIL, exc.error.name) from None

    def _status_of(self, exc: ValidationError, text: str) -> int:
        fields = {str(error["loc"][0]) for error in exc.errors(include_url=False) if error["loc"]}
        if "phone_number" in fields:
            return _S.ESME_RINVDSTADR
        limit = self.context.get(MAX_MESSAGE_LENGTH, DEFAULT_MAX_MESSAGE_LENGTH)
        if not text.strip() or len(text) > limit:
            return _S.ESME_RINVMSGLEN
        return _S.ESME_RSUBMITFAIL  # control characters: a text the API refuses too


def _receipt_wanted(receipt: ReceiptAsk | None, *, account_id: str, text: str) -> Callable[..., None] | None:
    if receipt is None or not notices.wants_any(receipt.registered_delivery):
        return None
    return functools.partial(
        notices.want_receipt,
        account_id=account_id,
        registered_delivery=receipt.registered_delivery,
        addresses=receipt.addresses,
        text=text,
        now=time.time(),
    )


def _receipt_of(parts: list[Part]) -> ReceiptAsk | None:
    """What the parts ask for together: any part's bits count (clients differ in which part
    carries registered_delivery)."""
    asked = functools.reduce(operator.or_, (part.registered_delivery for part in parts), 0)
    addresses = parts[0].addresses
    return ReceiptAsk(asked, addresses) if asked and addresses is not None else None


async def submit(
    path: Store,
    assembler: Assembler,
    pdu: SubmitSm,
    *,
    account_id: str,
    targets: Mapping[str, Target] | None = None,
) -> str:
    """The id to answer a submit_sm with: the stored SMS's, or for an early part of a long
    message the id the SMS will get. SubmitError or PduError with the status to answer."""
    part = read_part(pdu)
    if part.concat is None:
        parts = [part]
        message_id = None
    else:
        message_id, completed = assembler.add(part)
        if completed is None:
            return message_id
        parts = completed
    return await path.store(
        account_id=account_id,
        phone=part.phone,
        text=text_of(parts),
        message_id=message_id,
        receipt=_receipt_of(parts),
        target=(targets or {}).get(part.source_addr),
    )


def status_of(error: Exception) -> int:
    if isinstance(error, SubmitError | PduError):
        return error.status
    return _S.ESME_RSYSERR
