"""MobileLink, the app's requests as a session's link: `store` hands frames to the session with
a `seq` each and returns only once every seq is answered (`ack` or `error`), refuses with
LinkClosed when the link closes first, is already closed or the answers take too long; what the
session sends (offer, drop, settings) becomes server-sent events on every subscribed stream,
and a link's first stream is told to fetch its webhooks."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from simrelay.mobile import link as link_module
from simrelay.mobile.link import LinkClosed, MobileLink

ID = "65f0c1e2a1b2c3d4e5f60720"
REPORTS: list[dict[str, Any]] = [
    {"type": "taken", "id": ID},
    {"type": "sent", "id": ID, "parts": 1},
    {"type": "delivery", "id": ID, "part": 0, "parts": 1, "delivered": True},
]
OFFER = {
    "type": "offer",
    "id": ID,
    "phone_number": "79990001122",
    "message": "Your code is 4711",
    "sim": None,
    "encoding": "gsm7",
    "parts": 1,
    "lease_seconds": 60,
    "attempt": 1,
}


async def received(link: MobileLink, count: int) -> list[dict[str, Any]]:
    """The next `count` frames the session would read, bounded in time."""
    frames = []
    for _ in range(count):
        text = await asyncio.wait_for(link.receive(), 1)
        assert text is not None
        frames.append(orjson.loads(text))
    return frames


async def answer(link: MobileLink, kind: str, seq: int) -> None:
    if kind == "ack":
        await link.send(orjson.dumps({"type": "ack", "seq": seq}).decode())
    else:
        frame = {"type": "error", "seq": seq, "code": "not_leased", "message": "not this device's"}
        await link.send(orjson.dumps(frame).decode())


def event(text: str | None) -> tuple[str, Any]:
    """An SSE item as (event name, decoded data)."""
    assert text is not None and text.endswith("\n\n"), text
    name_line, data_line = text.rstrip("\n").split("\n")
    assert name_line.startswith("event: ") and data_line.startswith("data: "), text
    return name_line.removeprefix("event: "), orjson.loads(data_line.removeprefix("data: "))


@pytest.mark.parametrize("kind", ["ack", "error"])
async def test_store_returns_only_after_every_seq_is_answered(kind: str) -> None:
    link = MobileLink()
    log: list[object] = []

    async def session() -> list[dict[str, Any]]:
        frames = await received(link, len(REPORTS))
        for frame in frames:
            await asyncio.sleep(0.02)
            log.append(("answered", frame["seq"]))
            await answer(link, kind, frame["seq"])
        return frames

    async def storing() -> None:
        await link.store(REPORTS)
        log.append("stored")

    frames, _ = await asyncio.wait_for(asyncio.gather(session(), storing()), 5)
    assert frames == [{**report, "seq": seq} for seq, report in enumerate(REPORTS, start=1)]
    assert log == [("answered", 1), ("answered", 2), ("answered", 3), "stored"]


async def test_answers_in_any_order_and_unknown_seqs_are_ignored() -> None:
    link = MobileLink()
    storing = asyncio.create_task(link.store(REPORTS[:2]))
    await received(link, 2)
    await answer(link, "ack", 99)  # no such seq: answers nothing
    await answer(link, "error", 2)
    await asyncio.sleep(0.02)
    assert not storing.done()
    await answer(link, "ack", 1)
    await asyncio.wait_for(storing, 1)


async def test_each_store_numbers_its_frames_after_the_last() -> None:
    link = MobileLink()
    for first_seq in (1, 3):
        storing = asyncio.create_task(link.store(REPORTS[:2]))
        frames = await received(link, 2)
        assert [frame["seq"] for frame in frames] == [first_seq, first_seq + 1]
        for frame in frames:
            await answer(link, "ack", frame["seq"])
        await asyncio.wait_for(storing, 1)


async def test_closing_while_waiting_raises_link_closed() -> None:
    link = MobileLink()
    storing = asyncio.create_task(link.store(REPORTS))
    frames = await received(link, len(REPORTS))
    await answer(link, "ack", frames[0]["seq"])
    await asyncio.sleep(0.02)
    assert not storing.done()
    await link.close(1001)
    with pytest.raises(LinkClosed):
        await asyncio.wait_for(storing, 1)
    assert link.closed
    assert await asyncio.wait_for(link.receive(), 1) is None  # the session is told to end


async def test_a_closed_link_refuses_at_once_and_queues_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link_module, "STORE_TIMEOUT", 60.0)
    link = MobileLink()
    await link.close(1001)
    assert await link.receive() is None
    # Not at once, the wait_for would raise TimeoutError instead.
    with pytest.raises(LinkClosed):
        await asyncio.wait_for(link.store(REPORTS), 0.5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(link.receive(), 0.05)


async def test_unanswered_past_the_store_timeout_raises_link_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link_module, "STORE_TIMEOUT", 0.05)
    link = MobileLink()
    with pytest.raises(LinkClosed):
        await asyncio.wait_for(link.store(REPORTS), 5)
    assert not link.closed
    # A late answer is harmless, and the link still stores.
    await answer(link, "ack", 1)
    await received(link, len(REPORTS))
    storing = asyncio.create_task(link.store(REPORTS[:1]))
    (frame,) = await received(link, 1)
    await answer(link, "ack", frame["seq"])
    await asyncio.wait_for(storing, 1)


async def test_storing_nothing_returns_without_a_session() -> None:
    link = MobileLink()
    await asyncio.wait_for(link.store([]), 0.5)
    await link.close(1001)
    await asyncio.wait_for(link.store([]), 0.5)


async def test_only_the_first_stream_of_a_link_is_told_to_fetch_its_webhooks() -> None:
    link = MobileLink()
    first, second = link.subscribe(), link.subscribe()
    assert event(first.get_nowait()) == ("WebhooksUpdated", None)
    assert first.empty() and second.empty()
    assert link.streams == {first, second}


async def test_offer_drop_and_settings_become_events_on_every_stream() -> None:
    link = MobileLink()
    streams = [link.subscribe(), link.subscribe()]
    streams[0].get_nowait()  # WebhooksUpdated
    await link.send(orjson.dumps(OFFER).decode())
    drop = {"type": "drop", "id": ID, "reason": "deleted", "attempt": 1}
    await link.send(orjson.dumps(drop).decode())
    await link.send('{"type": "settings"}')
    for stream in streams:
        assert [event(stream.get_nowait()) for _ in range(3)] == [
            ("MessageEnqueued", None),
            ("MessageCancelled", {"messageId": ID}),
            ("SettingsUpdated", None),
        ]
        assert stream.empty()


async def test_answers_are_not_events_and_closing_ends_every_stream() -> None:
    link = MobileLink()
    streams = [link.subscribe(), link.subscribe()]
    streams[0].get_nowait()  # WebhooksUpdated
    await link.send('{"type": "ack", "seq": 1}')
    await link.send('{"type": "error", "seq": 2, "code": "not_leased", "message": "x"}')
    assert all(stream.empty() for stream in streams)
    await link.close(1001)
    assert [stream.get_nowait() for stream in streams] == [None, None]
