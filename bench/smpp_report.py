"""Points and the markdown table of bench/smpp.py: medians over runs, the stored checks, the
ratios SMPP / HTTP and simrelay / Jasmin."""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field

import benchlib as bl
from smpp_load import Result

TARGET = 1.0
"""Issue 19: submit_sm at least as fast as the HTTP send path at the same concurrency."""


@dataclass
class Point:
    """One (system, store, window) measurement; `conns` = sessions x window, the in-flight total."""

    system: str
    store: str
    window: int
    sessions: int
    conns: int
    rate: float
    p50_ms: float
    p99_ms: float
    runs_rate: list[float]
    sent: int
    statuses: dict[str, int]
    check: str = ""
    check_ok: bool | None = None
    errors: list[str] = field(default_factory=list)
    line: str = ""
    server_cpu_ms: float | None = None
    """simrelay's CPU time (its process, user + system) per stored SMS over the point's runs: on a
    shared machine it moves far less than the rate does."""
    client_cpu_ms: float | None = None
    """The load generator's own CPU per submit_sm (SMPP points)."""
    end_to_end_rate: float | None = None
    """Jasmin: what reached smpp_sim.py per second, from the first run to the end of the drain."""


def per_message(seconds: float, messages: int) -> float | None:
    return seconds * 1000 / messages if messages > 0 else None


def _runs(args: argparse.Namespace) -> str:
    return f"median of {args.runs} x {args.duration:g}s"


def smpp_point(
    system: str,
    store: str,
    window: int,
    args: argparse.Namespace,
    results: list[Result],
    *,
    stored: int,
    drain_s: float | None = None,
) -> Point:
    """A point of SMPP runs. The check: every submit_sm answered, all of them ESME_ROK, no session
    failed, and exactly the accepted ones stored (simrelay: rows; Jasmin: reached smpp_sim.py)."""
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result.statuses)
    accepted = sum(r.ok_total for r in results)
    sent = sum(r.sent for r in results)
    unanswered = sum(r.unanswered for r in results)
    errors = [e for r in results for e in r.errors]
    ok = not errors and unanswered == 0 and accepted == sent and stored == accepted
    noun = "delivered" if system.startswith("jasmin") else "stored"
    point = Point(
        system=system,
        store=store,
        window=window,
        sessions=args.sessions,
        conns=args.sessions * window,
        rate=bl.median([r.rate for r in results]),
        p50_ms=bl.median([bl.percentile(r.latencies_ms, 50) for r in results]),
        p99_ms=bl.median([bl.percentile(r.latencies_ms, 99) for r in results]),
        runs_rate=[r.rate for r in results],
        sent=sent,
        statuses=dict(statuses),
        check=f"{noun}={stored}/accepted={accepted}" + ("" if drain_s is None else f" drain={drain_s:g}s"),
        check_ok=ok,
        errors=errors,
    )
    point.line = (
        f"{system} store={store} W={window} sessions={args.sessions}: {point.rate:.0f} submit_sm/s "
        f"p50={point.p50_ms:.2f}ms p99={point.p99_ms:.2f}ms sent={sent} statuses={dict(statuses)} "
        f"unanswered={unanswered} ({_runs(args)}; runs: {' '.join(f'{r:.1f}' for r in point.runs_rate)}) "
        f"{point.check} ({'ok' if ok else 'CHECK FAILED'}){' errors: ' + '; '.join(errors) if errors else ''}"
    )
    return point


def http_point(
    store: str,
    window: int,
    args: argparse.Namespace,
    runs: list[dict[str, float]],
    total: int,
    bad: int,
    serr: int,
    *,
    stored: int,
) -> Point:
    """A point of wrk runs at sessions x window connections, checked as bench/send.py checks."""
    conns = args.sessions * window
    accepted = total - bad
    ok = bool(runs) and accepted <= stored <= accepted + conns * args.runs and bad == 0 and serr == 0
    point = Point(
        system="simrelay http",
        store=store,
        window=window,
        sessions=args.sessions,
        conns=conns,
        rate=bl.median([r["rps"] for r in runs]),
        p50_ms=bl.median([r["p50_ms"] for r in runs]),
        p99_ms=bl.median([r["p99_ms"] for r in runs]),
        runs_rate=[r["rps"] for r in runs],
        sent=total,
        statuses={"2xx": accepted, "non2xx": bad, "sockerr": serr},
        check=f"stored={stored}/accepted={accepted}",
        check_ok=ok,
    )
    point.line = (
        f"simrelay http store={store} c={conns}: {point.rate:.0f} req/s p50={point.p50_ms:.2f}ms "
        f"p99={point.p99_ms:.2f}ms requests={total} non2xx={bad} sockerr={serr} ({_runs(args)}; "
        f"runs: {' '.join(f'{r:.1f}' for r in point.runs_rate)}) {point.check} "
        f"({'ok' if ok else 'CHECK FAILED'})"
    )
    return point


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.2f}x" if b else "-"


