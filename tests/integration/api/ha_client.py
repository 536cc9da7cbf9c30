"""The GoSMS Home Assistant integration's code paths, rewritten over httpx for the tests.

Modelled on GoSMS-new/home-assistant, custom_components/gosms/ at commit 3251f1ba5dca
(released as 1.0.1 at 11d21a388cbc; notify.py from 8c443052b0d2): the same URLs, headers,
bodies, status checks and response parsing, and what the config flow, the coordinator, the
entities and the send_sms service make of them. Home Assistant itself is not needed: each
function returns what the integration would show or log.
"""

from __future__ import annotations

from typing import Any

import httpx

API_BASE_URL = "http://simrelay.test/api/ext/v1"
"""const.py hard-codes https://api.gosms.ru/api/ext/v1; a simrelay user edits that one line."""
API_TIMEOUT = 10
SIM_AUTO = -2
SIM_DEFAULT = -1
MESSAGE_MAX_LENGTH = 170


class GoSMSAuthError(Exception):
    pass


class GoSMSConnectionError(Exception):
    pass


class GoSMSApiError(Exception):
    pass


def _json(response: httpx.Response) -> Any:
    # aiohttp's ClientResponse.json() raises ContentTypeError, an aiohttp.ClientError that
    # api.py turns into GoSMSConnectionError, for any other content type.
    if response.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise GoSMSConnectionError(f"GoSMS RU API request failed: {response.headers.get('content-type')}")
    return response.json()


class GoSMSApiClient:
    """api.py: GoSMSApiClient."""

    def __init__(self, api_key: str, session: httpx.AsyncClient, *, base_url: str = API_BASE_URL) -> None:
        self._api_key = api_key
        self._session = session
        self._base_url = base_url

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"}

    async def get_devices(self) -> list[dict[str, Any]]:
        try:
            response = await self._session.get(
                f"{self._base_url}/devices", headers=self._headers, timeout=API_TIMEOUT
            )
        except httpx.HTTPError as err:
            raise GoSMSConnectionError(f"Cannot connect to GoSMS RU API: {err}") from err
        if response.status_code == 401:
            raise GoSMSAuthError("Invalid API key")
        if response.status_code != 200:
            raise GoSMSApiError(f"Unexpected status {response.status_code}: {response.text}")
        devices: list[dict[str, Any]] = _json(response)
        return devices

    async def send_sms(
        self, phone: str, message: str, device_id: str | None = None, no_store: bool = False
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"phone": phone, "message": message, "no_store": no_store}
        if device_id:
            payload["device_id"] = device_id
        try:
            response = await self._session.post(
                f"{self._base_url}/sms", headers=self._headers, json=payload, timeout=API_TIMEOUT
            )
        except httpx.HTTPError as err:
            raise GoSMSConnectionError(f"Cannot connect to GoSMS RU API: {err}") from err
        if response.status_code == 401:
            raise GoSMSAuthError("Invalid API key")
        if response.status_code not in (200, 201):
            raise GoSMSApiError(f"SMS send failed with status {response.status_code}: {response.text}")
        result: dict[str, Any] = _json(response)
        return result


async def validate_api_key(session: httpx.AsyncClient, api_key: str, **options: Any) -> dict[str, str]:
    """config_flow.py: _async_validate_api_key after async_step_user's strip(): the form's errors."""
    errors: dict[str, str] = {}
    client = GoSMSApiClient(api_key.strip(), session, **options)
    try:
        await client.get_devices()
    except GoSMSAuthError:
        errors["base"] = "invalid_auth"
    except GoSMSConnectionError:
        errors["base"] = "cannot_connect"
    except Exception:
        errors["base"] = "unknown"
    return errors


class ConfigEntryAuthFailed(Exception):
    """Home Assistant starts the re-auth flow (a new key is asked for)."""


class UpdateFailed(Exception):
    """Home Assistant marks the entities unavailable and polls again in 60 s."""


