"""Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.

Each webhook's secret is derived from the server's secret key and a per-webhook salt, not
stored: a copy of the database alone cannot forge deliveries, and rotating a secret is
drawing a new salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"


def new_salt() -> str:
    return secrets.token_hex(16)


def derive_key(server_key: str, salt: str) -> bytes:
    return hmac.new(server_key.encode(), b"simrelay-webhook:" + salt.encode(), hashlib.sha256).digest()


def format_secret(key: bytes) -> str:
    """The secret as receivers configure it: `whsec_` and the key in base64."""
    return PREFIX + base64.b64encode(key).decode()


def signature(keys: Sequence[bytes], *, event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,…` per key, space-separated (two while a rotated
    secret is still honoured, so a receiver that has either one accepts the delivery)."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode() for key in keys
    )


def headers(keys: Sequence[bytes], *, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(keys, event_id=event_id, timestamp=timestamp, body=body),
    }
