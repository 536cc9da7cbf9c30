"""Modems plugged in after start (`--port auto`): every few seconds `ModemWatch` probes the
candidate ports nobody holds for an IMEI, each port once while it stays plugged in (a few times
while it is new: a modem may not answer yet), and hands each new IMEI to the host, which resumes
it from the state file or pairs it, and serves it.

One device per IMEI, whoever looks: a port is probed or opened only by whoever first puts its
real path into the host's `busy` set (a running modem, a lost modem's search by IMEI, this watch),
so two never talk on one port at once. Only the watch adds devices after start, one at a time,
and never for an IMEI the host runs already, lost ones included (the host checks again after
opening, with no await before the device joins): a lost modem that reappears is left to its own
search, which takes the port as soon as the watch lets it go.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable

import httpx
import structlog

from simrelay.agent._pairing import PairingError
from simrelay.modem.discovery import Candidates, read_imei
from simrelay.modem.port import DEFAULT_BAUDRATE

log = structlog.get_logger(__name__)

STARTING_SECONDS = 30.0
"""A port this young may be a modem still starting (its USB ports come seconds before its AT
interpreter answers): a probe or a start that fails there is tried again at the next look."""

Node = tuple[int, int, int]
Join = Callable[[str], Awaitable[bool]]
"""Opens, resumes or pairs, and serves the modem on a port; False if its IMEI runs already."""


def node_of(path: str) -> Node | None:
    """What tells a device node from the one that had its name before: the kernel makes a new
    node, with a new ctime, when a device comes (a pty number reused too). None: nothing there."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_rdev, stat.st_ino, stat.st_ctime_ns)


class PortBook:
    """The ports the watch has settled (no modem there, a modem it does not start, another port
    of a modem that runs), by real path: not probed again until they are gone or replaced."""

    def __init__(self) -> None:
        self._settled: dict[str, Node] = {}

    def fresh(self, candidates: Iterable[str], *, busy: set[str]) -> list[str]:
        """The candidates worth a probe: present, not in `busy` (held or being probed) and not
        settled. Settled ports that are gone or replaced are forgotten."""
        present: dict[str, Node] = {}
        fresh = []
        for path in candidates:
            real = os.path.realpath(path)
            node = node_of(real)
            if node is None or real in present:
                continue
            present[real] = node
            if real not in busy and self._settled.get(real) != node:
                fresh.append(path)
        self._settled = {real: node for real, node in self._settled.items() if present.get(real) == node}
        return fresh

    def settle(self, path: str, *, unless_younger_than: float = 0.0) -> None:
        """Not worth a probe while it stays; unless its node is younger than that (seconds)."""
        real = os.path.realpath(path)
        node = node_of(real)
        if node is not None and time.time() - node[2] / 1e9 >= unless_younger_than:
            self._settled[real] = node


class ModemWatch:
    """Looks at the ports every `every` seconds (`rescan` once, `run` for ever) and starts the new
    modems through `join`. Never raises for a port or a modem: it logs and goes on."""

    def __init__(
        self,
        *,
        candidates: Candidates,
        busy: set[str],
        running: Callable[[], set[str]],
        paired: Callable[[str], bool],
        can_pair: bool,
        join: Join,
        every: float,
        baudrate: int = DEFAULT_BAUDRATE,
    ) -> None:
        self.book = PortBook()
        self.refused: dict[str, str] = {}
        """IMEI -> why it is not started (no pairing code, the code refused): said once, and the
        IMEI is not tried again by this process (neither can change while it runs)."""
        self._candidates = candidates
        self._busy = busy
        self._running = running
        self._paired = paired
        self._can_pair = can_pair
        self._join = join
        self._every = every
        self._baudrate = baudrate

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.rescan()

    async def rescan(self) -> None:
        """Probes each fresh port in turn and starts the new modem found on it."""
        for path in self.book.fresh(self._candidates(), busy=self._busy):
            real = os.path.realpath(path)
            if real in self._busy:
                continue  # a lost modem's search took it while the watch probed another port
            self._busy.add(real)
            joined = False
            try:
                joined = await self._look(path)
            except Exception as error:  # a modem that cannot be used must not end the watch
                log.warning("modem_not_started", path=path, error=str(error) or repr(error))
                self.book.settle(path, unless_younger_than=STARTING_SECONDS)
            finally:
                if not joined:
                    self._busy.discard(real)

    async def _look(self, path: str) -> bool:
        """Probes `path` and starts its modem if it is new; True if a modem now runs there."""
        imei = await read_imei(path, baudrate=self._baudrate)
        if imei is None:
            log.info("modem_watch_no_modem", path=path)
            self.book.settle(path, unless_younger_than=STARTING_SECONDS)
            return False
        if imei in self._running() or imei in self.refused:
            # Another AT port of a running modem, a lost modem back (its search takes the port),
            # or a modem already refused.
            log.debug("modem_watch_skipped", path=path, imei=imei)
        elif not self._paired(imei) and not self._can_pair:
            self._refuse(imei, path, "not paired yet: give a pairing code (--code)")
        else:
            try:
                joined = await self._join(path)
            except PairingError as error:
                if error.status >= 500 or error.status == 429:
                    log.warning("modem_join_retry", imei=imei, path=path, error=str(error))
                    return False
                self._refuse(imei, path, f"pairing refused: {error.code}: {error.message}")
            except httpx.HTTPError as error:  # the server is away: the next look pairs it
                log.warning("modem_join_retry", imei=imei, path=path, error=str(error) or repr(error))
                return False
            else:
                if joined:
                    log.info("modem_joined", imei=imei, path=path)
                    return True
        self.book.settle(path)
        return False

    def _refuse(self, imei: str, path: str, why: str) -> None:
        self.refused[imei] = why
        log.warning("modem_not_started", imei=imei, path=path, error=why)