async def refresh(client: GoSMSApiClient) -> list[dict[str, Any]]:
    """coordinator.py: _async_update_data."""
    try:
        return await client.get_devices()
    except GoSMSAuthError as err:
        raise ConfigEntryAuthFailed("GoSMS RU API key is invalid") from err
    except (GoSMSConnectionError, GoSMSApiError) as err:
        raise UpdateFailed(f"GoSMS RU API error: {err}") from err


def _sim_slot_label(selected_sim: int) -> str:
    if selected_sim == SIM_AUTO:
        return "Auto"
    if selected_sim == SIM_DEFAULT:
        return "Default"
    return f"SIM {selected_sim + 1}"


def entity_states(devices: list[dict[str, Any]]) -> dict[str, Any]:
    """sensor.py and binary_sensor.py: unique_id -> state of every entity made for `devices`."""
    states: dict[str, Any] = {}
    for device in devices:
        device_id = device["id"]
        states[f"{device_id}_battery_level"] = device.get("battery_level")
        states[f"{device_id}_sim_slot"] = _sim_slot_label(device.get("selected_sim", SIM_DEFAULT))
        for key in ("is_online", "is_charging", "can_send_sms"):
            states[f"{device_id}_{key}"] = bool(device.get(key, False))
    return states


def entity_attributes(device: dict[str, Any]) -> dict[str, Any]:
    """sensor.py: extra_state_attributes of the battery and SIM sensors."""
    return {
        "battery_level": {"is_charging": device.get("is_charging", False)},
        "sim_slot": {
            "sim_cards": [
                {"slot": s.get("index"), "operator": s.get("name_operator", "")}
                for s in device.get("sim_cards", [])
            ]
        },
    }


def device_info(device: dict[str, Any]) -> dict[str, Any]:
    """sensor.py: GoSMSSensor.device_info (what the device page shows)."""
    sim_names = (
        ", ".join(s.get("name_operator", f"SIM {s.get('index', '')}") for s in device.get("sim_cards", []))
        or None
    )
    return {
        "name": device.get("name_custom") or device.get("name") or device["id"],
        "model": device.get("type", "Android"),
        "hw_version": sim_names,
    }


def coerce_no_store(value: Any) -> bool:
    """__init__.py: _coerce_no_store ('store' / 'no_store' from the UI, booleans from YAML)."""
    if value == "no_store":
        return True
    if value == "store":
        return False
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on", "enable")
    return bool(value)


async def send_sms_service(client: GoSMSApiClient, data: dict[str, Any]) -> tuple[str, str]:
    """__init__.py: handle_send_sms behind SERVICE_SEND_SMS_SCHEMA: (log level, log line)."""
    assert 1 <= len(data["message"]) <= MESSAGE_MAX_LENGTH, "the service schema refuses it first"
    phone = data["phone"]
    try:
        result = await client.send_sms(
            phone=phone,
            message=data["message"],
            device_id=data.get("device_id"),
            no_store=coerce_no_store(data.get("no_store", False)),
        )
    except GoSMSAuthError:
        return "error", "GoSMS RU service: authentication failed — check your API key"
    except GoSMSConnectionError as err:
        return "error", f"GoSMS RU service: connection error: {err}"
    except Exception as err:
        return "error", f"GoSMS RU service: unexpected error: {err}"
    return (
        "info",
        f"GoSMS RU service: SMS sent to {phone}, id={result.get('id')}, status={result.get('status')}",
    )


async def notify(
    client: GoSMSApiClient, message: str, target: list[str], data: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """notify.py (1.0.0): GoSMSNotifyEntity.async_send_message, one SMS per target."""
    data = data or {}
    logged: list[tuple[str, str]] = []
    for phone in target:
        try:
            result = await client.send_sms(
                phone=phone,
                message=message,
                device_id=data.get("device_id"),
                no_store=bool(data.get("no_store", False)),
            )
            logged.append(("info", f"GoSMS: SMS sent to {phone}, message id={result.get('id')}"))
        except Exception as err:
            logged.append(("error", f"GoSMS: failed to send SMS to {phone}: {err}"))
    return logged
