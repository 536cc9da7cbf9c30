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

from simrelay.devices.health import Candidate
from simrelay.devices.policy import Policy
from simrelay.inbox import repository as optouts
from simrelay.sms import leases

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

    @classmethod
    def of(cls, session: DeviceSession, free: int, now: float) -> Slot:
        # Every SIM an offer can name (see Planner.sims_for). The round runs off the event
        # loop, so budgets are read here, not there.
        sims: set[int | None] = {None, *session.sim_slots}
        ready = {sim: session.pacer.ready_at(sim, now) for sim in sims}
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
            not session.pacer.pacing.is_off,
            session.health.is_resting(now),
            candidate,
            session.failing_sims,
            session.declined_now(now),
            {sim: session.pacer.allowance(sim, now) for sim in sims},
            session.pacer.pacing.calendar.strategy,
            {sim: session.pacer.sent_today(sim, now) for sim in sims}
            if session.pacer.pacing.calendar.strategy == "least_used"
            else {},
            session.last_sim,
        )


class Planner:
    def __init__(self, policy: Policy, rng: random.Random) -> None:
        self.policy = policy
        self._rng = rng

    def plan(
        self,
        conn: Connection,
        account_id: str,
        slots: list[Slot],
        device_ids: list[str],
        *,
        limit: int,
        now: float,
    ) -> tuple[list[tuple[Slot, dict[str, Any]]], bool, float | None]:
        """Runs in the database's transaction: chooses a device and SIM for each offerable SMS,
        fails the expired and opted-out ones, and grants the leases. Returns the offers to
        send, whether more SMS may be waiting, and when a paced SIM is next ready."""
        rows = leases.find_offerable(conn, account_id, device_ids=device_ids, now=now, limit=limit)
        if not rows:
            return [], False, None
        opted_out = optouts.opted_out_numbers(conn, account_id, {row.phone_number for row in rows})
        failures: list[tuple[str, str]] = []
        grants: list[leases.Grant] = []
        planned: list[tuple[Slot, dict[str, Any]]] = []
        next_ready: float | None = None
        for row in rows:
            if row.valid_until is not None and row.valid_until <= now:
                failures.append((row.id, leases.EXPIRED))
                continue
            if row.phone_number in opted_out:
                failures.append((row.id, leases.OPTED_OUT))
                continue
            choice, ready = self.choose(row, slots, now)
            missing = self.missing_sim(row, slots)
            if choice is None and missing is not None:
                failures.append((row.id, f"device has no SIM in slot {missing}"))
                continue
            if choice is None:
                if ready is not None:
                    next_ready = ready if next_ready is None else min(next_ready, ready)
                continue
            slot, sim = choice
            slot.free -= 1
            slot.used_today[sim] = slot.used_today.get(sim, 0) + 1
            slot.last_sim = sim
            left = slot.allowance.get(sim, float("inf")) - 1
            slot.allowance[sim] = left
            if slot.paced or left <= 0:
                # One SMS per SIM per round: the next gap is drawn when the offer is recorded.
                # A calendar budget used up: a later round says when it frees.
                slot.ready[sim] = float("inf")
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
        # Look again at once only if this round got somewhere: else wait for a wake-up.
        more = len(rows) >= limit and bool(grants or failures)
        return planned, more, next_ready

    def choose(
        self, row: Any, slots: list[Slot], now: float
    ) -> tuple[tuple[Slot, int | None] | None, float | None]:
        """The best slot and SIM for this SMS; else None and when a paced SIM is next ready."""
        next_ready: float | None = None
        for slot in slots:
            pinned = row.requested_device_id == slot.session.device_id
            if row.requested_device_id and not pinned:
                continue
            if slot.free <= 0 or (slot.resting and not pinned):
                continue
            if slot.session.pulls and slot.session.device_id in row.let_go_by:
                continue
            declined = slot.declined.get(row.id)
            if declined is not None:
                next_ready = declined if next_ready is None else min(next_ready, declined)
                continue
            sims = self.sims_for(row, slot)
            ready_now = [sim for sim in sims if slot.ready.get(sim, now) <= now]
            if ready_now:
                return (slot, self.pick_sim(slot, ready_now)), None
            for sim in sims:
                ready = slot.ready.get(sim, now)
                if ready != float("inf"):
                    next_ready = ready if next_ready is None else min(next_ready, ready)
        return None, next_ready

    def pick_sim(self, slot: Slot, ready: list[int | None]) -> int | None:
        """One of the SIMs ready now, by the device's strategy: the one after the latest offer's
        in slot order (round_robin), the one that sent least today (least_used, ties at
        random), or any (random)."""
        if len(ready) == 1:
            return ready[0]
        if slot.strategy == "least_used":
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
        default), leaving out those it reports failing. One for the device's own default goes
        out, while a SIM fails, on a healthy one named in the offer: the default may be the one
        failing. A slot the account chose stays chosen: the SMS waits, or goes to another device."""
        sims = cls.wanted_sims(row, slot)
        if not slot.failing:
            return sims
        if sims == [None]:
            sims = list(slot.session.sim_slots)
        return [sim for sim in sims if sim not in slot.failing]

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
