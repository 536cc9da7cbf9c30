"""What simrelay counts on from each SMSGate app version (mobile/versions.py), and the
settings it pushes to each (mobile/service.py: device_settings)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from simrelay.mobile import versions
from simrelay.mobile.service import device_settings


def test_versions_parse_as_release_builds_write_them() -> None:
    assert versions.parse("1.68.0") == (1, 68, 0)
    assert versions.parse("1.67") == (1, 67, 0)
    assert versions.parse("1.66.2-rc1") == (1, 66, 2)
    assert versions.parse("3f2a9c1") is None  # a pull-request build names its commit
    assert versions.parse("") is None
    assert versions.parse("1.x.0") is None


def test_the_user_agent_names_the_version() -> None:
    assert versions.from_user_agent("me.capcom.smsgateway/1.68.0") == "1.68.0"
    assert versions.from_user_agent("me.capcom.smsgateway/1.40.0 extra") == "1.40.0"
    assert versions.from_user_agent("okhttp/4.10.0") == ""  # the event stream's own agent


@pytest.mark.parametrize(
    ("version", "supported", "cancels", "sse_only", "warning"),
    [
        ("1.33.0", False, False, False, "app_unsupported"),
        ("1.37.0", True, False, False, "app_cannot_cancel"),
        ("1.53.0", True, False, True, "app_cannot_cancel"),
        ("1.66.2", True, False, True, "app_cannot_cancel"),
        ("1.67.0", True, True, True, ""),
        ("1.68.0", True, True, True, ""),
        ("", True, True, True, ""),  # unknown (a development build): a current release
    ],
)
def test_what_each_version_can_do(
    version: str, supported: bool, cancels: bool, sse_only: bool, warning: str
) -> None:
    able = versions.abilities(version)
    assert (able.supported, able.cancels, able.sse_only, able.warning()) == (
        supported,
        cancels,
        sse_only,
        warning,
    )


def device(version: str, **pacing: int) -> SimpleNamespace:
    limits = {"limit_per_minute": 0, "limit_per_hour": 0, "limit_per_day": 0, **pacing}
    return SimpleNamespace(app_version=version, send_interval_min=5.0, send_interval_max=15.0, **limits)


def test_apps_before_1_51_2_get_their_whole_numbers_as_text() -> None:
    """v1.37.0 reads limit_value and retry_count with toString().toInt(): a JSON number would be
    a Gson Double, "4.0", and fail the whole import (MessagesSettings.kt#L115)."""
    old = device_settings(device("1.40.0", limit_per_minute=4), ping_seconds=10, signing_key="k")
    new = device_settings(device("1.68.0", limit_per_minute=4), ping_seconds=10, signing_key="k")
    assert old["messages"]["limit_value"] == "4" and old["webhooks"]["retry_count"] == "15"
    assert new["messages"]["limit_value"] == 4 and new["webhooks"]["retry_count"] == 15
    assert old["messages"]["limit_period"] == new["messages"]["limit_period"] == "PerMinute"


def test_no_limit_sends_no_limit_value_and_sse_only_goes_to_apps_that_know_it() -> None:
    """v1.37.0 refuses a limit_value below 1 (MessagesSettings.kt#L116-L118); notification_channel
    exists from v1.53.0 (GatewaySettings.kt)."""
    old = device_settings(device("1.40.0"), ping_seconds=10, signing_key="k")
    assert old["messages"] == {"send_interval_min": 5, "send_interval_max": 15, "limit_period": "Disabled"}
    assert "gateway" not in old
    new = device_settings(device("1.53.0", limit_per_day=300), ping_seconds=10, signing_key="k")
    assert new["gateway"] == {"notification_channel": "SSE_ONLY"}
    assert new["messages"]["limit_period"] == "PerDay" and new["messages"]["limit_value"] == 300
