"""simrelay's send path against the bare baseline app, interleaved round by round.

    python bench/send_ab.py                                    # SQLite and PostgreSQL, w=1, c=16 and 64
    python bench/send_ab.py --db sqlite --conns 64 --rounds 5 --duration 5

bench/send.py runs the peers after simrelay, minutes apart; on this shared machine the same
code moves by +-20 % in that time, so one ratio from such a run says little. Here both
servers run side by side and each round runs wrk against one, then the other (the order
alternates each round, ABBA), so a round's ratio compares two runs seconds apart. Reported:
the median of the per-round ratios, their range, and the CPU time each server spent per
request (user + system of the server's processes during its runs), which the machine's
other load moves far less than req/s.

The baseline is /work/shared/bench-peers/baseline_app.py (uvicorn + uvloop + httptools,
BASELINE_STORE sqlite or pg) from the venv that baseline.sh makes (created here the same
way if missing). Unlike baseline.sh it stores into the same PostgreSQL server as simrelay
(database simrelay_bench_baseline), so both sides pay for the same server.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib as bl
import send
from profiling import Profiler, render

BASELINE_PORT = 8012
BASELINE_DB = "simrelay_bench_baseline"
TABLE = (
    "CREATE TABLE messages (id TEXT PRIMARY KEY, phone_number TEXT NOT NULL, message TEXT NOT NULL, "
    "state TEXT NOT NULL, created_at {real} NOT NULL)"
)


@dataclass
class Side:
    name: str
    runs: list[dict[str, float]] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def rps(self) -> list[float]:
        return [r["rps"] for r in self.runs]

    def cpu_us_per_request(self) -> list[float]:
        return [cpu * 1e6 / r["requests"] for cpu, r in zip(self.cpu_s, self.runs, strict=True)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=bl.csv, default=["sqlite", "postgres"])
    parser.add_argument("--workers", type=lambda v: [int(x) for x in bl.csv(v)], default=[1])
    parser.add_argument("--conns", type=lambda v: [int(x) for x in bl.csv(v)], default=[16, 64])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=6, help="rounds (one run of each side) per point")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--sqlite-synchronous", default="")
    parser.add_argument("--baseline-venv", type=Path, default=Path("/tmp/baseline-venv"))
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample simrelay with py-spy during each point's rounds; the top of each profile is printed",
    )
    return parser.parse_args()


def baseline_venv(venv: Path) -> Path:
    """The baseline's venv, made as baseline.sh makes it when it is missing."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import starlette, uvicorn, uvloop, httptools, aiosqlite, asyncpg"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return venv
    bl.log(f"creating {venv} (starlette, uvicorn[standard], aiosqlite, asyncpg from PyPI)")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    packages = ["starlette", "uvicorn[standard]", "aiosqlite", "asyncpg"]
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)
    return venv


def baseline_server(db: str, workers: int, args: argparse.Namespace, tmp: Path) -> bl.Server:
    env = dict(os.environ, PYTHONPATH=str(bl.PEERS_DIR))
    if db == "sqlite":
        path = tmp / "baseline.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(TABLE.format(real="REAL"))
        env.update(BASELINE_STORE="sqlite", BASELINE_SQLITE=str(path))
    else:
        server = args.pg_server.rstrip("/")
        bl.pg_recreate(BASELINE_DB, dsn=f"{server}/postgres")
        bl.pg_admin(TABLE.format(real="double precision"), dsn=f"{server}/{BASELINE_DB}")
        env.update(BASELINE_STORE="pg", BASELINE_PG_DSN=f"{server}/{BASELINE_DB}")
    venv = baseline_venv(args.baseline_venv)
    command = [str(venv / "bin" / "uvicorn"), "baseline_app:app", "--host", "127.0.0.1"]
    command += ["--port", str(BASELINE_PORT), "--workers", str(workers), "--loop", "uvloop"]
    command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    return bl.Server(env, tmp, BASELINE_PORT, workers, command=command, cwd=bl.PEERS_DIR)


def cpu_seconds(server: bl.Server) -> float:
    """User + system CPU seconds of the server's process and its workers so far."""
    assert server.proc is not None
    total = 0
    for pid in [server.proc.pid, *(pid for pid, _ in bl.descendants(server.proc.pid))]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measure(side: Side, server: bl.Server, url: str, conns: int, duration: int, env: dict[str, str]) -> None:
    before = cpu_seconds(server)
    result = bl.wrk(url, conns, duration, bl.PEERS_DIR / "post.lua", env)
    if result is None:
        raise RuntimeError(f"wrk gave no result for {side.name}")
    side.cpu_s.append(cpu_seconds(server) - before)
    side.runs.append(result)


