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

import orjson
from sqlalchemy.engine import Connection, Row

from simrelay.accounts import login
from simrelay.accounts.guessing import Guesses, TooManyGuesses
from simrelay.devices import pairing
from simrelay.devices import repository as device_records
from simrelay.devices import service as devices
from simrelay.devices.pacing import Pacing
from simrelay.ids import is_object_id
from simrelay.mobile import versions
from simrelay.mobile.schemas import MessagePatch, RegisterRequest, State, app_time, known_sims
from simrelay.sms import leases
from simrelay.sms.status import Status
from simrelay.storage.database import Database

KIND = "smsgate"
"""devices.kind of a phone with the SMSGate app."""
HOOK_EVENTS = ("sms:received", "system:ping")
"""What the app is asked to tell simrelay through its own webhooks."""
BATTERY_CHARGING = 1
"""Bit of the `battery:charging` health check that means charging (2 is AC, 4 USB)."""


class Refused(Exception):
    """The request is refused with this HTTP status and message ({"message"} body)."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


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
    guesses: Guesses,
    client_host: str,
) -> dict[str, Any]:
    """POST /device: a new active device in the account the credentials name. `Code` is a
    pairing code (as `simrelay device pair` makes; guesses throttled); `Basic` the account's
    email and password; `Bearer` the server-wide private token, whose devices join
    `private_account`."""
    scheme, credentials = split_authorization(authorization)
    token = pairing.new_device_token()
    name = form.name or "SMS Gateway for Android"
    sims = [sim.as_sim() for sim in known_sims(form.simCards) or []]
    app_version = versions.from_user_agent(user_agent)
    account: Row[Any] | None = None
    if scheme == "basic":
        email, password = _basic(credentials)
        account = await _account_by_password(db, guesses, email, password, client_host=client_host)
    elif scheme == "bearer":
        if not private_token or not hmac.compare_digest(credentials.encode(), private_token.encode()):
            raise unauthorized("invalid private token")
        account = await db.read(lambda conn: login.find_by_email(conn, private_account))
        if account is None:
            raise unauthorized("no account for devices registered with the private token")
    elif scheme != "code":
        raise unauthorized("registration needs a code, a login or the private token")

    def enrol(conn: Connection, found: Row[Any]) -> dict[str, Any]:
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
            kind=KIND,
            can_cancel=versions.abilities(app_version).cancels,
        )
        return {"id": device_id, "token": token, "login": found.email}

    if account is not None:
        known = account
        return await db.run(lambda conn: enrol(conn, known))

    def by_code(conn: Connection, account_id: str) -> dict[str, Any]:
        found = login.find_by_id(conn, account_id)
        assert found is not None
        return enrol(conn, found)

    try:
        return await devices.redeem_guarded(db, guesses, credentials, client_host, by_code)
    except pairing.PairingError:
        raise unauthorized("unknown, expired or used-up code") from None
    except TooManyGuesses as throttled:
        raise Refused(429, "too many wrong codes, try later", retry_after=throttled.retry_after) from None


def _basic(credentials: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("malformed Basic credentials") from None
    email, sep, password = decoded.partition(":")
    if not sep:
        raise unauthorized("malformed Basic credentials")
    return email, password


async def _account_by_password(
    db: Database, guesses: Guesses, email: str, password: str, *, client_host: str
) -> Row[Any]:
    """The account, or 401; 429 while this address or this account must wait (the limiter the
    panel's sign-in shares: accounts/guessing.py)."""
    try:
        account = await login.check_password(db, guesses, email, password, client_host=client_host)
    except TooManyGuesses as throttled:
        raise Refused(429, "too many wrong passwords, try later", retry_after=throttled.retry_after) from None
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


async def note_version(db: Database, device: Row[Any], user_agent: str) -> Row[Any] | None:
    """The app was updated (its User-Agent names another version): stores the version and what
    it can do; the device's row as it is now, or None when nothing changed."""
    version = versions.from_user_agent(user_agent)
    if not version or version == device.app_version:
        return None
    values = {"app_version": version, "can_cancel": versions.abilities(version).cancels, "kind": KIND}

    def work(conn: Connection) -> Row[Any] | None:
        device_records.update_device_by_id(conn, device.id, values)
        return device_records.find_by_id(conn, device.id)

    return await db.run(work)


def find_device(conn: Connection, device_id: str) -> Row[Any] | None:
    return device_records.find_by_id(conn, device_id)


async def issue_user_code(
    db: Database, guesses: Guesses, *, authorization: str | None, server_url: str, client_host: str
) -> dict[str, Any]:
    """GET /user/code: a one-time code (Basic auth) that registers another phone."""
    scheme, credentials = split_authorization(authorization)
    if scheme != "basic":
        raise unauthorized()
    account = await _account_by_password(db, guesses, *_basic(credentials), client_host=client_host)
    issued = await devices.issue_pairing_code(db, account_id=account.id, uses=1, server_url=server_url)
    return {"code": issued.code, "validUntil": app_time(issued.expires_at)}


async def change_password(
    db: Database, guesses: Guesses, device: Any, *, current: str, new: str, client_host: str
) -> None:
    account = await db.read(lambda conn: login.find_by_id(conn, device.account_id))
    if account is None:
        raise unauthorized()
    await _account_by_password(db, guesses, account.email, current, client_host=client_host)
    await login.set_password(db, account.id, new)


# --- messages ---------------------------------------------------------------------------------


def fetch_messages(
    conn: Connection, device: Any, *, now: float, lease_seconds: float, newest_first: bool
) -> list[dict[str, Any]]:
    """GET /message: the SMS leased to the device that it has not confirmed yet (`Pending`),
    and those it is asked to let go (`Cancelling`), if its app can cancel at all. Listing one
    hands it over (sms/leases.py: hand_over): from now on the phone may send it.

    Confirmed ones (status 1: Processed, or a repeated Pending) are not listed again: the app
    has them (upstream's server lists only Pending ones too). An app before 1.67 never sees a
    Cancelling item: it reads no `state` and would take the item for new work (see
    mobile/versions.py)."""
    rows = leases.leases_of(conn, device.id, lock=True)
    listed = [
        row
        for row in rows
        if (row.lease_drop and row.lease_handed and device.can_cancel)
        or (not row.lease_drop and row.status == int(Status.WAITING))
    ]
    leases.hand_over(
        conn,
        [row.id for row in listed if not row.lease_drop],
        device_id=device.id,
        until=now + lease_seconds,
    )
    items = [mobile_message(row) for row in listed]
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


WEBHOOK_RETRIES = 15
"""The app's own default (WebhooksSettings.kt): about 45 hours of retries from v1.52.0."""


def device_settings(device: Any, *, ping_seconds: int, signing_key: str) -> dict[str, Any]:
    """GET /settings: the device's pacing (the server enforces it too), a ping interval so a
    phone without push or SSE still polls every few seconds, and the webhook signing key.
    Shaped for the device's app version (mobile/versions.py)."""
    able = versions.abilities(device.app_version)
    number: Any = str if able.numbers_as_text else int
    messages: dict[str, Any] = {
        "send_interval_min": int(device.send_interval_min),
        "send_interval_max": int(device.send_interval_max),
        "limit_period": "Disabled",
    }
    for period, limit in (
        ("PerMinute", device.limit_per_minute),
        ("PerHour", device.limit_per_hour),
        ("PerDay", device.limit_per_day),
    ):
        if limit:
            # No limit_value with Disabled: v1.37.0 refuses one below 1 (MessagesSettings.kt#L116).
            messages.update(limit_period=period, limit_value=number(limit))
            break
    settings: dict[str, Any] = {
        "messages": messages,
        "ping": {"interval_seconds": ping_seconds},
        "webhooks": {
            "internet_required": False,
            "retry_count": number(WEBHOOK_RETRIES),
            "signing_key": signing_key,
        },
    }
    if able.sse_only:
        # No push relay here: the app keeps a server-sent-events connection instead.
        settings["gateway"] = {"notification_channel": "SSE_ONLY"}
    return settings


def device_webhooks(device_id: str, *, public_url: str) -> list[dict[str, Any]]:
    """GET /webhooks: the app's own webhooks, pointed back at simrelay, for what the mobile
    API does not carry (received SMS, battery)."""
    url = f"{public_url.rstrip('/')}/mobile/v1/hooks/{device_id}"
    return [
        {"id": f"simrelay-{event.replace(':', '-')}", "deviceId": device_id, "url": url, "event": event}
        for event in HOOK_EVENTS
    ]


def verify_hook(key: str, *, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """X-Signature: hex HMAC-SHA256 of the raw body followed by X-Timestamp (Unix seconds).

    The time itself is not checked: the app stamps every attempt anew (PayloadSingingPlugin.kt
    #L25, v1.33.0+), so an old stamp only means the phone's clock is off, and a delivery it
    retried for hours is as good as the first. A repeated delivery changes nothing (see
    hook_frames)."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    expected = hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def hook_frames(envelope: dict[str, Any], *, app_version: str) -> list[dict[str, Any]]:
    """Native frames for one of the app's webhooks: a received SMS, or the health of a ping.
    Other events carry nothing simrelay stores (data SMS, MMS, its own send reports, which
    PATCH /message already gave): they are answered, so the app stops retrying, and logged."""
    payload = envelope.get("payload") or {}
    event = envelope.get("event")
    if event == "sms:received" and isinstance(payload, dict):
        sim = payload.get("simNumber")
        return [
            {
                "type": "received",
                "id": _received_id(envelope, payload, app_version),
                # `sender` from v1.54.0, `phoneNumber` before (and deprecated since): MessageEventPayload.kt
                "phone_number": str(payload.get("sender") or payload.get("phoneNumber") or "")[:64],
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


def _received_id(envelope: dict[str, Any], payload: dict[str, Any], app_version: str) -> str:
    """What makes a received SMS stored once however often the app delivers it. From v1.66.2
    its `messageId` (also the same when the app exports its inbox again); before, that id
    hashes only sender, SIM and text, so two equal texts would be one: the envelope's `id`,
    fixed when the event was made and kept by every retry (WebHooksService.kt#L155-L161)."""
    message_id = payload.get("messageId")
    if message_id and versions.abilities(app_version).stable_message_ids:
        return str(message_id)[:64]
    if envelope.get("id"):
        return "hook-" + str(envelope["id"])[:59]
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return "hook-" + digest[:40]


def _unix(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(time.time())
