"""Panel pages with 100,000 SMS in the account: p50 / p95 / max of each page.

    python bench/panel.py                       # fill both databases (a minute), then measure
    python bench/panel.py --reuse --requests 50

The account and its SMS are made by bench/search.py's filler (the real schema, ObjectID-like
ids, generated Russian and English texts, statuses spread over 0..5), with --rows rows (in their
own data dir and PostgreSQL database). The account gets a password; `simrelay serve` (1 worker)
runs on the database; the script signs in through the sign-in form like a browser (CSRF token,
session cookie) and then requests each page --requests times in a row on one keep-alive
connection. The bar (issue 6): p95 under 100 ms for every page.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from pathlib import Path

import benchlib as bl
import httpx
import search

from simrelay.accounts.passwords import hash_password

PASSWORD = "bench password for the panel"
PAGES = [
    "/panel",
    "/panel/messages",
    "/panel/messages?page=100",
    "/panel/messages?search=8800",
    "/panel/messages?search=оплата",
    "/panel/devices",
    "/panel/keys",
    "/panel/webhooks",
    "/panel/inbox",
    "/panel/usage",
]
BAR_MS = 100.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=bl.csv, default=["sqlite", "postgres"])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/simrelay-bench-panel"))
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-database", default="simrelay_bench_panel")
    parser.add_argument("--port", type=int, default=8016)
    return parser.parse_args()


def set_password(filled: search.Filled, workdir: Path) -> None:
    password_hash = hash_password(PASSWORD)
    if filled.db == "sqlite":
        with sqlite3.connect(workdir / "simrelay.db") as conn:
            conn.execute(
                "UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, filled.account_id)
            )
        return
    dsn = filled.database_url.replace("postgresql+asyncpg", "postgresql")
    bl.pg_fetchval(
        dsn,
        "UPDATE accounts SET password_hash = $1 WHERE id = $2 RETURNING id",
        password_hash,
        filled.account_id,
    )


def sign_in(http: httpx.Client) -> None:
    page = http.get("/panel/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = http.post(
        "/panel/login", data={"csrf_token": token, "email": search.EMAIL, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


def measure(filled: search.Filled, args: argparse.Namespace) -> list[tuple[str, float, float, float]]:
    workdir = args.data_dir / filled.db
    env = bl.simrelay_env(workdir, filled.database_url, SIMRELAY_SECRET_KEY=filled.secret)
    server = bl.Server(env, workdir, args.port, 1)
    results = []
    try:
        server.start()
        with httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False) as http:
            sign_in(http)
            for path in PAGES:
                for _ in range(3):  # warm-up
                    assert http.get(path).status_code == 200, path
                latencies = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = http.get(path)
                    latencies.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                row = (path, bl.percentile(latencies, 50), bl.percentile(latencies, 95), max(latencies))
                bl.log(f"{filled.db} {path}: p50 {row[1]:.1f} ms, p95 {row[2]:.1f} ms, max {row[3]:.1f} ms")
                results.append(row)
    finally:
        server.stop()
    return results


def main() -> int:
    args = parse_args()
    search_args = argparse.Namespace(
        rows=args.rows,
        reuse=args.reuse,
        data_dir=args.data_dir,
        pg_server=args.pg_server,
        pg_database=args.pg_database,
    )
    lines = ["| store | page | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    worst = 0.0
    for db in args.db:
        filled = search.filled_database(db, search_args)
        set_password(filled, args.data_dir / db)
        for path, p50, p95, top in measure(filled, args):
            worst = max(worst, p95)
            lines.append(f"| {db} | `{path}` | {p50:.1f} | {p95:.1f} | {top:.1f} |")
    table = "\n".join(lines)
    print()
    print(f"{args.rows} SMS in the account, {args.requests} sequential requests per page, 1 worker")
    print(table)
    print(f"\nworst p95 {worst:.1f} ms (bar {BAR_MS:.0f} ms): {'ok' if worst < BAR_MS else 'ABOVE THE BAR'}")
    bl.write_json(
        f"panel-{bl.stamp()}.json",
        {
            "kind": "panel",
            "args": vars(args) | {"data_dir": str(args.data_dir)},
            "markdown": table,
            "machine": bl.machine(),
            "command": " ".join(sys.argv),
        },
    )
    return 0 if worst < BAR_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
