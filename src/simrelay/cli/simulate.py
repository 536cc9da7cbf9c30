"""`simrelay device simulate`: pair N virtual phones with one code and run them until Ctrl-C,
printing a line per event and a summary at the end (see simrelay.agent.simulator)."""

from __future__ import annotations

import asyncio
import math
import signal
import time
from contextlib import suppress
from typing import Annotated

import httpx
import typer

from simrelay.agent.simulator import Fleet, Ledger, LedgerEvent, PairingError, SimulatorOptions

# Events printed, and how they are shown.
SHOWN = {
    "offer": "offer",
    "sent": "sent",
    "failed": "FAILED",
    "delivered": "delivered",
    "undelivered": "UNDELIVERED",
    "drop": "drop",
    "dropped": "dropped",
    "rejected": "rejected",
    "connected": "connected",
    "disconnected": "disconnected",
    "stopped": "STOPPED",
}


def parse_range(value: str, *, option: str = "--send-ms") -> tuple[int, int]:
    """`50..200` -> (50, 200); a single number N -> (N, N)."""
    low, dots, high = value.strip().partition("..")
    try:
        bounds = (int(low), int(high)) if dots else (int(low), int(low))
    except ValueError:
        raise typer.BadParameter(
            f"expected A..B in milliseconds, like 50..200, not {value!r}", param_hint=option
        ) from None
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise typer.BadParameter(f"expected 0 <= A <= B, not {value!r}", param_hint=option)
    return bounds


def short(identifier: str) -> str:
    """The last 6 characters: message ids share their leading (timestamp) digits."""
    return identifier[-6:] if len(identifier) > 6 else identifier


def format_event(event: LedgerEvent) -> str | None:
    label = SHOWN.get(event.kind)
    if label is None:
        return None
    stamp = time.strftime("%H:%M:%S")
    line = f"{stamp} phone {short(event.device_id)} {label:<12} {short(event.message_id):<6} {event.detail}"
    return line.rstrip()


def print_event(event: LedgerEvent) -> None:
    line = format_event(event)
    if line is not None:
        print(line, flush=True)


async def run_fleet(url: str, code: str, *, count: int, options: SimulatorOptions) -> dict[str, int]:
    """Pairs and runs the fleet until SIGINT/SIGTERM or until every phone stopped for good."""
    ledger = Ledger(listeners=[print_event])
    try:
        fleet = await Fleet.pair(url, code, count=count, options=options, ledger=ledger)
    except PairingError as exc:
        typer.echo(f"pairing refused: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {url}: {exc!r}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"paired {count} phone(s); running, Ctrl-C to stop")
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # Windows: Ctrl-C then ends asyncio.run instead
            loop.add_signal_handler(signum, interrupted.set)
    fleet.start()
    try:
        await ledger.wait_for(
            lambda: interrupted.is_set() or all(phone.stop_reason for phone in fleet.phones),
            timeout=math.inf,
        )
    finally:
        await fleet.stop()
    return fleet.stats()


def simulate(
    url: Annotated[str, typer.Option("--url", help="Server base URL, e.g. http://127.0.0.1:8000.")],
    code: Annotated[str, typer.Option("--code", help="Pairing code; it must allow --count uses.")],
    count: Annotated[int, typer.Option("--count", min=1, help="Phones to pair and run.")] = 1,
    send_ms: Annotated[
        str, typer.Option("--send-ms", help="Delay between taken and sent/failed, A..B milliseconds.")
    ] = "50..200",
    fail_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of sends that fail.")] = 0.0,
    undelivered_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of parts reported undelivered.")
    ] = 0.0,
    parts_from_length: Annotated[
        bool, typer.Option("--parts-from-length", help="Count parts from the text, not the offer.")
    ] = False,
    drop_after_take: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Chance the connection dies right after taken.")
    ] = 0.0,
    sims: Annotated[int, typer.Option(min=0, help="SIM slots each phone reports.")] = 1,
    refuse_after: Annotated[
        int,
        typer.Option(
            min=0, help="Each SIM's carrier refuses sends after N (Android's limit-exceeded); 0 never."
        ),
    ] = 0,
    ussd: Annotated[
        bool, typer.Option("--ussd/--no-ussd", help="Offer USSD and answer codes with a balance.")
    ] = True,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible runs.")] = None,
) -> None:
    """Pairs COUNT virtual phones with one code and runs them until Ctrl-C, then prints a summary."""
    options = SimulatorOptions(
        send_ms=parse_range(send_ms),
        fail_rate=fail_rate,
        undelivered_rate=undelivered_rate,
        parts_from_length=parts_from_length,
        drop_after_take=drop_after_take,
        sims=sims,
        refuse_after=refuse_after,
        ussd=ussd,
        seed=seed,
    )
    stats = asyncio.run(run_fleet(url, code, count=count, options=options))
    typer.echo("summary:")
    for key, value in stats.items():
        typer.echo(f"  {key}: {value}")
