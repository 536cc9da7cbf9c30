"""`bench/smpp.py --receipts`: submit_sm with registered_delivery=1 over a transceiver bind while
simulated phones (bench/phones.py, as bench/devices.py drives them) take and deliver the SMS,
and the delay from each submit_sm_resp to the deliver_sm carrying its receipt.

The load is paced (`--receipt-rate` submit_sm/s over all sessions, the window bounding what is
in flight): past what the phones deliver end to end, receipts queue behind each other and the
delay measures the length of the run, not the path.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import benchlib as bl
import devices
from smpp_load import Load, Result, run_load
from smpp_setup import EMAIL, PASSWORD, SYSTEM_ID, prepare

RECEIPT_STATE = "DELIVERED"


@dataclass
class ReceiptPoint:
    store: str
    window: int
    sessions: int
    rate_asked: float
    rate: float
    submit_p50_ms: float
    submit_p99_ms: float
    receipts_wanted: int
    receipts: int
    receipt_p50_ms: float
    receipt_p99_ms: float
    states: dict[str, int]
    statuses: dict[str, int]
    before_response: int  # receipts read before their submit_sm_resp (another session): 0 ms
    errors: list[str] = field(default_factory=list)
    check_ok: bool = False
    line: str = ""


def receipt_point(store: str, window: int, args: argparse.Namespace, result: Result) -> ReceiptPoint:
    """Every timed submit accepted and its receipt back, DELIVERED, before the wait ran out."""
    states = Counter(result.receipt_states)
    received = len(result.receipt_latencies_ms)
    ok = (
        not result.errors
        and result.unanswered == 0
        and result.ok_total == result.sent
        and result.receipts_wanted > 0
        and received == result.receipts_wanted == states[RECEIPT_STATE]
    )
    point = ReceiptPoint(
        store=store,
        window=window,
        sessions=args.sessions,
        rate_asked=args.receipt_rate,
        rate=result.rate,
        submit_p50_ms=bl.percentile(result.latencies_ms, 50),
        submit_p99_ms=bl.percentile(result.latencies_ms, 99),
        receipts_wanted=result.receipts_wanted,
        receipts=received,
        receipt_p50_ms=bl.percentile(result.receipt_latencies_ms, 50),
        receipt_p99_ms=bl.percentile(result.receipt_latencies_ms, 99),
        states=dict(states),
        statuses=dict(result.statuses),
        before_response=result.receipts_before_response,
        errors=result.errors,
        check_ok=ok,
    )
    point.line = (
        f"simrelay receipts store={store} W={window} sessions={args.sessions} rate={args.receipt_rate:g}/s: "
        f"{point.rate:.0f} submit_sm/s submit p50={point.submit_p50_ms:.2f}ms "
        f"p99={point.submit_p99_ms:.2f}ms "
        f"receipts={received}/{result.receipts_wanted} resp->receipt p50={point.receipt_p50_ms:.2f}ms "
        f"p99={point.receipt_p99_ms:.2f}ms before_resp={point.before_response} states={dict(states)} "
        f"statuses={dict(result.statuses)} "
        f"({'ok' if ok else 'CHECK FAILED'}){' errors: ' + '; '.join(result.errors) if result.errors else ''}"
    )
    if result.receipts_wanted and not received:
        point.line += " (no receipt at all: does this server send deliver_sm receipts yet?)"
    return point


async def _measure(
    db: str, args: argparse.Namespace, env: dict[str, str], data_dir: Path
) -> list[ReceiptPoint]:
    server = bl.Server(env, data_dir, args.port)
    code = bl.last_json(bl.cli(env, data_dir, "device", "pair", EMAIL, "--uses", str(args.phones), "--json"))
    phones = devices.Phones(
        server.base_url,
        str(code["code"]),
        args.phones,
        log_path=data_dir / "phones.log",
        extra=["--events", ""],
    )
    points: list[ReceiptPoint] = []
    try:
        await asyncio.to_thread(server.start)
        await phones.start(lambda kind, at, value: None)
        await phones.wait_ready(120)
        bl.log(f"receipts {db}: {args.phones} phones connected")
        for window in args.windows:
            load = Load(
                host="127.0.0.1",
                port=args.smpp_port,
                system_id=SYSTEM_ID,
                password=PASSWORD,
                sessions=args.sessions,
                window=window,
                duration=args.duration,
                transceiver=True,
                registered_delivery=1,
                rate=args.receipt_rate,
                receipt_timeout=args.receipt_timeout,
            )
            point = receipt_point(db, window, args, await run_load(load))
            print(point.line, flush=True)
            points.append(point)
    finally:
        summary = await phones.stop()
        await asyncio.to_thread(server.stop)
        bl.log(f"receipts {db}: phones {summary}")
    return points


def bench_receipts(db: str, args: argparse.Namespace, tmp: Path) -> list[ReceiptPoint]:
    env, _ = prepare(db, args, tmp, device=False, extra=devices.SETTINGS)
    return asyncio.run(_measure(db, args, env, tmp / db))


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN: no receipt to time


def markdown(points: list[ReceiptPoint], args: argparse.Namespace) -> str:
    out = [
        f"Receipts: {args.phones} simulated phones (no delays), transceiver bind, registered_delivery=1, "
        f"{args.receipt_rate:g} submit_sm/s asked over {args.sessions} session(s) for {args.duration:g} s, "
        f"then up to {args.receipt_timeout:g} s for the last receipts. Delay: submit_sm_resp -> deliver_sm.",
        "",
        "| store | W | submit_sm/s | submit p50 / p99 ms | receipts | receipt p50 ms | receipt p99 ms | "
        "states | check |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        states = ", ".join(f"{k} {v}" for k, v in sorted(p.states.items())) or "-"
        out.append(
            f"| {p.store} | {p.window} | {p.rate:.0f} | {p.submit_p50_ms:.2f} / {p.submit_p99_ms:.2f} | "
            f"{p.receipts}/{p.receipts_wanted} | {_ms(p.receipt_p50_ms)} | {_ms(p.receipt_p99_ms)} | "
            f"{states} | {'ok' if p.check_ok else '**FAILED**'} |"
        )
    return "\n".join(out)
