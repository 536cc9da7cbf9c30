"""What SMPP clients are told as deliver_sm, queued durably in the transaction of the change:
the receipts that submit_sm asked for (registered_delivery) and the SMS the account's devices
receive (MO). A receiver or transceiver bind of the account takes them (smpp/delivery.py);
until one binds they wait in `smpp_notices`.

The sms and inbox packages know nothing of SMPP: `install` hooks these functions into their
listeners, and the app calls it at start, on every node, whether or not it serves SMPP, since
the change and the bind may happen on different nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, exists, insert, select
from sqlalchemy.engine import Connection

from simrelay.devices.models import Device
from simrelay.ids import new_object_id
from simrelay.inbox import service as inbox
from simrelay.smpp.codes import MessageState, Npi, Ton
from simrelay.smpp.models import ADDRESS_MAX, SmppNotice, SmppReceiptWanted, SmppSender, SmppUser
from simrelay.sms import events, leases
from simrelay.sms.status import Change, Status
from simrelay.storage.database import after_commit

wanted = cast(Table, SmppReceiptWanted.__table__)
notices = cast(Table, SmppNotice.__table__)
smpp_users = cast(Table, SmppUser.__table__)
senders = cast(Table, SmppSender.__table__)
devices = cast(Table, Device.__table__)

RECEIPT = "receipt"
MO = "mo"

# registered_delivery (§5.2.17): bits 0-1 ask for the SMSC delivery receipt, bit 4 for
# intermediate notifications. 3 is reserved in 3.4; SMPP 5.0 made it "on success only".
_RECEIPT_BITS = 0x03
ON_FINAL, ON_FAILURE, ON_SUCCESS = 1, 2, 3
INTERMEDIATE = 0x10

_HEAD = 20


@dataclass(frozen=True, slots=True)
class Addresses:
    """The submit_sm's addresses: a receipt goes back from its destination to its source."""

    source_addr: str
    source_ton: int
    source_npi: int
    destination_addr: str
    dest_ton: int
    dest_npi: int


def wants_any(registered_delivery: int) -> bool:
    return bool(registered_delivery & (_RECEIPT_BITS | INTERMEDIATE))


def want_receipt(
    conn: Connection,
    *,
    message_id: str,
    account_id: str,
    registered_delivery: int,
    addresses: Addresses,
    text: str,
    now: float,
) -> None:
    """Records, with the SMS, that its final status is to be told (in the send's transaction)."""
    conn.execute(
        insert(wanted),
        {
            "message_id": message_id,
            "account_id": account_id,
            "registered_delivery": registered_delivery,
            "source_addr": addresses.source_addr,
            "source_ton": addresses.source_ton,
            "source_npi": addresses.source_npi,
            "destination_addr": addresses.destination_addr,
            "dest_ton": addresses.dest_ton,
            "dest_npi": addresses.dest_npi,
            "head": text[:_HEAD],
            "submitted_at": now,
        },
    )


def state_of(change: Change) -> MessageState | None:
    """The receipt's state for a status change; None for a change no receipt tells of."""
    if change.status is Status.DELIVERED:
        return MessageState.DELIVERED
    if change.status is Status.NOT_DELIVERED:
        return MessageState.UNDELIVERABLE
    if change.status is Status.SENT:
        return MessageState.ENROUTE
    if change.status is Status.SEND_FAILED:
        # The server's own verdicts have states of their own; a device's failure is UNDELIV.
        return {
            leases.EXPIRED: MessageState.EXPIRED,
            leases.OPTED_OUT: MessageState.REJECTED,
            leases.CANCELLED: MessageState.DELETED,
        }.get(change.reason, MessageState.UNDELIVERABLE)
    return None


def told(registered_delivery: int, state: MessageState) -> bool:
    if state is MessageState.ENROUTE:
        return bool(registered_delivery & INTERMEDIATE)
    asked = registered_delivery & _RECEIPT_BITS
    if state is MessageState.DELIVERED:
        return asked in (ON_FINAL, ON_SUCCESS)
    return asked in (ON_FINAL, ON_FAILURE)


def _error_of(state: MessageState) -> str:
    # err: is network-specific; Kannel and Jasmin only carry it. 000 for success, as in the
    # spec's example; a non-zero code otherwise so that "err != 0" checks see a failure.
    return "000" if state in (MessageState.DELIVERED, MessageState.ENROUTE) else "001"


