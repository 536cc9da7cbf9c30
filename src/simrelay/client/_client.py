"""`Client`: the synchronous SDK, one method per v1 endpoint; and the request shapes that
`AsyncClient` shares with it."""

from __future__ import annotations

import itertools
import time
from types import TracebackType
from typing import Any

import httpx

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

USER_AGENT = "simrelay-client"


def api_url(base_url: str) -> str:
    """The `/v1/` root under `base_url` (given with or without `/v1`)."""
    root = base_url.rstrip("/")
    return root.removesuffix("/v1") + "/v1/"


def default_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": USER_AGENT}


def send_request(
    phone_number: str,
    message: str,
    *,
    device_id: str | None,
    callback_id: str | None,
    to_sim: int | None,
    valid_until: int | None,
    send_at: int | None,
    idempotency_key: str | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of `/sms/send`: fields left as None are not sent."""
    optional = {
        "device_id": device_id,
        "callback_id": callback_id,
        "to_sim": to_sim,
        "valid_until": valid_until,
        "send_at": send_at,
    }
    body: dict[str, Any] = {"message": message, "phone_number": phone_number}
    body.update({name: value for name, value in optional.items() if value is not None})
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
    return body, headers


def without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def page_params(limit: int, offset: int, search: str = "") -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if search:
        params["search"] = search
    return params


def history_of(data: Any) -> list[StatusChange]:
    return [StatusChange.from_json(change) for change in data["history"]]


class Client:
    """The simrelay HTTP API, synchronously: `Client("http://127.0.0.1:8000", token)`.

    Every method is one request (plus retries): a non-2xx answer raises `SimrelayError`; a
    429 is repeated after its `Retry-After` up to `retries` times; network failures raise
    httpx's `TransportError`s. Use it as a context manager, or call `close()`.
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0, retries: int = 3) -> None:
        self.retries = retries
        self._http = httpx.Client(base_url=api_url(base_url), headers=default_headers(token), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The decoded JSON of a 2xx answer (None for 204)."""
        for attempt in itertools.count():
            response = self._http.request(
                method,
                path,
                json=json,
                params=params,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            if response.status_code == 429 and attempt < self.retries:
                time.sleep(retry_delay(response))
                continue
            if not response.is_success:
                raise error_from_response(response)
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    # SMS

    def send_sms(
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
        """`POST /sms/send`: the new SMS's id, once it is stored. `to_sim` -2 device default, -1
        random, 0.. a slot; `valid_until` / `send_at` unix times; `idempotency_key` makes a
        repeated call (same key, same arguments, within 24 h) answer the first id."""
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
        return str(self._call("POST", "sms/send", json=body, headers=headers)["id"])

    def get_sms(self, id: str) -> Sms:
        """`POST /sms/get` (1008 if the account has no such SMS)."""
        return Sms.from_json(self._call("POST", "sms/get", json={"id": id}))

    def delete_sms(self, id: str) -> None:
        """`DELETE /sms/del`: a waiting SMS is never sent; get answers 1008 afterwards."""
        self._call("DELETE", "sms/del", json={"id": id})

    def list_sms(self, *, limit: int = 20, offset: int = 1, search: str = "") -> Page[Sms]:
        """`GET /sms`: newest first; `offset` is the page number from 1; `search` matches text,
        number and status text, case-insensitively."""
        data = self._call("GET", "sms", params=page_params(limit, offset, search))
        return Page.from_json(data, "sms_list", Sms.from_json)

    def sms_history(self, id: str) -> list[StatusChange]:
        """`POST /sms/history`: every status change, oldest first (creation included)."""
        return history_of(self._call("POST", "sms/history", json={"id": id}))

    # Devices

    def get_device(self, device_id: str) -> Device:
        """`POST /devices/get/info` (1009 if the account has no such device)."""
        return Device.from_json(self._call("POST", "devices/get/info", json={"device_id": device_id}))

    def edit_device(
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
        """`POST /devices/edit`: changes the fields given; the others stay as they are."""
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
        self._call("POST", "devices/edit", json={"device_id": device_id, **changes})

    def delete_device(self, device_id: str) -> None:
        """`POST /devices/del`."""
        self._call("POST", "devices/del", json={"device_id": device_id})

    def list_devices(self, *, limit: int = 20, offset: int = 1) -> Page[Device]:
        """`GET /devices`: newest first."""
        data = self._call("GET", "devices", params=page_params(limit, offset))
        return Page.from_json(data, "device_list", Device.from_json)

    def device_settings(self, device_id: str) -> DeviceSettings:
        """`POST /devices/settings`: the device's pacing."""
        return DeviceSettings.from_json(self._call("POST", "devices/settings", json={"device_id": device_id}))

    def dial_ussd(
        self, device_id: str, code: str, *, to_sim: int | None = None, timeout: float = 45.0
    ) -> Ussd:
        """`POST /devices/ussd`: dials `code` (such as `*100#`) on a connected device and returns the
        request once answered, or `pending` after the server's wait (30 s by default, hence the
        longer `timeout`); 1015 offline, 1016 the device cannot dial USSD."""
        body = {"device_id": device_id, "code": code, **without_none(to_sim=to_sim)}
        return Ussd.from_json(self._call("POST", "devices/ussd", json=body, timeout=timeout)["ussd"])

    def get_ussd(self, id: str) -> Ussd:
        """`POST /devices/ussd/get`: a USSD request as it is now (1018 if the account has none)."""
        return Ussd.from_json(self._call("POST", "devices/ussd/get", json={"id": id})["ussd"])

    # Inbox and opt-outs

    def list_inbox(self, *, limit: int = 20, offset: int = 1, search: str = "") -> Page[ReceivedSms]:
        """`GET /inbox`: SMS the account's devices received, newest first."""
        data = self._call("GET", "inbox", params=page_params(limit, offset, search))
        return Page.from_json(data, "inbox_list", ReceivedSms.from_json)

    def list_optouts(self, *, limit: int = 20, offset: int = 1) -> Page[OptOut]:
        """`GET /optouts`: numbers not to text, most recently added first."""
        data = self._call("GET", "optouts", params=page_params(limit, offset))
        return Page.from_json(data, "optout_list", OptOut.from_json)

    def add_optout(self, phone: str) -> None:
        """`POST /optouts/add` (already there: no change)."""
        self._call("POST", "optouts/add", json={"phone_number": phone})

    def remove_optout(self, phone: str) -> None:
        """`POST /optouts/del` (not there: no change)."""
        self._call("POST", "optouts/del", json={"phone_number": phone})

    # Webhooks

    def create_webhook(
        self, url: str, *, events: list[str] | None = None, is_active: bool = True
    ) -> CreatedWebhook:
        """`POST /webhooks`: its id and signing secret (shown only now). `events` default to all:
        sms.status, sms.received, device.online, device.offline, device.low_battery, device.ussd,
        device.sim_paused."""
        body = without_none(url=url, events=events, is_active=is_active)
        return CreatedWebhook.from_json(self._call("POST", "webhooks", json=body))

    def list_webhooks(self, *, limit: int = 20, offset: int = 1) -> Page[Webhook]:
        """`GET /webhooks`."""
        data = self._call("GET", "webhooks", params=page_params(limit, offset))
        return Page.from_json(data, "webhook_list", Webhook.from_json)

    def get_webhook(self, webhook_id: str) -> Webhook:
        """`POST /webhooks/get` (1010 if the account has no such webhook)."""
        return Webhook.from_json(self._call("POST", "webhooks/get", json={"webhook_id": webhook_id}))

    def edit_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        is_active: bool | None = None,
        rotate_secret: bool = False,
    ) -> str | None:
        """`POST /webhooks/edit`: changes the fields given; with `rotate_secret` returns the new
        secret (the old one keeps signing for a day), else None."""
        body = without_none(webhook_id=webhook_id, url=url, events=events, is_active=is_active)
        if rotate_secret:
            body["rotate_secret"] = True
        data = self._call("POST", "webhooks/edit", json=body)
        return str(data["secret"]) if data else None

    def delete_webhook(self, webhook_id: str) -> None:
        """`POST /webhooks/del`, with its queued events and delivery log."""
        self._call("POST", "webhooks/del", json={"webhook_id": webhook_id})

    def webhook_deliveries(
        self, webhook_id: str, *, limit: int = 20, offset: int = 1, event_id: str | None = None
    ) -> Page[Delivery]:
        """`POST /webhooks/deliveries`: the delivery attempts, newest first (of one event if given)."""
        body = without_none(webhook_id=webhook_id, limit=limit, offset=offset, event_id=event_id)
        data = self._call("POST", "webhooks/deliveries", json=body)
        return Page.from_json(data, "delivery_list", Delivery.from_json)

    def redeliver_webhook(self, event_id: str) -> None:
        """`POST /webhooks/redeliver`: sends the event (`msg_...`) again now, same `webhook-id`."""
        self._call("POST", "webhooks/redeliver", json={"event_id": event_id})

    def test_webhook(self, webhook_id: str) -> str:
        """`POST /webhooks/test`: queues a `ping` and returns its event id."""
        return str(self._call("POST", "webhooks/test", json={"webhook_id": webhook_id})["event_id"])
