"""schemathesis against the API's own OpenAPI document: no 5xx, nothing outside the document.

    python bench/fuzz_api.py                          # 100 cases per operation and phase (~10 min)
    python bench/fuzz_api.py --max-examples 20        # quicker (~2 min)
    python bench/fuzz_api.py --db postgres --phases examples,coverage,fuzzing

A fresh database (SQLite file in a temp dir; PostgreSQL `simrelay_bench_fuzz`, dropped and
created again), an account, an API key and an active device made with the CLI, then the server
(1 worker, rate limit and access log off) on 127.0.0.1, started by this file with `--serve`: the
app of `simrelay serve` made so that nothing leaves the machine however the fuzzer fills a
webhook `url`. Webhooks may name any address (SIMRELAY_WEBHOOK_ALLOW_PRIVATE=1: the URL's shape
is all that is checked, so no name is looked up when one is created), and the courier's
transport resolves without DNS and has every connection refused before any packet is sent.

Then `schemathesis run http://127.0.0.1:PORT/openapi.json` with every check, the token and the
hooks of bench/schemathesis_hooks.py (rules the document states in words), and the figures
from its NDJSON report: operations, test cases, failures by check. The exit status is
schemathesis's (non-zero on any failure). Reports go to bench/results/fuzz-<stamp>/.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import benchlib as bl

EMAIL = "fuzz@simrelay.localhost"
PG_DATABASE = "simrelay_bench_fuzz"
CHECKS = "all"
HOOKS = Path(__file__).resolve().with_name("schemathesis_hooks.py")
PUBLIC_STAND_IN = "93.184.216.34"
"""What every webhook host name "resolves" to (never connected to: see `refuse`)."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--max-examples", type=int, default=100, help="test cases per operation and phase")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--checks", default=CHECKS, help="schemathesis checks (default: all)")
    parser.add_argument("--seed", type=int, default=None, help="fixed seed for a reproducible run")
    parser.add_argument("--rate-limit", type=int, default=0, help="requests/s per endpoint (0: off)")
    parser.add_argument("--schema-path", default="/openapi.json", help="where the server serves the document")
    parser.add_argument("--port", type=int, default=8017, help="the server on 127.0.0.1")
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the server, with nothing reaching past the machine -----------------------------------


async def resolve_offline(host: str, port: int) -> list[str]:
    """Webhook hosts without DNS: an IP literal is itself, a name a stand-in."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return [PUBLIC_STAND_IN]
    return [host]


def nowhere(ip: str) -> str:
    """Every webhook is dialled at a loopback address nobody listens on: nothing leaves the machine."""
    return "127.0.0.3"


def serve(port: int) -> None:
    """`simrelay serve`'s app (database migrated first) with the courier's client offline."""
    import uvicorn

    import simrelay.app as app_module
    from simrelay.api.connection import EdgeProtocol, EdgeWebSocketProtocol
    from simrelay.config import Settings
    from simrelay.storage.migrate import upgrade_database
    from simrelay.webhooks.client import WebhookClient

    app_module.WebhookClient = functools.partial(  # type: ignore[misc]
        WebhookClient, resolver=resolve_offline, route=nowhere
    )
    settings = Settings()
    upgrade_database(settings.resolved_database_url())
    uvicorn.run(
        app_module.create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_keep_alive=settings.keepalive_seconds,
        http=EdgeProtocol,  # the HTTP edge of `simrelay serve` (api/connection.py)
        ws=EdgeWebSocketProtocol,
    )


# --- the run -------------------------------------------------------------------------------


def prepare(args: argparse.Namespace, data_dir: Path) -> tuple[dict[str, str], str, str]:
    """A fresh database with an account, an API key and an active device: (env, token, device id)."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'simrelay.db'}"
    else:
        server = args.pg_server.rstrip("/")
        bl.pg_recreate(PG_DATABASE, dsn=f"{server}/postgres")
        url = f"{server.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{PG_DATABASE}"
    env = bl.simrelay_env(
        data_dir,
        url,
        SIMRELAY_SECRET_KEY=secrets.token_urlsafe(48),
        SIMRELAY_WEBHOOK_ALLOW_PRIVATE="1",
        SIMRELAY_RATE_LIMIT=str(args.rate_limit),  # simrelay_env turns it off; this puts it back
    )
    bl.cli(env, data_dir, "account", "create", EMAIL)
    token = str(bl.last_json(bl.cli(env, data_dir, "key", "create", EMAIL, "--json"))["token"])
    device = bl.last_json(bl.cli(env, data_dir, "device", "add", EMAIL, "--active", "--json"))
    return env, token, str(device["device_id"])


