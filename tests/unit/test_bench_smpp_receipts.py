"""The check of `bench/smpp.py --receipts` (bench/smpp_receipts.py): a point passes only when
every accepted submit of the timed part got its receipt back, DELIVERED."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from smpp_load import Result
from smpp_receipts import receipt_point

ARGS = argparse.Namespace(sessions=1, receipt_rate=100.0)


def result(*, wanted: int = 3, delivered: int = 3, other: dict[str, int] | None = None) -> Result:
    states = Counter({"DELIVERED": delivered, **(other or {})})
    return Result(
        seconds=1.0,
        answered=wanted,
        latencies_ms=[1.0] * wanted,
        sent=wanted,
        ok_total=wanted,
        statuses=Counter({"ESME_ROK": wanted}),
        receipts_wanted=wanted,
        receipt_latencies_ms=[float(n) for n in range(sum(states.values()))],
        receipt_states=states,
    )


def test_every_receipt_back_delivered_passes() -> None:
    point = receipt_point("sqlite", 10, ARGS, result())

    assert point.check_ok
    assert (point.receipts, point.receipts_wanted, point.receipt_p50_ms) == (3, 3, 1.0)


def test_a_missing_receipt_fails() -> None:
    assert not receipt_point("sqlite", 10, ARGS, result(delivered=2)).check_ok


def test_a_receipt_of_another_state_fails() -> None:
    assert not receipt_point("sqlite", 10, ARGS, result(delivered=2, other={"UNDELIVERABLE": 1})).check_ok


def test_no_receipt_at_all_fails_and_says_the_server_may_send_none() -> None:
    point = receipt_point("sqlite", 10, ARGS, result(delivered=0))

    assert not point.check_ok
    assert "does this server send deliver_sm receipts yet?" in point.line


def test_nothing_wanted_fails() -> None:
    assert not receipt_point("sqlite", 10, ARGS, result(wanted=0, delivered=0)).check_ok
