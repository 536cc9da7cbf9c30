"""The simrelay Python SDK: `Client` and `AsyncClient` for the HTTP API, typed results, and
`verify_webhook` for signed deliveries. Depends on httpx only, never on the server's modules.

    from simrelay.client import Client
    with Client("http://127.0.0.1:8000", token) as client:
        sms_id = client.send_sms("79990001122", "Hello")
        print(client.get_sms(sms_id).message_status)
"""

from simrelay.client._async import AsyncClient
from simrelay.client._client import Client
from simrelay.client._errors import SimrelayError, WebhookVerificationError
from simrelay.client._models import (
    CreatedWebhook,
    Delivery,
    Device,
    DeviceSettings,
    OptOut,
    Page,
    ReceivedSms,
    Sim,
    Sms,
    SmsStatus,
    StatusChange,
    Ussd,
    Webhook,
)
from simrelay.client._signing import verify_webhook

__all__ = [
    "AsyncClient",
    "Client",
    "CreatedWebhook",
    "Delivery",
    "Device",
    "DeviceSettings",
    "OptOut",
    "Page",
    "ReceivedSms",
    "Sim",
    "SimrelayError",
    "Sms",
    "SmsStatus",
    "StatusChange",
    "Ussd",
    "Webhook",
    "WebhookVerificationError",
    "verify_webhook",
]
