"""sms/reports.py and sms/leases.py on a real database: each report walks the status machine
forward only, leases end the right way, and the history records one change per step."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select, update

from simrelay.devices.models import Device
from simrelay.sms import history, leases
from simrelay.sms.models import Message
from simrelay.sms.reports import Report, Verdict, apply_report
from simrelay.storage.database import Database
from tests.factories import make_caller, make_device
from tests.integration.api.helpers import send_ok

pytestmark = pytest.mark.integration

PHONE_A = "a" * 24
PHONE_B = "b" * 24


async def leased(engine, client, *, device: str = PHONE_A, attempts: int = 1, **values: Any) -> str:
    """A new SMS whose lease `device` holds (offered, status 0)."""
    caller = await make_caller(engine)
    message_id = await send_ok(client, caller, message="x" * 200)  # two parts
    now = time.time()
    async with engine.begin() as conn:
        await conn.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                **{
                    "lease_device_id": device,
                    "lease_until": now + 60,
                    "lease_expires": now + 600,
                    "attempts": attempts,
                    **values,
                }
            )
        )
    return message_id


async def report(engine, kind: str, message_id: str, *, device: str = PHONE_A, **fields: Any):
    db = Database.on_engine(engine)
    return await db.run(
        lambda conn: apply_report(
            conn,
            Report(kind=kind, message_id=message_id, device_id=device, **fields),
            now=time.time(),
            max_attempts=3,
        )
    )


async def row(engine, message_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(Message).where(Message.id == message_id))).first()


async def steps(engine, message_id: str) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        changes = await conn.run_sync(lambda sync: history.changes_of(sync, message_id))
    return [(change["status"], change["reason"]) for change in changes]


async def test_sent_before_taken_records_taken_then_sent_and_ends_the_lease(engine, client) -> None:
    message_id = await leased(engine, client)
    applied = await report(engine, "sent", message_id, parts=3)
    assert applied.verdict is Verdict.OK and applied.lease_ended
    found = await row(engine, message_id)
    assert (found.status, found.device_id, found.lease_device_id, found.parts) == (2, PHONE_A, "", 3)
    assert await steps(engine, message_id) == [(1, ""), (2, "")]


async def test_parts_are_aggregated_into_one_final_status_and_the_first_report_of_a_part_counts(
    engine, client
) -> None:
    message_id = await leased(engine, client)
    await report(engine, "sent", message_id, parts=2)
    await report(engine, "delivery", message_id, part=0, parts=2, delivered=False)
    await report(engine, "delivery", message_id, part=0, parts=2, delivered=True)  # too late for part 0
    assert (await row(engine, message_id)).status == 2
    await report(engine, "delivery", message_id, part=1, parts=2, delivered=True)
    found = await row(engine, message_id)
    assert (found.status, found.part_states) == (5, "ND")
    assert await steps(engine, message_id) == [(1, ""), (2, ""), (5, "")]


async def test_a_failed_after_sent_and_a_second_sent_change_nothing(engine, client) -> None:
    message_id = await leased(engine, client)
    await report(engine, "sent", message_id, parts=1)
    assert (await report(engine, "failed", message_id, reason="late")).verdict is Verdict.OK
    assert (await report(engine, "sent", message_id, parts=1)).changes == []
    assert (await row(engine, message_id)).status == 2
    assert await steps(engine, message_id) == [(1, ""), (2, "")]


async def test_a_device_without_the_lease_is_refused_and_changes_nothing(engine, client) -> None:
    message_id = await leased(engine, client)
    assert (await report(engine, "sent", message_id, device=PHONE_B)).verdict is Verdict.NOT_LEASED
    assert (await report(engine, "taken", "c" * 24)).verdict is Verdict.UNKNOWN
    assert (await row(engine, message_id)).status == 0


async def test_dropped_of_an_older_attempt_does_not_end_the_current_lease(engine, client) -> None:
    message_id = await leased(engine, client, attempts=2)
    assert (await report(engine, "dropped", message_id, attempt=1)).changes == []
    assert (await row(engine, message_id)).lease_device_id == PHONE_A
    applied = await report(engine, "dropped", message_id, attempt=2)
    assert applied.lease_ended
    found = await row(engine, message_id)
    assert (found.status, found.lease_device_id) == (0, "")


async def test_dropped_after_taken_moves_back_to_waiting_and_out_of_attempts_to_failed(
    engine, client
) -> None:
    again = await leased(engine, client, attempts=1)
    await report(engine, "taken", again)
    await report(engine, "dropped", again)
    found = await row(engine, again)
    assert (found.status, found.device_id) == (0, "")
    assert await steps(engine, again) == [(1, ""), (0, "lease expired")]

    spent = await leased(engine, client, attempts=3)
    await report(engine, "taken", spent)
    await report(engine, "dropped", spent)
    assert (await row(engine, spent)).status == 3
    assert await steps(engine, spent) == [(1, ""), (3, "not sent after 3 attempts")]


async def test_an_offer_declined_for_a_failing_sim_is_no_attempt_but_keeps_its_number(engine, client) -> None:
    """Five declines and two plain drops: the SMS waits still; the attempt numbers go on, so a
    late repeat of an earlier `dropped` never ends a newer lease; the third counted one ends it."""
    message_id = await leased(engine, client, attempts=0)
    for attempt in range(1, 8):
        await lease_again(engine, message_id, attempts=attempt)
        declined = attempt not in (3, 6)
        applied = await report(engine, "dropped", message_id, attempt=attempt, declined=declined)
        assert applied.lease_ended
        found = await row(engine, message_id)
        assert (found.status, found.lease_device_id, found.attempts) == (0, "", attempt)
    assert (await row(engine, message_id)).declines == 5
    await lease_again(engine, message_id, attempts=8)
    await report(engine, "dropped", message_id, attempt=3, declined=True)  # a late repeat
    assert (await row(engine, message_id)).lease_device_id == PHONE_A, "attempt 8 holds"
    await report(engine, "taken", message_id)
    await report(engine, "dropped", message_id, attempt=8)
    found = await row(engine, message_id)
    assert (found.status, found.reason, found.declines) == (3, "not sent after 3 attempts", 5)


async def test_declines_past_the_free_ones_count_as_attempts(engine, client) -> None:
    message_id = await leased(
        engine, client, attempts=leases.FREE_DECLINES + 2, declines=leases.FREE_DECLINES
    )
    await report(engine, "dropped", message_id, declined=True)
    found = await row(engine, message_id)
    assert (found.status, found.declines) == (0, leases.FREE_DECLINES), "2 counted: it waits"
    await lease_again(engine, message_id, attempts=leases.FREE_DECLINES + 3)
    await report(engine, "dropped", message_id, declined=True)
    assert (await row(engine, message_id)).status == 3


async def lease_again(engine, message_id: str, *, attempts: int, device: str = PHONE_A) -> None:
    """The next offer of a waiting SMS, as a grant writes it."""
    now = time.time()
    async with engine.begin() as conn:
        await conn.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(lease_device_id=device, lease_until=now + 60, lease_expires=now + 600, attempts=attempts)
        )


async def test_a_deleted_or_expired_sms_that_is_let_go_ends_cancelled_or_expired(engine, client) -> None:
    deleted = await leased(engine, client, deleted_at=time.time())
    await report(engine, "dropped", deleted)
    assert await steps(engine, deleted) == [(3, leases.CANCELLED)]
    expired = await leased(engine, client, valid_until=int(time.time()) - 1)
    await report(engine, "taken", expired)
    await report(engine, "dropped", expired)
    assert await steps(engine, expired) == [(1, ""), (3, leases.EXPIRED)]


async def lapsed(engine, *, now: float, silent_since: float, given_up_before: float) -> list[str]:
    db = Database.on_engine(engine)
    rows = await db.run(
        lambda c: leases.find_lapsed(c, now=now, silent_since=silent_since, given_up_before=given_up_before)
    )
    return [r.id for r in rows]


async def test_a_lapsed_lease_is_taken_back_only_from_a_vanished_device(engine, client) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    message_id = await leased(engine, client, device=device_id)
    now = time.time()
    later = now + 601  # past the hard expiry
    async with engine.begin() as conn:
        await conn.execute(update(Device).where(Device.id == device_id).values(last_online_at=now))
    assert message_id not in await lapsed(engine, now=now, silent_since=now - 60, given_up_before=now - 600)
    # Heard from a moment ago: connected, its report may be queued; the lease stays.
    assert message_id not in await lapsed(
        engine, now=later, silent_since=now - 60, given_up_before=later - 600
    )
    # Silent since: it vanished.
    assert message_id in await lapsed(engine, now=later, silent_since=now + 1, given_up_before=later - 600)
    # Connected but ignoring drops for a second hard timeout: given up on.
    assert message_id in await lapsed(
        engine, now=later + 600, silent_since=now - 60, given_up_before=later + 1
    )


async def test_a_lease_of_a_deleted_device_lapses_at_its_hard_expiry(engine, client) -> None:
    message_id = await leased(engine, client, device=PHONE_B)  # no such device
    now = time.time()
    assert message_id not in await lapsed(engine, now=now, silent_since=now, given_up_before=now - 600)
    assert message_id in await lapsed(engine, now=now + 601, silent_since=now, given_up_before=now)


async def end_lapsed(engine, message_id: str, *, resend: bool = False) -> list[Any]:
    """Ends the lease as the sweep does, for an account that does (or does not) resend lost SMS."""
    db = Database.on_engine(engine)

    def work(conn):
        found = conn.execute(select(*leases._LEASE_COLUMNS).where(Message.id == message_id)).first()
        row = type("Lapsed", (), {**found._asdict(), "resend_lost": resend})
        return leases.end_lapsed(conn, row, now=time.time(), max_attempts=3)

    return await db.run(work)


async def test_a_lapsed_lease_that_was_handed_over_ends_device_lost_and_later_reports_count(
    engine, client
) -> None:
    message_id = await leased(engine, client)
    await report(engine, "taken", message_id)
    (change,) = await end_lapsed(engine, message_id)
    assert (change.status, change.reason) == (3, leases.DEVICE_LOST)
    lost = await row(engine, message_id)
    assert (lost.status, lost.device_id, lost.lease_device_id) == (3, PHONE_A, "")
    # Another device's report is refused; a `taken` of the lost one changes nothing.
    assert (await report(engine, "sent", message_id, device=PHONE_B)).verdict is Verdict.NOT_LEASED
    assert (await report(engine, "dropped", message_id, device=PHONE_B)).changes == []
    assert (await report(engine, "taken", message_id)).changes == []
    sent = await report(engine, "sent", message_id, parts=2)
    assert [c.status for c in sent.changes] == [2]
    assert await steps(engine, message_id) == [(1, ""), (3, leases.DEVICE_LOST), (2, "")]


async def test_a_lapsed_lease_goes_back_to_the_queue_if_never_handed_over_or_if_the_account_resends(
    engine, client
) -> None:
    unfetched = await leased(engine, client, lease_handed=False)
    assert await end_lapsed(engine, unfetched) == []  # still status 0: no change to record
    free = await row(engine, unfetched)
    assert (free.status, free.lease_device_id, free.attempts) == (0, "", 0)  # no attempt spent
    assert free.let_go_by == ""  # it never had it: it may get it again
    resent = await leased(engine, client)
    await report(engine, "taken", resent)
    (change,) = await end_lapsed(engine, resent, resend=True)
    assert (change.status, change.reason) == (0, leases.LAPSED_RESENT)
    assert (await row(engine, resent)).let_go_by == PHONE_A + ","


async def test_an_overdue_lease_never_fetched_is_freed_and_a_fetched_one_is_asked_to_drop(
    engine, client
) -> None:
    fetched = await leased(engine, client, lease_until=time.time() - 1)
    unfetched = await leased(engine, client, lease_until=time.time() - 1, lease_handed=False)
    db = Database.on_engine(engine)
    drops, freed = await db.run(
        lambda c: leases.request_overdue_drops(c, [PHONE_A], now=time.time(), max_attempts=3)
    )
    assert [d[0] for d in drops] == [fetched] and freed == [(unfetched, PHONE_A)]
    assert (await row(engine, fetched)).lease_drop is True
    freed_row = await row(engine, unfetched)
    assert (freed_row.status, freed_row.lease_device_id) == (0, "")


async def test_a_stopping_node_hands_back_offers_never_fetched_and_keeps_fetched_ones(engine, client) -> None:
    fetched = await leased(engine, client)
    unfetched = await leased(engine, client, lease_handed=False)
    elsewhere = await leased(engine, client, device=PHONE_B, lease_handed=False)
    db = Database.on_engine(engine)
    count = await db.run(lambda c: leases.release_unfetched(c, [PHONE_A], now=time.time(), max_attempts=3))
    assert count == 1
    back = await row(engine, unfetched)
    assert (back.status, back.lease_device_id, back.attempts, back.let_go_by) == (0, "", 0, "")
    assert (await row(engine, fetched)).lease_device_id == PHONE_A  # it may be sending it: it stays
    assert (await row(engine, elsewhere)).lease_device_id == PHONE_B  # another node's device


async def test_a_delete_of_an_sms_handed_to_a_device_that_cannot_cancel_is_refused(engine, client) -> None:
    caller = await make_caller(engine)
    old_app = await make_device(engine, caller)
    async with engine.begin() as conn:
        await conn.execute(
            update(Device).where(Device.id == old_app).values(can_cancel=False, app_version="1.66.2")
        )
    held = await leased(engine, client, device=old_app)
    unfetched = await leased(engine, client, device=old_app, lease_handed=False)
    db = Database.on_engine(engine)
    now = time.time()
    with pytest.raises(leases.CannotCancel) as refused:
        await db.run(lambda c: leases.request_drop(c, held, now=now, max_attempts=3))
    assert refused.value.app_version == "1.66.2"
    # Not handed over yet: the lease just ends (the SMS is not deleted here, so it waits again).
    assert await db.run(lambda c: leases.request_drop(c, unfetched, now=now, max_attempts=3)) == old_app
    assert (await row(engine, unfetched)).lease_device_id == ""


async def test_a_lost_sms_its_device_let_go_unsent_waits_again_for_another_device(engine, client) -> None:
    message_id = await leased(engine, client)
    await report(engine, "taken", message_id)
    await end_lapsed(engine, message_id)
    stale = await report(engine, "dropped", message_id, attempt=7)  # about another lease
    assert stale.changes == []
    (change,) = (await report(engine, "dropped", message_id, attempt=1)).changes
    assert (change.status, change.reason) == (0, leases.REQUEUED)
    again = await row(engine, message_id)
    assert (again.status, again.device_id, again.let_go_by) == (0, "", PHONE_A + ",")
    assert await steps(engine, message_id) == [(1, ""), (3, leases.DEVICE_LOST), (0, leases.REQUEUED)]


async def test_a_lost_sms_let_go_after_its_last_attempt_only_changes_its_reason(engine, client) -> None:
    message_id = await leased(engine, client, attempts=3)
    await report(engine, "taken", message_id)
    await end_lapsed(engine, message_id)
    (change,) = (await report(engine, "dropped", message_id)).changes
    assert (change.status, change.reason) == (3, "not sent after 3 attempts")
    assert (await row(engine, message_id)).status == 3
