"""`bench/smpp.py --route`: SMS/s through an SMPP route, simrelay binding out as an ESME to
../shared/bench-peers/smpp_sim.py (which acknowledges every submit_sm and counts it).

The SMS come in over simrelay's own SMPP server (bench/smpp_load.py, the same load as the
throughput points), so the path measured is SMPP in -> stored -> dispatched to the route's device
-> submit_sm out -> submit_sm_resp, the same path as Jasmin's from its SMPP server to smpp_sim.py.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import benchlib as bl
import smpp_peers
from smpp_load import Result, run_load
from smpp_setup import EMAIL, PASSWORD, SYSTEM_ID, load_of, prepare, warm_up

LOAD_CAP_SECONDS = 300.0
"""A bound on one point's load: it ends after --route-sms submit_sm, long before this."""
ROUTE_UP_SECONDS = 60.0
"""A route binds within a second or two of `serve`; past this the run fails."""


@dataclass
class RoutePoint:
    store: str
    window: int
    route_window: int
    accepted: int
    delivered: int
    load_s: float
    drain_s: float
    accept_rate: float
    end_to_end_rate: float
    statuses: dict[str, int]
    errors: list[str] = field(default_factory=list)
    check_ok: bool = False
    line: str = ""


def route_point(
    store: str,
    window: int,
    args: argparse.Namespace,
    results: list[Result],
    *,
    delivered: int,
    load_s: float,
    drain_s: float,
) -> RoutePoint:
    """Every submit accepted, and exactly as many submit_sm reached smpp_sim.py."""
    accepted = sum(r.ok_total for r in results)
    statuses: dict[str, int] = {}
    for result in results:
        for name, count in result.statuses.items():
            statuses[name] = statuses.get(name, 0) + count
    errors = [e for r in results for e in r.errors]
    sent = sum(r.sent for r in results)
    ok = not errors and accepted == sent and delivered == accepted
    point = RoutePoint(
        store=store,
        window=window,
        route_window=args.route_window,
        accepted=accepted,
        delivered=delivered,
        load_s=round(load_s, 1),
        drain_s=drain_s,
        accept_rate=accepted / load_s if load_s > 0 else 0.0,
        end_to_end_rate=delivered / (load_s + drain_s) if load_s + drain_s > 0 else 0.0,
        statuses=statuses,
        errors=errors,
        check_ok=ok,
    )
    point.line = (
        f"simrelay route store={store} W={window} route window={args.route_window}: "
        f"{point.end_to_end_rate:.0f} SMS/s end to end ({delivered} delivered in {load_s:.1f}s load + "
        f"{drain_s:g}s drain), submit_sm accepted {point.accept_rate:.0f}/s, statuses={statuses} "
        f"delivered={delivered}/accepted={accepted} ({'ok' if ok else 'CHECK FAILED'})"
        f"{' errors: ' + '; '.join(errors) if errors else ''}"
    )
    return point


def wait_route_up(sim: smpp_peers.SmppSim, before: int) -> None:
    """The probe submitted before this must reach smpp_sim.py through the route."""
    deadline = time.monotonic() + ROUTE_UP_SECONDS
    while smpp_peers.delivered(sim.count_file) <= before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the probe SMS did not reach smpp_sim.py within {ROUTE_UP_SECONDS:g}s")
        time.sleep(0.2)


def bench_route(db: str, args: argparse.Namespace, tmp: Path) -> list[RoutePoint]:

    label = f"simrelay route store={db}"
    env, _ = prepare(db, args, tmp, device=False)
    data_dir = tmp / db
    points: list[RoutePoint] = []
    with smpp_peers.SmppSim(args.sim_port, data_dir) as sim:
        route = bl.last_json(
            bl.cli(
                env,
                data_dir,
                *("smpp", "route", "create", EMAIL, "--host", "127.0.0.1", "--port", str(args.sim_port)),
                *("--system-id", "simrelay", "--password", "bench", "--tps", "0"),
                *("--window", str(args.route_window), "--json"),
            )
        )
        bl.log(f"{label}: route {route}")
        server = bl.Server(env, data_dir, args.port)
        try:
            server.start()
            checked = smpp_peers.check_with_smpplib(args.smpp_port, SYSTEM_ID, PASSWORD)
            bl.log(f"{label}: smpplib submit_sm -> {checked}")
            wait_route_up(sim, 0)
            warm_up(f"{label} smpp", args.smpp_port, args)
            for window in args.windows:
                before, _ = smpp_peers.drained(sim.count_file, args.drain_max)
                load = replace(
                    load_of(args.smpp_port, window, args, duration=LOAD_CAP_SECONDS), count=args.route_sms
                )
                started = time.monotonic()
                results = [asyncio.run(run_load(load))]
                loaded = time.monotonic() - started
                bl.log(
                    f"{label} W={window}: {results[0].ok_total} accepted in {loaded:.1f}s {results[0].errors}"
                )
                after, drain_s = smpp_peers.drained(sim.count_file, args.drain_max)
                point = route_point(
                    db, window, args, results, delivered=after - before, load_s=loaded, drain_s=drain_s
                )
                print(point.line, flush=True)
                points.append(point)
        finally:
            server.stop()
    return points


def markdown(points: list[RoutePoint], args: argparse.Namespace) -> str:
    out = [
        f"Route: {args.route_sms} SMS in over simrelay's SMPP server ({args.sessions} session(s) x W), out "
        f"through one SMPP route (window {args.route_window}, no tps limit) to smpp_sim.py. End to end: what "
        "reached smpp_sim.py / (the load + the drain after it).",
        "",
        "| store | W | submit_sm accepted/s | SMS/s end to end | delivered / accepted | drain s | check |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in points:
        out.append(
            f"| {p.store} | {p.window} | {p.accept_rate:.0f} | {p.end_to_end_rate:.0f} | "
            f"{p.delivered} / {p.accepted} | {p.drain_s:g} | {'ok' if p.check_ok else '**FAILED**'} |"
        )
    return "\n".join(out)
