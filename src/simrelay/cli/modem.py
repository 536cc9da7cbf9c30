"""`simrelay modem run | probe`: USB GSM modems as devices (see simrelay.modem.host, docs/modems.md).

Exit codes: 0 done, 1 refused (pairing code, no code for a new modem), 3 the port cannot be
opened, 4 the modem does not answer AT, 5 the modem cannot be set up (SIM PIN, neither PDU nor text mode).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import time
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from simrelay.agent._pairing import PairingError
from simrelay.agent.simulator import Ledger, LedgerEvent
from simrelay.log import configure_logging
from simrelay.modem.at import AtTimeout, PortGone
from simrelay.modem.commands import Modem
from simrelay.modem.device import AUTO, HostError, HostOptions, ports_of
from simrelay.modem.discovery import DEFAULT_GLOBS
from simrelay.modem.host import ModemHost
from simrelay.modem.port import DEFAULT_BAUDRATE, open_channel
from simrelay.modem.radio import RadioOptions
from simrelay.modem.readings import ModemSetupError, Timeouts
from simrelay.modem.results import AtError
from simrelay.modem.state import StateFile

app = typer.Typer(no_args_is_help=True)

EXIT_REFUSED, EXIT_NO_PORT, EXIT_NO_ANSWER, EXIT_SETUP = 1, 3, 4, 5
SHOWN = ("connected", "disconnected", "stopped", "sent", "failed", "delivered", "undelivered", "dropped",
         "received", "ussd_done", "ussd_error", "modem_down", "modem_up", "sim_failing",
         "sim_rested")  # fmt: skip


def default_state_path() -> Path:
    return Path(os.environ.get("SIMRELAY_MODEM_STATE") or Path.home() / ".local/state/simrelay/modems.json")


def print_event(event: LedgerEvent) -> None:
    if event.kind in SHOWN:
        stamp = time.strftime("%H:%M:%S")
        what = f"{event.kind:<12} {event.message_id[-8:]:<8} {event.detail}"
        typer.echo(f"{stamp} device {event.device_id[-6:]} {what}".rstrip())


async def run_host(options: HostOptions, store: StateFile) -> None:
    ledger = Ledger(listeners=[print_event])
    host = ModemHost(options, store=store, ledger=ledger)
    host.on_join = lambda device: typer.echo(
        f"modem {device.imei} on {device.path}: device {device.device_id}"
    )
    try:
        await host.start()
    except PairingError as error:
        typer.echo(f"pairing refused: {error.code}: {error.message}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach {options.url}: {error!r}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    except HostError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    if host.watch is not None and not host.devices:
        where, every = ", ".join(options.port_globs), f"{options.scan_seconds:g}"
        typer.echo(f"no modem running yet: waiting for modems under {where} (a look every {every} s)")
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(signum, interrupted.set)
    ended = asyncio.create_task(host.wait())
    try:
        await ledger.wait_for(lambda: interrupted.is_set() or ended.done(), timeout=math.inf)
    finally:
        ended.cancel()
        await host.stop()
    for device in host.devices:
        if device.link is not None and device.link.stop_reason:
            typer.echo(f"modem {device.imei}: stopped: {device.link.stop_reason}", err=True)


@app.command()
def run(
    url: Annotated[str, typer.Option("--url", help="Server base URL, e.g. https://sms.example.com.")],
    port: Annotated[
        list[str], typer.Option("--port", help="Serial port of a modem (repeat for more), or 'auto'.")
    ],
    code: Annotated[
        str | None, typer.Option("--code", help="Pairing code for modems not paired yet (--uses N for N).")
    ] = None,
    baud: Annotated[int, typer.Option("--baud", min=300, help="Baud rate (USB modems ignore it).")] = (
        DEFAULT_BAUDRATE
    ),
    pin: Annotated[str | None, typer.Option("--pin", help="SIM PIN, if the SIMs ask for one.")] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state", help="State file [default: $SIMRELAY_MODEM_STATE or ~/.local/state/simrelay]."
        ),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Device name prefix (the IMEI's end is added).")] = "",
    port_glob: Annotated[
        list[str] | None,
        typer.Option("--port-glob", help="Where --port auto and lost modems are looked for."),
    ] = None,
    failing_after: Annotated[
        int, typer.Option("--failing-after", min=1, help="Send errors in a row that mark a SIM failing.")
    ] = 5,
    scan_every: Annotated[
        float,
        typer.Option("--scan-every", min=0.1, help="With --port auto, seconds between looks for new modems."),
    ] = 5.0,
) -> None:
    """Pairs each modem as its own device and runs them until Ctrl-C."""
    configure_logging("INFO")
    options = HostOptions(
        url=url,
        ports=ports_of(port) or (AUTO,),
        code=code,
        port_globs=tuple(port_glob) if port_glob else DEFAULT_GLOBS,
        baudrate=baud,
        pin=pin,
        name=name,
        radio=RadioOptions(failing_after=failing_after),
        scan_seconds=scan_every,
    )
    path = state or default_state_path()
    try:
        store = StateFile.load(path)
    except (OSError, ValueError) as error:
        typer.echo(f"error: cannot read the state file {path}: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    asyncio.run(run_host(options, store))


async def probe_modem(path: str, *, baudrate: int, pin: str | None) -> dict[str, Any]:
    channel = await open_channel(path, baudrate=baudrate, timeout=3.0)
    try:
        modem = Modem(channel, timeouts=Timeouts(command=3.0, read=10.0))
        setup = await modem.initialize(pin)
        identity = await modem.identity()
        operator = await modem.operator()
        signal_ = await modem.signal()
        memory = setup.memory
        return {
            "port": path,
            "imei": identity.imei,
            "imsi": identity.imsi,
            "iccid": identity.iccid,
            "manufacturer": identity.manufacturer,
            "model": identity.model,
            "operator": operator.name if operator else None,
            "signal_rssi": signal_.rssi,
            "signal_dbm": signal_.rssi_dbm,
            "sms_memory": {"storage": memory.storage, "used": memory.used, "total": memory.total}
            if memory
            else None,
            "status_reports": "stored (+CDSI)" if setup.status_reports_stored else "direct (+CDS)",
            "sms_mode": str(setup.mode),
        }
    finally:
        await channel.close()


@app.command()
def probe(
    port: Annotated[str, typer.Option("--port", help="Serial port of the modem.")],
    baud: Annotated[int, typer.Option("--baud", min=300, help="Baud rate.")] = DEFAULT_BAUDRATE,
    pin: Annotated[str | None, typer.Option("--pin", help="SIM PIN, if the SIM asks for one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Prints what the modem reports (IMEI, IMSI, ICCID, operator, signal, SMS memory); pairs nothing."""
    configure_logging("WARNING")  # on stderr: stdout is the answer (JSON with --json)
    try:
        found = asyncio.run(probe_modem(port, baudrate=baud, pin=pin))
    except PortGone as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_NO_PORT) from None
    except AtTimeout as error:
        typer.echo(f"error: {port}: the modem does not answer ({error})", err=True)
        raise typer.Exit(EXIT_NO_ANSWER) from None
    except (ModemSetupError, AtError) as error:
        typer.echo(f"error: {port}: {error}", err=True)
        raise typer.Exit(EXIT_SETUP) from None
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    for key, value in found.items():
        if key == "sms_memory" and value:
            value = f"{value['storage']} {value['used']}/{value['total']}"
        if key == "signal_dbm" and value is not None:
            value = f"{value} dBm"
        typer.echo(f"{key + ':':<16}{'unknown' if value is None else value}")
