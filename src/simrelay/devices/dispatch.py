"""Dispatch: which connected device gets which waiting SMS, and when.

Each server node keeps the sessions of the devices connected to it and offers them work:
the moment an SMS is accepted (a signal, from this node or another), when a device frees a
slot or a SIM's pacing gap ends, and on a timer as a safety net. Every offer is a lease
granted in a transaction that holds the rows (sms/leases.py), so two nodes never lease one
SMS. The same timer asks devices to drop leases they sat on too long, and takes back, after
the hard timeout, leases of devices that vanished.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.engine import Connection

from simrelay.devices import contacts, pauses, presence, repository, ussd
from simrelay.devices.assignment import Planner, Slot
from simrelay.devices.health import rank
from simrelay.devices.policy import Policy
from simrelay.devices.protocol import Hello
from simrelay.devices.reporting import ReportWriter
from simrelay.devices.session import (
    CLOSE_GOING_AWAY,
    CLOSE_REPLACED,
    CLOSE_UNAUTHORIZED,
    DeviceSession,
    device_status,
)
from simrelay.ids import is_object_id
from simrelay.sms import history, leases
from simrelay.storage.database import Database
from simrelay.storage.signals import Signals
from simrelay.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

OFFER_QUERY_MAX = 1000
RECONNECT_ALLOWANCE = 60.0
"""The longest reconnect backoff the protocol allows a device."""
ROUND_GAP = 0.005
"""Seconds between the starts of two assignment rounds, at least."""
SWEEP_EVERY_TICKS = 5
"""Hard-timeout and `valid_until` sweeps run every this many ticks."""


@dataclass(frozen=True, slots=True)
class Resumed:
    leased: set[str]
    kept: list[Any]
    """Leases the device listed in `held`: they continue."""
    offered: list[Any]
    """Leases it did not know of, renewed as the next attempt (rows as they were before): to offer again."""


class Dispatcher:
    def __init__(
        self, db: Database, signals: Signals, policy: Policy, *, rng: random.Random | None = None
    ) -> None:
        self.db = db
        self.policy = policy
        self.reports = ReportWriter(db, max_attempts=policy.max_attempts)
        self._planner = Planner(policy, rng or random.Random())
        self._signals = signals
        self._sessions: dict[str, DeviceSession] = {}
        self._by_account: dict[str, set[str]] = {}
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._trust_silence_after = 0.0
        signals.subscribe(on_work=self.wake, on_device=self._device_changed)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        # Devices connected before a restart need a moment to come back and resume; until
        # then their silence says nothing about them, so no lease is taken back for it.
        self._trust_silence_after = time.time() + min(
            self.policy.lease_hard_seconds, 2 * self.policy.heartbeat_seconds + RECONNECT_ALLOWANCE
        )
        self.reports.start()
        self._tasks = [
            asyncio.create_task(self._assign_loop(), name="dispatch"),
            asyncio.create_task(self._tick_loop(), name="dispatch-tick"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        for timer in self._timers.values():
            timer.cancel()
        for session in list(self._sessions.values()):
            session.close(CLOSE_GOING_AWAY)
        await self.reports.stop()

    async def hand_back(self, sessions: Sequence[DeviceSession]) -> None:
        """These sessions ended because this node is stopping: their offers never fetched go
        back to the queue, and every node hears of the work (sms/leases.py: release_unfetched)."""
        ids = [session.device_id for session in sessions if session.device_id not in self._sessions]
        count = await self.db.run(
            lambda conn: leases.release_unfetched(
                conn, ids, now=time.time(), max_attempts=self.policy.max_attempts
            )
        )
        if count:
            for account_id in {session.account_id for session in sessions}:
                self._signals.work_arrived(account_id)
            log.info("leases_handed_back", devices=len(ids), sms=count)

    @property
    def connected(self) -> int:
        return len(self._sessions)

    # --- sessions --------------------------------------------------------------------------

    async def attach(self, session: DeviceSession, hello: Hello) -> None:
        """Registers a connected device, resumes its leases and makes it available for work."""
        old = self._sessions.get(session.device_id)
        if old is not None:
            old.close(CLOSE_REPLACED)
        self._sessions[session.device_id] = session
        self._by_account.setdefault(session.account_id, set()).add(session.device_id)
        now = time.time()
        values = device_status(hello) | {"can_ussd": session.can_ussd, "connection_id": session.connection_id}
        if hello.app_version is not None:
            values["app_version"] = hello.app_version
        if hello.model is not None:
            values["model"] = hello.model
        await self.reports.update_device(session.device_id, values)
        held = {message_id.lower() for message_id in hello.held}
        pacing = session.pacer.pacing
        # What the budgets read: a rolling day, and the calendar's day or month when it counts.
        lookback = max(
            0.0 if pacing.is_off else 86400.0,
            pacing.calendar.lookback_seconds if pacing.calendar.counts else 0.0,
        )
        warmup = pacing.calendar.warmup_days
        sims = {None, *session.sim_slots}
        spent, seasoned, newcomers, paused, resumed = await self.db.run(
            lambda conn: (
                history.takes_since(conn, session.device_id, since=now - lookback) if lookback else [],
                history.sims_used_before(conn, session.device_id, sims, before=now - (warmup + 1) * 86400.0)
                if warmup
                else set(),
                contacts.newcomers_since(conn, session.device_id, since=now - 2 * 86400.0)
                if pacing.calendar.new_per_day
                else [],
                pauses.paused_sims(conn, session.device_id, now=now),
                self._resume(conn, session.device_id, held, now=now),
            )
        )
        session.paused = paused
        # A SIM that sent before its warm-up could have begun is past it; the others count their
        # days from their first take in the history read (or, with none, from their first offer).
        first_uses: dict[int | None, float] = dict.fromkeys(seasoned, now - (warmup + 1) * 86400.0)
        for sim, at in spent:
            first_uses.setdefault(sim, at)
            first_uses[sim] = min(first_uses[sim], at)
        session.pacer.seed(spent, first_uses=first_uses, newcomers=newcomers)
        session.send(
            {
                "type": "welcome",
                "protocol": 1,
                "device_id": session.device_id,
                "server_time": now,
                "heartbeat_seconds": self.policy.heartbeat_seconds,
                "lease_seconds": self.policy.lease_seconds,
            }
        )
        for message_id in held - resumed.leased:
            if is_object_id(message_id):
                session.drop(message_id, "not_held")
        for row in resumed.kept:
            session.outstanding.add(row.id)
            if row.lease_drop:
                session.drop(row.id, _drop_reason(row), attempt=row.attempts)
        for row in resumed.offered:  # renewed as the next attempt
            session.offer(self._planner.offer_frame(row, sim=row.sim, attempt=row.attempts + 1, now=now))
        # Only now may drops from the timer or from API changes reach it: after the frames
        # above, so that a device never sees a drop overtake the offer it is about.
        session.ready = True
        await self._send_ussd(session)  # those it missed while away, if they have not expired
        log.info(
            "device_connected",
            device_id=session.device_id,
            held=len(held),
            kept=len(resumed.kept),
            offered_again=len(resumed.offered),
        )
        self.wake(session.account_id)

    def _resume(self, conn: Connection, device_id: str, held: set[str], *, now: float) -> Resumed:
        """Runs in one transaction, which holds the device's leased rows: the leases it still
        holds continue (with a fresh hard timeout: it is back); those it does not have are offered
        again as a new attempt, so that a late `dropped` about the old one cannot end the new one,
        unless a drop was asked meanwhile (deleted, expired): then they end here."""
        rows = leases.leases_of(conn, device_id, lock=True)
        until, expires = now + self.policy.lease_seconds, now + self.policy.lease_hard_seconds
        kept = [row for row in rows if row.id in held]
        lost = [row for row in rows if row.id not in held]
        for row in lost:
            if row.lease_drop or row.deleted_at is not None:
                leases.release_lease(
                    conn, row, now=now, max_attempts=self.policy.max_attempts, why="lease expired"
                )
        again = [row for row in lost if not (row.lease_drop or row.deleted_at is not None)]
        leases.renew_leases(
            conn, [row.id for row in again], device_id=device_id, until=until, expires=expires
        )
        leases.extend_leases(conn, [row.id for row in kept], device_id=device_id, expires=expires)
        return Resumed(leased={row.id for row in rows}, kept=kept, offered=again)

    async def detach(self, session: DeviceSession) -> None:
        if self._sessions.get(session.device_id) is session:
            del self._sessions[session.device_id]
            devices = self._by_account.get(session.account_id)
            if devices is not None:
                devices.discard(session.device_id)
                if not devices:
                    del self._by_account[session.account_id]
            with contextlib.suppress(Exception):
                await self.reports.update_device(
                    session.device_id, {"last_online_at": time.time()}, release=session.connection_id
                )
            log.info("device_disconnected", device_id=session.device_id, outstanding=len(session.outstanding))

    def _device_changed(self, device_id: str) -> None:
        session = self._sessions.get(device_id)
        if session is not None:
            asyncio.get_running_loop().create_task(self._refresh(session))

    async def _refresh(self, session: DeviceSession) -> None:
        """Reloads a device's settings and sends the drops asked of it (delete, edit, deletion)."""
        before = set(session.outstanding)  # what an offer made during the read adds stays
        try:
            device, rows, paused = await self.db.read(
                lambda conn: (
                    repository.find_by_id(conn, session.device_id),
                    leases.leases_of(conn, session.device_id),
                    pauses.paused_sims(conn, session.device_id, now=time.time()),
                )
            )
        except Exception:
            log.exception("device_refresh_failed", device_id=session.device_id)
            return
        if device is None:
            session.close(CLOSE_UNAUTHORIZED)
            return
        session.load(device)
        session.paused = paused  # a pause lifted in the panel ends here
        # Leases that ended without the device (a delete of one it never fetched) free its slots.
        session.outstanding -= before - {row.id for row in rows}
        for row in rows if session.ready else ():  # else its resume sends what is due
            if row.lease_drop:
                session.drop(row.id, _drop_reason(row), attempt=row.attempts)
        self.wake(session.account_id)
        await self._send_ussd(session)

    async def _send_ussd(self, session: DeviceSession) -> None:
        """Sends the device its USSD requests that no node has sent (each at most once)."""
        if session.can_ussd and session.ready:
            try:
                await ussd.send_unsent(self.db, session.device_id, session.send)
            except Exception:
                log.exception("ussd_send_failed", device_id=session.device_id)

    # --- assignment ------------------------------------------------------------------------

    def wake(self, account_id: str) -> None:
        """Something changed for this account: look for work for its devices here."""
        if account_id in self._by_account:
            self._dirty.add(account_id)
            self._wake.set()

    async def _assign_loop(self) -> None:
        last = 0.0
        while True:
            await self._wake.wait()
            # Under load every report and every send wakes the loop: a round at most every
            # ROUND_GAP lets one round offer what many wake-ups asked for (each round is a
            # transaction and a read of the queue); when idle, a wake-up is served at once.
            gap = last + ROUND_GAP - time.monotonic()
            if gap > 0:
                await asyncio.sleep(gap)
            last = time.monotonic()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for account_id in dirty:
                try:
                    await self._assign(account_id)
                except Exception:
                    log.exception("dispatch_failed", account_id=account_id)

    async def assign_now(self, account_id: str) -> None:
        """Offers what the account's devices here may take, now rather than on the next wake-up
        (a pull device about to read its offers)."""
        await self._assign(account_id)

    async def _assign(self, account_id: str) -> None:
        now = time.time()
        slots = self._slots(account_id, now)
        capacity = sum(slot.free for slot in slots)
        if not capacity:
            return
        device_ids = [slot.session.device_id for slot in slots]
        limit = min(capacity * 2, OFFER_QUERY_MAX)
        # A device here with its window full may take the SMS soon: budgets alone do not hold it.
        busy = len(slots) < sum(
            1 for device_id in self._by_account.get(account_id, ()) if self._sessions[device_id].is_active
        )
        planned, more, next_ready = await self.db.run(
            lambda conn: self._planner.plan(
                conn, account_id, slots, device_ids, limit=limit, now=now, others_busy=busy
            )
        )
        for slot, frame in planned:
            slot.session.pacer.record(frame["sim"], now)
            slot.session.last_sim = frame["sim"]
            slot.session.offer(frame)
        for slot in slots:
            for sim in slot.newcomers:
                slot.session.pacer.record_new(sim, now)
        if more:
            self.wake(account_id)
        elif next_ready is not None:
            self._wake_at(account_id, next_ready)

    async def pause_sim(self, session: DeviceSession, sim: int | None, reason: str) -> None:
        """Pauses a SIM after carrier refusals in a row: stored and announced (device.sim_paused),
        and its SMS not yet begun move to other SIMs (sms/leases.py: take_back_from_sim)."""
        now = time.time()
        until = now + session.streaks.minutes * 60.0
        session.paused[sim] = until
        why = f"carrier refusals in a row: {session.streaks.after}; last: {reason}"[: history.REASON_MAX]

        def work(conn: Connection) -> tuple[list[str], list[tuple[str, int]]]:
            pauses.pause(conn, session.device_id, sim, until=until, reason=why, now=now)
            return leases.take_back_from_sim(
                conn, session.device_id, sim, now=now, max_attempts=self.policy.max_attempts
            )

        released, asked = await self.db.run(work)
        session.outstanding -= set(released)
        for message_id, attempt in asked:
            session.drop(message_id, "sim_paused", attempt=attempt)
        log.warning(
            "sim_paused",
            device_id=session.device_id,
            sim=sim,
            minutes=session.streaks.minutes,
            moved=len(asked) + len(released),
        )
        self.wake(session.account_id)
        self._wake_at(session.account_id, until)

    def _slots(self, account_id: str, now: float) -> list[Slot]:
        slots = []
        for device_id in self._by_account.get(account_id, ()):
            session = self._sessions[device_id]
            free = session.free_slots()
            if session.ready and session.is_active and free > 0:
                slots.append(Slot.of(session, free, now))
        slots.sort(key=lambda slot: rank(slot.candidate, now))
        return slots

    def _wake_at(self, account_id: str, when: float) -> None:
        timer = self._timers.get(account_id)
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, when - time.time())
        self._timers[account_id] = loop.call_at(loop.time() + delay, self.wake, account_id)

    # --- the timer -------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self.policy.tick_seconds)
            ticks += 1
            try:
                await self._tick(sweep=ticks % SWEEP_EVERY_TICKS == 0)
            except Exception:
                log.exception("dispatch_tick_failed")

    async def _tick(self, *, sweep: bool) -> None:
        now = time.time()
        local = list(self._sessions)
        overdue, released = (
            await self.db.run(
                lambda conn: leases.request_overdue_drops(
                    conn, local, now=now, max_attempts=self.policy.max_attempts
                )
            )
            if local
            else ([], [])
        )
        for message_id, device_id in released:  # a pull device never fetched these: just over
            session = self._sessions.get(device_id)
            if session is not None:
                session.outstanding.discard(message_id)
                self.wake(session.account_id)
        for message_id, device_id, attempt in overdue:
            session = self._sessions.get(device_id)
            if session is not None and session.ready:  # else its resume sends what is due
                session.drop(message_id, "lease_expired", attempt=attempt)
        if sweep:
            await self.sweep(now=now)
        # The safety net for missed wake-ups (and `send_at` coming due): look where work waits.
        accounts = list(self._by_account)
        if accounts:
            for account_id in await self.db.read(
                lambda conn: leases.accounts_with_work(conn, accounts, now=now)
            ):
                self.wake(account_id)

    async def sweep(self, *, now: float) -> None:
        """Ends leases past their hard timeout (sms/leases.py: end_lapsed), expired waiting SMS and
        USSD requests, and sends USSD requests whose signal went missing."""

        def work(conn: Connection) -> tuple[list[Any], set[str]]:
            lapsed = (
                leases.find_lapsed(
                    conn,
                    now=now,
                    silent_since=now - 2 * self.policy.heartbeat_seconds,
                    given_up_before=now - self.policy.lease_hard_seconds,
                )
                if now >= self._trust_silence_after
                else []
            )
            for row in lapsed:
                leases.end_lapsed(conn, row, now=now, max_attempts=self.policy.max_attempts)
            leases.expire_waiting(conn, now=now)
            if now >= self._trust_silence_after:
                presence.mark_offline(conn, silent_since=now - 2 * self.policy.heartbeat_seconds, now=now)
            ussd.expire(conn, now=now)
            return list(lapsed), ussd.devices_with_unsent(conn, now=now)

        lapsed, unsent = await self.db.run(work)
        for device_id in unsent & self._sessions.keys():
            await self._send_ussd(self._sessions[device_id])
        for row in lapsed:
            log.warning(
                "lease_lapsed",
                message_id=row.id,
                device_id=row.lease_device_id,
                handed=bool(row.lease_handed),
                resent=bool(row.resend_lost),
            )
            session = self._sessions.get(row.lease_device_id)
            if session is not None:
                session.outstanding.discard(row.id)


def _drop_reason(row: Any) -> str:
    return "deleted" if row.deleted_at is not None else "lease_expired"
