"""Signatures as the Standard Webhooks reference library makes and checks them; derived
secrets; Retry-After parsing."""

from __future__ import annotations

import base64
import email.utils
import time
from types import SimpleNamespace

import pytest
from standardwebhooks import Webhook as Reference
from standardwebhooks.webhooks import WebhookVerificationError

from simrelay.webhooks import signing
from simrelay.webhooks.courier import Policy, retry_after_seconds

SERVER = "server-secret-key"


def test_the_reference_library_verifies_our_signature() -> None:
    key = signing.derive_key(SERVER, "salt-1")
    secret = signing.format_secret(key)
    body = b'{"event":"ping","time":1,"data":{}}'
    now = int(time.time())
    headers = signing.headers([key], event_id="msg_1", timestamp=now, body=body)
    assert Reference(secret).verify(body, headers) == {"event": "ping", "time": 1, "data": {}}
    reference = Reference(secret).sign("msg_1", _datetime(now), body.decode())
    assert headers["webhook-signature"] == reference


def test_a_tampered_body_or_another_secret_fails() -> None:
    key = signing.derive_key(SERVER, "salt-1")
    body = b'{"a":1}'
    headers = signing.headers([key], event_id="msg_1", timestamp=int(time.time()), body=body)
    with pytest.raises(WebhookVerificationError):
        Reference(signing.format_secret(key)).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Reference(signing.format_secret(signing.derive_key(SERVER, "salt-2"))).verify(body, headers)


def test_secrets_depend_on_salt_and_server_key_and_are_32_bytes() -> None:
    one = signing.derive_key(SERVER, "a")
    assert len(one) == 32
    assert one == signing.derive_key(SERVER, "a")
    assert one != signing.derive_key(SERVER, "b")
    assert one != signing.derive_key("another-server", "a")
    assert base64.b64decode(signing.format_secret(one).removeprefix("whsec_")) == one


def test_the_previous_secret_signs_only_during_the_overlap() -> None:
    policy = Policy(SERVER, secret_overlap=100.0)
    row = SimpleNamespace(secret_salt="new", previous_salt="old", rotated_at=1000.0)
    assert len(policy.signing_keys(row, now=1050.0)) == 2
    assert policy.signing_keys(row, now=1101.0) == [signing.derive_key(SERVER, "new")]
    fresh = SimpleNamespace(secret_salt="new", previous_salt="", rotated_at=None)
    assert len(policy.signing_keys(fresh, now=0.0)) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("7", 7.0), (" 12 ", 12.0), ("999999", 86400.0), ("soon", None), ("-5", None)],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


def test_retry_after_as_an_http_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 27 <= (retry_after_seconds(later) or 0) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after_seconds(past) == 0.0


def _datetime(timestamp: int):  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
