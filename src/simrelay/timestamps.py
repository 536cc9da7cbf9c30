"""How the API writes moments that are not Unix seconds (GoSMS's `last_online_date` style)."""

from __future__ import annotations

import datetime as dt


def iso_millis(timestamp: float | None) -> str:
    """ISO 8601 UTC with milliseconds and Z; "" for no moment (a device never seen online)."""
    if timestamp is None:
        return ""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
