"""The modem host: `ModemHost` runs every modem of this machine, each its own device
(`modem/device.py`), with one pairing code; with "auto" it also takes modems plugged in later
(`modem/watch.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from simrelay.agent._ledger import Ledger
from simrelay.modem.device import AUTO, HostError, HostOptions, ModemDevice
from simrelay.modem.state import StateFile
from simrelay.modem.watch import ModemWatch


class ModemHost:
    """Every modem of this host, each its own device. `start()` opens, identifies and pairs them
    (HostError if a named port cannot be used), then serves them until `stop()`; with "auto" it
    keeps watching for modems plugged in later. `on_join` is told of each device it serves."""

    def __init__(self, options: HostOptions, *, store: StateFile, ledger: Ledger | None = None) -> None:
        self.options = options
        self.store = store
        self.ledger = ledger
        self.on_join: Callable[[ModemDevice], None] = lambda device: None
        self.devices: list[ModemDevice] = []
        self.watch: ModemWatch | None = None
        self._busy: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._joined = asyncio.Event()

    async def start(self) -> None:
        named = [port for port in self.options.ports if port != AUTO]
        if not named and AUTO not in self.options.ports:
            raise HostError("no modem found (give --port PATH, or check /dev/serial/by-id)")
        async with httpx.AsyncClient(timeout=30.0) as http:
            for path in named:
                try:
                    await self._open(path, http)
                except BaseException:
                    await self._close_all()
                    raise
        for device in self.devices:
            self._serve(device)
        if AUTO in self.options.ports:
            self.watch = ModemWatch(
                candidates=self.options.search(),
                busy=self._busy,
                running=lambda: {device.imei for device in self.devices},
                paired=lambda imei: self.store.get(imei) is not None,
                can_pair=bool(self.options.code),
                join=self._join,
                every=self.options.scan_seconds,
                baudrate=self.options.baudrate,
            )
            await self.watch.rescan()
            self._tasks.append(asyncio.create_task(self.watch.run(), name="modem watch"))

    async def _open(self, path: str, http: httpx.AsyncClient) -> ModemDevice | None:
        """The modem on `path`, opened and in `devices`; None (closed, its port let go) if its IMEI
        is there already: another AT port of a modem taken. Raises what `ModemDevice.open` raises."""
        device = ModemDevice(
            path, options=self.options, store=self.store, busy=self._busy, ledger=self.ledger
        )
        taken = False
        try:
            await device.open(http)
            taken = all(other.imei != device.imei for other in self.devices)
        finally:
            if not taken:
                await device._close()
                self._busy.discard(device._held)
        if not taken:
            return None
        self.devices.append(device)
        return device

    async def _join(self, path: str) -> bool:
        """The watch's way in: opens the modem on `path` and serves it (False if its IMEI runs)."""
        async with httpx.AsyncClient(timeout=30.0) as http:
            device = await self._open(path, http)
        if device is not None:
            self._serve(device)
        return device is not None

    def _serve(self, device: ModemDevice) -> None:
        self._tasks.append(asyncio.create_task(device.run(), name=f"modem {device.imei}"))
        self._joined.set()
        self.on_join(device)

    async def wait(self) -> None:
        """Returns when every device stopped for good (a terminal close, such as a revoked token);
        with "auto", not before a first device joined, and one that joins meanwhile counts too."""
        while True:
            self._joined.clear()
            devices = list(self.devices)
            await asyncio.gather(*(device.link.wait() for device in devices if device.link is not None))
            if devices and not self._joined.is_set():
                return
            await self._joined.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._close_all()

    async def _close_all(self) -> None:
        for device in self.devices:
            await device._close()
