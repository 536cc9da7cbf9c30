"""Mobile API use cases: registering the app as a device, what it fetches and reports, its
settings and webhooks (sync Core where the database is involved)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection, Row

from simrelay.accounts import login
from simrelay.devices import pairing
from simrelay.devices import repository as device_records
from simrelay.devices import service as devices
from simrelay.devices.pacing import Pacing
from simrelay.ids import is_object_id
from simrelay.mobile.schemas import MessagePatch, RegisterRequest, State, app_time
from simrelay.sms import leases
from simrelay.storage.database import Database

HOOK_EVENTS = ("sms:received", "system:ping")
"""What the app is asked to tell simrelay through its own webhooks."""
HOOK_SKEW_SECONDS = 300
BATTERY_CHARGING = 1
"""Bit of the `battery:charging` health check that means charging (2 is AC, 4 USB)."""


class Refused(Exception):
    """The request is refused with this HTTP status and message ({"message"} body)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def unauthorized(message: str = "unauthorized") -> Refused:
    return Refused(401, message)


def split_authorization(header: str | None) -> tuple[str, str]:
    scheme, _, credentials = (header or "").strip().partition(" ")
    return scheme.lower(), credentials.strip()


# --- registration -----------------------------------------------------------------------------


async def register_device(
    db: Database,
    form: RegisterRequest,
    *,
    authorization: str | None,
    private_token: str | None,
    private_account: str,
    user_agent: str,
    pacing: Pacing,
) -> dict[str, Any]:
    """POST /device: a new active device in the account the credentials name. `Code` is a
    pairing code (as `simrelay device pair` makes); `Basic` the account's email and password;
    `Bearer` the server-wide private token, whose devices join `private_account`."""
    scheme, credentials = split_authorization(authorization)
    token = pairing.new_device_token()
    name = form.name or "SMS Gateway for Android"
    sims = [sim.as_sim() for sim in form.simCards or []]
    app_version = user_agent.partition("/")[2][:200] if user_agent.startswith("me.capcom.smsgateway") else ""
    account: Row[Any] | None = None
    if scheme == "basic":
        email, password = _basic(credentials)
        account = await _account_by_password(db, email, password)
    elif scheme == "bearer":
        if not private_token or not hmac.compare_digest(credentials.encode(), private_token.encode()):
            raise unauthorized("invalid private token")
        account = await db.read(lambda conn: login.find_by_email(conn, private_account))
        if account is None:
            raise unauthorized("no account for devices registered with the private token")
    elif scheme != "code":
        raise unauthorized("registration needs a code, a login or the private token")

    def work(conn: Connection) -> dict[str, Any]:
        found = account
        if found is None:
            try:
                account_id = pairing.redeem_code(conn, credentials, now=time.time())
            except pairing.PairingError:
                raise unauthorized("unknown, expired or used-up code") from None
            found = login.find_by_id(conn, account_id)
            assert found is not None
        if found.is_blocked:
            raise Refused(403, "the account is blocked")
        device_id = devices.enrol_device(
            conn,
            account_id=found.id,
            token=token,
            name=name,
            model="SMS Gateway for Android",
            app_version=app_version,
            pacing=pacing,
            sims=sims,
        )
        return {"id": device_id, "token": token, "login": found.email}

    return await db.run(work)


