"""The assignment round's choices: which device and SIM get an SMS (no database)."""

from __future__ import annotations

import random
from collections.abc import Collection
from types import SimpleNamespace
from typing import Any

import pytest

from simrelay.devices import contacts
from simrelay.devices.assignment import Choice, Planner, Slot
from simrelay.devices.health import Candidate
from simrelay.devices.policy import Policy
from simrelay.inbox import repository as optouts
from simrelay.sms import history, leases

NOW = 1_800_000_000.0


def slot(
    device_id: str,
    *,
    sims: list[int] = (),
    default_sim: int = -2,
    free: int = 4,
    resting: bool = False,
    ready: dict[Any, float] | None = None,
    paced: bool = False,
    pulls: bool = False,
    failing: Collection[int] = (),
    declined: dict[str, float] | None = None,
    strategy: str = "random",
    used_today: dict[Any, int] | None = None,
    allowance: dict[Any, float] | None = None,
    paused: dict[Any, float] | None = None,
    held: dict[Any, str] | None = None,
    new_allowance: dict[Any, float] | None = None,
) -> Slot:
    session = SimpleNamespace(device_id=device_id, sim_slots=list(sims), default_sim=default_sim, pulls=pulls)
    candidate = Candidate(device_id, 0.0, 0, NOW, 100, False)
    return Slot(
        session,  # type: ignore[arg-type]
        free,
        ready or {},
        paced,
        resting,
        candidate,
        frozenset(failing),
        declined or {},
        allowance or {},
        strategy,
        used_today or {},
        paused=paused or {},
        held=held or {},
        new_allowance=new_allowance or {},
        knows=new_allowance is not None or strategy == "sticky",
    )


def sms(
    *, pinned: str = "", to_sim: int | None = None, valid_until: int | None = None, let_go_by: str = ""
) -> SimpleNamespace:
    return SimpleNamespace(
        id="m" * 24,
        let_go_by=let_go_by,
        requested_device_id=pinned,
        to_sim=to_sim,
        valid_until=valid_until,
        phone_number="79990001122",
        message="hi",
        encoding="gsm7",
        parts=1,
        attempts=0,
    )


planner = Planner(Policy(lease_seconds=60), random.Random(7))


def test_the_first_ranked_free_device_gets_an_unpinned_sms() -> None:
    choice = planner.choose(sms(), [slot("a"), slot("b")], NOW)
    assert choice.slot is not None and choice.slot.session.device_id == "a"


def test_a_full_or_resting_device_is_passed_over_for_unpinned_work() -> None:
    choice = planner.choose(sms(), [slot("a", free=0), slot("b", resting=True), slot("c")], NOW)
    assert choice.slot is not None and choice.slot.session.device_id == "c"


def test_pinned_work_goes_only_to_its_device_even_when_it_rests() -> None:
    choice = planner.choose(sms(pinned="b"), [slot("a"), slot("b", resting=True)], NOW)
    assert choice.slot is not None and choice.slot.session.device_id == "b"
    assert planner.choose(sms(pinned="z"), [slot("a"), slot("b")], NOW) == Choice()


def test_the_sim_comes_from_the_sms_else_the_device_and_only_from_reported_slots() -> None:
    assert planner.sims_for(sms(to_sim=1), slot("a", sims=[0, 1])) == [1]
    assert planner.sims_for(sms(to_sim=-2), slot("a", sims=[0, 1], default_sim=0)) == [0]
    assert planner.sims_for(sms(to_sim=None), slot("a", sims=[0, 1])) == [None]
    assert planner.sims_for(sms(to_sim=-1), slot("a", sims=[0, 1])) == [0, 1]
    assert planner.sims_for(sms(to_sim=3), slot("a", sims=[0, 1])) == []
    assert planner.sims_for(sms(to_sim=1), slot("a", sims=[])) == [None]  # it did not say: it chooses


def test_a_paced_sim_that_is_not_ready_defers_the_sms_to_when_it_is() -> None:
    later = NOW + 7
    choice = planner.choose(sms(to_sim=0), [slot("a", sims=[0], ready={0: later})], NOW)
    assert choice.slot is None and choice.ready == later
    choice = planner.choose(sms(to_sim=-1), [slot("a", sims=[0, 1], ready={0: later, 1: NOW})], NOW)
    assert choice.slot is not None and choice.sim == 1


def test_an_sms_pinned_to_a_device_without_its_slot_is_reported_missing() -> None:
    assert planner.missing_sim(sms(pinned="a", to_sim=2), [slot("a", sims=[0, 1])]) == 2
    assert planner.missing_sim(sms(pinned="a", to_sim=1), [slot("a", sims=[0, 1])]) is None


