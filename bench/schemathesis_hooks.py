"""schemathesis hooks for fuzzing simrelay against its OpenAPI document (bench/fuzz_api.py and
tests/integration/api/test_openapi_contract.py load this file through SCHEMATHESIS_HOOKS).

Each hook stands for a rule that the document states in words where JSON Schema has no
keyword, or for a fact about the run itself; none of them hides a response the document
does not describe (no check is switched off, and 5xx are never dropped).
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

EXACT_FLOAT = 2**53
NOWHERE = "000000000000000000000000"
"""A well-formed ObjectID that names no device."""

STATEFUL_REFUSALS: dict[int, tuple[str, ...]] = {
    1004: ("",),  # the account has no device left
    1013: ("",),  # Idempotency-Key used before with another body
    2010: (
        "send_interval_max",  # below the device's minimum interval, as stored
        "поле to",  # an export's `to` before its `from` (the message names `to`)
        "поле quiet_hours",  # quiet hours that end when they start
    ),
}
"""Refusals of a valid request that depend on what came before (or on another field, or on
another part of the value), which JSON Schema cannot state; the document says them in words.
Each code lists what its message names (it is Russian: the run sends no Accept-Language)."""

CREATED: set[str] = set()
DELETED: set[str] = set()
"""Ids of webhooks and SMS this run created and deleted (workers share no hooks state, so
bench/fuzz_api.py runs one worker)."""

ID_FIELDS = {"/v1/webhooks": ("webhook_id", "id"), "/v1/sms": ("id",)}
"""Where a request names its resource: a webhook's `webhook_id`, else `id` (the first present
is read); an SMS's `id`, in the body or else the query."""


def _integers_as_written(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) <= EXACT_FLOAT:
        return int(value)
    if isinstance(value, dict):
        return {key: _integers_as_written(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers_as_written(item) for item in value]
    return value


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    """JSON Schema counts `2.0` as the integer 2, and schemathesis sends integers spelled so;
    simrelay takes integers only as written (`2.0` is 1001, as to Go's decoder, which GoSMS
    clients are written against; the document's description says so). Whole numbers are sent
    as integers here; fractions stay, and stay refused."""
    return _integers_as_written(body)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """The account keeps the device the run started with (SIMRELAY_FUZZ_KEEP_DEVICE): without
    any, every send is 1004 and the send path goes untested. Deleting it is sent as deleting
    a device that does not exist."""
    keep = os.environ.get("SIMRELAY_FUZZ_KEEP_DEVICE", "")
    if keep and case.path == "/v1/devices/del" and isinstance(case.body, dict):
        device_id = case.body.get("device_id")
        if isinstance(device_id, str) and device_id.lower() == keep:
            case.body = {**case.body, "device_id": NOWHERE}


def _named_id(case: Any) -> str | None:
    fields = next((names for prefix, names in ID_FIELDS.items() if case.path.startswith(prefix)), ())
    body = case.body if isinstance(case.body, dict) else {}
    value = next((body[name] for name in fields if name in body), None)
    if value is None and case.path == "/v1/sms/del" and not body:
        value = (case.query or {}).get("id")
    return value.lower() if isinstance(value, str) else None


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if case.method.upper() == "POST" and case.path in ("/v1/webhooks", "/v1/sms/send"):
        if response.status_code == 200:
            CREATED.add(str(response.json().get("id", "")))
    elif case.path in ("/v1/webhooks/del", "/v1/sms/del") and response.status_code == 204:
        named = _named_id(case)
        if named:
            DELETED.add(named)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Drops two kinds of failure that are about the run, not the API:
    - "valid data rejected" with one of STATEFUL_REFUSALS;
    - "created resource not found" when the request did not name a resource this run created
      and kept: the check takes ids from links in path and query parameters, but GoSMS ids
      travel in the body, where the stateful phase sometimes sends an id it chose itself.
    Each drop is written to SIMRELAY_FUZZ_DROPPED (JSON lines), if set, for the figures."""
    kind = type(failure).__name__
    keep = True
    if kind == "EnsureResourceAvailability":
        named = _named_id(case)
        keep = named in CREATED and named not in DELETED
    elif kind == "RejectedPositiveData":
        try:
            error = response.json()["errors"]
        except Exception:
            return True
        names = STATEFUL_REFUSALS.get(error.get("code"), ())
        keep = not any(name in str(error.get("message", "")) for name in names)
        kind = f"{kind} {error.get('code')}"
    if not keep and os.environ.get("SIMRELAY_FUZZ_DROPPED"):
        with open(os.environ["SIMRELAY_FUZZ_DROPPED"], "a") as out:
            out.write(json.dumps({"failure": kind, "operation": f"{case.method} {case.path}"}) + "\n")
    return keep
