"""submit_sm throughput and latency of simrelay's SMPP server, against its own HTTP send path at
the same concurrency and against Jasmin's SMPP server, in one run.

    python bench/smpp.py                                           # full run (~9 min)
    python bench/smpp.py --db sqlite --windows 10 --peers none     # ours only, one point
    python bench/smpp.py --db sqlite,postgres --duration 2 --runs 1 --warmup 1   # smoke

For each database: a fresh database with an account, API key, active device and SMPP user made
with the `simrelay` CLI, then `simrelay serve --smpp-port` with the rate limit and the access
log off. One HTTP probe and one submit_sm sent with smpplib (a client no one here wrote), a
warm-up, then for each window W: `runs` runs of `duration` s of bench/smpp_load.py (S sessions,
each keeping W submit_sm in flight), then `runs` wrk runs of POST /v1/sms/send with S x W
connections, as bench/send.py runs them. Each point's stored rows are checked against the
accepted submits/requests.

Then Jasmin (bench/peers_jasmin.sh: Jasmin's SMPP server on 127.0.0.1:2775, routing to
../shared/bench-peers/smpp_sim.py) gets the same SMPP load; what reached smpp_sim is checked
against what Jasmin accepted. One markdown table with every point, SMPP / HTTP and simrelay /
Jasmin. Results go to bench/results/.

`--receipts` measures instead the delay from submit_sm_resp to the receipt's deliver_sm, with
simulated phones delivering (bench/smpp_receipts.py); `--route` the SMS/s through an SMPP route
to ../shared/bench-peers/smpp_sim.py (bench/smpp_route.py).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import benchlib as bl
import devices
import send
import smpp_peers
import smpp_receipts
import smpp_report as report
import smpp_route
from smpp_report import Point
from smpp_setup import PASSWORD, SYSTEM_ID, prepare, smpp_runs, warm_up


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ints = lambda v: [int(x) for x in bl.csv(v)]  # noqa: E731
    parser.add_argument("--db", type=bl.csv, default=["sqlite", "postgres"], help="sqlite,postgres")
    parser.add_argument("--windows", type=ints, default=[10, 100], help="submit_sm in flight per session")
    parser.add_argument("--sessions", type=int, default=1, help="SMPP sessions; HTTP gets sessions x W conns")
    parser.add_argument("--duration", type=float, default=10, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per point (median reported)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up load per server start")
    parser.add_argument("--peers", type=bl.csv, default=["jasmin"], help="jasmin or none")
    parser.add_argument(
        "--bind", choices=["transmitter", "transceiver"], default="transmitter", help="how the sessions bind"
    )
    parser.add_argument("--no-http", dest="http", action="store_false", help="skip the HTTP comparison")
    parser.add_argument("--port", type=int, default=8021, help="simrelay's HTTP port on 127.0.0.1")
    parser.add_argument("--smpp-port", type=int, default=2785, help="simrelay's SMPP port on 127.0.0.1")
    parser.add_argument(
        "--server-window",
        type=int,
        default=0,
        help="SIMRELAY_SMPP_WINDOW (default: the largest of --windows, so the client's window is the limit)",
    )
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--sqlite-synchronous", default="", help="SIMRELAY_SQLITE_SYNCHRONOUS (default FULL)")
    parser.add_argument("--drain-max", type=float, default=120, help="seconds to wait for Jasmin's queue")
    parser.add_argument("--peer-timeout", type=float, default=300, help="seconds for Jasmin to come up")
    parser.add_argument(
        "--receipts",
        action="store_true",
        help="instead: submit_sm_resp -> receipt delay with simulated phones delivering (transceiver)",
    )
    parser.add_argument("--phones", type=int, default=20, help="--receipts: simulated phones")
    parser.add_argument("--receipt-rate", type=float, default=300, help="--receipts: submit_sm/s asked")
    parser.add_argument(
        "--receipt-timeout", type=float, default=30, help="--receipts: seconds to wait for the last receipts"
    )
    parser.add_argument(
        "--route", action="store_true", help="instead: SMS/s through an SMPP route to smpp_sim.py"
    )
    parser.add_argument("--route-window", type=int, default=10, help="--route: the route's window")
    parser.add_argument("--route-sms", type=int, default=3000, help="--route: SMS submitted per window")
    parser.add_argument("--sim-port", type=int, default=2796, help="--route: smpp_sim.py's port")
    args = parser.parse_args()
    if args.route and args.receipts:
        parser.error("--route and --receipts are two separate runs")
    if args.peers == ["none"]:
        args.peers = []
    if set(args.peers) - {"jasmin"} or set(args.db) - {"sqlite", "postgres"}:
        parser.error(f"unknown peers {args.peers} or databases {args.db}")
    if min(args.duration, args.runs, args.sessions, *args.windows) <= 0:
        parser.error("duration, runs, sessions and windows must be > 0")
    args.server_window = args.server_window or max(args.windows)
    return args


# --- simrelay ------------------------------------------------------------------------------


def bench_simrelay(db: str, args: argparse.Namespace, tmp: Path) -> list[Point]:
    label = f"simrelay store={db}"
    bl.log(f"{label}: preparing a fresh database")
    env, count = prepare(db, args, tmp)
    server = bl.Server(env, tmp / db, args.port)
    url = f"{server.base_url}/v1/sms/send"
    wrk_env = bl.wrk_env(POST_AUTH=f"Bearer {env['BENCH_TOKEN']}")
    points: list[Point] = []
    try:
        server.start()
        if not bl.wait_port(args.smpp_port, 30):
            raise RuntimeError(f"{label}: nothing listens on SMPP port {args.smpp_port}")
        answer = send.probe(url, env["BENCH_TOKEN"])
        if not answer.startswith("HTTP200") or '"id"' not in answer:
            raise RuntimeError(f"HTTP probe failed for {label}: {answer}")
        checked = smpp_peers.check_with_smpplib(args.smpp_port, SYSTEM_ID, PASSWORD)
        bl.log(f"{label}: smpplib submit_sm -> {checked}")
        warm_up(f"{label} smpp", args.smpp_port, args)
        if args.http and args.warmup > 0:
            bl.wrk(url, 16, args.warmup, bl.PEERS_DIR / "post.lua", wrk_env)
        assert server.proc is not None
        pid = server.proc.pid
        for window in args.windows:
            before = send.settled_count(count)
            cpu_before, own_before = devices.cpu_seconds(pid), time.process_time()
            results = smpp_runs(f"{label} smpp", args.smpp_port, window, args)
            stored = send.settled_count(count) - before
            point = report.smpp_point("simrelay smpp", db, window, args, results, stored=stored)
            point.server_cpu_ms = report.per_message(devices.cpu_seconds(pid) - cpu_before, stored)
            point.client_cpu_ms = report.per_message(time.process_time() - own_before, point.sent)
            points.append(point)
            print(point.line, f"server CPU {point.server_cpu_ms:.3f} ms/msg", flush=True)
            if args.http:
                conns = args.sessions * window
                before, cpu_before = send.settled_count(count), devices.cpu_seconds(pid)
                runs, total, bad, serr = send.bench_point(f"{label} http", url, conns, args, wrk_env)
                stored = send.settled_count(count) - before
                point = report.http_point(db, window, args, runs, total, bad, serr, stored=stored)
                point.server_cpu_ms = report.per_message(devices.cpu_seconds(pid) - cpu_before, stored)
                points.append(point)
                print(point.line, f"server CPU {point.server_cpu_ms:.3f} ms/msg", flush=True)
    finally:
        server.stop()
    return points


# --- Jasmin --------------------------------------------------------------------------------


def bench_jasmin(args: argparse.Namespace, log_path: Path) -> list[Point]:
    points: list[Point] = []
    with smpp_peers.Jasmin(log_path, startup_timeout=args.peer_timeout) as jasmin:
        checked = smpp_peers.check_with_smpplib(jasmin.port, SYSTEM_ID, PASSWORD)
        bl.log(f"jasmin: smpplib submit_sm -> {checked}")
        warm_up("jasmin smpp", jasmin.port, args)
        for window in args.windows:
            # Jasmin answers submit_sm once the message is queued in RabbitMQ: its backlog from the
            # point before would otherwise share the CPU with this one.
            before, drained = jasmin.drained(args.drain_max)
            started = time.monotonic()
            results = smpp_runs("jasmin smpp", jasmin.port, window, args)
            loaded = time.monotonic() - started
            after, drained = jasmin.drained(args.drain_max)
            point = report.smpp_point(
                "jasmin smpp", "rabbitmq", window, args, results, stored=after - before, drain_s=drained
            )
            # What Jasmin sustains: delivered to the SMSC over the runs plus the drain after them.
            point.end_to_end_rate = (after - before) / (loaded + drained)
            points.append(point)
            print(point.line, flush=True)
    return points


def main() -> int:
    args = parse_args()
    when = bl.stamp()
    bl.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    info = bl.machine()
    bl.log(f"machine: {info}")
    points: list[Point] = []
    receipts: list[smpp_receipts.ReceiptPoint] = []
    routes: list[smpp_route.RoutePoint] = []
    failures: list[str] = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="simrelay-bench-smpp-") as tmp_name:
        for db in args.db:
            try:
                if args.receipts:
                    receipts += smpp_receipts.bench_receipts(db, args, Path(tmp_name))
                elif args.route:
                    routes += smpp_route.bench_route(db, args, Path(tmp_name))
                else:
                    points += bench_simrelay(db, args, Path(tmp_name))
            except Exception as exc:  # reported in the summary; the other points still run
                failures.append(f"simrelay {db}: {exc}")
                bl.log(f"FAILED simrelay {db}: {exc}")
    if "jasmin" in args.peers and not (args.receipts or args.route):
        try:
            points += bench_jasmin(args, bl.RESULTS_DIR / f"{when}-smpp-jasmin.log")
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            failures.append(f"jasmin: {exc}")
            bl.log(f"FAILED jasmin: {exc}")
    if args.receipts:
        table = smpp_receipts.markdown(receipts, args)
    elif args.route:
        table = smpp_route.markdown(routes, args)
    else:
        table = report.markdown(points, args)
    print()
    print(table)
    payload: dict[str, Any] = {
        "kind": "smpp",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "args": vars(args),
        "machine": info,
        "points": [asdict(p) for p in points],
        "receipts": [asdict(p) for p in receipts],
        "routes": [asdict(p) for p in routes],
        "failures": failures,
        "markdown": table,
    }
    path = bl.write_json(f"smpp-{when}.json", payload)
    (bl.RESULTS_DIR / f"smpp-{when}.md").write_text(table + "\n")
    print(f"\nresults: {path} ({payload['seconds']:.0f} s)")
    for failure in failures:
        print(f"FAILURE: {failure}")
    bad = any(p.check_ok is False for p in points) or any(not p.check_ok for p in [*receipts, *routes])
    return 1 if failures or bad else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    raise SystemExit(main())
