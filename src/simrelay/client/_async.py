"""`AsyncClient`: the same methods as `Client`, awaitable."""

from __future__ import annotations

import asyncio
import itertools
from types import TracebackType
from typing import Any

import httpx

from simrelay.client._client import (
    api_url,
    default_headers,
    history_of,
    page_params,
    send_request,
    without_none,
)
from simrelay.client._errors import error_from_response, retry_delay
from simrelay.client._models import (
    CreatedWebhook,
    Delivery,
    Device,
    DeviceSettings,
    OptOut,
    Page,
    ReceivedSms,
    Sms,
    StatusChange,
    Ussd,
    Webhook,
)


class AsyncClient:
    """The simrelay HTTP API for asyncio: `async with AsyncClient(url, token) as client:`.

    Each method does what the `Client` method of the same name does (see there); a 429 is
    repeated after its `Retry-After` (without blocking the loop) up to `retries` times.
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0, retries: int = 3) -> None:
        self.retries = retries
        self._http = httpx.AsyncClient(
            base_url=api_url(base_url), headers=default_headers(token), timeout=timeout
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        for attempt in itertools.count():
            response = await self._http.request(
                method,
                path,
                json=json,
                params=params,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            if response.status_code == 429 and attempt < self.retries:
                await asyncio.sleep(retry_delay(response))
                continue
            if not response.is_success:
                raise error_from_response(response)
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    # SMS

    async def send_sms(
        self,
        phone_number: str,
        message: str,
        *,
        device_id: str | None = None,
        callback_id: str | None = None,
        to_sim: int | None = None,
        valid_until: int | None = None,
        send_at: int | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        body, headers = send_request(
            phone_number,
            message,
            device_id=device_id,
            callback_id=callback_id,
            to_sim=to_sim,
            valid_until=valid_until,
            send_at=send_at,
            idempotency_key=idempotency_key,
        )
        return str((await self._call("POST", "sms/send", json=body, headers=headers))["id"])

    async def get_sms(self, id: str) -> Sms:
        return Sms.from_json(await self._call("POST", "sms/get", json={"id": id}))

    async def delete_sms(self, id: str) -> None:
        await self._call("DELETE", "sms/del", json={"id": id})

    async def list_sms(self, *, limit: int = 20, offset: int = 1, search: str = "") -> Page[Sms]:
        data = await self._call("GET", "sms", params=page_params(limit, offset, search))
        return Page.from_json(data, "sms_list", Sms.from_json)

    async def sms_history(self, id: str) -> list[StatusChange]:
        return history_of(await self._call("POST", "sms/history", json={"id": id}))

    # Devices

    async def get_device(self, device_id: str) -> Device:
        return Device.from_json(await self._call("POST", "devices/get/info", json={"device_id": device_id}))

    async def edit_device(
        self,
        device_id: str,
        *,
        is_active: bool | None = None,
        to_sim: int | None = None,
        low_battery_alert: bool | None = None,
        send_interval_min: float | None = None,
        send_interval_max: float | None = None,
        limit_per_minute: int | None = None,
        limit_per_hour: int | None = None,
        limit_per_day: int | None = None,
    ) -> None:
        changes = without_none(
            is_active=is_active,
            to_sim=to_sim,
            low_battery_alert=low_battery_alert,
            send_interval_min=send_interval_min,
            send_interval_max=send_interval_max,
            limit_per_minute=limit_per_minute,
            limit_per_hour=limit_per_hour,
            limit_per_day=limit_per_day,
        )
        await self._call("POST", "devices/edit", json={"device_id": device_id, **changes})

    async def delete_device(self, device_id: str) -> None:
        await self._call("POST", "devices/del", json={"device_id": device_id})

    async def list_devices(self, *, limit: int = 20, offset: int = 1) -> Page[Device]:
        data = await self._call("GET", "devices", params=page_params(limit, offset))
        return Page.from_json(data, "device_list", Device.from_json)

    async def device_settings(self, device_id: str) -> DeviceSettings:
        data = await self._call("POST", "devices/settings", json={"device_id": device_id})
        return DeviceSettings.from_json(data)

    async def dial_ussd(
        self, device_id: str, code: str, *, to_sim: int | None = None, timeout: float = 45.0
    ) -> Ussd:
        body = {"device_id": device_id, "code": code, **without_none(to_sim=to_sim)}
        data = await self._call("POST", "devices/ussd", json=body, timeout=timeout)
        return Ussd.from_json(data["ussd"])

    async def get_ussd(self, id: str) -> Ussd:
        return Ussd.from_json((await self._call("POST", "devices/ussd/get", json={"id": id}))["ussd"])

    # Inbox and opt-outs

    async def list_inbox(self, *, limit: int = 20, offset: int = 1, search: str = "") -> Page[ReceivedSms]:
        data = await self._call("GET", "inbox", params=page_params(limit, offset, search))
        return Page.from_json(data, "inbox_list", ReceivedSms.from_json)

    async def list_optouts(self, *, limit: int = 20, offset: int = 1) -> Page[OptOut]:
        data = await self._call("GET", "optouts", params=page_params(limit, offset))
        return Page.from_json(data, "optout_list", OptOut.from_json)

    async def add_optout(self, phone: str) -> None:
        await self._call("POST", "optouts/add", json={"phone_number": phone})

    async def remove_optout(self, phone: str) -> None:
        await self._call("POST", "optouts/del", json={"phone_number": phone})

    # Webhooks

    async def create_webhook(
        self, url: str, *, events: list[str] | None = None, is_active: bool = True
    ) -> CreatedWebhook:
        body = without_none(url=url, events=events, is_active=is_active)
        return CreatedWebhook.from_json(await self._call("POST", "webhooks", json=body))

    async def list_webhooks(self, *, limit: int = 20, offset: int = 1) -> Page[Webhook]:
        data = await self._call("GET", "webhooks", params=page_params(limit, offset))
        return Page.from_json(data, "webhook_list", Webhook.from_json)

    async def get_webhook(self, webhook_id: str) -> Webhook:
        return Webhook.from_json(await self._call("POST", "webhooks/get", json={"webhook_id": webhook_id}))

    async def edit_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        is_active: bool | None = None,
        rotate_secret: bool = False,
    ) -> str | None:
        body = without_none(webhook_id=webhook_id, url=url, events=events, is_active=is_active)
        if rotate_secret:
            body["rotate_secret"] = True
        data = await self._call("POST", "webhooks/edit", json=body)
        return str(data["secret"]) if data else None

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._call("POST", "webhooks/del", json={"webhook_id": webhook_id})

    async def webhook_deliveries(
        self, webhook_id: str, *, limit: int = 20, offset: int = 1, event_id: str | None = None
    ) -> Page[Delivery]:
        body = without_none(webhook_id=webhook_id, limit=limit, offset=offset, event_id=event_id)
        data = await self._call("POST", "webhooks/deliveries", json=body)
        return Page.from_json(data, "delivery_list", Delivery.from_json)

    async def redeliver_webhook(self, event_id: str) -> None:
        await self._call("POST", "webhooks/redeliver", json={"event_id": event_id})

    async def test_webhook(self, webhook_id: str) -> str:
        data = await self._call("POST", "webhooks/test", json={"webhook_id": webhook_id})
        return str(data["event_id"])
