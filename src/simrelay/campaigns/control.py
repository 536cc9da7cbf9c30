"""Pause, resume and cancel as the API and the panel both ask them: the change, then the
wake-ups it calls for, so that neither caller can forget one."""

from __future__ import annotations

from enum import StrEnum

from simrelay.campaigns import service
from simrelay.storage.database import Database
from simrelay.storage.signals import Signals


class Action(StrEnum):
    PAUSE = "pause"
    """Its waiting SMS wait; those devices hold go on."""
    RESUME = "resume"
    """A paused campaign's SMS are offered again."""
    CANCEL = "cancel"
    """Every SMS of it not yet sent ends in status 3."""


async def change_campaign(
    db: Database,
    signals: Signals,
    action: Action,
    *,
    account_id: str,
    campaign_id: str,
    max_attempts: int,
) -> None:
    """Applies `action`; raises 1019 for a campaign not the account's. A resume wakes the
    account's dispatch (devices have work again); a cancel tells each device asked to drop an
    SMS of it. `max_attempts` is the dispatcher's (settings.max_attempts), as a delete's."""
    if action is Action.PAUSE:
        await service.pause_campaign(db, account_id=account_id, campaign_id=campaign_id)
    elif action is Action.RESUME:
        if await service.resume_campaign(db, account_id=account_id, campaign_id=campaign_id):
            signals.work_arrived(account_id)
    else:
        holders = await service.cancel_campaign(
            db, account_id=account_id, campaign_id=campaign_id, max_attempts=max_attempts
        )
        for holder in sorted(holders):
            signals.device_changed(holder)
