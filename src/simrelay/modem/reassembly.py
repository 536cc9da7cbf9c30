"""Concatenated SMS put back together from their parts, in memory and bounded; pure, the caller
passes the clock in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from simrelay.modem.pdu import Deliver, join_texts


@dataclass(frozen=True, slots=True)
class Assembled:
    """A received SMS, whole or (after `Reassembler.expire`) as much of it as came."""

    originator: str
    text: str  # the parts' texts in order; with gaps where parts are missing
    timestamp: datetime  # TP-SCTS of the lowest-numbered part that came
    indexes: tuple[int, ...]  # modem storage indexes of every part taken in, duplicates included
    missing: tuple[int, ...] = ()  # part numbers that never came; empty when whole

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(slots=True)
class _Pending:
    started: float
    total: int
    parts: dict[int, Deliver] = field(default_factory=dict)
    indexes: list[int] = field(default_factory=list)

    def assemble(self) -> Assembled:
        ordered = [self.parts[seq] for seq in sorted(self.parts)]
        return Assembled(
            originator=ordered[0].originator,
            text=join_texts([part.text for part in ordered]),
            timestamp=ordered[0].timestamp,
            indexes=tuple(self.indexes),
            missing=tuple(seq for seq in range(1, self.total + 1) if seq not in self.parts),
        )


class Reassembler:
    """Collects the parts of concatenated SMS by (originator, reference, total).

    Parts may come out of order and more than once (a modem lists what it still stores after a
    restart); a repeated part keeps the first copy's text and adds its storage index, so the host
    can delete every copy once the server has the SMS. A set still incomplete `timeout` seconds
    after its first part, or the oldest when more than `max_sets` are open, leaves through
    `expire`, which the host calls now and then."""

    def __init__(self, *, timeout: float = 6 * 3600.0, max_sets: int = 1000) -> None:
        # Hours, not minutes: an SMSC retrying a part to a busy or unreachable modem can hold it long.
        self._timeout = timeout
        self._max_sets = max_sets
        self._open: dict[tuple[str, int, int], _Pending] = {}
        self._evicted: list[Assembled] = []

    def __len__(self) -> int:
        return len(self._open)

    def add(self, sms: Deliver, *, index: int | None, now: float) -> Assembled | None:
        """The whole SMS once this part completes it (at once for an SMS of one part), else None.
        `index` is where the modem stores the part (+CMGL, +CMTI), None if it stores none (+CMT)."""
        indexes = () if index is None else (index,)
        if sms.concat is None or sms.concat.total == 1:
            return Assembled(
                originator=sms.originator, text=sms.text, timestamp=sms.timestamp, indexes=indexes
            )
        key = (sms.originator, sms.concat.reference, sms.concat.total)
        pending = self._open.get(key)
        if pending is None:
            pending = self._open[key] = _Pending(started=now, total=sms.concat.total)
        pending.parts.setdefault(sms.concat.seq, sms)
        if index is not None and index not in pending.indexes:
            pending.indexes.append(index)
        if len(pending.parts) == pending.total:
            del self._open[key]
            return pending.assemble()
        if len(self._open) > self._max_sets:
            # The first key is the set opened longest ago: dicts keep insertion order.
            oldest = next(iter(self._open))
            self._evicted.append(self._open.pop(oldest).assemble())
        return None

    def expire(self, now: float) -> list[Assembled]:
        """The incomplete sets that timed out or were pushed out, each once; the host decides
        whether a partial text is worth forwarding and deletes the parts' storage indexes."""
        expired, self._evicted = self._evicted, []
        for key, pending in list(self._open.items()):
            if now - pending.started >= self._timeout:
                expired.append(self._open.pop(key).assemble())
        return expired
