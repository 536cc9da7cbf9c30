"""Imports every feature's tables so that Base.metadata knows them all (Alembic, tests).

The one module of storage that imports upwards, on purpose: the whole schema is every feature's
tables, so whatever assembles it must see them all. Only migrations/env.py (which Alembic loads
from its file) and the tests import it; no module of the server does, so the features still sit
above storage. pyproject.toml's import contracts exempt exactly these imports."""

from simrelay.accounts.models import Account, ApiKey
from simrelay.campaigns.models import Campaign
from simrelay.devices.models import Device, PairingCode, UssdRequest
from simrelay.inbox.models import OptOut, ReceivedMessage
from simrelay.smpp.models import SmppUser
from simrelay.sms.models import IdempotencyKey, Message, MessageHistory, MessageTotal, MonthlyUsage
from simrelay.storage.db import Base
from simrelay.webhooks.models import Delivery, Webhook, WebhookEvent

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Campaign",
    "Delivery",
    "Device",
    "IdempotencyKey",
    "Message",
    "MessageHistory",
    "MessageTotal",
    "MonthlyUsage",
    "PairingCode",
    "SmppUser",
    "OptOut",
    "ReceivedMessage",
    "Webhook",
    "UssdRequest",
    "WebhookEvent",
]
