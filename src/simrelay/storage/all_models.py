"""Imports every feature's tables so that Base.metadata knows them all (Alembic, tests)."""

from simrelay.accounts.models import Account, ApiKey
from simrelay.devices.models import Device
from simrelay.sms.models import IdempotencyKey, Message, MessageTotal, MonthlyUsage
from simrelay.storage.db import Base
from simrelay.webhooks.models import Webhook

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Device",
    "IdempotencyKey",
    "Message",
    "MessageTotal",
    "MonthlyUsage",
    "Webhook",
]