def test_the_lease_is_cut_short_by_valid_until() -> None:
    assert planner.lease_seconds(sms(), NOW) == 60
    assert planner.lease_seconds(sms(valid_until=int(NOW) + 10), NOW) == 10
    assert planner.lease_seconds(sms(valid_until=int(NOW) - 10), NOW) == 0
    frame = planner.offer_frame(sms(), sim=1, attempt=2, now=NOW)
    assert {k: frame[k] for k in ("type", "sim", "attempt", "lease_seconds")} == {
        "type": "offer",
        "sim": 1,
        "attempt": 2,
        "lease_seconds": 60,
    }


def test_a_device_that_cannot_take_an_sms_back_is_passed_over_for_one_it_let_go() -> None:
    app = slot("app", pulls=True)
    phone = slot("phone")
    choice = planner.choose(sms(let_go_by="app,"), [app, phone], NOW)
    assert choice.slot is not None and choice.slot is phone
    alone = planner.choose(sms(let_go_by="app,"), [app], NOW)
    assert alone.slot is None  # it waits for another device rather than go back to the app


def test_a_device_that_takes_back_may_be_offered_an_sms_it_let_go() -> None:
    phone = slot("phone")
    choice = planner.choose(sms(let_go_by="phone,"), [phone], NOW)
    assert choice.slot is not None and choice.slot is phone


# --- failing SIMs -----------------------------------------------------------------------------


def test_a_failing_sim_gets_nothing_and_an_sms_for_any_sim_goes_out_on_another() -> None:
    phone = slot("a", sims=[0, 1], failing={1})
    for _ in range(20):  # the SIM of an SMS for any SIM is drawn at random
        choice = planner.choose(sms(to_sim=-1), [phone], NOW)
        assert choice.slot is not None and choice.sim == 0
    assert planner.sims_for(sms(to_sim=1), phone) == []
    assert planner.sims_for(sms(to_sim=0), phone) == [0]


def test_an_sms_for_the_devices_own_default_names_a_healthy_sim_while_one_fails() -> None:
    assert planner.sims_for(sms(), slot("a", sims=[0, 1])) == [None]
    assert planner.sims_for(sms(), slot("a", sims=[0, 1], failing={0})) == [1]
    assert planner.sims_for(sms(to_sim=-2), slot("a", sims=[0, 1], failing={1})) == [0]
    assert planner.sims_for(sms(), slot("a", sims=[0, 1], failing={0, 1})) == []


def test_an_sms_for_a_failing_slot_the_account_chose_goes_to_another_device() -> None:
    failing = slot("a", sims=[0, 1], default_sim=1, failing={1})
    healthy = slot("b", sims=[0, 1], default_sim=1)
    for row in (sms(), sms(to_sim=1)):  # the device's setting, or the SMS's own
        choice = planner.choose(row, [failing, healthy], NOW)
        assert choice.slot is not None and choice.slot is healthy and choice.sim == 1


def test_a_device_whose_every_sim_fails_gets_no_unpinned_work() -> None:
    dead = slot("a", sims=[0, 1], failing={0, 1})
    other = slot("b", sims=[0])
    for row in (sms(), sms(to_sim=-1), sms(to_sim=0)):
        choice = planner.choose(row, [dead, other], NOW)
        assert choice.slot is not None and choice.slot is other
        assert planner.choose(row, [dead], NOW) == Choice()


def test_an_sms_pinned_to_a_failing_sim_waits_and_is_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    row = sms(pinned="a", to_sim=1)
    phone = slot("a", sims=[0, 1], failing={1})
    assert planner.choose(row, [phone, slot("b", sims=[0, 1])], NOW) == Choice()
    assert planner.missing_sim(row, [phone]) is None, "failing is not missing: it may recover"

    failed: list[Any] = []
    granted: list[Any] = []
    monkeypatch.setattr(leases, "find_offerable", lambda conn, account_id, **kw: [row])
    monkeypatch.setattr(optouts, "opted_out_numbers", lambda conn, account_id, numbers: set())
    monkeypatch.setattr(leases, "fail_waiting", lambda conn, failures, now: failed.extend(failures))
    monkeypatch.setattr(leases, "grant_leases", lambda conn, grants: granted.extend(grants))
    planned, _, next_ready = planner.plan(None, "acc", [phone], ["a"], limit=10, now=NOW)  # type: ignore[arg-type]
    assert (planned, failed, granted, next_ready) == ([], [], [], None)

    recovered = slot("a", sims=[0, 1])
    planned, _, _ = planner.plan(None, "acc", [recovered], ["a"], limit=10, now=NOW)  # type: ignore[arg-type]
    assert [frame["sim"] for _, frame in planned] == [1] and failed == []


