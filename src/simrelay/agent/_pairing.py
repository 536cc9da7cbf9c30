"""Pairing (POST /device/v1/pair): trade a pairing code for a device id and token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_WS_PATH = "/device/v1/ws"


class PairingError(Exception):
    """The server refused the pairing code (`code` is the error code of its JSON answer,
    e.g. `invalid_code`) or answered something that is not a pairing."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"pairing failed: HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Pairing:
    device_id: str
    token: str
    ws_path: str = DEFAULT_WS_PATH
    heartbeat_seconds: float | None = None


def websocket_url(base_url: str, ws_path: str = DEFAULT_WS_PATH) -> str:
    """`http://host[/prefix]` -> `ws://host[/prefix]/device/v1/ws` (https -> wss). The ws_path is
    appended to the base URL, as the protocol writes `{server}/device/v1/ws`."""
    scheme, sep, rest = base_url.partition("://")
    schemes = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
    if not sep or scheme.lower() not in schemes:
        raise ValueError(f"base URL must start with http:// or https://, not {base_url!r}")
    return f"{schemes[scheme.lower()]}://{rest.rstrip('/')}/{ws_path.lstrip('/')}"


def _error_of(response: httpx.Response) -> PairingError:
    code, message = "http_error", response.text[:200]
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        pass
    return PairingError(response.status_code, code, message)


async def pair_device(
    client: httpx.AsyncClient,
    base_url: str,
    code: str,
    *,
    name: str = "",
    model: str = "",
    app_version: str = "",
) -> Pairing:
    """POSTs the code; raises PairingError on any answer but a 200 pairing, httpx errors as they are."""
    body: dict[str, Any] = {"code": code}
    body.update({k: v for k, v in (("name", name), ("model", model), ("app_version", app_version)) if v})
    response = await client.post(f"{base_url.rstrip('/')}/device/v1/pair", json=body)
    if response.status_code != 200:
        raise _error_of(response)
    try:
        data = response.json()
        heartbeat = data.get("heartbeat_seconds")
        return Pairing(
            device_id=str(data["device_id"]),
            token=str(data["token"]),
            ws_path=str(data.get("ws_path") or DEFAULT_WS_PATH),
            heartbeat_seconds=float(heartbeat) if isinstance(heartbeat, int | float) else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PairingError(200, "invalid_answer", f"not a pairing answer: {exc}") from exc
