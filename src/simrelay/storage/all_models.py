"""Imports every feature's tables so that Base.metadata knows them all (Alembic, tests)."""

from simrelay.accounts.models import Account, ApiKey
from simrelay.devices.models import Device, PairingCode
from simrelay.inbox.models import OptOut, ReceivedMessage
from simrelay.sms.models import IdempotencyKey, Message, MessageHistory, MessageTotal, MonthlyUsage
from simrelay.storage.db import Base
from simrelay.webhooks.models import Delivery, Webhook, WebhookEvent

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Delivery",
    "Device",
    "IdempotencyKey",
    "Message",
    "MessageHistory",
    "MessageTotal",
    "MonthlyUsage",
    "PairingCode",
    "OptOut",
    "ReceivedMessage",
    "Webhook",
    "WebhookEvent",
]
