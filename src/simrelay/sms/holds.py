"""Holding a campaign's SMS: paused, they are not offered; cancelled, they end as a delete ends
one (sync Core). A flag on each SMS (`messages.hold`), set and cleared for a whole campaign at
once, so that no offer joins the campaigns table: the dispatcher's partial index leaves held
SMS out (sms/models.py: OFFERABLE)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.engine import Connection

from simrelay.sms.history import record_changes
from simrelay.sms.leases import CANCELLED, DEVICE_LOST, LEASED, CannotCancel, request_drop
from simrelay.sms.models import Hold, Message
from simrelay.sms.status import Change, Status

messages = cast(Table, Message.__table__)
c = messages.c

_UNFINISHED = or_(
    c.status.in_((int(Status.WAITING), int(Status.TAKEN))),
    and_(c.status == int(Status.SEND_FAILED), c.reason == DEVICE_LOST),
)
"""SMS that may still go out: waiting, taken, or lost with a device that may yet let them go."""


def hold_campaign(conn: Connection, campaign_id: str, *, hold: Hold, was: Hold | None = None) -> None:
    """Sets `hold` on the campaign's unfinished SMS (those whose hold is `was`, if given): paused,
    they are not offered; free again, they are."""
    condition = and_(c.campaign_id == campaign_id, _UNFINISHED)
    if was is not None:
        condition = and_(condition, c.hold == int(was))
    if conn.dialect.name == "postgresql":
        # In id order, as report batches lock theirs: locked in the table's order, this update
        # and a batch could each hold a row the other waits for.
        conn.execute(select(c.id).where(condition).order_by(c.id).with_for_update())
    conn.execute(update(messages).where(condition).values(hold=int(hold)))


def cancel_campaign(
    conn: Connection, campaign_id: str, *, account_id: str, now: float, max_attempts: int
) -> set[str]:
    """Cancels the campaign's SMS as a delete cancels one: each waiting unoffered one ends in
    status 3 "cancelled" here (history, webhooks); each leased one is asked to be dropped, and
    ends so when its lease does (`Hold.CANCELLED`). One held by a device that cannot let go
    may still be sent. Returns the devices to tell."""
    hold_campaign(conn, campaign_id, hold=Hold.CANCELLED)
    ended = conn.execute(
        update(messages)
        .where(c.campaign_id == campaign_id, c.status == int(Status.WAITING), c.lease_device_id == "")
        .values(status=int(Status.SEND_FAILED), reason=CANCELLED)
        .returning(c.id)
    ).all()
    changes = [
        Change(row[0], Status.SEND_FAILED, now, reason=CANCELLED, account_id=account_id) for row in ended
    ]
    record_changes(conn, changes)
    holders: set[str] = set()
    leased = select(c.id).where(LEASED, c.campaign_id == campaign_id).order_by(c.id)
    for (message_id,) in conn.execute(leased).all():
        try:
            holder = request_drop(conn, message_id, now=now, max_attempts=max_attempts)
        except CannotCancel:
            continue
        if holder:
            holders.add(holder)
    return holders
