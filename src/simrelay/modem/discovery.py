"""Finding modems: the serial ports that may be one, and which modem (by IMEI) answers on a port.

A USB modem's port name is not its identity: after a re-enumeration /dev/ttyUSB2 may be
/dev/ttyUSB5, and a stick exposes several ports of which one or two speak AT. The IMEI is what
stays, so the host probes candidates with AT+CGSN and keeps the port whose IMEI it wants.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Callable, Iterable

import structlog

from simrelay.modem.at import AtTimeout, PortGone
from simrelay.modem.commands import Modem
from simrelay.modem.port import DEFAULT_BAUDRATE, open_channel
from simrelay.modem.readings import Timeouts
from simrelay.modem.results import AtError

log = structlog.get_logger(__name__)

DEFAULT_GLOBS = ("/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*")
"""udev's stable names first (they say the maker and serial), then the kernel's names."""
PROBE = Timeouts(command=1.0, send=1.0, ussd=1.0, read=1.0)
"""A port that is no AT port (diagnostics, NMEA, PPP) stays silent: give up on it quickly."""

Candidates = Callable[[], Iterable[str]]


def glob_candidates(patterns: Iterable[str] = DEFAULT_GLOBS) -> Candidates:
    """A candidate list from shell patterns, read anew on every call; a port that two patterns
    find (a by-id link and its ttyUSB) is listed once, under the first name."""
    patterns = tuple(patterns)

    def candidates() -> list[str]:
        seen: set[str] = set()
        found = []
        for pattern in patterns:
            for path in sorted(glob.glob(pattern)):
                real = os.path.realpath(path)
                if real not in seen:
                    seen.add(real)
                    found.append(path)
        return found

    return candidates


async def read_imei(path: str, *, baudrate: int = DEFAULT_BAUDRATE, timeouts: Timeouts = PROBE) -> str | None:
    """The IMEI of the modem answering AT on `path`; None if nothing there speaks AT."""
    try:
        channel = await open_channel(path, baudrate=baudrate, timeout=timeouts.command, name=path)
    except PortGone:
        return None
    try:
        modem = Modem(channel, timeouts=timeouts)
        await channel.command("AT")
        await channel.command("ATE0")
        return (await modem.identity()).imei or None
    except (AtTimeout, AtError, PortGone) as error:
        log.debug("modem_probe_no_answer", path=path, error=str(error))
        return None
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def find_modem(
    imei: str,
    *,
    candidates: Iterable[str],
    busy: set[str],
    baudrate: int = DEFAULT_BAUDRATE,
) -> str | None:
    """The first candidate port whose modem has this IMEI, left claimed in `busy`; None when none
    has (yet). `busy` holds the real paths the host's modems hold or probe: those are skipped, and
    each port is claimed there while it is probed, so the host's watch never opens it meanwhile."""
    for path in candidates:
        real = os.path.realpath(path)
        if real in busy or not os.path.exists(path):
            continue
        busy.add(real)
        found = False
        try:
            found = await read_imei(path, baudrate=baudrate) == imei
        finally:
            if not found:
                busy.discard(real)
        if found:
            return path
    return None