def test_a_device_is_not_offered_straight_back_an_sms_it_declined() -> None:
    until = NOW + 30
    declined = slot("a", sims=[0, 1], declined={"m" * 24: until})
    other = slot("b", sims=[0])
    choice = planner.choose(sms(), [declined, other], NOW)
    assert choice.slot is not None and choice.slot is other
    choice = planner.choose(sms(), [declined], NOW)
    assert choice.slot is None and choice.ready == until, "looked at again when the hold ends"
    choice = planner.choose(sms(), [slot("a", sims=[0, 1], declined={"n" * 24: until})], NOW)
    assert choice.slot is not None, "only the SMS it declined"


def plan_sims(phone: Slot, count: int, monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The SIMs of one round's offers of `count` SMS for any SIM to `phone`."""
    rows = [SimpleNamespace(**{**vars(sms(to_sim=-1)), "id": f"{n:024d}"}) for n in range(count)]
    monkeypatch.setattr(leases, "find_offerable", lambda conn, account_id, **kw: rows)
    monkeypatch.setattr(optouts, "opted_out_numbers", lambda conn, account_id, numbers: set())
    monkeypatch.setattr(leases, "fail_waiting", lambda conn, failures, now: None)
    monkeypatch.setattr(leases, "grant_leases", lambda conn, grants: None)
    planned, _, _ = planner.plan(None, "acc", [phone], ["a"], limit=count, now=NOW)  # type: ignore[arg-type]
    return [frame["sim"] for _, frame in planned]


def test_round_robin_takes_the_sims_in_turn_from_after_the_last_one(monkeypatch: pytest.MonkeyPatch) -> None:
    phone = slot("a", sims=[0, 1, 2], free=7, strategy="round_robin")
    phone.last_sim = 1
    assert plan_sims(phone, 7, monkeypatch) == [2, 0, 1, 2, 0, 1, 2]


def test_least_used_evens_out_what_each_sim_sent_today(monkeypatch: pytest.MonkeyPatch) -> None:
    phone = slot("a", sims=[0, 1, 2], free=6, strategy="least_used", used_today={0: 5, 1: 2, 2: 0})
    sims = plan_sims(phone, 6, monkeypatch)
    assert sims[:2] == [2, 2] and sorted(sims[2:]) == [1, 1, 2, 2]
    assert phone.used_today == {0: 5, 1: 4, 2: 4}


def test_a_sims_calendar_allowance_caps_its_offers_within_one_round(monkeypatch: pytest.MonkeyPatch) -> None:
    phone = slot("a", sims=[0, 1], free=10, strategy="round_robin", allowance={0: 1, 1: 2})
    assert sorted(plan_sims(phone, 10, monkeypatch)) == [0, 1, 1]


# --- sticky recipients, new recipients, paused SIMs, waiting reasons -------------------------


def known(
    *pairs: tuple[str, int | None], bound: tuple[str, int | None] | None = None, connected: bool = True
):
    """What the round read of the number 79990001122: the (device, SIM) pairs that met it."""
    phone = "79990001122"
    binding = {phone: contacts.Binding(bound[0], bound[1], NOW - 60, connected)} if bound else {}
    return contacts.Contacts({(phone, device, sim) for device, sim in pairs}, binding)


def test_a_sticky_number_stays_on_its_sim_and_waits_for_it_while_busy() -> None:
    a, b = slot("a", sims=[0, 1], strategy="sticky"), slot("b", sims=[0], strategy="sticky")
    met = known(("b", 0), bound=("b", 0))
    choice = planner.choose(sms(to_sim=-1), [a, b], NOW, met)
    assert (choice.slot, choice.sim) == (b, 0), "not the first-ranked device: the number's own SIM"
    later = NOW + 5
    between = slot("b", sims=[0], strategy="sticky", ready={0: later})
    assert planner.choose(sms(to_sim=-1), [a, between], NOW, met) == Choice(ready=later)
    # Busy on this node or connected to another: it waits for that device, offered by its node.
    assert planner.choose(sms(to_sim=-1), [a], NOW, met) == Choice()


def test_a_sticky_number_moves_when_its_sim_may_not_send() -> None:
    a = slot("a", sims=[0], strategy="sticky")
    met = known(("b", 0), bound=("b", 0))
    for b in (
        slot("b", sims=[0], strategy="sticky", paused={0: NOW + 600}),
        slot("b", sims=[0], strategy="sticky", failing={0}),
        slot("b", sims=[0], strategy="sticky", held={0: "daily limit reached"}, ready={0: NOW + 3600}),
        slot("b", sims=[0], strategy="sticky", allowance={0: 0}, ready={0: float("inf")}),
    ):
        assert planner.choose(sms(to_sim=-1), [b, a], NOW, met).slot is a
    assert (
        planner.choose(sms(to_sim=-1), [a], NOW, known(("b", 0), bound=("b", 0), connected=False)).slot is a
    )


def test_a_sim_out_of_new_recipients_takes_only_numbers_it_knows() -> None:
    capped = slot("a", sims=[0, 1], new_allowance={0: 0, 1: 0})
    assert planner.choose(sms(to_sim=-1), [capped], NOW, known(("a", 1))).sim == 1
    waiting = planner.choose(sms(to_sim=-1), [capped], NOW, known())
    assert waiting.slot is None
    assert waiting.why == "waiting: a SIM 1: daily limit of new recipients reached (and 1 more)"


def test_a_paused_sim_gets_nothing_and_its_work_goes_to_another() -> None:
    paused = slot("a", sims=[0, 1], paused={0: NOW + 600})
    assert planner.choose(sms(to_sim=-1), [paused], NOW).sim == 1
    assert planner.choose(sms(to_sim=0), [paused, slot("b", sims=[0])], NOW).slot.session.device_id == "b"
    alone = planner.choose(sms(to_sim=0), [paused], NOW)
    assert alone.slot is None and alone.why == "waiting: a SIM 1 paused after carrier refusals"


def test_a_waiting_reason_is_given_only_when_budgets_alone_hold_the_sms() -> None:
    held = slot(
        "a",
        sims=[0],
        held={0: "quiet hours 22:00-08:00; sends again at 2027-01-15 08:00 UTC"},
        ready={0: NOW + 9},
    )
    assert planner.choose(sms(to_sim=0), [held], NOW).why == (
        "waiting: a SIM 1: quiet hours 22:00-08:00; sends again at 2027-01-15 08:00 UTC"
    )
    gap = slot("b", sims=[0], ready={0: NOW + 2})  # a pacing gap: it goes in two seconds
    assert planner.choose(sms(to_sim=0), [held, gap], NOW).why == ""
    assert planner.choose(sms(to_sim=0), [held, slot("c", free=0)], NOW).why == ""


def test_each_waiting_reason_is_written_once(monkeypatch: pytest.MonkeyPatch) -> None:
    row = sms(to_sim=0)
    written: list[Any] = []
    monkeypatch.setattr(leases, "find_offerable", lambda conn, account_id, **kw: [row])
    monkeypatch.setattr(optouts, "opted_out_numbers", lambda conn, account_id, numbers: set())
    monkeypatch.setattr(leases, "fail_waiting", lambda conn, failures, now: None)
    monkeypatch.setattr(leases, "grant_leases", lambda conn, grants: None)
    monkeypatch.setattr(history, "record_waiting", lambda conn, notes, now: written.extend(notes))
    own = Planner(Policy(lease_seconds=60), random.Random(7))
    for why in ("daily limit", "daily limit", "monthly limit"):
        phone = slot("a", sims=[0], held={0: why}, ready={0: NOW + 99})
        own.plan(None, "acc", [phone], ["a"], limit=10, now=NOW)  # type: ignore[arg-type]
    assert [reason for _, reason in written] == [
        "waiting: a SIM 1: daily limit",
        "waiting: a SIM 1: monthly limit",
    ]


def test_no_waiting_reason_while_a_busy_device_may_take_the_sms(monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[Any] = []
    monkeypatch.setattr(leases, "find_offerable", lambda conn, account_id, **kw: [sms(to_sim=0)])
    monkeypatch.setattr(optouts, "opted_out_numbers", lambda conn, account_id, numbers: set())
    monkeypatch.setattr(leases, "fail_waiting", lambda conn, failures, now: None)
    monkeypatch.setattr(leases, "grant_leases", lambda conn, grants: None)
    monkeypatch.setattr(history, "record_waiting", lambda conn, notes, now: written.extend(notes))
    own = Planner(Policy(lease_seconds=60), random.Random(7))
    phone = slot("a", sims=[0], held={0: "daily limit"}, ready={0: NOW + 99})
    own.plan(None, "acc", [phone], ["a"], limit=10, now=NOW, others_busy=True)  # type: ignore[arg-type]
    assert written == []
    own.plan(None, "acc", [phone], ["a"], limit=10, now=NOW)  # type: ignore[arg-type]
    assert written == [("m" * 24, "waiting: a SIM 1: daily limit")]
