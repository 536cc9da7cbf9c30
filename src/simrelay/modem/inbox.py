"""Incoming SMS on a modem: read from SIM storage, put back together, reported as `received` with
an id the same SMS always gets, and deleted from the SIM only once the server acknowledged it.

A crash anywhere loses nothing: until the delete the SMS is still on the SIM, and the next start
reads it again (AT+CMGL) and reports it under the same id, which the server stores once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from simrelay.agent._lease import Frame, Report
from simrelay.modem.commands import Modem
from simrelay.modem.pdu import Deliver, PduError, decode_deliver
from simrelay.modem.readings import StoredMessage
from simrelay.modem.reassembly import Assembled, Reassembler
from simrelay.modem.text import decode_text_deliver

log = structlog.get_logger(__name__)

# <stat> of messages that came in (27.005 §3.1): 0 received unread, 1 received read.
_RECEIVED = (0, 1)


def received_id(imei: str, *, originator: str, timestamp: datetime, text: str) -> str:
    """The `received` id of an SMS: a hash of the modem and what the network stamped on it, so
    reading it again after a restart gives the same id. Two SMS with the same text from the same
    sender in the same second of the SMSC's clock get one id, and the server keeps one of them."""
    key = "\n".join((imei, originator, timestamp.isoformat(), text))
    return "m-" + hashlib.sha256(key.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class _Copy:
    index: int
    content: str  # StoredMessage.content


class Inbox:
    """Feeds stored SMS through a `Reassembler`; `emit` stores and sends a report (LeaseBook.emit)."""

    def __init__(self, *, imei: str, emit: Callable[[Frame], Report], record: Callable[..., None]) -> None:
        self.imei = imei
        self._emit = emit
        self._record = record
        self._reassembler = Reassembler()
        self._pdus: dict[int, str] = {}  # storage index -> the content read there (the PDU)
        self._deletions: dict[int, tuple[_Copy, ...]] = {}  # report key -> what to delete after its ack

    async def take(self, modem: Modem, index: int) -> None:
        """A `+CMTI` for `index`: read the part there, report the SMS once it is whole."""
        stored = await modem.read_message(index)
        if stored is not None and stored.stat in _RECEIVED:
            self._add(stored)

    async def take_all(self, modem: Modem) -> int:
        """Everything stored (a crash before a delete, SMS that came while the host was away);
        returns how many parts were read."""
        messages = [stored for stored in await modem.list_messages(4) if stored.stat in _RECEIVED]
        for stored in messages:
            self._add(stored)
        return len(messages)

    def expire(self) -> None:
        """Reports concatenated SMS whose missing parts never came (Reassembler's timeout) with
        the gaps marked, rather than keep their parts on the SIM for ever."""
        for assembled in self._reassembler.expire(time.time()):
            self._report(assembled)

    def acknowledged(self, report: Report) -> list[tuple[int, str]]:
        """The (index, content) copies to delete now that `report` was answered."""
        return [(copy.index, copy.content) for copy in self._deletions.pop(report.key, ())]

    async def delete(self, modem: Modem, copies: list[tuple[int, str]]) -> None:
        """Deletes each copy if its slot still holds that PDU (in text mode: sender, time stamp and
        text): after a delete the modem reuses the index, and a late second ack of the same SMS
        must not delete a newer one unread."""
        for index, content in copies:
            stored = await modem.read_message(index)
            if stored is not None and stored.content.upper() == content.upper():
                await modem.delete_message(index)
                self._pdus.pop(index, None)
                log.debug("modem_sms_deleted", imei=self.imei, index=index)

    def _add(self, stored: StoredMessage) -> None:
        try:
            sms = _deliver_of(stored)
        except PduError as error:
            # Not an SMS-DELIVER (a stored submit or report) or damaged: left where it is.
            log.warning("modem_sms_unreadable", imei=self.imei, index=stored.index, error=str(error))
            return
        self._pdus[stored.index] = stored.content
        assembled = self._reassembler.add(sms, index=stored.index, now=time.time())
        if assembled is not None:
            self._report(assembled)

    def _report(self, assembled: Assembled) -> None:
        inbox_id = received_id(
            self.imei, originator=assembled.originator, timestamp=assembled.timestamp, text=assembled.text
        )
        report = self._emit(
            {
                "type": "received",
                "id": inbox_id,
                "phone_number": assembled.originator[:64],
                "message": assembled.text,
                "received_at": max(0, int(assembled.timestamp.timestamp())),
                "sim": 0,
            }
        )
        copies = tuple(_Copy(index, self._pdus[index]) for index in assembled.indexes if index in self._pdus)
        self._deletions[report.key] = copies
        self._record("received", inbox_id, f"{len(copies)} part(s)")


def _deliver_of(stored: StoredMessage) -> Deliver:
    if stored.header is None:
        return decode_deliver(stored.pdu)
    return decode_text_deliver(stored.header, stored.pdu)  # read in text.READ_CHARSET