def schemathesis_command(args: argparse.Namespace, base_url: str, token: str, report: Path) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        base_url + args.schema_path,
        *("--header", f"Authorization: Bearer {token}"),
        *("--checks", args.checks),
        *("--phases", args.phases),
        *("--max-examples", str(args.max_examples)),
        *("--workers", "1"),  # the hooks keep state per process (bench/schemathesis_hooks.py)
        *("--request-timeout", "30"),
        *("--report", "ndjson"),
        *("--report-ndjson-path", str(report)),
        "--no-color",
        "--suppress-health-check",
        "too_slow,filter_too_much",
    ]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    return command


def figures(report: Path) -> dict[str, Any]:
    """Operations, test cases and failures by check, from schemathesis's NDJSON events.

    A failure counts once per (check, operation, title), as schemathesis's own summary counts
    unique failures; `failing_cases` counts every test case a check failed on."""
    operations: set[str] = set()
    cases = 0
    unique: set[tuple[str, str, str]] = set()
    failing_cases: Counter[str] = Counter()
    errors: list[str] = []
    server_errors = dropped = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        if "ScenarioFinished" in event:
            recorder = event["ScenarioFinished"].get("recorder", {})
            label = recorder.get("label", "")
            if label.split(" ", 1)[0] in ("GET", "POST", "PUT", "DELETE", "PATCH"):
                operations.add(label)
            cases += len(recorder.get("cases", {}))
            dropped += sum(recorder.get("filtered_failures", {}).values())
            for interaction in recorder.get("interactions", {}).values():
                server_errors += (interaction.get("response") or {}).get("status_code", 0) >= 500
            for checks in recorder.get("checks", {}).values():
                for check in checks:
                    if check.get("status") != "failure":
                        continue
                    failure = check.get("failure_info", {}).get("failure", {})
                    failing_cases[check["name"]] += 1
                    unique.add((check["name"], failure.get("operation", label), failure.get("title", "")))
        elif "NonFatalError" in event:
            errors.append(str(event["NonFatalError"].get("info", event))[:300])
    by_check = Counter(name for name, _, _ in unique)
    return {
        "operations": len(operations),
        "cases": cases,
        "failures": dict(sorted(by_check.items())),
        "failing_cases": dict(sorted(failing_cases.items())),
        "failing": sorted(f"{name}: {operation}: {title}" for name, operation, title in unique),
        "responses_5xx": server_errors,
        "dropped_by_hooks": dropped,
        "errors": errors,
    }


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args.port)
        return 0
    info = bl.machine()
    out = bl.RESULTS_DIR / f"fuzz-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{args.db}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="simrelay-fuzz-") as tmp:
        data_dir = Path(tmp) / args.db
        env, token, device_id = prepare(args, data_dir)
        server = bl.Server(
            env,
            data_dir,
            args.port,
            command=[sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(args.port)],
            cwd=bl.PROJECT_DIR,
        )
        server.start()
        report = out / "events.ndjson"
        command = schemathesis_command(args, server.base_url, token, report)
        shown = [
            part if not part.startswith("Authorization") else "Authorization: Bearer ..." for part in command
        ]
        bl.log("running " + " ".join(shown))
        started = time.monotonic()
        try:
            hooks_env = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": str(HOOKS),
                "SIMRELAY_FUZZ_KEEP_DEVICE": device_id,
                "SIMRELAY_FUZZ_DROPPED": str(out / "dropped.jsonl"),
            }
            done = subprocess.run(command, cwd=out, env=hooks_env, check=False, timeout=6 * 3600)
        finally:
            server.stop()
            shutil.copy(server.log_path, out / "server.log")
        elapsed = time.monotonic() - started
    result = figures(report)
    dropped = out / "dropped.jsonl"
    lines = dropped.read_text().splitlines() if dropped.exists() else []
    result["dropped_by_reason"] = dict(Counter(json.loads(line)["failure"] for line in lines))
    result.update(exit_status=done.returncode, seconds=round(elapsed, 1), db=args.db, machine=info)
    result["command"] = " ".join(shown)
    (out / "figures.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    failed = sum(result["failures"].values())
    print(
        f"\nfuzz db={args.db} examples={args.max_examples} phases={args.phases}: "
        f"{result['operations']} operations, {result['cases']} test cases, "
        f"{failed} failures {result['failures'] or ''}, {result['responses_5xx']} responses 5xx, "
        f"{result['dropped_by_hooks']} failures dropped by hooks {result['dropped_by_reason'] or ''}, "
        f"{len(result['errors'])} errors, "
        f"{elapsed:.0f} s, schemathesis exit {done.returncode}"
    )
    for line in result["failing"]:
        print(f"  {line}")
    print(f"reports: {out}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
