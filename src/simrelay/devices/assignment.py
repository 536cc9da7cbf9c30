"""Assignment: which of an account's connected devices, and which SIM, gets each waiting SMS.

One round runs inside one database transaction, off the event loop on SQLite, so it sees the
devices through `Slot` snapshots taken on the loop beforehand (free window, SIM readiness,
failing SIMs, health), never the live sessions' mutable state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from simrelay.devices import contacts
from simrelay.devices.health import Candidate
from simrelay.devices.policy import Policy
from simrelay.inbox import repository as optouts
from simrelay.sms import history, leases

if TYPE_CHECKING:
    from simrelay.devices.session import DeviceSession


@dataclass(slots=True)
class Slot:
    """A session as one assignment round sees it: a snapshot, safe to use off the event loop."""

    session: DeviceSession
    free: int
    ready: dict[int | None, float]
    paced: bool
    resting: bool
    candidate: Candidate
    failing: frozenset[int] = frozenset()
    """SIM slots the device reports failing: nothing goes out on them."""
    declined: dict[str, float] = field(default_factory=dict)
    """SMS it declined for a failing SIM, and until when they are not offered to it again."""
    allowance: dict[int | None, float] = field(default_factory=dict)
    """SMS each SIM may still send now under its calendar budgets (absent: no cap)."""
    strategy: str = "random"
    """How a SIM is chosen among those ready (devices/budgets.py: STRATEGIES)."""
    used_today: dict[int | None, int] = field(default_factory=dict)
    """SMS each SIM sent today on the device's calendar, this round's offers included."""
    last_sim: int | None = None
    """The SIM of the device's latest offer (round-robin goes on from it)."""
    paused: dict[int | None, float] = field(default_factory=dict)
    """SIMs paused after carrier refusals, and until when: nothing goes out on them."""
    held: dict[int | None, str] = field(default_factory=dict)
    """Why each SIM its calendar budgets hold is not ready now, in words (an SMS's waiting reason)."""
    new_allowance: dict[int | None, float] = field(default_factory=dict)
    """Numbers new to each SIM that it may still take today (absent: no cap)."""
    knows: bool = False
    """It keeps which SIM met which number (a new-recipients cap, or the sticky strategy)."""
    newcomers: list[int | None] = field(default_factory=list)
    """This round's offers to numbers new to their SIM, by SIM (the pacer counts them after)."""

    @classmethod
    def of(cls, session: DeviceSession, free: int, now: float) -> Slot:
        # Every SIM an offer can name (see Planner.sims_for). The round runs off the event
        # loop, so budgets are read here, not there.
        sims: set[int | None] = {None, *session.sim_slots}
        pacer = session.pacer
        ready = {sim: pacer.ready_at(sim, now) for sim in sims}
        rules = pacer.pacing.calendar
        candidate = Candidate(
            device_id=session.device_id,
            failure_rate=session.health.failure_rate,
            outstanding=len(session.outstanding),
            ready_at=min(ready.values()),
            battery=session.battery,
            charging=session.charging,
        )
        return cls(
            session,
            free,
            ready,
            not pacer.pacing.is_off,
            session.health.is_resting(now),
            candidate,
            session.failing_sims,
            session.declined_now(now),
            {sim: pacer.allowance(sim, now) for sim in sims},
            rules.strategy,
            {sim: pacer.sent_today(sim, now) for sim in sims}
            if rules.strategy in ("least_used", "sticky")
            else {},
            session.last_sim,
            session.paused_now(now),
            {sim: why for sim in sims if ready[sim] > now and (why := pacer.why_waiting(sim, now))},
            {sim: pacer.new_allowance(sim, now) for sim in sims} if rules.new_per_day else {},
            rules.knows_recipients,
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """Where an SMS goes this round, or why not."""

    slot: Slot | None = None
    sim: int | None = None
    ready: float | None = None
    """Not offered now: when a SIM for it is next ready, if known."""
    why: str = ""
    """Not offered now, and only budgets hold it (no SIM merely busy or between two sends): why."""


WAIT_NOTES_MAX = 100_000
"""Waiting reasons remembered, so that each is written to an SMS's history once."""


class Planner:
    def __init__(self, policy: Policy, rng: random.Random) -> None:
        self.policy = policy
        self._rng = rng
        self._noted: dict[str, str] = {}
        """The waiting reason last written to each SMS's history (by this node)."""

    def plan(
        self,
        conn: Connection,
        account_id: str,
        slots: list[Slot],
        device_ids: list[str],
        *,
        limit: int,
        now: float,
        others_busy: bool = False,
    ) -> tuple[list[tuple[Slot, dict[str, Any]]], bool, float | None]:
        """Runs in the database's transaction: chooses a device and SIM for each offerable SMS,
        fails the expired and opted-out ones, and grants the leases. Returns the offers to
        send, whether more SMS may be waiting, and when a paced SIM is next ready. With
        `others_busy` (a device not in `slots` may take work soon) no waiting reason is written."""
        rows = leases.find_offerable(conn, account_id, device_ids=device_ids, now=now, limit=limit)
        if not rows:
            return [], False, None
        phones = {row.phone_number for row in rows}
        opted_out = optouts.opted_out_numbers(conn, account_id, phones)
        met = (
            contacts.read(
                conn, account_id, phones, now=now, online_since=now - 2 * self.policy.heartbeat_seconds
            )
            if any(slot.knows for slot in slots)
            else None
        )
        failures: list[tuple[str, str]] = []
        grants: list[leases.Grant] = []
        planned: list[tuple[Slot, dict[str, Any]]] = []
        notes: list[tuple[str, str]] = []
        next_ready: float | None = None
        for row in rows:
            if row.valid_until is not None and row.valid_until <= now:
                failures.append((row.id, leases.EXPIRED))
                continue
            if row.phone_number in opted_out:
                failures.append((row.id, leases.OPTED_OUT))
                continue
            choice = self.choose(row, slots, now, met)
            missing = self.missing_sim(row, slots)
            if choice.slot is None and missing is not None:
                failures.append((row.id, f"device has no SIM in slot {missing}"))
                continue
            if choice.slot is None:
                if choice.ready is not None:
                    next_ready = choice.ready if next_ready is None else min(next_ready, choice.ready)
                if choice.why and not others_busy and self._noted.get(row.id) != choice.why:
                    notes.append((row.id, choice.why))
                continue
            slot, sim = choice.slot, choice.sim
            self.take(slot, sim, row.phone_number, met)
            grants.append(
                leases.Grant(
                    message_id=row.id,
                    device_id=slot.session.device_id,
                    sim=sim,
                    lease_until=now + self.lease_seconds(row, now),
                    lease_expires=now + self.policy.lease_hard_seconds,
                    handed=not slot.session.pulls,
                )
            )
            planned.append((slot, self.offer_frame(row, sim=sim, attempt=row.attempts + 1, now=now)))
        leases.fail_waiting(conn, failures, now=now)
        leases.grant_leases(conn, grants)
        if met is not None:
            contacts.touch(conn, account_id, met.made, now=now)
        self._note(conn, notes, [grant.message_id for grant in grants], now=now)
        # Look again at once only if this round got somewhere: else wait for a wake-up.
        more = len(rows) >= limit and bool(grants or failures)
        return planned, more, next_ready

    @staticmethod
    def take(slot: Slot, sim: int | None, phone: str, met: contacts.Contacts | None) -> None:
        """Counts an offer against the slot's free window and the SIM's budgets in this round."""
        slot.free -= 1
        slot.used_today[sim] = slot.used_today.get(sim, 0) + 1
        slot.last_sim = sim
        left = slot.allowance.get(sim, float("inf")) - 1
        slot.allowance[sim] = left
        if slot.paced or left <= 0:
            # One SMS per SIM per round: the next gap is drawn when the offer is recorded.
            # A calendar budget used up: a later round says when it frees.
            slot.ready[sim] = float("inf")
        if met is not None and slot.knows:
            device_id = slot.session.device_id
            if met.is_new(phone, device_id, sim):
                slot.newcomers.append(sim)
                if sim in slot.new_allowance:
                    slot.new_allowance[sim] -= 1
            met.meet(phone, device_id, sim, sticky=slot.strategy == "sticky")

    def _note(
        self, conn: Connection, notes: list[tuple[str, str]], offered: list[str], *, now: float
    ) -> None:
        """Writes the new waiting reasons to the SMS's history (sms/history.py: record_waiting)."""
        for message_id in offered:
            self._noted.pop(message_id, None)
        if not notes:
            return
        if len(self._noted) > WAIT_NOTES_MAX:
            self._noted.clear()
        history.record_waiting(conn, notes, now=now)
        self._noted.update(notes)

    def choose(self, row: Any, slots: list[Slot], now: float, met: contacts.Contacts | None = None) -> Choice:
        """The best slot and SIM for this SMS; else when one is next ready, and why it waits."""
        binding = met.bound.get(row.phone_number) if met is not None else None
        if binding is not None:
            kept = self.sticky_choice(row, binding, slots, now)
            if kept is not None:
                return kept
        next_ready: float | None = None
        causes: list[str] = []
        held_only = True  # every SIM that could take it later is held by a budget, none just busy
        for slot in slots:
            pinned = row.requested_device_id == slot.session.device_id
            if row.requested_device_id and not pinned:
                continue
            if slot.free <= 0 or (slot.resting and not pinned):
                held_only = False
                continue
            if slot.session.pulls and slot.session.device_id in row.let_go_by:
                continue
            declined = slot.declined.get(row.id)
            if declined is not None:
                next_ready = declined if next_ready is None else min(next_ready, declined)
                held_only = False
                continue
            device_id = slot.session.device_id
            causes += [
                f"{device_id} SIM {sim_name(sim)} paused after carrier refusals"
                for sim in self.wanted_sims(row, slot)
                if sim in slot.paused
            ]
            sims = []
            for sim in self.sims_for(row, slot):
                if (
                    met is not None
                    and slot.new_allowance.get(sim, 1) <= 0
                    and met.is_new(row.phone_number, device_id, sim)
                ):
                    causes.append(f"{device_id} SIM {sim_name(sim)}: daily limit of new recipients reached")
                else:
                    sims.append(sim)
            ready_now = [sim for sim in sims if slot.ready.get(sim, now) <= now]
            if ready_now:
                return Choice(slot, self.pick_sim(slot, ready_now))
            for sim in sims:
                ready = slot.ready.get(sim, now)
                if sim in slot.held:
                    causes.append(f"{device_id} SIM {sim_name(sim)}: {slot.held[sim]}")
                else:
                    held_only = False
                if ready != float("inf"):
                    next_ready = ready if next_ready is None else min(next_ready, ready)
        return Choice(ready=next_ready, why=waiting_reason(causes) if held_only else "")

    def sticky_choice(
        self, row: Any, binding: contacts.Binding, slots: list[Slot], now: float
    ) -> Choice | None:
        """The sticky strategy: the SIM that last sent to this number keeps it while eligible
        (connected, active, not paused, failing or out of budget); the SMS waits for it while it
        is busy or between two sends. None: it is not eligible, so any SIM may take it."""
        if row.requested_device_id and row.requested_device_id != binding.device_id:
            return None
        slot = next((slot for slot in slots if slot.session.device_id == binding.device_id), None)
        if slot is None:
            # Connected but busy, here or on another node (which offers it there): it waits.
            return Choice() if binding.connected else None
        sim = binding.sim
        if (
            sim not in self.sims_for(row, slot)
            or sim in slot.held
            or slot.allowance.get(sim, 1) <= 0
            or row.id in slot.declined
            or (slot.session.pulls and slot.session.device_id in row.let_go_by)
        ):
            return None
        ready = slot.ready.get(sim, now)
        if ready <= now and slot.free > 0:
            return Choice(slot, sim)
        return Choice(ready=ready if ready != float("inf") else None)

    def pick_sim(self, slot: Slot, ready: list[int | None]) -> int | None:
        """One of the SIMs ready now, by the device's strategy: the one after the latest offer's
        in slot order (round_robin), the one that sent least today (least_used, ties at
        random), or any (random)."""
        if len(ready) == 1:
            return ready[0]
        if slot.strategy in ("least_used", "sticky"):  # sticky: a number new to every SIM
            fewest = min(slot.used_today.get(sim, 0) for sim in ready)
            return self._rng.choice([sim for sim in ready if slot.used_today.get(sim, 0) == fewest])
        if slot.strategy == "round_robin":
            order = sorted(ready, key=lambda sim: -1 if sim is None else sim)
            last = -2 if slot.last_sim is None else slot.last_sim
            return next((sim for sim in order if sim is not None and sim > last), order[0])
        return self._rng.choice(ready)

    @classmethod
    def sims_for(cls, row: Any, slot: Slot) -> list[int | None]:
        """The SIM slots this SMS may go out on from this device now (None: the device's own
        default), leaving out those it reports failing and those paused. One for the device's own default goes
        out, while a SIM fails, on a healthy one named in the offer: the default may be the one
        failing. A slot the account chose stays chosen: the SMS waits, or goes to another device."""
        sims = cls.wanted_sims(row, slot)
        if not slot.failing and not slot.paused:
            return sims
        if sims == [None] and slot.session.sim_slots:
            sims = list(slot.session.sim_slots)
        return [sim for sim in sims if sim not in slot.failing and sim not in slot.paused]

    @staticmethod
    def wanted_sims(row: Any, slot: Slot) -> list[int | None]:
        """The SIM slots this SMS may use on this device, failing or not. A device that reported
        no SIMs chooses itself; one without the slot asked for: none."""
        session = slot.session
        wanted = row.to_sim if row.to_sim is not None and row.to_sim != -2 else session.default_sim
        if not session.sim_slots or wanted == -2:
            return [None]
        if wanted == -1:
            return list(session.sim_slots)
        return [wanted] if wanted in session.sim_slots else []

    @classmethod
    def missing_sim(cls, row: Any, slots: list[Slot]) -> int | None:
        """The slot an SMS pinned to a connected device asks for, if that device lacks it: it
        could wait forever, so it fails instead (a failing SIM is not missing: it may recover)."""
        for slot in slots:
            if row.requested_device_id == slot.session.device_id and not cls.wanted_sims(row, slot):
                return int(
                    row.to_sim if row.to_sim is not None and row.to_sim != -2 else slot.session.default_sim
                )
        return None

    def lease_seconds(self, row: Any, now: float) -> float:
        if row.valid_until is None:
            return self.policy.lease_seconds
        return max(0.0, min(self.policy.lease_seconds, float(row.valid_until) - now))

    def offer_frame(self, row: Any, *, sim: int | None, attempt: int, now: float) -> dict[str, Any]:
        return {
            "type": "offer",
            "id": row.id,
            "phone_number": row.phone_number,
            "message": row.message,
            "sim": sim,
            "encoding": row.encoding,
            "parts": row.parts,
            "lease_seconds": round(self.lease_seconds(row, now), 3),
            "attempt": max(attempt, 1),
        }


def sim_name(sim: int | None) -> str:
    return "default" if sim is None else str(sim + 1)


def waiting_reason(causes: list[str]) -> str:
    """An SMS's waiting reason: the first SIM's, and how many others are held."""
    if not causes:
        return ""
    more = f" (and {len(causes) - 1} more)" if len(causes) > 1 else ""
    return f"waiting: {causes[0]}{more}"[: history.REASON_MAX]