def queue_receipts(conn: Connection, changes: list[Change]) -> None:
    """Receipts for the changes of SMS that asked for one: a listener of sms.events."""
    telling = [change for change in changes if change.status in _TOLD_STATUSES]
    if not telling:
        return
    rows = {
        row.message_id: row
        for row in conn.execute(
            select(wanted).where(wanted.c.message_id.in_({change.message_id for change in telling}))
        )
    }
    if not rows:
        return
    queued: list[dict[str, Any]] = []
    final: set[str] = set()
    for change in telling:
        row = rows.get(change.message_id)
        state = state_of(change)
        if row is None or state is None:
            continue
        if state is not MessageState.ENROUTE:
            final.add(change.message_id)
        if told(row.registered_delivery, state):
            queued.append(_receipt_row(row, state, at=change.at))
    _insert(conn, queued)
    if final:
        conn.execute(delete(wanted).where(wanted.c.message_id.in_(final)))


_TOLD_STATUSES = frozenset({Status.SENT, Status.SEND_FAILED, Status.DELIVERED, Status.NOT_DELIVERED})


def _receipt_row(row: Any, state: MessageState, *, at: float) -> dict[str, Any]:
    payload = {
        "kind": RECEIPT,
        "source_addr": row.destination_addr,
        "source_ton": row.dest_ton,
        "source_npi": row.dest_npi,
        "destination_addr": row.source_addr,
        "dest_ton": row.source_ton,
        "dest_npi": row.source_npi,
        "message_id": row.message_id,
        "state": int(state),
        "error": _error_of(state),
        "submitted": row.submitted_at,
        "done": at,
        "text": row.head,
    }
    return _notice(row.account_id, payload, now=at)


def queue_received(conn: Connection, row: dict[str, Any]) -> None:
    """A received SMS as MO for the account's SMPP clients: a listener of the inbox, queued
    only for accounts that have an SMPP user (others would never take it)."""
    account_id = row["account_id"]
    has_user = conn.execute(select(exists().where(smpp_users.c.account_id == account_id))).scalar()
    if not has_user:
        return
    sender = row["phone_number"]
    recipient = _recipient(conn, account_id, row["device_id"], row["sim"])
    payload = {
        "kind": MO,
        "source_addr": sender,
        "source_ton": _ton_of(sender),
        "source_npi": _npi_of(sender),
        "destination_addr": recipient,
        "dest_ton": _ton_of(recipient),
        "dest_npi": _npi_of(recipient),
        "text": row["message"],
        "received_id": row["id"],
    }
    _insert(conn, [_notice(account_id, payload, now=row["created_at"])])


ALPHANUMERIC_MAX = 11
"""Characters of an alphanumeric address (GSM 03.40); Kannel drops longer ones with TON 5."""


def _ton_of(address: str) -> int:
    """A number (stored as digits, without its +) is international; a name of up to 11
    characters alphanumeric; anything else unknown, which peers pass on as it is."""
    if address.isdigit():
        return Ton.INTERNATIONAL
    return Ton.ALPHANUMERIC if len(address) <= ALPHANUMERIC_MAX else Ton.UNKNOWN


def _npi_of(address: str) -> int:
    return Npi.ISDN if address.isdigit() else Npi.UNKNOWN


def _recipient(conn: Connection, account_id: str, device_id: str, sim: int | None) -> str:
    """Whom an MO was sent to, as far as simrelay can tell; never empty, because Kannel drops an
    MO without a destination_addr (gw/smsc/smsc_smpp.c, pdu_to_msg: "may not be empty").
    simrelay does not know the SIM's own number, so: the source_addr an SMPP user mapped to this
    device (and SIM, if one maps it), so that a reply from it goes back out the same way; else
    the device's name, as far as it is printable ASCII; else the start of the device's id."""
    mapped = conn.execute(
        select(senders.c.source_addr)
        .join(smpp_users, smpp_users.c.id == senders.c.smpp_user_id)
        .where(smpp_users.c.account_id == account_id, senders.c.device_id == device_id)
        .order_by((senders.c.to_sim == sim).desc(), senders.c.source_addr)
        .limit(1)
    ).scalar_one_or_none()
    if mapped:
        return str(mapped)
    name = conn.execute(select(devices.c.name).where(devices.c.id == device_id)).scalar_one_or_none() or ""
    printable = "".join(char for char in name if " " <= char <= "~").strip()
    return printable[:ADDRESS_MAX] or device_id[:ADDRESS_MAX]


def _notice(account_id: str, payload: dict[str, Any], *, now: float) -> dict[str, Any]:
    return {
        "id": new_object_id(),
        "account_id": account_id,
        "payload": orjson.dumps(payload).decode(),
        "created_at": now,
        "attempts": 0,
        "locked_until": 0.0,
    }


QUEUED = "smpp_notices"
"""after-commit topic: notices were queued (sessions of this node look at once)."""


def _insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(notices), list(rows))
        after_commit(conn, QUEUED)


def install() -> None:
    """Hooks receipts and MO into the status changes and the inbox (idempotent)."""
    events.listen(queue_receipts)
    inbox.listen(queue_received)
