"""The check of `bench/smpp.py --route` (bench/smpp_route.py): every submit accepted and exactly
as many reached the simulated SMSC."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from smpp_load import Result
from smpp_route import route_point

ARGS = argparse.Namespace(route_window=10)


def result(*, sent: int = 100, ok: int = 100, errors: list[str] | None = None) -> Result:
    return Result(
        sent=sent,
        ok_total=ok,
        statuses=Counter({"ESME_ROK": ok, "ESME_RSYSERR": sent - ok}),
        errors=errors or [],
    )


def test_all_accepted_and_delivered_passes_with_the_end_to_end_rate() -> None:
    point = route_point("sqlite", 10, ARGS, [result()], delivered=100, load_s=2.0, drain_s=3.0)

    assert point.check_ok
    assert point.end_to_end_rate == 20.0 and point.accept_rate == 50.0


def test_fewer_delivered_than_accepted_fails() -> None:
    assert not route_point("sqlite", 10, ARGS, [result()], delivered=99, load_s=2.0, drain_s=3.0).check_ok


def test_more_delivered_than_accepted_fails() -> None:
    assert not route_point("sqlite", 10, ARGS, [result()], delivered=101, load_s=2.0, drain_s=3.0).check_ok


def test_a_refused_submit_or_a_session_error_fails() -> None:
    refused = route_point("sqlite", 10, ARGS, [result(ok=99)], delivered=99, load_s=2.0, drain_s=3.0)
    broken = route_point("sqlite", 10, ARGS, [result(errors=["x"])], delivered=100, load_s=2.0, drain_s=3.0)

    assert not refused.check_ok and not broken.check_ok
