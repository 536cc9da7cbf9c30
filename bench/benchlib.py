"""Helpers shared by bench/send.py and bench/search.py.

Everything here talks to 127.0.0.1 only, every wait is bounded, and every process started
here is stopped by its own PID (the server's worker processes by theirs).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PEERS_DIR = Path(os.environ.get("PEERS_DIR", "/work/shared/bench-peers"))
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

RESULT = re.compile(r"^RESULT (.*)$", re.MULTILINE)
PROTECTED_DATABASES = {"simrelay_test", "simrelay_test2", "postgres", "template0", "template1"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stamp() -> str:
    return time.strftime("%Y%m%dT%H%MZ", time.gmtime())


def median(values: list[float]) -> float:
    """The lower median, like common.sh (`sort -g | awk a[int((NR+1)/2)]`)."""
    return statistics.median_low(values) if values else float("nan")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (unsorted is fine)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- ports and processes -------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_free(port):
            return True
        time.sleep(0.1)
    return False


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat: tells a PID apart from a later process reusing it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every process below `pid`, depth first, bounded."""
    out: list[tuple[int, str]] = []
    todo = _children(pid)
    while todo and len(out) < 1000:
        child = todo.pop()
        started = _start_time(child)
        if started is not None:
            out.append((child, started))
            todo += _children(child)
    return out


def _alive(pid: int, started: str) -> bool:
    """Still the process we started, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and _start_time(pid) == started


def stop_process(pid: int, started: str | None, grace: float = 35.0) -> None:
    """TERM, wait up to `grace` s, then KILL: this one PID only (if it is still the same process)."""
    if started is None or not _alive(pid, started):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid, started):
            return
        time.sleep(0.1)
    log(f"PID {pid} ignored TERM for {grace:.0f}s, sending KILL")
    os.kill(pid, signal.SIGKILL)


@dataclass
class Server:
    """`simrelay serve` in its own process (session), stopped by PID on `stop()`."""

    env: dict[str, str]
    workdir: Path
    port: int
    workers: int = 1
    command: list[str] | None = None
    """What to run instead of `simrelay serve` (another app under comparison)."""
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    started: str | None = None
    family: list[tuple[int, str]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def start(self) -> None:
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} is already in use on 127.0.0.1")
        command = self.command or [
            *(sys.executable, "-m", "simrelay", "serve", "--host", "127.0.0.1"),
            *("--port", str(self.port), "--workers", str(self.workers)),
        ]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                command, env=self.env, cwd=self.cwd or self.workdir, stdout=out, stderr=subprocess.STDOUT
            )
        self.started = _start_time(self.proc.pid)
        if not wait_port(self.port, 60) or self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"{command[0]} did not start:\n{tail}")
        # Let every worker finish its lifespan start-up before load arrives.
        deadline = time.monotonic() + 30
        while self.workers > 1 and time.monotonic() < deadline:
            if len(descendants(self.proc.pid)) >= self.workers:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        self.family = descendants(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.family = list({*self.family, *descendants(self.proc.pid)})
        stop_process(self.proc.pid, self.started)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for pid, started in self.family:
            stop_process(pid, started, grace=5)
        self.proc = None
        deadline = time.monotonic() + 10
        while not port_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)


# --- the simrelay CLI ----------------------------------------------------------------------


def simrelay_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """A clean environment for the CLI and the server: no inherited SIMRELAY_* knobs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMRELAY_")}
    env.update(
        SIMRELAY_DATA_DIR=str(data_dir),
        SIMRELAY_DATABASE_URL=database_url,
        SIMRELAY_RATE_LIMIT="0",
        SIMRELAY_ACCESS_LOG="false",
        SIMRELAY_LOG_LEVEL="WARNING",
        # Every load generator and simulated phone connects from 127.0.0.1.
        SIMRELAY_MAX_CONNECTIONS_PER_ADDRESS="0",
    )
    env.update(extra)
    return env


def fresh_store(
    db: str, data_dir: Path, *, pg_server: str, pg_database: str, sqlite_synchronous: str = ""
) -> tuple[str, dict[str, str], Callable[[], int]]:
    """An empty database for a run: SQLite, a file in `data_dir` (emptied first); PostgreSQL,
    `pg_database` dropped and created again. (its URL, the settings it needs, a count of the
    rows in messages)."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    settings: dict[str, str] = {}
    if db == "sqlite":
        path = data_dir / "simrelay.db"
        if sqlite_synchronous:
            settings["SIMRELAY_SQLITE_SYNCHRONOUS"] = sqlite_synchronous

        def count() -> int:
            return int(sqlite_fetchval(path, "SELECT count(*) FROM messages"))

        return f"sqlite+aiosqlite:///{path}", settings, count
    server = pg_server.rstrip("/")
    pg_recreate(pg_database, dsn=f"{server}/postgres")
    dsn = f"{server}/{pg_database}"

    def rows() -> int:
        return int(pg_fetchval(dsn, "SELECT count(*) FROM messages"))

    return f"{server.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{pg_database}", settings, rows


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Runs `simrelay ARGS...` and returns its stdout; raises with stderr on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "simrelay", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"simrelay {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def last_json(output: str) -> dict[str, Any]:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise ValueError(f"no JSON in {output!r}")


# --- wrk -----------------------------------------------------------------------------------


def parse_result(output: str) -> dict[str, float] | None:
    """The fields of report.lua's RESULT line, or None if wrk printed none."""
    match = RESULT.search(output)
    if match is None:
        return None
    fields: dict[str, float] = {}
    for item in match.group(1).split():
        name, _, value = item.partition("=")
        try:
            fields[name] = float(value)
        except ValueError:
            continue
    return fields


def wrk(url: str, conns: int, duration: float, script: Path, env: dict[str, str]) -> dict[str, float] | None:
    """One wrk run with the peers' settings (-t1, keep-alive, --timeout 5s); its RESULT fields."""
    command = ["wrk", "-t1", f"-c{conns}", f"-d{duration:g}s", "--timeout", "5s", "-s", str(script), url]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    except subprocess.TimeoutExpired:
        log(f"wrk did not finish within {duration + 60:g}s")
        return None
    result = parse_result(done.stdout)
    if result is None:
        log(f"wrk printed no RESULT line: {done.stdout[-500:]} {done.stderr[-500:]}")
    return result


def wrk_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PEERS_DIR"] = str(PEERS_DIR)
    env.update(extra)
    return env


# --- databases -----------------------------------------------------------------------------


def pg_admin(*statements: str, dsn: str = PG_ADMIN_DSN) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def pg_recreate(name: str, dsn: str = PG_ADMIN_DSN) -> None:
    if name in PROTECTED_DATABASES or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"refusing to drop database {name!r}")
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}", dsn=dsn)


def pg_fetchval(dsn: str, query: str, *args: Any) -> Any:
    import asyncpg

    async def run() -> Any:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def sqlite_fetchval(path: Path, query: str, *args: Any) -> Any:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(query, args).fetchone()[0]
    finally:
        conn.close()


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
    }
    try:
        info["postgres"] = pg_fetchval(PG_ADMIN_DSN, "SHOW server_version")
    except Exception as exc:  # reported, not fatal: SQLite-only runs need no PostgreSQL
        info["postgres"] = f"unreachable: {exc!r}"
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT_DIR), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        info["commit"] = head.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        info["commit"] = "?"
    try:
        from simrelay import __version__

        info["simrelay"] = __version__
    except ImportError:
        info["simrelay"] = "?"
    return info


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def csv(value: str) -> list[str]:
    """A comma-separated command-line value as a list."""
    return [item.strip() for item in value.split(",") if item.strip()]