def markdown(points: list[Point], args: argparse.Namespace) -> str:
    out = [
        f"{_runs(args)} per point, {args.warmup:g} s warm-up per server; SMPP: bench/smpp_load.py, "
        f"{args.sessions} {args.bind} session(s) x window W, "
        f"server window SIMRELAY_SMPP_WINDOW={args.server_window}; "
        "HTTP: wrk -t1 --timeout 5s with c = sessions x W, the peers' post.lua. simrelay SQLite "
        f"synchronous={args.sqlite_synchronous or 'FULL (app default)'}; PostgreSQL {args.pg_server}. "
        "Latency: submit_sm -> submit_sm_resp (SMPP), request -> response (HTTP).",
        "",
        "| system | store | W | in flight | per s | p50 ms | p99 ms | runs per s | server CPU ms/msg | "
        "client CPU ms/msg | statuses | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        flag = "" if p.check_ok in (True, None) else " **FAILED**"
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(p.statuses.items()))
        out.append(
            f"| {p.system} | {p.store} | {p.window} | {p.conns} | {p.rate:.0f} | {p.p50_ms:.2f} | "
            f"{p.p99_ms:.2f} | {' / '.join(f'{r:.0f}' for r in p.runs_rate)} | {_ms(p.server_cpu_ms)} | "
            f"{_ms(p.client_cpu_ms)} | {statuses} | {p.check}{flag} |"
        )
    http = {(p.store, p.window): p for p in points if p.system == "simrelay http"}
    ours = [p for p in points if p.system == "simrelay smpp"]
    if http and ours:
        out += [
            "",
            f"SMPP / HTTP, same server, database and in-flight total: target >= {TARGET:.0%}",
            "",
            "| store | W | in flight | submit_sm/s | HTTP req/s | SMPP / HTTP | target | p99 SMPP ms | "
            "p99 HTTP ms | server CPU ms/msg SMPP / HTTP |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in ours:
            h = http.get((p.store, p.window))
            meets = "-" if h is None else ("meets" if p.rate >= TARGET * h.rate else "**below**")
            out.append(
                f"| {p.store} | {p.window} | {p.conns} | {p.rate:.0f} | {h.rate if h else 0:.0f} | "
                f"{_ratio(p.rate, h.rate if h else None)} | {meets} | {p.p99_ms:.2f} | "
                f"{h.p99_ms if h else 0:.2f} | "
                f"{_ms(p.server_cpu_ms)} / {_ms(h.server_cpu_ms if h else None)} |"
            )
    jasmin = {p.window: p for p in points if p.system == "jasmin smpp"}
    if jasmin and ours:
        out += [
            "",
            "simrelay / Jasmin, SMPP submit_sm/s at the same window (Jasmin answers once the message "
            "is queued in RabbitMQ, non-durable; simrelay once it is committed to the database)",
            "",
            "| store | W | simrelay submit_sm/s | Jasmin submit_sm/s | simrelay / Jasmin | p99 simrelay ms | "
            "p99 Jasmin ms | Jasmin delivered/s end to end |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in ours:
            j = jasmin.get(p.window)
            out.append(
                f"| {p.store} | {p.window} | {p.rate:.0f} | {j.rate if j else 0:.0f} | "
                f"{_ratio(p.rate, j.rate if j else None)} | {p.p99_ms:.2f} | {j.p99_ms if j else 0:.2f} | "
                f"{'-' if j is None or j.end_to_end_rate is None else f'{j.end_to_end_rate:.0f}'} |"
            )
    return "\n".join(out)
