"""The app as a connected device. The native protocol's session (devices/session.py) runs over
a MobileLink: the app's requests arrive there as native frames (a heartbeat per request, its
reports, what its webhooks tell), and what the session says to the device (offers, drops)
becomes server-sent events that make the app fetch. Silent for three heartbeat intervals (no
request, no open event stream), the session ends, as a native one does."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
import structlog

from simrelay.devices.dispatch import Dispatcher
from simrelay.devices.protocol import PROTOCOL
from simrelay.devices.session import CLOSE_GOING_AWAY, DeviceSession
from simrelay.sms import leases

log = structlog.get_logger(__name__)

EVENTS_BUFFERED = 8
"""Events waiting per stream; a stream that falls further behind misses some (every event
only makes the app fetch, so the next one makes up for it)."""
ATTACH_TIMEOUT = 5.0
STORE_TIMEOUT = 30.0
"""How long a request waits for its reports to be stored before it answers 503 (the app
sends them again)."""


class LinkClosed(Exception):
    """The session ended before it stored what a request said: answer so that the app retries."""


class MobileLink:
    def __init__(self) -> None:
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.streams: set[asyncio.Queue[str | None]] = set()
        self.closed = False
        self._seq = 0
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._hooks_announced = False

    # The Link protocol, as the session sees it.
    async def receive(self) -> str | None:
        return await self._inbox.get()

    async def send(self, text: str) -> None:
        frame = orjson.loads(text)
        kind = frame.get("type")
        if kind in ("ack", "error"):
            # The session answers a frame once its change is committed (an `error` is an
            # answer too: not this device's SMS, nothing to store).
            waiter = self._waiting.pop(frame.get("seq"), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif kind == "offer":
            self.notify("MessageEnqueued", None)
        elif kind == "drop":
            self.notify("MessageCancelled", {"messageId": frame["id"]})
        elif kind == "settings":
            self.notify("SettingsUpdated", None)

    async def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        self._inbox.put_nowait(None)
        for stream in self.streams:
            with contextlib.suppress(asyncio.QueueFull):
                stream.put_nowait(None)
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(LinkClosed())
        self._waiting.clear()

    # What the endpoints use.
    def put(self, frame: dict[str, Any]) -> None:
        self._inbox.put_nowait(orjson.dumps(frame).decode())

    async def store(self, frames: list[dict[str, Any]]) -> None:
        """Hands frames to the session and returns once each is stored (committed, webhook
        events included). Raises LinkClosed if the session ends first or takes too long."""
        if not frames:
            return
        if self.closed:
            raise LinkClosed
        loop = asyncio.get_running_loop()
        waiters: dict[int, asyncio.Future[None]] = {}
        for frame in frames:
            self._seq += 1
            waiters[self._seq] = self._waiting[self._seq] = loop.create_future()
            self.put({**frame, "seq": self._seq})
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                outcomes = await asyncio.gather(*waiters.values(), return_exceptions=True)
        except TimeoutError:
            for seq in waiters:
                self._waiting.pop(seq, None)
            raise LinkClosed from None
        if any(isinstance(outcome, BaseException) for outcome in outcomes):
            raise LinkClosed

    def notify(self, event: str, data: Any) -> None:
        text = _event(event, data)
        for stream in self.streams:
            with contextlib.suppress(asyncio.QueueFull):
                stream.put_nowait(text)

    def subscribe(self) -> asyncio.Queue[str | None]:
        stream: asyncio.Queue[str | None] = asyncio.Queue(EVENTS_BUFFERED)
        if not self._hooks_announced:
            # The first stream of a session (the app was away, or simrelay restarted): the app
            # fetches its webhook list again, in case simrelay's address or events changed.
            self._hooks_announced = True
            stream.put_nowait(_event("WebhooksUpdated", None))
        self.streams.add(stream)
        return stream


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {orjson.dumps(data).decode()}\n\n"


class MobileHub:
    """The live app sessions of this node, by device id."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._live: dict[str, tuple[DeviceSession, MobileLink]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def touch(self, device: Any, status: dict[str, Any] | None = None) -> tuple[MobileLink, bool]:
        """The device's link, after a heartbeat (with `status`: battery, charging, sims); a
        session is started if none is live. True if it was just started."""
        live = self._live.get(device.id)
        if live is not None and not live[1].closed:
            live[1].put({"type": "heartbeat", **(status or {})})
            return live[1], False
        link = MobileLink()
        session = DeviceSession(device, link, self.dispatcher)
        session.pulls = True
        # The app keeps what it fetched (its own database dedupes by id), so every lease the
        # device has continues: none is offered again as a new attempt.
        held = await self.dispatcher.db.read(
            lambda conn: [row.id for row in leases.leases_of(conn, device.id)]
        )
        link.put({"type": "hello", "protocol": PROTOCOL, "held": held, **(status or {})})
        self._live[device.id] = (session, link)
        task = asyncio.create_task(self._run(device.id, session, link))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        async with asyncio.timeout(ATTACH_TIMEOUT):
            while not session.ready and not link.closed:
                await asyncio.sleep(0.005)
        return link, True

    async def _run(self, device_id: str, session: DeviceSession, link: MobileLink) -> None:
        try:
            await session.run()
        finally:
            await link.close(CLOSE_GOING_AWAY)  # requests still waiting on it answer at once
            if self._live.get(device_id, (None, None))[1] is link:
                del self._live[device_id]

    def close(self, device_id: str) -> None:
        live = self._live.get(device_id)
        if live is not None:
            live[0].close(4001)

    async def stop(self) -> None:
        """This node is stopping: the sessions end (the apps' next request reaches a node that
        stays), then what they were offered and never fetched goes back to the queue."""
        sessions = [session for session, _ in self._live.values()]
        for session in sessions:
            session.close(CLOSE_GOING_AWAY)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        with contextlib.suppress(Exception):
            await self.dispatcher.hand_back(sessions)
