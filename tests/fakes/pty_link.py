"""`PtyLink`: the wire of a fake modem, a pty whose slave path the driver opens like /dev/ttyUSB0.

The fake keeps a slave descriptor open itself: with no slave open, reads on the master fail
with EIO, so a fake started before the driver (or between two opens) would see a dead line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable


class PtyLink:
    """Calls `on_data` with the bytes the driver writes; `send` writes to the driver."""

    def __init__(self, on_data: Callable[[bytes], None]) -> None:
        self._on_data = on_data
        self._master: int | None = None
        self._slave: int | None = None
        self.path = ""
        self.paths: list[str] = []  # every path this link has had, oldest first

    def open(self) -> str:
        """A new pty (a new path, as a re-enumerated USB modem gets); returns the slave path."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no line discipline: CR stays CR, nothing is echoed by the kernel
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        self.paths.append(self.path)
        asyncio.get_running_loop().add_reader(master, self._readable)
        return self.path

    @property
    def is_open(self) -> bool:
        return self._master is not None

    def send(self, data: bytes) -> None:
        if self._master is None:
            return  # vanished: the bytes go nowhere, as on an unplugged modem
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                continue  # the driver reads continuously; the pty buffer drains at once
            view = view[written:]

    def close(self) -> None:
        """Closes both ends: the driver's next read fails, as when a USB modem is pulled."""
        if self._master is None:
            return
        asyncio.get_running_loop().remove_reader(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if data:
            self._on_data(data)
