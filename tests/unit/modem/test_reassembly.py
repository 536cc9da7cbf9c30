"""Reassembly of concatenated SMS: order, duplicates, storage indexes, expiry and the bound."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from simrelay.modem.pdu import Deliver, decode_deliver
from simrelay.modem.pdu_build import encode_deliver
from simrelay.modem.reassembly import Assembled, Reassembler

STAMP = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LONG = "Привет, мир! " * 20  # UCS-2, 260 units: 4 parts of 67


def parts_of(text: str, *, originator: str = "+79161234567", reference: int = 7) -> list[Deliver]:
    return [
        decode_deliver(pdu) for pdu in encode_deliver(originator, text, timestamp=STAMP, reference=reference)
    ]


def test_single_sms_passes_straight_through() -> None:
    [sms] = parts_of("hi")
    assert Reassembler().add(sms, index=3, now=0) == Assembled(
        originator="+79161234567", text="hi", timestamp=STAMP, indexes=(3,)
    )


def test_parts_in_order_give_the_text_on_the_last() -> None:
    reassembler = Reassembler()
    parts = parts_of(LONG)
    assert len(parts) == 4
    results = [reassembler.add(part, index=10 + i, now=i) for i, part in enumerate(parts)]
    assert results[:3] == [None, None, None]
    assert results[3] == Assembled(
        originator="+79161234567", text=LONG, timestamp=STAMP, indexes=(10, 11, 12, 13)
    )
    assert results[3].complete
    assert len(reassembler) == 0


@given(order=st.permutations(range(4)), repeats=st.lists(st.integers(0, 2), max_size=4))
def test_out_of_order_and_repeated_parts(order: list[int], repeats: list[int]) -> None:
    reassembler = Reassembler()
    parts = parts_of(LONG)
    # Copies of the first three arrivals come before the last part, which completes the set.
    arrivals = order[:3] + [order[i] for i in repeats] + order[3:]
    results = [reassembler.add(parts[i], index=100 + n, now=n) for n, i in enumerate(arrivals)]
    assert results[:-1] == [None] * (len(arrivals) - 1)
    done = results[-1]
    assert done is not None
    assert done.text == LONG
    # Every copy's storage slot is reported, so the host deletes them all.
    assert done.indexes == tuple(range(100, 100 + len(arrivals)))
    assert len(reassembler) == 0


def test_same_slot_listed_twice_is_reported_once() -> None:
    reassembler = Reassembler()
    first, second = parts_of("a" * 200)
    assert reassembler.add(first, index=4, now=0) is None
    assert reassembler.add(first, index=4, now=1) is None
    done = reassembler.add(second, index=None, now=2)  # +CMT: the modem did not store it
    assert done is not None
    assert done.indexes == (4,)


def test_sets_are_kept_apart_by_originator_reference_and_total() -> None:
    reassembler = Reassembler()
    a1, a2 = parts_of("a" * 200, originator="+1", reference=5)
    b1, b2 = parts_of("b" * 200, originator="+2", reference=5)
    c1, _, _ = parts_of("c" * 400, originator="+1", reference=5)
    d1, d2 = parts_of("d" * 200, originator="+1", reference=6)
    for part in (a1, b1, c1, d1):
        assert reassembler.add(part, index=None, now=0) is None
    assert len(reassembler) == 4
    texts = {done.text for part in (b2, d2, a2) if (done := reassembler.add(part, index=None, now=1))}
    assert texts == {"a" * 200, "b" * 200, "d" * 200}
    assert len(reassembler) == 1


def test_incomplete_set_expires_with_what_came() -> None:
    reassembler = Reassembler(timeout=60)
    parts = parts_of(LONG)
    reassembler.add(parts[2], index=8, now=100)
    reassembler.add(parts[0], index=6, now=130)
    assert reassembler.expire(now=159) == []
    [expired] = reassembler.expire(now=160)
    assert not expired.complete
    assert expired.missing == (2, 4)
    assert expired.text == parts[0].text + parts[2].text
    assert expired.indexes == (8, 6)
    assert len(reassembler) == 0
    assert reassembler.expire(now=1000) == []


def test_oldest_set_is_pushed_out_past_the_bound() -> None:
    reassembler = Reassembler(max_sets=2)
    firsts = [parts_of("x" * 200, originator=f"+{n}")[0] for n in range(3)]
    for now, part in enumerate(firsts):
        reassembler.add(part, index=now, now=now)
    assert len(reassembler) == 2
    [pushed] = reassembler.expire(now=3)
    assert (pushed.originator, pushed.indexes, pushed.missing) == ("+0", (0,), (2,))
    assert reassembler.expire(now=4) == []
