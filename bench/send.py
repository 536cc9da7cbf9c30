"""Throughput of POST /v1/sms/send, measured exactly like the peers in /work/shared/bench-peers.

    python bench/send.py                                     # full run: ours + baseline, Kannel, Jasmin
    python bench/send.py --db sqlite --workers 1 --conns 64 --peers none
    python bench/send.py --db sqlite,postgres --workers 1 --conns 16 --duration 2 --runs 1 --peers none

For each database and worker count: a fresh database (SQLite file in a temp dir; PostgreSQL
database `simrelay_bench`, dropped and created again), an account, API key and active device
made with the `simrelay` CLI, then `simrelay serve` with the rate limit and the access log off.
One probe send, 3 s of warm-up, then `runs` wrk runs of `duration` s per connection count with
the peers' settings (-t1, keep-alive, --timeout 5s, post.lua with POST_AUTH) and the median of
req/s, p50 and p99. Afterwards the rows stored are compared with the 2xx responses wrk counted:
stored must be >= accepted and at most accepted + connections x runs (requests still in flight
when wrk stops are stored but not counted by wrk).

Then the peer scripts run, one after the other (baseline.sh with VARIANTS="uvicorn:sqlite uvicorn:pg"
and the same WORKERS/CONNS/DURATION/RUNS, kannel.sh, jasmin.sh), their result lines are captured,
and one markdown table shows ours, the peers and the ratios. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchlib as bl

BODY = '{"message":"hello from wrk","phone_number":"+79999999999"}'
PG_DATABASE = "simrelay_bench"
EMAIL = "bench@simrelay.localhost"
CHECK_FAILED = "CHECK FAILED: want accepted <= stored <= accepted + c x runs, no errors"
BAR = 0.70
"""simrelay must reach this share of the bare baseline's req/s on the same database."""
PEERS = ("baseline", "kannel", "jasmin")
PEER_WARMUP_CONNS = 16
BASELINE_STORE = {"sqlite": "sqlite", "postgres": "pg"}


@dataclass
class Point:
    """One (system, store, workers, connections) measurement, ours or a peer's."""

    system: str
    store: str
    workers: int | None
    conns: int
    rps: float
    p50_ms: float
    p99_ms: float
    runs_rps: list[float]
    requests: int
    non2xx: int
    sockerr: int
    check: str = ""
    check_ok: bool | None = None
    line: str = ""
    runs: list[dict[str, float]] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=bl.csv, default=["sqlite", "postgres"], help="sqlite,postgres")
    parser.add_argument("--workers", type=lambda v: [int(x) for x in bl.csv(v)], default=[1, 2])
    parser.add_argument("--conns", type=lambda v: [int(x) for x in bl.csv(v)], default=[16, 64])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per point (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up load per server start")
    parser.add_argument(
        "--peers", type=bl.csv, default=list(PEERS), help="baseline,kannel,jasmin or none (default: all)"
    )
    parser.add_argument("--port", type=int, default=8011, help="port for simrelay serve on 127.0.0.1")
    parser.add_argument(
        "--pg-server",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database part); the database simrelay_bench is dropped and recreated",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        default="",
        help="SIMRELAY_SQLITE_SYNCHRONOUS for the SQLite runs (default: the app's default, FULL)",
    )
    parser.add_argument(
        "--peer-timeout", type=int, default=3600, help="seconds before a peer script is stopped"
    )
    args = parser.parse_args()
    if args.peers == ["none"]:
        args.peers = []
    unknown = set(args.peers) - set(PEERS)
    if unknown or set(args.db) - {"sqlite", "postgres"}:
        parser.error(f"unknown peers {sorted(unknown)} or databases {args.db}")
    if min(args.duration, args.runs, *args.conns, *args.workers) < 1:
        parser.error("duration, runs, conns and workers must be >= 1")
    return args


# --- our server ----------------------------------------------------------------------------


def prepare(
    db: str, workers: int, args: argparse.Namespace, tmp: Path
) -> tuple[dict[str, str], Callable[[], int]]:
    """A fresh database with an account, a key and an active device; (server env, row counter)."""
    data_dir = tmp / f"{db}-w{workers}"
    url, extra, count = bl.fresh_store(
        db,
        data_dir,
        pg_server=args.pg_server,
        pg_database=PG_DATABASE,
        sqlite_synchronous=args.sqlite_synchronous,
    )
    extra["SIMRELAY_SECRET_KEY"] = secrets.token_urlsafe(48)
    env = bl.simrelay_env(data_dir, url, **extra)
    bl.cli(env, data_dir, "account", "create", EMAIL)
    key = bl.last_json(bl.cli(env, data_dir, "key", "create", EMAIL, "--json"))
    bl.last_json(bl.cli(env, data_dir, "device", "add", EMAIL, "--active", "--json"))
    env["BENCH_TOKEN"] = key["token"]
    return env, count