def _basic(credentials: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("malformed Basic credentials") from None
    email, sep, password = decoded.partition(":")
    if not sep:
        raise unauthorized("malformed Basic credentials")
    return email, password


async def _account_by_password(db: Database, email: str, password: str) -> Row[Any]:
    account = await login.authenticate(db, email, password)
    if account is None:
        raise unauthorized("wrong login or password")
    return account


async def device_for(db: Database, authorization: str | None) -> Row[Any]:
    """The device of a `Bearer` device token; 401 for anything else (the app's cue to
    register again)."""
    scheme, credentials = split_authorization(authorization)
    device = await devices.device_for_token(db, credentials) if scheme == "bearer" else None
    if device is None:
        raise unauthorized()
    return device


def find_device(conn: Connection, device_id: str) -> Row[Any] | None:
    return device_records.find_by_id(conn, device_id)


async def issue_user_code(db: Database, *, authorization: str | None, server_url: str) -> dict[str, Any]:
    """GET /user/code: a one-time code (Basic auth) that registers another phone."""
    scheme, credentials = split_authorization(authorization)
    if scheme != "basic":
        raise unauthorized()
    account = await _account_by_password(db, *_basic(credentials))
    issued = await devices.issue_pairing_code(db, account_id=account.id, uses=1, server_url=server_url)
    return {"code": issued.code, "validUntil": app_time(issued.expires_at)}


async def change_password(db: Database, device: Any, *, current: str, new: str) -> None:
    account = await db.read(lambda conn: login.find_by_id(conn, device.account_id))
    if account is None:
        raise unauthorized()
    await _account_by_password(db, account.email, current)
    await login.set_password(db, account.id, new)


# --- messages ---------------------------------------------------------------------------------


def fetch_messages(
    conn: Connection, device_id: str, *, now: float, lease_seconds: float, newest_first: bool
) -> list[dict[str, Any]]:
    """GET /message: what the device holds, as the app's messages; those it is asked to let
    go as `Cancelling`. The lease clock of an SMS the app has not confirmed starts again
    here: an app that polls every few minutes must not lose its SMS before it could see them."""
    rows = leases.leases_of(conn, device_id)
    leases.restart_lease_clock(
        conn,
        [row.id for row in rows if row.status == 0 and not row.lease_drop],
        device_id=device_id,
        until=now + lease_seconds,
    )
    items = [mobile_message(row) for row in rows]
    return items[::-1] if newest_first else items


def mobile_message(row: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row.id,
        "message": row.message,  # the field older app versions read
        "textMessage": {"text": row.message},
        "phoneNumbers": ["+" + row.phone_number],
        "withDeliveryReport": True,
        "isEncrypted": False,
        "state": State.CANCELLING.value if row.lease_drop else State.PENDING.value,
        "createdAt": app_time(row.time_create),
    }
    if row.sim is not None:
        item["simNumber"] = row.sim + 1
    if row.valid_until is not None:
        item["validUntil"] = app_time(row.valid_until)
    return item


def report_frames(items: Sequence[MessagePatch]) -> list[dict[str, Any]]:
    """The native reports (docs/device-protocol.md) that a PATCH /message says. Each item is
    the message's whole state, so one report names where it got to; the dispatch walks the
    status machine forward to it and ignores anything behind."""
    frames: list[dict[str, Any]] = []
    for item in items:
        message_id = item.id.lower()
        if not is_object_id(message_id):
            continue  # not ours: the app ignores what the server does not know, so do we
        was_sent = State.SENT in item.states or any(
            r.state in (State.SENT, State.DELIVERED) for r in item.recipients
        )
        state = item.state
        if state in (State.PENDING, State.PROCESSED):
            # Pending comes back when a fetch repeats a message the app already has: it has it.
            frames.append({"type": "taken", "id": message_id})
        elif state is State.SENT:
            frames.append({"type": "sent", "id": message_id, "parts": 1})
        elif state is State.DELIVERED:
            frames.append({"type": "delivery", "id": message_id, "part": 0, "parts": 1, "delivered": True})
        elif state is State.FAILED and was_sent:
            frames.append({"type": "delivery", "id": message_id, "part": 0, "parts": 1, "delivered": False})
        elif state is State.FAILED:
            reason = next((r.error for r in item.recipients if r.error), "") or "send failed"
            frames.append({"type": "failed", "id": message_id, "reason": reason[:1000]})
        elif state is State.CANCELLED:
            frames.append({"type": "dropped", "id": message_id})
    return frames


# --- settings and the app's own webhooks ------------------------------------------------------


def hook_signing_key(secret_key: str, device_id: str) -> str:
    """The key the app signs its webhooks to simrelay with: derived, so nothing is stored."""
    digest = hmac.new(secret_key.encode(), b"simrelay-mobile-hook:" + device_id.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def device_settings(device: Any, *, ping_seconds: int, signing_key: str) -> dict[str, Any]:
    """GET /settings: the device's pacing (the server enforces it too), a ping interval so a
    phone without push or SSE still polls every few seconds, and the webhook signing key."""
    period, value = "Disabled", 0
    for name, limit in (("PerMinute", device.limit_per_minute), ("PerHour", device.limit_per_hour)):
        if limit:
            period, value = name, int(limit)
            break
    else:
        if device.limit_per_day:
            period, value = "PerDay", int(device.limit_per_day)
    return {
        "messages": {
            "send_interval_min": int(device.send_interval_min),
            "send_interval_max": int(device.send_interval_max),
            "limit_period": period,
            "limit_value": value,
        },
        "ping": {"interval_seconds": ping_seconds},
        "webhooks": {"internet_required": False, "retry_count": 15, "signing_key": signing_key},
        # No push relay here: the app keeps a server-sent-events connection instead.
        "gateway": {"notification_channel": "SSE_ONLY"},
    }


def device_webhooks(device_id: str, *, public_url: str) -> list[dict[str, Any]]:
    """GET /webhooks: the app's own webhooks, pointed back at simrelay, for what the mobile
    API does not carry (received SMS, battery)."""
    url = f"{public_url.rstrip('/')}/mobile/v1/hooks/{device_id}"
    return [
        {"id": f"simrelay-{event.replace(':', '-')}", "deviceId": device_id, "url": url, "event": event}
        for event in HOOK_EVENTS
    ]


def verify_hook(key: str, *, body: bytes, timestamp: str | None, signature: str | None, now: float) -> bool:
    """X-Signature: hex HMAC-SHA256 of the raw body followed by X-Timestamp (Unix seconds)."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > HOOK_SKEW_SECONDS:
        return False
    expected = hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def hook_frames(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    """Native frames for one of the app's webhooks: a received SMS, or the health of a ping."""
    payload = envelope.get("payload") or {}
    event = envelope.get("event")
    if event == "sms:received" and isinstance(payload, dict):
        sim = payload.get("simNumber")
        return [
            {
                "type": "received",
                "id": str(payload.get("messageId") or envelope.get("id") or "")[:64],
                "phone_number": str(payload.get("phoneNumber") or "")[:64],
                "message": str(payload.get("message") or ""),
                "received_at": _unix(payload.get("receivedAt")),
                "sim": sim - 1 if isinstance(sim, int) and sim >= 1 else None,
            }
        ]
    if event == "system:ping" and isinstance(payload, dict):
        checks = (payload.get("health") or {}).get("checks") or {}
        frame: dict[str, Any] = {"type": "heartbeat"}
        level = (checks.get("battery:level") or {}).get("observedValue")
        if isinstance(level, int | float) and 0 <= level <= 100:
            frame["battery"] = int(level)
        charging = (checks.get("battery:charging") or {}).get("observedValue")
        if isinstance(charging, int):
            frame["charging"] = bool(charging & BATTERY_CHARGING)
        return [frame]
    return []


def _unix(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(time.time())
