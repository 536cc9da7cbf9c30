"""What devices tell the server, stored with group commit: message reports, status updates
(hello, heartbeat), received SMS and USSD answers from every connected device share
transactions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from simrelay.devices import ussd
from simrelay.devices.presence import release_connection, store_device_status
from simrelay.inbox import service as inbox
from simrelay.sms.reports import Applied, Report, ReportBatch
from simrelay.storage.batch import BatchWriter
from simrelay.storage.database import Database


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    device_id: str
    values: dict[str, Any]
    release: str | None = None
    """A session that ended: its connection id is cleared, unless a newer session's replaced it."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """An SMS the device received."""

    account_id: str
    device_id: str
    external_id: str
    phone_number: str
    message: str
    received_at: int
    sim: int | None


@dataclass(frozen=True, slots=True)
class UssdAnswer:
    device_id: str
    request_id: str
    status: ussd.UssdStatus
    response: str


Item = Report | DeviceUpdate | Incoming | UssdAnswer
Outcome = Applied | bool


class ReportWriter:
    def __init__(self, db: Database, *, max_attempts: int) -> None:
        self._max_attempts = max_attempts
        self._writer: BatchWriter[Item, Outcome] = BatchWriter(db, self._store, name="device-reports")

    def start(self) -> None:
        self._writer.start()

    async def stop(self) -> None:
        await self._writer.stop()

    async def report(self, report: Report) -> Applied:
        outcome = await self._writer.submit(report)
        assert isinstance(outcome, Applied)
        return outcome

    async def update_device(
        self, device_id: str, values: dict[str, Any], *, release: str | None = None
    ) -> None:
        await self._writer.submit(DeviceUpdate(device_id, values, release))

    async def receive(self, incoming: Incoming) -> bool:
        """True if the SMS is new (not a repeated report)."""
        return bool(await self._writer.submit(incoming))

    async def answer_ussd(self, answer: UssdAnswer) -> bool:
        """False if the device has no such request."""
        return bool(await self._writer.submit(answer))

    def _store(self, conn: Connection, items: list[Item]) -> list[Outcome | BaseException]:
        now = time.time()
        reports = ReportBatch(
            conn,
            {item.message_id for item in items if isinstance(item, Report)},
            now=now,
            max_attempts=self._max_attempts,
        )
        outcomes: list[Outcome | BaseException] = []
        for item in items:
            if isinstance(item, Report):
                outcomes.append(reports.apply(item))
            elif isinstance(item, DeviceUpdate):
                store_device_status(conn, item.device_id, item.values, now=now)
                if item.release is not None:
                    release_connection(conn, item.device_id, item.release)
                outcomes.append(True)
            elif isinstance(item, UssdAnswer):
                outcomes.append(
                    ussd.store_result(
                        conn,
                        device_id=item.device_id,
                        request_id=item.request_id,
                        status=item.status,
                        response=item.response,
                        now=now,
                    )
                )
            else:
                outcomes.append(
                    inbox.store_received(
                        conn,
                        account_id=item.account_id,
                        device_id=item.device_id,
                        external_id=item.external_id,
                        phone_number=item.phone_number,
                        message=item.message,
                        received_at=item.received_at,
                        sim=item.sim,
                        now=now,
                    )
                )
        reports.finish()
        return outcomes