def point(db: str, workers: int, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    env, count = send.prepare(db, workers, args, tmp)
    ours = bl.Server(env, tmp / f"{db}-w{workers}", args.port, workers)
    base = baseline_server(db, workers, args, tmp)
    ours_url, base_url = f"{ours.base_url}/v1/sms/send", f"{base.base_url}/v1/sms/send"
    ours_env = bl.wrk_env(POST_AUTH=f"Bearer {env['BENCH_TOKEN']}")
    base_env = bl.wrk_env()
    rows: list[dict[str, Any]] = []
    try:
        ours.start()
        base.start()
        answer = send.probe(ours_url, env["BENCH_TOKEN"])
        if not answer.startswith("HTTP200"):
            raise RuntimeError(f"probe failed: {answer}")
        bl.wrk(ours_url, 16, args.warmup, bl.PEERS_DIR / "post.lua", ours_env)
        bl.wrk(base_url, 16, args.warmup, bl.PEERS_DIR / "post.lua", base_env)
        for conns in args.conns:
            a, b = Side("simrelay"), Side("baseline")
            before = send.settled_count(count)
            assert ours.proc is not None
            name = f"send-{db}-w{workers}-c{conns}"
            profiler = Profiler.start(args.profile, ours.proc.pid, name) if args.profile else None
            for i in range(args.rounds):
                order = [(a, ours, ours_url, ours_env), (b, base, base_url, base_env)]
                for side, server, url, wrk_env in order if i % 2 == 0 else order[::-1]:
                    measure(side, server, url, conns, args.duration, wrk_env)
                bl.log(
                    f"{db} w={workers} c={conns} round {i + 1}: simrelay {a.rps()[-1]:.0f} "
                    f"baseline {b.rps()[-1]:.0f} req/s ({a.rps()[-1] / b.rps()[-1]:.0%}); CPU us/request "
                    f"{a.cpu_us_per_request()[-1]:.0f} / {b.cpu_us_per_request()[-1]:.0f}"
                )
            profile = profiler.stop() if profiler else {}
            if profile:
                print(f"Profile of simrelay, {name}:\n\n{render(profile)}\n", flush=True)
            stored = send.settled_count(count) - before
            accepted = sum(int(r["requests"] - r["non2xx"]) for r in a.runs)
            errors = sum(int(r["non2xx"] + r["sockerr"]) for r in a.runs + b.runs)
            ratios = [x / y for x, y in zip(a.rps(), b.rps(), strict=True)]
            rows.append(
                {
                    "db": db,
                    "workers": workers,
                    "conns": conns,
                    "ratio_median": bl.median(ratios),
                    "ratios": ratios,
                    "simrelay_rps": bl.median(a.rps()),
                    "baseline_rps": bl.median(b.rps()),
                    "simrelay_p99_ms": bl.median([r["p99_ms"] for r in a.runs]),
                    "baseline_p99_ms": bl.median([r["p99_ms"] for r in b.runs]),
                    "simrelay_cpu_us": bl.median(a.cpu_us_per_request()),
                    "baseline_cpu_us": bl.median(b.cpu_us_per_request()),
                    "stored_ok": accepted <= stored <= accepted + conns * args.rounds and errors == 0,
                    "check": f"stored={stored}/accepted={accepted} errors={errors}",
                }
            )
    finally:
        ours.stop()
        base.stop()
    return rows


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    out = [
        f"{args.rounds} interleaved rounds (ABBA) of wrk -t1 x {args.duration} s per side; "
        f"bar: simrelay >= {send.BAR:.0%} of the baseline",
        "",
        "| store | w | c | ratio (median) | ratios min-max | simrelay req/s | baseline req/s "
        "| p99 ms simrelay / baseline | CPU us per request simrelay / baseline | check |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        flag = "" if r["stored_ok"] else " **FAILED**"
        out.append(
            f"| {r['db']} | {r['workers']} | {r['conns']} | **{r['ratio_median']:.0%}** | "
            f"{min(r['ratios']):.0%}-{max(r['ratios']):.0%} | {r['simrelay_rps']:.0f} | "
            f"{r['baseline_rps']:.0f} | {r['simrelay_p99_ms']:.1f} / {r['baseline_p99_ms']:.1f} | "
            f"{r['simrelay_cpu_us']:.0f} / {r['baseline_cpu_us']:.0f} | {r['check']}{flag} |"
        )
    return "\n".join(out)


def main() -> int:
    args = parse_args()
    when = bl.stamp()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="simrelay-bench-ab-") as tmp_name:
        for db in args.db:
            for workers in args.workers:
                rows += point(db, workers, args, Path(tmp_name))
    table = markdown(rows, args)
    print(table)
    path = bl.write_json(f"send-ab-{when}.json", {"args": vars(args), "machine": bl.machine(), "rows": rows})
    print(f"\nresults: {path}")
    return 0 if all(r["stored_ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
