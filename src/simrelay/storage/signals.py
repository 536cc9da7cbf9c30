"""Wake-ups between server nodes: "account A has new SMS", "look at device D".

The node that accepts an SMS may not be the one its device is connected to. Signals carry
the news to every node within milliseconds: PostgreSQL LISTEN/NOTIFY, or Redis pub/sub
when Redis is configured; with neither (SQLite, one process) they stay in the process.
Signals are hints, never the truth: the database is, and every node also looks for work
on a timer, so a lost signal delays an SMS by at most one tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from redis.asyncio import Redis

from simrelay.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

CHANNEL = "simrelay_signals"
PAYLOAD_MAX = 7000
"""PostgreSQL refuses NOTIFY payloads of 8000 bytes or more."""
RETRY_SECONDS = 1.0

Handler = Callable[[str], None]


class Signals:
    """In-process signals; the base of the cross-node kinds."""

    def __init__(self) -> None:
        self.node = os.urandom(6).hex()
        self._on_work: list[Handler] = []
        self._on_device: list[Handler] = []
        self._outbox: set[str] = set()
        self._flushing: asyncio.Task[None] | None = None

    def subscribe(self, *, on_work: Handler, on_device: Handler) -> None:
        self._on_work.append(on_work)
        self._on_device.append(on_device)

    def work_arrived(self, account_id: str) -> None:
        self._deliver("w" + account_id)
        self._publish("w" + account_id)

    def device_changed(self, device_id: str) -> None:
        self._deliver("d" + device_id)
        self._publish("d" + device_id)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing

    def _deliver(self, item: str) -> None:
        handlers = self._on_work if item[0] == "w" else self._on_device
        for handler in handlers:
            handler(item[1:])

    def _receive(self, payload: str) -> None:
        node, _, items = payload.partition(" ")
        if node == self.node:
            return
        for item in items.split(","):
            if item:
                self._deliver(item)

    def _publish(self, item: str) -> None:
        """Coalesces: many sends in one event-loop turn make one message to the other nodes."""
        if not self.is_shared:
            return
        self._outbox.add(item)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)
        while self._outbox:
            items, size = [], len(self.node) + 1
            while self._outbox and size < PAYLOAD_MAX:
                item = self._outbox.pop()
                items.append(item)
                size += len(item) + 1
            try:
                await self._send(f"{self.node} {','.join(items)}")
            except Exception as exc:
                log.warning("signal_publish_failed", error=repr(exc))

    @property
    def is_shared(self) -> bool:
        return False

    async def _send(self, payload: str) -> None:
        raise NotImplementedError


class PostgresSignals(Signals):
    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._listener: asyncpg.Connection | None = None
        self._sender: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def is_shared(self) -> bool:
        return True

    async def start(self) -> None:
        # A database that is down at start must not stop the server (it serves /readyz 503):
        # listening starts, or starts again, in the background.
        try:
            await self._listen()
        except Exception as exc:
            log.warning("signals_listen_failed", error=repr(exc))
        self._watch = asyncio.create_task(self._keep_listening())

    async def _listen(self) -> None:
        self._listener = await asyncpg.connect(self._dsn)
        await self._listener.add_listener(CHANNEL, self._on_notify)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._receive(payload)

    async def _keep_listening(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            if self._listener is None or self._listener.is_closed():
                try:
                    await self._listen()
                    log.info("signals_listening_again")
                except Exception as exc:
                    log.warning("signals_listen_failed", error=repr(exc))

    async def _send(self, payload: str) -> None:
        if self._sender is None or self._sender.is_closed():
            self._sender = await asyncpg.connect(self._dsn)
        await self._sender.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def stop(self) -> None:
        await super().stop()
        if self._watch is not None:
            self._watch.cancel()
        for conn in (self._listener, self._sender):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()


class RedisSignals(Signals):
    def __init__(self, redis: Redis) -> None:
        super().__init__()
        self._redis = redis
        self._task: asyncio.Task[None] | None = None

    @property
    def is_shared(self) -> bool:
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(CHANNEL)
                async for message in pubsub.listen():
                    data = message.get("data")
                    self._receive(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("signals_listen_failed", error=repr(exc))
                await asyncio.sleep(RETRY_SECONDS)

    async def _send(self, payload: str) -> None:
        await self._redis.publish(CHANNEL, payload)

    async def stop(self) -> None:
        await super().stop()
        await cancel_and_wait(self._task)


def create_signals(database_url: str, redis: Redis | None) -> Signals:
    if redis is not None:
        return RedisSignals(redis)
    if database_url.startswith("postgresql"):
        return PostgresSignals(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return Signals()
