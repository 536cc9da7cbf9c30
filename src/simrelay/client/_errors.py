"""The SDK's errors: `SimrelayError` for every non-2xx answer, `WebhookVerificationError` for a
webhook delivery that fails its signature check."""

from __future__ import annotations

import json
import math
import time
from email.utils import parsedate_to_datetime

import httpx

DEFAULT_RETRY_AFTER = 1.0
"""Seconds to wait after a 429 without a usable `Retry-After` header."""


class SimrelayError(Exception):
    """The server refused a request: its `{"errors": {"code", "message", "hash"}}` envelope.

    `code` is the GoSMS error code (1003 bad token, 1008 unknown SMS, 1011 rate limited, 2001
    bad phone number, ...; the catalogue is in the API contract), `status` the HTTP status,
    `hash` the id of this occurrence in the server's log. An answer without the envelope (a
    proxy's error page) has code 0, the status, and the start of the body as the message.
    `retry_after` is the `Retry-After` header in seconds, when there was one (429).
    """

    def __init__(
        self, code: int, message: str, hash: str, status: int, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code}: {message}" if message else str(code))
        self.code = code
        self.message = message
        self.hash = hash
        self.status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"SimrelayError(code={self.code!r}, message={self.message!r}, hash={self.hash!r}, "
            f"status={self.status!r})"
        )


class WebhookVerificationError(Exception):
    """A webhook delivery that does not verify: a header missing or malformed, a timestamp
    outside the tolerance, or no signature made with the secret."""


def error_from_response(response: httpx.Response) -> SimrelayError:
    """The `SimrelayError` of a non-2xx answer (read: `response.content` must be loaded)."""
    code, message, hash_ = 0, "", ""
    try:
        envelope = json.loads(response.content)
        errors = envelope["errors"]
        code, message, hash_ = int(errors["code"]), str(errors["message"]), str(errors.get("hash", ""))
    except (ValueError, TypeError, KeyError):
        message = response.text.strip()[:200] or response.reason_phrase
    return SimrelayError(code, message, hash_, response.status_code, retry_after=retry_after(response))


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (a number of seconds or an HTTP date), None if absent or unusable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def retry_delay(response: httpx.Response) -> float:
    """How long to wait before repeating a request answered 429."""
    found = retry_after(response)
    return DEFAULT_RETRY_AFTER if found is None else found
