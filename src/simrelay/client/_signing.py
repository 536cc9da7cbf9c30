"""Verifying webhook deliveries: the Standard Webhooks scheme (https://www.standardwebhooks.com),
as the `standardwebhooks` package does it, with the standard library only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Mapping
from typing import Any

from simrelay.client._errors import WebhookVerificationError

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300


def verify_webhook(
    secret: str | bytes, body: bytes, headers: Mapping[str, str], *, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Checks a webhook delivery and returns its JSON payload (`{"event", "time", "data"}`).

    `secret` is the webhook's `whsec_...` secret (or its raw key bytes); `body` the request
    body exactly as received; `headers` the request headers (any case). The delivery verifies
    when `webhook-timestamp` is within `tolerance` seconds of now and one of the space-separated
    `v1,<base64>` entries of `webhook-signature` is the HMAC-SHA256 of
    `"<webhook-id>.<webhook-timestamp>.<body>"`. Raises `WebhookVerificationError` otherwise.
    Deduplicate on `webhook-id`: a delivery may arrive more than once.
    """
    key = _key(secret)
    found = {name.lower(): value for name, value in headers.items()}
    event_id = found.get("webhook-id")
    stamp = found.get("webhook-timestamp")
    signatures = found.get("webhook-signature")
    if not (event_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    timestamp = _timestamp(stamp, tolerance=tolerance)
    signed = f"{event_id}.{timestamp}.".encode() + body
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    for entry in signatures.split(" "):
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(encoded)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, candidate):
            return _payload(body)
    raise WebhookVerificationError("no matching signature")


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        key = secret
    else:
        # The padding is added as standardwebhooks does: secrets are sometimes stored unpadded.
        try:
            key = base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")
        except (binascii.Error, ValueError):
            raise WebhookVerificationError("the secret is not base64 (whsec_...)") from None
    if not key:
        raise WebhookVerificationError("empty secret")
    return key


def _timestamp(value: str, *, tolerance: float) -> int:
    """Whole unix seconds, as signed (a fractional value is floored, as standardwebhooks does)."""
    try:
        seconds = float(value)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a unix time") from None
    if not math.isfinite(seconds):
        raise WebhookVerificationError("webhook-timestamp is not a unix time")
    now = time.time()
    if seconds < now - tolerance:
        raise WebhookVerificationError("webhook-timestamp too old")
    if seconds > now + tolerance:
        raise WebhookVerificationError("webhook-timestamp too new")
    return math.floor(seconds)


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return payload