def probe(url: str, token: str) -> str:
    request = urllib.request.Request(
        url,
        data=BODY.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return f"HTTP{response.status} {response.read().decode(errors='replace')}"
    except urllib.error.HTTPError as exc:
        return f"HTTP{exc.code} {exc.read().decode(errors='replace')}"


def settled_count(count: Callable[[], int], timeout: float = 10.0) -> int:
    """The row count once it stops moving (requests in flight when wrk stopped get stored)."""
    deadline = time.monotonic() + timeout
    previous = count()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = count()
        if now == previous:
            return now
        previous = now
    return previous


def bench_point(
    label: str, url: str, conns: int, args: argparse.Namespace, env: dict[str, str]
) -> tuple[list[dict[str, float]], int, int, int]:
    """`runs` wrk runs; (per-run RESULT fields, total requests, non-2xx, socket errors)."""
    runs: list[dict[str, float]] = []
    for i in range(args.runs):
        result = bl.wrk(url, conns, args.duration, bl.PEERS_DIR / "post.lua", env)
        bl.log(f"{label} c={conns} run {i + 1}: {result}")
        if result is not None:
            runs.append(result)
    total = sum(int(r["requests"]) for r in runs)
    bad = sum(int(r["non2xx"]) for r in runs)
    serr = sum(int(r["sockerr"]) for r in runs)
    return runs, total, bad, serr


def bench_ours(db: str, workers: int, args: argparse.Namespace, tmp: Path) -> list[Point]:
    label = f"simrelay store={db} w={workers}"
    bl.log(f"{label}: preparing a fresh database")
    env, count = prepare(db, workers, args, tmp)
    server = bl.Server(env, tmp / f"{db}-w{workers}", args.port, workers)
    url = f"{server.base_url}/v1/sms/send"
    wrk_env = bl.wrk_env(POST_AUTH=f"Bearer {env['BENCH_TOKEN']}")
    points: list[Point] = []
    try:
        server.start()
        answer = probe(url, env["BENCH_TOKEN"])
        bl.log(f"probe {label}: {answer}")
        if not answer.startswith("HTTP200") or '"id"' not in answer:
            raise RuntimeError(f"probe failed for {label}: {answer}")
        if args.warmup > 0:
            bl.wrk(url, 16, args.warmup, bl.PEERS_DIR / "post.lua", wrk_env)
        for conns in args.conns:
            before = settled_count(count)
            runs, total, bad, serr = bench_point(label, url, conns, args, wrk_env)
            stored = settled_count(count) - before
            accepted = total - bad
            ok = accepted <= stored <= accepted + conns * args.runs and bad == 0 and serr == 0
            point = Point(
                system="simrelay",
                store=db,
                workers=workers,
                conns=conns,
                rps=bl.median([r["rps"] for r in runs]),
                p50_ms=bl.median([r["p50_ms"] for r in runs]),
                p99_ms=bl.median([r["p99_ms"] for r in runs]),
                runs_rps=[r["rps"] for r in runs],
                requests=total,
                non2xx=bad,
                sockerr=serr,
                check=f"stored={stored}/accepted={accepted}",
                check_ok=ok,
                runs=runs,
            )
            point.line = (
                f"{label} c={conns}: {point.rps:.0f} req/s p50={point.p50_ms:.2f}ms p99={point.p99_ms:.2f}ms "
                f"requests={total} non2xx={bad} sockerr={serr} (median of {args.runs} x {args.duration}s; "
                f"rps runs: {' '.join(f'{r:.1f}' for r in point.runs_rps)}) {point.check}"
                f" ({'ok' if ok else CHECK_FAILED})"
            )
            print(point.line, flush=True)
            points.append(point)
    finally:
        server.stop()
    return points


# --- peers ---------------------------------------------------------------------------------


def summarize_line() -> re.Pattern[str]:
    """The result-line pattern of the peers' summarize.py, so both sides parse the same way."""
    spec = importlib.util.spec_from_file_location("peers_summarize", bl.PEERS_DIR / "summarize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LINE  # type: ignore[no-any-return]


PEER_LABELS = (
    (re.compile(r"^baseline (?P<server>\S+) store=(?P<store>\S+) w=(?P<w>\d+)$"), "baseline {server}"),
    (re.compile(r"^kannel sendsms store=(?P<store>\S+)$"), "kannel"),
    (re.compile(r"^jasmin (?P<store>/send)$"), "jasmin"),
)


def peer_point(match: re.Match[str]) -> Point:
    system, store, workers = match["label"], "-", None
    for pattern, name in PEER_LABELS:
        found = pattern.match(match["label"])
        if found:
            parts = found.groupdict()
            system, store = name.format(**parts), parts["store"]
            workers = int(parts["w"]) if "w" in parts else None
            break
    rest = match["rest"].strip()
    counts = re.search(r"(?:stored|delivered)=(\d+)/accepted=(\d+)", rest)
    check_ok = None
    if counts:
        done, accepted = int(counts[1]), int(counts[2])
        # The peer scripts count their "before" right after a 16-connection warm-up whose last
        # requests can still land, so they may store up to 16 more than our own check allows.
        slack = int(match["c"]) * int(match["runs"]) + PEER_WARMUP_CONNS
        check_ok = accepted <= done <= accepted + slack
    return Point(
        system=system,
        store=store,
        workers=workers,
        conns=int(match["c"]),
        rps=float(match["rps"]),
        p50_ms=float(match["p50"]),
        p99_ms=float(match["p99"]),
        runs_rps=[float(x) for x in match["all"].split()],
        requests=int(match["req"]),
        non2xx=int(match["bad"]),
        sockerr=int(match["serr"]),
        check=rest,
        check_ok=check_ok,
        line=match.string.strip(),
    )


def run_peer(name: str, args: argparse.Namespace, log_path: Path, line_re: re.Pattern[str]) -> list[Point]:
    """Runs PEERS_DIR/<name>.sh to the end (bounded by --peer-timeout); its result lines as Points."""
    env = bl.wrk_env(
        CONNS=" ".join(str(c) for c in args.conns),
        DURATION=str(args.duration),
        RUNS=str(args.runs),
        WARMUP=str(args.warmup),
    )
    if name == "baseline":
        env["VARIANTS"] = " ".join(f"uvicorn:{BASELINE_STORE[db]}" for db in args.db)
        env["WORKERS"] = " ".join(str(w) for w in args.workers)
    bl.log(f"peer {name}: starting {bl.PEERS_DIR / (name + '.sh')} (log {log_path})")
    points: list[Point] = []
    proc = subprocess.Popen(
        [str(bl.PEERS_DIR / f"{name}.sh")],
        cwd=bl.PEERS_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    started = bl._start_time(proc.pid)
    timed_out = threading.Event()

    def stop_on_timeout() -> None:
        timed_out.set()
        bl.log(f"peer {name}: still running after {args.peer_timeout}s, stopping PID {proc.pid}")
        bl.stop_process(proc.pid, started, grace=90)

    timer = threading.Timer(args.peer_timeout, stop_on_timeout)
    timer.start()
    try:
        assert proc.stdout is not None
        with open(log_path, "w") as log_file:
            for raw in proc.stdout:
                log_file.write(raw)
                log_file.flush()
                line = raw.rstrip("\n")
                match = line_re.match(line.strip())
                if match:
                    print(line, flush=True)
                    points.append(peer_point(match))
                elif not line.startswith("["):
                    bl.log(f"{name}: {line}")
        proc.wait(timeout=120)
    except KeyboardInterrupt:
        bl.stop_process(proc.pid, started, grace=90)
        raise
    finally:
        timer.cancel()
    bl.log(f"peer {name}: exit {proc.returncode}{' (timed out)' if timed_out.is_set() else ''}")
    return points


# --- report --------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None, *, times: bool = False) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x" if times else f"{a / b:.0%}"


def markdown(ours: list[Point], peers: list[Point], args: argparse.Namespace) -> str:
    out = [
        f"wrk -t1, keep-alive, --timeout 5s, {args.warmup} s warm-up, "
        f"median of {args.runs} x {args.duration} s. simrelay: SQLite synchronous="
        f"{args.sqlite_synchronous or 'FULL (app default)'}, PostgreSQL {args.pg_server} "
        "(synchronous_commit as configured there); baseline: SQLite synchronous=NORMAL, "
        "its own PostgreSQL 127.0.0.1:5433 (synchronous_commit=on)",
        "",
        "| system | store | w | c | req/s | p50 ms | p99 ms | runs req/s | errors | check |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in ours + peers:
        flag = "" if p.check_ok in (True, None) else " **FAILED**"
        out.append(
            f"| {p.system} | {p.store} | {p.workers or '-'} | {p.conns} | {p.rps:.0f} | {p.p50_ms:.2f} | "
            f"{p.p99_ms:.2f} | {' / '.join(f'{r:.0f}' for r in p.runs_rps)} | {p.non2xx + p.sockerr} | "
            f"{p.check or '-'}{flag} |"
        )
    baseline = {(p.store, p.workers, p.conns): p for p in peers if p.system.startswith("baseline uvicorn")}
    if baseline:
        out += [
            "",
            f"simrelay vs the bare baseline (uvicorn + Starlette), same database: bar >= {BAR:.0%}",
            "",
            "| store | w | c | simrelay req/s | baseline req/s | simrelay / baseline | bar | "
            "p99 simrelay ms | p99 baseline ms |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for p in ours:
            base = baseline.get((BASELINE_STORE[p.store], p.workers, p.conns))
            meets = "-" if base is None else ("meets" if p.rps >= BAR * base.rps else "**below**")
            out.append(
                f"| {p.store} | {p.workers} | {p.conns} | {p.rps:.0f} | {fmt(base and base.rps)} | "
                f"{ratio(p.rps, base and base.rps)} | {meets} | {p.p99_ms:.2f} | "
                f"{fmt(base and base.p99_ms, 2)} |"
            )
    others = [p for p in peers if p.conns == 64 and p.system in ("kannel", "jasmin")]
    ours64 = [p for p in ours if p.conns == 64]
    if others and ours64:
        names = [f"{p.system} {p.store}".replace(" /send", "") for p in others]
        out += [
            "",
            "simrelay vs Jasmin and Kannel at c=64 (simrelay req/s / peer req/s)",
            "",
            "| simrelay | req/s | "
            + " | ".join(f"/ {n} ({p.rps:.0f})" for n, p in zip(names, others, strict=True))
            + " |",
            "|---|---|" + "---|" * len(others),
        ]
        for p in ours64:
            cells = " | ".join(ratio(p.rps, o.rps, times=True) for o in others)
            out.append(f"| {p.store} w={p.workers} | {p.rps:.0f} | {cells} |")
    return "\n".join(out)


def main() -> int:
    args = parse_args()
    when = bl.stamp()
    bl.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    line_re = summarize_line()
    info = bl.machine()
    bl.log(f"machine: {info}")
    ours: list[Point] = []
    peers: list[Point] = []
    failures: list[str] = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="simrelay-bench-send-") as tmp_name:
        tmp = Path(tmp_name)
        for db in args.db:
            for workers in args.workers:
                try:
                    ours += bench_ours(db, workers, args, tmp)
                except Exception as exc:  # reported in the summary; the other points still run
                    failures.append(f"simrelay {db} w={workers}: {exc}")
                    bl.log(f"FAILED simrelay {db} w={workers}: {exc}")
    ours_log = bl.RESULTS_DIR / f"{when}-simrelay.log"
    ours_log.write_text("".join(p.line + "\n" for p in ours))
    for point in ours:  # our lines must parse like the peers' (summarize.py)
        if not line_re.match(point.line):
            failures.append(f"result line does not match summarize.py: {point.line}")
    for name in args.peers:
        try:
            peers += run_peer(name, args, bl.RESULTS_DIR / f"{when}-{name}.log", line_re)
        except (OSError, subprocess.SubprocessError) as exc:
            failures.append(f"peer {name}: {exc}")
            bl.log(f"FAILED peer {name}: {exc}")
    table = markdown(ours, peers, args)
    print()
    print(table)
    payload: dict[str, Any] = {
        "kind": "send",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "args": vars(args),
        "machine": info,
        "body": BODY,
        "simrelay": [asdict(p) for p in ours],
        "peers": [asdict(p) for p in peers],
        "failures": failures,
        "markdown": table,
    }
    path = bl.write_json(f"send-{when}.json", payload)
    (bl.RESULTS_DIR / f"send-{when}.md").write_text(table + "\n")
    print(f"\nresults: {path}")
    for failure in failures:
        print(f"FAILURE: {failure}")
    bad_checks = [p for p in ours + peers if p.check_ok is False]
    return 1 if failures or bad_checks else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    raise SystemExit(main())
