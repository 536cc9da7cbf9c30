"""The SMS status machine of the GoSMS contract."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Status(IntEnum):
    WAITING = 0
    """Accepted, waiting for a device."""
    TAKEN = 1
    """A device took it and holds a lease."""
    SENT = 2
    """The device handed it to the network."""
    SEND_FAILED = 3
    """The device could not send it (or it expired, or the number opted out)."""
    DELIVERED = 4
    """Delivery report: delivered."""
    NOT_DELIVERED = 5
    """Delivery report: not delivered."""

    @property
    def text(self) -> str:
        return STATUS_TEXT[self]


STATUS_TEXT: dict[Status, str] = {
    Status.WAITING: "Ждет обработки",
    Status.TAKEN: "Взято в обработку",
    Status.SENT: "Отправлено",
    Status.SEND_FAILED: "Ошибка отправки",
    Status.DELIVERED: "Доставлено",
    Status.NOT_DELIVERED: "Ошибка доставки",
}

ALLOWED_MOVES: frozenset[tuple[Status, Status]] = frozenset(
    {
        (Status.WAITING, Status.TAKEN),
        (Status.TAKEN, Status.SENT),
        (Status.TAKEN, Status.SEND_FAILED),
        (Status.SENT, Status.DELIVERED),
        (Status.SENT, Status.NOT_DELIVERED),
        # Only when a lease expires unreported: the message is offered again.
        (Status.TAKEN, Status.WAITING),
        # The server's own verdicts, before any device had it: expired (`valid_until`), the
        # number opted out, or every attempt used up. Not in the GoSMS table, which knows no
        # such causes; status 3 is the one the contract names for "could not be sent".
        (Status.WAITING, Status.SEND_FAILED),
    }
)

FINAL: frozenset[Status] = frozenset({Status.SEND_FAILED, Status.DELIVERED, Status.NOT_DELIVERED})


@dataclass(frozen=True, slots=True)
class Change:
    """One move of an SMS's status: sms/history.py records it and sms/events.py announces it.
    It lives here, below both, so that history can call events without events importing it back."""

    message_id: str
    status: Status
    at: float
    device_id: str = ""
    sim: int | None = None
    reason: str = ""
    account_id: str = ""
    """The SMS's account, where the code that made the change read it ("" if not): lets the
    webhook events skip accounts with no webhook without a query for the SMS."""


def can_move(current: Status, new: Status) -> bool:
    return (current, new) in ALLOWED_MOVES


def statuses_matching(needle: str) -> list[Status]:
    """Statuses whose text contains `needle` (already case-folded): the search over message_status."""
    return [status for status, text in STATUS_TEXT.items() if needle in text.casefold()]
