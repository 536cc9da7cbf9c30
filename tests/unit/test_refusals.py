"""devices/refusals.py: reported send failures in clear words, and the runs that pause a SIM."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from simrelay.agent._handset import LIMIT_EXCEEDED
from simrelay.devices.refusals import Refusal, Streaks, read


@pytest.mark.parametrize(
    ("reported", "reason", "by_carrier"),
    [
        (
            LIMIT_EXCEEDED,  # the SMSGate app's own text (v1.68.0, MessagesService.kt)
            "carrier refused: sending limit reached (RESULT_ERROR_LIMIT_EXCEEDED)",
            True,
        ),
        (
            "Send result: RESULT_NETWORK_REJECT (Failed because of network rejection)",
            "carrier refused: rejected by the network (RESULT_NETWORK_REJECT)",
            True,
        ),
        (
            "Send result: RESULT_ERROR_NO_SERVICE (Failed because service is currently unavailable)",
            "no mobile service (RESULT_ERROR_NO_SERVICE)",
            False,
        ),
        (
            "+CMS ERROR 21: short message transfer rejected",
            "carrier refused: +CMS ERROR 21: short message transfer rejected",
            True,
        ),
        ("+CMS ERROR 42: congestion", "+CMS ERROR 42: congestion", False),
        ("+CMS ERROR 1: unassigned number", "+CMS ERROR 1: unassigned number", False),
        ("the SMSC refused it", "carrier refused: the SMSC refused it", True),
        ("Send result: RESULT_FOO (new in Android 17)", "Send result: RESULT_FOO (new in Android 17)", False),
        ("battery died", "battery died", False),
    ],
)
def test_a_reported_failure_is_worded_and_classed(reported: str, reason: str, by_carrier: bool) -> None:
    assert read(reported) == Refusal(reason, by_carrier)


def test_carrier_refusals_in_a_row_pause_a_sim_and_a_send_resets_the_run() -> None:
    streaks = Streaks(SimpleNamespace(pause_after_failures=3, pause_minutes=15))
    refused, other = read(LIMIT_EXCEEDED), read("battery died")
    assert [streaks.failed(0, refused) for _ in range(2)] == [False, False]
    assert streaks.failed(0, other) is False, "not the carrier's: neither counts nor resets"
    assert streaks.failed(1, refused) is False, "each SIM has its own run"
    assert streaks.failed(0, refused) is True
    assert streaks.failed(0, refused) is False, "a new run starts after the pause"
    streaks.sent(0)
    assert [streaks.failed(0, refused) for _ in range(3)] == [False, False, True]
    assert streaks.minutes == 15


def test_no_run_pauses_a_sim_when_pausing_is_off() -> None:
    streaks = Streaks(SimpleNamespace(pause_after_failures=0, pause_minutes=60))
    assert not any(streaks.failed(0, read(LIMIT_EXCEEDED)) for _ in range(50))
