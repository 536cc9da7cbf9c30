"""Opening a modem's serial port (or a pty slave, which is a tty too) as an asyncio stream pair."""

from __future__ import annotations

import asyncio

from serial_asyncio_fast import open_serial_connection

from simrelay.modem.at import AtChannel, PortGone

DEFAULT_BAUDRATE = 115200


async def open_port(
    path: str, *, baudrate: int = DEFAULT_BAUDRATE
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Opens `path` 8N1 without flow control. USB modems ignore the rate; a UART SIM800 does not.
    Raises `PortGone` when the device is not there (unplugged, re-enumerated under a new name)."""
    try:
        return await open_serial_connection(url=path, baudrate=baudrate, rtscts=False, xonxoff=False)
    except OSError as error:  # pyserial's SerialException is an OSError
        raise PortGone(f"cannot open {path}: {error}") from error


async def open_channel(
    path: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout: float = 5.0, name: str | None = None
) -> AtChannel:
    """An `AtChannel` on `path`, started: close it with `await channel.close()`."""
    reader, writer = await open_port(path, baudrate=baudrate)
    channel = AtChannel(reader, writer, timeout=timeout, name=name or path)
    channel.start()
    return channel
