"""The watch for modems plugged in later, without ports: which paths it probes (each once while
it stays), which IMEIs it starts or refuses, and how it and a lost modem's search share ports."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from simrelay.agent._pairing import PairingError
from simrelay.modem import discovery, watch
from simrelay.modem.watch import ModemWatch, PortBook

RUNNING, KNOWN, NEW, OTHER = "867856030000001", "867856030000002", "867856030000003", "867856030000004"


def port(folder: Path, name: str) -> str:
    path = folder / name
    path.write_text("")
    return str(path)


def replace(path: str) -> None:
    """The device behind `path` is unplugged and another plugged in under the same name."""
    os.unlink(path)
    time.sleep(0.02)  # a new ctime even with a coarse clock
    Path(path).write_text("")


class Log:
    """Stands in for the module's structlog logger: keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **fields: self.lines.append((level, event, fields))

    def events(self, event: str) -> list[dict[str, Any]]:
        return [fields for _, name, fields in self.lines if name == event]


class Rig:
    """A watch over files standing for ports, whose IMEIs come from `imeis` (None: no modem)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, code: bool = True, starting: float = 0.0) -> None:
        self.imeis: dict[str, str | None] = {}
        self.probed: list[str] = []
        self.joined: list[str] = []
        self.busy: set[str] = set()
        self.join_error: BaseException | None = None
        self.log = Log()
        self.watch = ModemWatch(
            candidates=lambda: list(self.imeis),
            busy=self.busy,
            running=lambda: {RUNNING},
            paired=lambda imei: imei == KNOWN,
            can_pair=code,
            join=self.join,
            every=5.0,
        )

        async def read_imei(path: str, *, baudrate: int) -> str | None:
            self.probed.append(path)
            assert os.path.realpath(path) in self.busy, "probed without claiming the port"
            return self.imeis[path]

        monkeypatch.setattr(watch, "read_imei", read_imei)
        monkeypatch.setattr(watch, "log", self.log)
        # The files here are a moment old; the patience with new ports has its own tests.
        monkeypatch.setattr(watch, "STARTING_SECONDS", starting)

    async def join(self, path: str) -> bool:
        self.joined.append(path)
        if self.join_error is not None:
            raise self.join_error
        return True


def test_fresh_ports_are_present_unclaimed_and_not_settled(tmp_path: Path) -> None:
    book = PortBook()
    a, b, c = (port(tmp_path, name) for name in "abc")
    link = tmp_path / "by-id-a"
    link.symlink_to(a)
    candidates = [str(link), a, b, c, str(tmp_path / "gone")]
    assert book.fresh(candidates, busy={os.path.realpath(b)}) == [str(link), c]
    book.settle(c)
    assert book.fresh(candidates, busy=set()) == [str(link), b]


def test_a_settled_port_is_fresh_again_once_replaced_or_gone_and_back(tmp_path: Path) -> None:
    book = PortBook()
    a, b = port(tmp_path, "a"), port(tmp_path, "b")
    book.settle(a)
    book.settle(b)
    assert book.fresh([a, b], busy=set()) == []
    replace(a)  # unplugged and plugged in between two looks
    assert book.fresh([a, b], busy=set()) == [a]
    assert book.fresh([a], busy=set()) == [a]  # b is not listed (gone): forgotten
    assert book.fresh([a, b], busy=set()) == [a, b]


def test_a_port_younger_than_asked_is_not_settled(tmp_path: Path) -> None:
    book = PortBook()
    a = port(tmp_path, "a")
    book.settle(a, unless_younger_than=60.0)
    assert book.fresh([a], busy=set()) == [a]
    book.settle(a, unless_younger_than=0.0)
    assert book.fresh([a], busy=set()) == []


async def test_a_modem_still_starting_is_taken_at_a_later_look(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch, starting=watch.STARTING_SECONDS)
    booting = port(tmp_path, "booting")
    rig.imeis = {booting: None}  # its USB ports are there, its AT interpreter not yet
    await rig.watch.rescan()
    await rig.watch.rescan()
    rig.imeis[booting] = NEW
    await rig.watch.rescan()
    assert rig.probed == [booting] * 3 and rig.joined == [booting]


async def test_a_port_that_stays_silent_is_left_alone_once_it_is_no_longer_new(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch, starting=0.3)
    gps = port(tmp_path, "gps")
    rig.imeis = {gps: None}
    await rig.watch.rescan()
    await rig.watch.rescan()
    await asyncio.sleep(0.3)
    await rig.watch.rescan()
    await rig.watch.rescan()
    assert rig.probed == [gps] * 3


async def test_a_new_modem_is_joined_and_keeps_its_port_claimed(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch)
    new, known = port(tmp_path, "new"), port(tmp_path, "known")
    rig.imeis = {new: NEW, known: KNOWN}
    await rig.watch.rescan()
    assert rig.joined == [new, known]
    assert rig.busy == {os.path.realpath(new), os.path.realpath(known)}
    await rig.watch.rescan()
    assert rig.probed == [new, known]  # held by their devices now


async def test_no_modem_and_a_running_imei_are_probed_once_and_left_alone(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch)
    gps, second = port(tmp_path, "gps"), port(tmp_path, "second")
    rig.imeis = {gps: None, second: RUNNING}
    for _ in range(3):
        await rig.watch.rescan()
    assert rig.probed == [gps, second]
    assert rig.joined == [] and rig.busy == set()
    replace(gps)
    await rig.watch.rescan()
    assert rig.probed == [gps, second, gps]


async def test_a_port_claimed_by_a_search_is_not_probed(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch)
    new = port(tmp_path, "new")
    rig.imeis = {new: NEW}
    rig.busy.add(os.path.realpath(new))
    await rig.watch.rescan()
    assert rig.probed == [] and rig.joined == []


async def test_an_unpaired_modem_without_a_code_is_refused_once(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch, code=False)
    new, again, known = port(tmp_path, "new"), port(tmp_path, "new-if2"), port(tmp_path, "known")
    rig.imeis = {new: NEW, again: NEW, known: KNOWN}
    await rig.watch.rescan()
    replace(new)
    await rig.watch.rescan()
    assert rig.joined == [known]  # resumed from the state file, no code needed
    assert rig.watch.refused == {NEW: "not paired yet: give a pairing code (--code)"}
    assert [fields["imei"] for fields in rig.log.events("modem_not_started")] == [NEW]
    assert rig.busy == {os.path.realpath(known)}


async def test_a_refused_pairing_code_is_said_once_per_imei(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch)
    new, other = port(tmp_path, "new"), port(tmp_path, "other")
    rig.imeis = {new: NEW, other: OTHER}
    rig.join_error = PairingError(400, "invalid_code", "unknown, expired or used-up pairing code")
    await rig.watch.rescan()
    replace(new)
    await rig.watch.rescan()
    assert rig.joined == [new, other]
    assert set(rig.watch.refused) == {NEW, OTHER}
    assert "used-up" in rig.watch.refused[NEW]
    assert sorted(fields["imei"] for fields in rig.log.events("modem_not_started")) == [NEW, OTHER]
    assert rig.busy == set()


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("connection refused"), PairingError(503, "unavailable", "try later")],
    ids=["unreachable", "server_error"],
)
async def test_a_pairing_that_could_not_reach_the_server_is_tried_at_the_next_look(
    tmp_path, monkeypatch, error
) -> None:
    rig = Rig(monkeypatch)
    new = port(tmp_path, "new")
    rig.imeis = {new: NEW}
    rig.join_error = error
    await rig.watch.rescan()
    assert rig.busy == set() and rig.watch.refused == {}
    rig.join_error = None
    await rig.watch.rescan()
    assert rig.joined == [new, new]
    assert rig.busy == {os.path.realpath(new)}
    assert len(rig.log.events("modem_join_retry")) == 1


async def test_a_modem_that_fails_to_start_is_logged_and_left_until_replugged(tmp_path, monkeypatch) -> None:
    rig = Rig(monkeypatch)
    pin, new = port(tmp_path, "pin"), port(tmp_path, "new")
    rig.imeis = {pin: OTHER}
    rig.join_error = RuntimeError("pin: SIM wants 'SIM PIN'")
    await rig.watch.rescan()
    rig.join_error = None
    rig.imeis[new] = NEW
    await rig.watch.rescan()  # the failure ended neither this look nor the watch
    assert rig.joined == [pin, new]
    assert rig.log.events("modem_not_started") == [{"path": pin, "error": "pin: SIM wants 'SIM PIN'"}]
    assert os.path.realpath(pin) not in rig.busy
    replace(pin)
    await rig.watch.rescan()
    assert rig.joined == [pin, new, pin]


async def test_find_modem_claims_each_port_while_it_probes_it(tmp_path, monkeypatch) -> None:
    ports = {port(tmp_path, name): imei for name, imei in (("a", OTHER), ("b", NEW), ("c", RUNNING))}
    a, b, c = ports
    busy = {os.path.realpath(c)}
    claimed: list[str] = []

    async def read_imei(path: str, *, baudrate: int) -> str:
        assert os.path.realpath(path) in busy
        claimed.append(path)
        return ports[path]

    monkeypatch.setattr(discovery, "read_imei", read_imei)
    assert await discovery.find_modem(RUNNING, candidates=[c, a, b], busy=busy) is None
    assert claimed == [a, b] and busy == {os.path.realpath(c)}
    assert await discovery.find_modem(NEW, candidates=[a, b], busy=busy) == b
    assert busy == {os.path.realpath(c), os.path.realpath(b)}
