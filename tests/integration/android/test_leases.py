"""The lease rule with the Android app: an SMS goes back to the queue only if no device can have
begun sending it. The app keeps sending what it holds while offline (modules/messages/workers/
SendMessagesWorker.kt#L81-L107 has no network constraint) and reports it when it is back
(modules/gateway/workers/SendStateWorker.kt#L27-L81), so a phone that went quiet may still
send; all paths at v1.68.0 under app/src/main/java/me/capcom/smsgateway/."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.android.helpers import (
    DELIVERED,
    SEND_FAILED,
    SENT,
    TAKEN,
    WAITING,
    holds,
    lease_holder,
    start_app,
    stored_status,
    until,
)
from tests.integration.rig import Rig
from tests.integration.server import Server
from tests.integration.smsgate import SmsGateApp

pytestmark = pytest.mark.integration

HARD = 3.0
"""lease_hard_seconds in tests/integration/gateway.py FAST."""


async def test_an_app_offline_after_processed_is_the_only_one_to_send_and_its_report_counts(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """The phone fetches, hands the SMS to its radio (Processed reaches simrelay: status 1),
    loses the network, sends anyway. Past the hard timeout simrelay does not give the SMS to
    the other phone: it ends in status 3 "device lost" with a webhook-visible history entry.
    Back online, the phone's queued reports arrive and the status follows them."""
    holder = await start_app(gateway, apps, poll_seconds=0.3, pause_after_processed=True)
    message_id = await gateway.send(message="only once")
    await gateway.wait_status(message_id, TAKEN)
    holder.go_offline()
    holder.release()  # the radio sends while the phone is offline
    other = await start_app(gateway, apps, poll_seconds=0.3)
    lost = await gateway.wait_status(message_id, SEND_FAILED, timeout=HARD * 4)
    history = await gateway.history(message_id)
    assert history[-1]["reason"] == "device lost" and history[-1]["device_id"] == holder.device_id
    assert lost["device_id"] == holder.device_id
    await asyncio.sleep(1.0)  # the other phone is polling: it must get nothing
    assert message_id not in other.messages

    holder.go_online()
    await gateway.wait_status(message_id, DELIVERED, timeout=10)
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SEND_FAILED, SENT, DELIVERED]
    assert gateway.ledger.sent[message_id] == 1 and holder.sent == [message_id] and other.sent == []


async def test_an_app_that_fetched_and_went_quiet_holds_the_sms_until_it_reports(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """Fetched (status 0, handed over) and silent: the same rule, even before Processed."""
    holder = await start_app(gateway, apps, poll_seconds=0.3, send=False)
    message_id = await gateway.send(message="fetched, then silence")
    await until(holds(holder, message_id))
    holder.go_offline()
    other = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.wait_status(message_id, SEND_FAILED, timeout=HARD * 4)
    assert (await gateway.history(message_id))[-1]["reason"] == "device lost"
    assert other.sent == []
    holder.release()
    holder.go_online()
    await gateway.wait_status(message_id, DELIVERED, timeout=10)
    assert gateway.ledger.duplicates() == {} and holder.sent == [message_id]


async def test_an_offer_the_app_never_fetched_goes_to_another_device(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """A lease granted to an app that never fetched it: nothing can have begun sending, so it
    is free again once the lease runs out, without waiting for the hard timeout."""
    quiet = await start_app(gateway, apps, poll_seconds=0.3)
    quiet.go_offline()  # still counted as connected for a few heartbeats
    message_id = await gateway.send(message="never fetched")

    async def leased() -> bool:
        return await lease_holder(gateway, message_id) == quiet.device_id

    await until(leased, timeout=5)
    sender = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.wait_status(message_id, DELIVERED, timeout=HARD * 3)
    assert sender.sent == [message_id] and quiet.sent == []
    reasons = [change["reason"] for change in await gateway.history(message_id)]
    assert "device lost" not in reasons


async def test_an_account_may_opt_into_resending_what_a_lost_phone_held(
    gateway: Rig, apps: list[SmsGateApp]
) -> None:
    """accounts.resend_lost: the SMS goes to another phone at the hard timeout. Documented as
    "may send twice", and here it is: the lost phone sent it too."""
    await gateway.update_account(resend_lost=True)
    holder = await start_app(gateway, apps, poll_seconds=0.3, pause_after_processed=True)
    message_id = await gateway.send(message="may go twice")
    await gateway.wait_status(message_id, TAKEN)
    holder.go_offline()
    holder.release()
    other = await start_app(gateway, apps, poll_seconds=0.3)
    await gateway.wait_status(message_id, DELIVERED, timeout=HARD * 4)
    assert other.sent == [message_id] and holder.sent == [message_id]
    history = await gateway.history(message_id)
    assert [c["status"] for c in history][:3] == [WAITING, TAKEN, WAITING]
    assert "may send twice" in history[2]["reason"]


async def test_processed_messages_are_not_listed_again(gateway: Rig, apps: list[SmsGateApp]) -> None:
    """Once the app said Processed the server's list leaves the SMS out (upstream lists only
    Pending ones); a re-listed Pending id would only make it PATCH again."""
    app = await start_app(gateway, apps, pause_after_processed=True)
    message_id = await gateway.send(message="processed")
    await gateway.wait_status(message_id, TAKEN)
    listed = (await app.call("GET", "/message")).json()
    assert message_id not in [item["id"] for item in listed]
    app.release()
    await gateway.wait_status(message_id, DELIVERED)


async def test_patch_answers_only_once_the_states_are_stored(
    gateway: Rig, apps: list[SmsGateApp], tmp_path
) -> None:
    """The app forgets a report after a 2xx (SendStateWorker.kt#L48): simrelay answers 204 only
    after the change is committed, so a SIGKILL right after the answer loses nothing."""
    app = await start_app(gateway, apps, send=False, poll_seconds=0.3)
    message_id = await gateway.send(message="durable report")
    await until(holds(app, message_id))
    await app.stop()
    local = app.messages[message_id]
    local.state = "Sent"
    local.states.update({"Processed": local.states["Pending"], "Sent": local.states["Pending"]})
    response = await app._patch_now(local)
    assert response.status_code == 204
    gateway.server.kill()
    restarted = Server(gateway.server.env, tmp_path / "logs2", port=gateway.server.port).start()
    gateway.server = restarted
    assert (await stored_status(gateway, message_id))[0] == SENT
    assert await gateway.statuses(message_id) == [WAITING, TAKEN, SENT]
