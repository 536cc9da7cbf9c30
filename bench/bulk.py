"""Time of one POST /v1/sms/bulk with 10,000 recipients, answered once every SMS is committed.

    python bench/bulk.py                          # SQLite and PostgreSQL, 5 timed requests each
    python bench/bulk.py --db sqlite --runs 3 --recipients 10000

For each database: a fresh one (SQLite file in a temp dir; PostgreSQL database
`simrelay_bench_bulk`, dropped and created again), an account, API key and active device made
with the `simrelay` CLI, then `simrelay serve` (one worker, rate limit and access log off), as
bench/send.py does. One warm-up bulk of 100, then `runs` bulks of `recipients`, one after the
other, each to its own numbers with a variable (`Hello {name}, your code is {code}`), each
timed from the first byte sent to the last byte of the answer on a kept-alive connection. The
answer must list every recipient accepted, and the rows stored must grow by exactly that many.
Prints the median, best and worst per database and whether the median is under the bar (1 s).
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import benchlib as bl

PG_DATABASE = "simrelay_bench_bulk"
EMAIL = "bench-bulk@simrelay.localhost"
TEMPLATE = "Hello {name}, your code is {code}"
BAR_SECONDS = 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=bl.csv, default=["sqlite", "postgres"], help="sqlite,postgres")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="timed bulk requests per database")
    parser.add_argument("--port", type=int, default=8012, help="port for simrelay serve on 127.0.0.1")
    parser.add_argument(
        "--pg-server",
        default="postgresql://postgres@127.0.0.1:5432",
        help=f"PostgreSQL server (no database part); the database {PG_DATABASE} is dropped and recreated",
    )
    args = parser.parse_args()
    if set(args.db) - {"sqlite", "postgres"} or min(args.runs, args.recipients) < 1:
        parser.error("--db takes sqlite,postgres; --runs and --recipients must be >= 1")
    return args


def body(run: int, count: int) -> bytes:
    recipients = [
        {"phone_number": f"7{run:03d}{i:07d}", "vars": {"name": f"Client {i}", "code": f"{i:06d}"}}
        for i in range(count)
    ]
    return json.dumps({"message": TEMPLATE, "recipients": recipients}).encode()


def post(conn: http.client.HTTPConnection, token: str, payload: bytes) -> tuple[float, dict[str, Any]]:
    """(seconds from sending to the whole answer, the answer)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    conn.request("POST", "/v1/sms/bulk", body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {data[:500]!r}")
    return elapsed, json.loads(data)


def bench(db: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    data_dir = tmp / db
    url, extra, count = bl.fresh_store(db, data_dir, pg_server=args.pg_server, pg_database=PG_DATABASE)
    extra["SIMRELAY_SECRET_KEY"] = secrets.token_urlsafe(48)
    env = bl.simrelay_env(data_dir, url, **extra)
    bl.cli(env, data_dir, "account", "create", EMAIL)
    token = bl.last_json(bl.cli(env, data_dir, "key", "create", EMAIL, "--json"))["token"]
    bl.last_json(bl.cli(env, data_dir, "device", "add", EMAIL, "--active", "--json"))
    server = bl.Server(env, data_dir, args.port)
    times: list[float] = []
    try:
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        post(conn, token, body(999, 100))  # warm-up: first statements compiled, pools filled
        for run in range(args.runs):
            payload = body(run, args.recipients)
            before = count()
            elapsed, answer = post(conn, token, payload)
            stored = count() - before
            if answer["accepted"] != args.recipients or answer["rejected"] or stored != args.recipients:
                raise RuntimeError(f"run {run}: accepted {answer['accepted']}, stored {stored}")
            bl.log(f"{db} run {run + 1}: {args.recipients} recipients in {elapsed * 1000:.0f} ms")
            times.append(elapsed)
        conn.close()
    finally:
        server.stop()
    median = statistics.median(times)
    return {
        "db": db,
        "recipients": args.recipients,
        "body_bytes": len(body(0, args.recipients)),
        "runs_ms": [round(t * 1000, 1) for t in times],
        "median_ms": round(median * 1000, 1),
        "best_ms": round(min(times) * 1000, 1),
        "worst_ms": round(max(times) * 1000, 1),
        "under_bar": median < BAR_SECONDS,
    }


def main() -> None:
    args = parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="simrelay-bench-bulk-") as tmp:
        for db in args.db:
            results.append(bench(db, args, Path(tmp)))
    print(f"\nPOST /v1/sms/bulk, {args.recipients} recipients, {args.runs} runs (bar: {BAR_SECONDS:.0f} s)\n")
    print("| database | median ms | best ms | worst ms | under the bar |")
    print("|---|---|---|---|---|")
    for r in results:
        verdict = "yes" if r["under_bar"] else "NO"
        print(f"| {r['db']} | {r['median_ms']} | {r['best_ms']} | {r['worst_ms']} | {verdict} |")
    path = bl.write_json(f"bulk-{bl.stamp()}.json", {"machine": bl.machine(), "results": results})
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
