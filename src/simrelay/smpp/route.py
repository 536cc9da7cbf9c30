"""`RouteRunner`: one SMPP route as a device. It binds to the carrier's SMSC as a transceiver
(smpp/client.py), and while bound its device is connected to the dispatcher (smpp/route_link.py):
offers become submit_sm, submit_sm_resp and receipts become reports, MO deliver_sm the inbox.
While the SMSC is unreachable the device is offline, so dispatch sends through other devices.

The lease rule (docs/device-protocol.md, 2.4): each submit_sm is recorded (committed) before it
is written (smpp/routes.py, mark_written). An SMS whose submit_sm got no answer (the link
dropped, or the SMSC went silent) may have gone out: it ends in status 3 "may have been sent"
and is never written again, here or by another device. The `hello` of every reconnection names
the SMS with a recorded submit_sm as held, so the server never offers them afresh; the others
it offers again, since nothing of theirs reached the SMSC.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from dataclasses import dataclass
from typing import Any

import structlog

from simrelay.devices import repository as device_repository
from simrelay.devices.dispatch import Dispatcher
from simrelay.devices.protocol import PROTOCOL
from simrelay.devices.session import CLOSE_GOING_AWAY, DeviceSession
from simrelay.smpp import routes
from simrelay.smpp.client import BindRefused, LinkLost, SmppClient, describe_status
from simrelay.smpp.codes import CommandStatus
from simrelay.smpp.pdu import SubmitSmResp
from simrelay.smpp.route_frames import (
    MAY_HAVE_BEEN_SENT,
    RETRY_LATER,
    final_report,
    submit_sm,
)
from simrelay.smpp.route_inbound import RouteInbound
from simrelay.smpp.route_link import Frame, LinkClosed, RouteLink
from simrelay.smpp.routes import Route, WrittenPart
from simrelay.smpp.submit import Assembler
from simrelay.smpp.text import encode_parts
from simrelay.sms import leases

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class RouteOptions:
    reconnect: tuple[float, float] = (1.0, 60.0)
    """Back-off between connection tries: doubles from the first to the second, with jitter."""
    enquire_seconds: float = 30.0
    response_seconds: float = 30.0
    """An SMSC that leaves a request unanswered this long is treated as gone."""
    throttle: tuple[float, float] = (1.0, 30.0)
    """Pause before writing a throttled part again: doubles from the first to the second."""
    throttle_tries: int = 20
    """Throttled answers to one part after which the SMS fails."""
    concat_seconds: float = 60.0
    """All parts of a long MO must arrive within this, or none is stored."""
    concat_limit: int = 100
    """Long MO in the making at most; a part of one more is answered ESME_RMSGQFUL."""


@dataclass(eq=False)
class _Job:
    task: asyncio.Task[None]
    attempt: int | None
    started: bool = False  # a submit_sm of it may have been written: a drop waits for the report


class RouteRunner:
    """Runs one route until cancelled."""

    def __init__(self, route: Route, *, dispatcher: Dispatcher, options: RouteOptions | None = None) -> None:
        self.route = route
        self.dispatcher = dispatcher
        self.db = dispatcher.db
        self.options = options or RouteOptions()
        self.client: SmppClient | None = None
        self.binds = 0
        self._link: RouteLink | None = None
        self._jobs: dict[str, _Job] = {}
        self._answers: set[asyncio.Task[None]] = set()
        self._attempts: dict[str, int] = {}
        self._inbound = RouteInbound(
            self.db,
            device_id=route.device_id,
            report=self._send_report,
            assembler=Assembler(timeout=self.options.concat_seconds, limit=self.options.concat_limit),
        )
        self._references = itertools.count(random.randrange(256))
        self._last_submit = 0.0
        self._pace_lock = asyncio.Lock()
        self._random = random.Random()

    @property
    def device_id(self) -> str:
        return self.route.device_id

    async def run(self) -> None:
        failures = 0
        while True:
            settings = self.route.settings
            client = SmppClient(
                handler=self._inbound.answer,
                window=settings.window,
                enquire_seconds=self.options.enquire_seconds,
                response_seconds=self.options.response_seconds,
            )
            try:
                await client.connect(
                    settings.host, settings.port, system_id=settings.system_id, password=settings.password
                )
            except (OSError, TimeoutError, LinkLost, BindRefused) as error:
                await client.close()
                failures += 1
                log.info(
                    "smpp_route_connect_failed", device_id=self.device_id, error=str(error) or repr(error)
                )
                await asyncio.sleep(self._backoff(failures))
                continue
            failures = 0
            self.binds += 1
            log.info("smpp_route_bound", device_id=self.device_id, host=settings.host, port=settings.port)
            self.client = client
            try:
                if not await self._serve(client):
                    return
            finally:
                self.client = None
                await client.close(unbind=True)
            await asyncio.sleep(self._backoff(0))

    def _backoff(self, failures: int) -> float:
        low, high = self.options.reconnect
        return min(high, low * 2.0 ** min(failures, 30)) * self._random.uniform(1.0, 1.3)

    async def _serve(self, client: SmppClient) -> bool:
        """Connects the device while the SMSC link lasts; False if the route's device is gone."""
        device = await self.db.read(
            lambda conn: device_repository.get_device(
                conn, account_id=self.route.account_id, device_id=self.device_id
            )
        )
        if device is None:
            return False
        link = RouteLink(on_offer=self._on_offer, on_drop=self._on_drop)
        # As many SMS on their way as the SMSC's window holds, not a phone's few.
        session = DeviceSession(device, link, self.dispatcher, window=self.route.settings.window)
        held = await self._written_leases()
        link.hello(
            {
                "type": "hello",
                "protocol": PROTOCOL,
                "model": routes.MODEL,
                "held": sorted(held),
                "sims": [],
                "battery": 100,
                "charging": True,
                "signal": 4,
                "features": [],
            }
        )
        self._link = link
        running = asyncio.create_task(session.run(), name=f"smpp route {self.device_id}")
        try:
            waiting = asyncio.ensure_future(link.welcomed.wait())
            ends: list[asyncio.Future[Any]] = [running, client.closed]
            await asyncio.wait([waiting, *ends], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if link.welcomed.is_set() and not client.closed.done():
                beat = asyncio.create_task(self._beat(link))
                try:
                    await self._settle(held)
                    await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    beat.cancel()
        finally:
            # Jobs writing when the link dropped fail at once (LinkLost): let them report first.
            jobs = [job.task for job in self._jobs.values()]
            if jobs:
                await asyncio.wait(jobs, timeout=5)
            for job in list(self._jobs.values()):
                job.task.cancel()
            self._jobs.clear()
            self._link = None
            session.close(CLOSE_GOING_AWAY)
            await link.close(CLOSE_GOING_AWAY)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await running
        return True

    async def _beat(self, link: RouteLink) -> None:
        """Heartbeats, as every device sends them: a session silent for three intervals ends."""
        vitals = {"battery": 100, "charging": True, "signal": 4}
        while not link.closed:
            await asyncio.sleep(link.heartbeat_seconds)
            await self._send_report({"type": "heartbeat", **vitals})

    async def _written_leases(self) -> dict[str, list[WrittenPart]]:
        """The SMS this device holds a lease on that have a submit_sm recorded, with their part
        records and (in `_attempts`) the attempt each lease is."""
        rows = await self.db.read(lambda conn: list(leases.leases_of(conn, self.device_id)))
        self._attempts = {row.id: int(row.attempts) for row in rows}
        written = await routes.written_parts(
            self.db, device_id=self.device_id, message_ids=list(self._attempts)
        )
        by_message: dict[str, list[WrittenPart]] = {}
        for part in written:
            by_message.setdefault(part.message_id, []).append(part)
        return by_message

    async def _settle(self, held: dict[str, list[WrittenPart]]) -> None:
        """Reports, after a reconnection, what became of each held SMS (a crash or a dropped link
        may have kept its report from the server). Reports are idempotent: one sent twice is
        acknowledged and changes nothing."""
        for message_id, parts in held.items():
            frame = final_report(message_id, parts)
            if frame["type"] == "dropped":
                frame["attempt"] = self._attempts.get(message_id)
            await self._send_report(frame)

    async def _send_report(self, frame: Frame) -> bool:
        """True once the server stored it. A report lost with the link is not lost for good: the
        part records say it again at the next connection (`_settle`)."""
        link = self._link
        if link is None:
            return False
        try:
            answer = await link.report(frame)
        except LinkClosed:
            log.info(
                "smpp_route_report_lost", device_id=self.device_id, type=frame["type"], id=frame.get("id")
            )
            return False
        if answer.get("type") == "error":
            log.info(
                "smpp_route_report_refused",
                device_id=self.device_id,
                id=frame.get("id"),
                code=answer.get("code"),
            )
        return True

    # Offers and drops from the dispatcher.

    def _on_offer(self, frame: Frame) -> None:
        message_id = frame.get("id")
        if not isinstance(message_id, str) or message_id in self._jobs:
            return
        attempt = frame.get("attempt") if isinstance(frame.get("attempt"), int) else None
        task = asyncio.create_task(self._send(frame))
        self._jobs[message_id] = _Job(task=task, attempt=attempt)
        task.add_done_callback(lambda done: self._forget(message_id, done))

    def _forget(self, message_id: str, task: asyncio.Task[None]) -> None:
        job = self._jobs.get(message_id)
        if job is not None and job.task is task:
            del self._jobs[message_id]
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "smpp_route_send_failed", device_id=self.device_id, id=message_id, exc_info=task.exception()
            )

    def _on_drop(self, frame: Frame) -> None:
        message_id = frame.get("id")
        if not isinstance(message_id, str):
            return
        job = self._jobs.get(message_id)
        if job is not None and job.started:
            return  # its `sent` or `failed` answers the drop
        if job is not None:
            job.task.cancel()
            self._jobs.pop(message_id, None)
        attempt = frame.get("attempt") if isinstance(frame.get("attempt"), int) else None
        task = asyncio.create_task(self._answer_drop(message_id, attempt))
        self._answers.add(task)  # held here: the loop keeps only a weak reference to a task
        task.add_done_callback(self._answers.discard)

    async def _answer_drop(self, message_id: str, attempt: int | None) -> None:
        written = await routes.written_parts(self.db, device_id=self.device_id, message_ids=[message_id])
        if written and any(part.state != "throttled" for part in written):
            await self._send_report(final_report(message_id, written))
        else:
            await self._send_report({"type": "dropped", "id": message_id, "attempt": attempt})

    # Sending.

    async def _send(self, offer: Frame) -> None:
        message_id = str(offer["id"])
        written = await routes.written_parts(self.db, device_id=self.device_id, message_ids=[message_id])
        if written and any(part.state != "throttled" for part in written):
            # Offered again after a submit_sm was written: never write it twice.
            await self._send_report(final_report(message_id, written))
            return
        try:
            data_coding, payloads = encode_parts(
                str(offer.get("message", "")), reference=next(self._references) % 256
            )
        except ValueError as error:
            await self._send_report({"type": "failed", "id": message_id, "reason": str(error)})
            return
        job = self._jobs[message_id]
        for index, payload in enumerate(payloads):
            failure = await self._send_part(
                message_id,
                job,
                index=index,
                total=len(payloads),
                data_coding=data_coding,
                payload=payload,
                phone=str(offer.get("phone_number", "")),
            )
            if failure is not None:
                await self._send_report(failure)
                return
        await self._send_report({"type": "sent", "id": message_id, "parts": len(payloads)})

    async def _send_part(
        self,
        message_id: str,
        job: _Job,
        *,
        index: int,
        total: int,
        data_coding: int,
        payload: bytes,
        phone: str,
    ) -> Frame | None:
        """Writes one part until the SMSC takes it; the report to send instead if it does not.
        Every part before this one was accepted, and this one was never written or throttled:
        nothing awaits an answer when this starts."""
        pdu = submit_sm(
            phone,
            source_addr=self.route.settings.source_addr,
            data_coding=data_coding,
            payload=payload,
            multipart=total > 1,
        )
        try:
            pdu.encode()
        except ValueError as error:  # a number too long for destination_addr
            return {"type": "failed", "id": message_id, "reason": str(error)}
        throttled = 0
        while True:
            await self._pace()
            client = self.client
            if client is None or client.closed.done():
                if index == 0:
                    # Nothing of it reached the SMSC (at most throttled): let it go.
                    return {"type": "dropped", "id": message_id, "attempt": job.attempt}
                return {
                    "type": "failed",
                    "id": message_id,
                    "reason": f"the SMSC link dropped after {index} of {total} parts",
                }
            job.started = True
            await routes.mark_written(
                self.db, device_id=self.device_id, message_id=message_id, part=index, parts_total=total
            )
            try:
                answer = await client.request(pdu)
            except LinkLost:
                return {"type": "failed", "id": message_id, "reason": MAY_HAVE_BEEN_SENT}
            status = answer.status
            if isinstance(answer, SubmitSmResp) and status == CommandStatus.ESME_ROK:
                await routes.mark_answered(
                    self.db,
                    device_id=self.device_id,
                    message_id=message_id,
                    part=index,
                    state="accepted",
                    smsc_id=answer.message_id,
                )
                return None
            if status in RETRY_LATER and throttled < self.options.throttle_tries:
                await routes.mark_answered(
                    self.db, device_id=self.device_id, message_id=message_id, part=index, state="throttled"
                )
                throttled += 1
                low, high = self.options.throttle
                await asyncio.sleep(min(high, low * 2.0 ** min(throttled - 1, 30)))
                continue
            await routes.mark_answered(
                self.db, device_id=self.device_id, message_id=message_id, part=index, state="rejected"
            )
            reason = f"the SMSC refused it: {describe_status(status)}"
            if index:
                reason += f" (after {index} of {total} parts were accepted)"
            return {"type": "failed", "id": message_id, "reason": reason}

    async def _pace(self) -> None:
        """At most `tps` submit_sm per second, parts of long SMS included."""
        tps = self.route.settings.tps
        if tps <= 0:
            return
        async with self._pace_lock:
            loop = asyncio.get_running_loop()
            wait = self._last_submit + 1.0 / tps - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_submit = loop.time()
