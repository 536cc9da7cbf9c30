"""Simulated phones for bench/devices.py, in a process of their own so that the driver's CPU
(HTTP sends, bookkeeping) does not slow the phones down or delay their clocks.

    python bench/phones.py --url http://127.0.0.1:8013 --code ABCD-EFGH --count 50

Pairs `--count` phones with one code, connects them all, then writes to stdout one
tab-separated line per event: `<kind> <t> <message id>`, where `t` is `time.monotonic()` at
the moment the phone saw it (CLOCK_MONOTONIC: comparable between processes of one machine).
First `paired <t> <count>`, then `ready <t> <connected>` once every phone is connected (started
all at once, or `--ramp` a second), then
the events named by `--events`, and when stdin closes (or on SIGTERM) the phones stop and a
last line `summary <t> <JSON>` gives the fleet's counters and the ids sent more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
import time
from typing import TextIO

from simrelay.agent.simulator import Fleet, Ledger, LedgerEvent, SimulatorOptions

EVENTS = "offer,sent,failed,delivered,undelivered,rejected,drop"
FLUSH_SECONDS = 0.02


def milliseconds(value: str) -> tuple[int, int]:
    """`0..5` -> (0, 5); `3` -> (3, 3)."""
    low, _, high = value.partition("..")
    return int(low), int(high or low)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
    parser.add_argument("--code", required=True, help="a pairing code allowing at least --count uses")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--send-ms", type=milliseconds, default=(0, 0), help="A..B, taken -> sent")
    parser.add_argument("--delivery-ms", type=milliseconds, default=(0, 0), help="A..B, sent -> delivered")
    parser.add_argument("--events", default=EVENTS, help="event kinds written out; empty for none")
    parser.add_argument("--reconnect-min", type=float, default=1.0, help="seconds (the protocol's backoff)")
    parser.add_argument("--reconnect-max", type=float, default=60.0)
    parser.add_argument("--pair-concurrency", type=int, default=20)
    parser.add_argument("--connect-timeout", type=float, default=300.0, help="seconds for all to connect")
    parser.add_argument("--ramp", type=float, default=0.0, help="phones started per second (0: all at once)")
    return parser.parse_args()


class Output:
    """Buffers event lines and writes them every FLUSH_SECONDS: one write per burst, not per event."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lines: list[str] = []

    def add(self, kind: str, value: str, at: float | None = None) -> None:
        self.lines.append(f"{kind}\t{time.monotonic() if at is None else at:.6f}\t{value}\n")

    def flush(self) -> None:
        if self.lines:
            lines, self.lines = self.lines, []
            self.stream.write("".join(lines))
            self.stream.flush()

    async def keep_flushing(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()


def stop_on_stdin_end(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """The driver closes our stdin (or dies): stop. A thread, since stdin may be a pipe or a tty."""

    def wait() -> None:
        for _ in sys.stdin:
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, daemon=True).start()


async def run(args: argparse.Namespace) -> int:
    out = Output(sys.stdout)
    wanted = {kind for kind in args.events.split(",") if kind}
    ledger = Ledger()

    def on_event(event: LedgerEvent) -> None:
        if event.kind in wanted:
            out.add(event.kind, event.message_id)

    ledger.listeners.append(on_event)
    options = SimulatorOptions(
        send_ms=args.send_ms,
        delivery_delay_ms=args.delivery_ms,
        reconnect_min=args.reconnect_min,
        reconnect_max=args.reconnect_max,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stop_on_stdin_end(loop, stop)
    fleet = await Fleet.pair(
        args.url,
        args.code,
        count=args.count,
        options=options,
        ledger=ledger,
        concurrency=args.pair_concurrency,
    )
    out.add("paired", str(len(fleet.phones)))
    out.flush()
    flusher = asyncio.create_task(out.keep_flushing())
    try:
        for number, phone in enumerate(fleet.phones, 1):
            phone.start()
            if args.ramp > 0 and number % 10 == 0:
                await asyncio.sleep(10 / args.ramp)  # ten at a time: sleeps stay above the timer's grain
        await ledger.wait_for(
            lambda: all(phone.connected for phone in fleet.phones), timeout=args.connect_timeout
        )
        out.add("ready", str(len(fleet.phones)))
        await stop.wait()
    finally:
        flusher.cancel()
        await fleet.stop()
        stats = {**fleet.stats(), "duplicates": ledger.duplicates()}
        out.add("summary", json.dumps(stats))
        out.flush()
    return 0


def main() -> int:
    try:
        return asyncio.run(run(parse_args()))
    except TimeoutError as exc:
        print(f"error\t{time.monotonic():.6f}\t{exc}", flush=True)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
