"""The fake modem's SIM memories and its record of what went "on air" (27.005 storage semantics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.fakes.sms_pdus import Pdu, Submitted

if TYPE_CHECKING:
    from tests.fakes.modem_text import Content


class StatusOf:
    """<stat> values of AT+CMGL/+CMGR in PDU mode (27.005 §3.1)."""

    UNREAD = 0
    READ = 1
    UNSENT = 2
    SENT = 3
    ALL = 4


@dataclass(slots=True)
class Stored:
    stat: int
    pdu: Pdu
    content: Content | None = None  # what text mode lists (modem_text.py)


@dataclass(frozen=True, slots=True)
class Submission:
    """One AT+CMGS the fake accepted: the reference it answered and what smspdudecoder read."""

    reference: int
    pdu: str
    length: int
    recipient: str
    text: str
    status_report: bool
    concat: tuple[int, int, int] | None


@dataclass
class Memories:
    """ "SM" (messages) and "SR" (status reports), indexes from 1, lowest free slot first."""

    total: int
    slots: dict[str, dict[int, Stored]] = field(default_factory=lambda: {"SM": {}, "SR": {}})

    def store(
        self, memory: str, pdu: Pdu, stat: int = StatusOf.UNREAD, *, content: Content | None = None
    ) -> int:
        slots = self.slots[memory]
        index = next(number for number in range(1, self.total + 2) if number not in slots)
        if index > self.total:
            raise MemoryError(memory)
        slots[index] = Stored(stat, pdu, content)
        return index

    def listing(self, memory: str, stat: int) -> list[tuple[int, Stored]]:
        return sorted(
            (index, stored)
            for index, stored in self.slots[memory].items()
            if stat == StatusOf.ALL or stored.stat == stat
        )


@dataclass
class Air:
    """Every submission in order, and the 0..255 message reference counter (TS 23.040 TP-MR)."""

    next_reference: int = 0
    submissions: list[Submission] = field(default_factory=list)

    def submit(self, pdu: str, length: int, decoded: Submitted) -> Submission:
        submission = Submission(
            reference=self.next_reference,
            pdu=pdu,
            length=length,
            recipient=decoded.recipient,
            text=decoded.text,
            status_report=decoded.status_report,
            concat=decoded.concat,
        )
        self.next_reference = (self.next_reference + 1) % 256
        self.submissions.append(submission)
        return submission
