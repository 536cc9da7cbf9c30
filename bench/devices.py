"""End to end through simulated phones: SMS sent through the HTTP API, offered over the device
link, sent and reported delivered; and the server's memory with thousands of phones connected.

    python bench/devices.py                                  # 5,000 SMS, 50 phones, SQLite and PostgreSQL
    python bench/devices.py --db sqlite --sms 1000
    python bench/devices.py --sms 0 --devices-memory 5000    # only the memory figures

Throughput, per database: a fresh database with an account and API key (the `simrelay` CLI),
`simrelay serve` with pacing, rate limit and access log off (leases at their defaults), then
`--phones` phones paired with one code and connected from bench/phones.py, a process of its
own. `--sms` SMS are sent with `--concurrency` requests in flight. Each phone event comes back
with the phone's CLOCK_MONOTONIC time, so:
- end-to-end SMS/s: SMS delivered / (last delivery report - first send started);
- send -> offer: from the send's 200 (in this process) to the phone receiving the offer (an offer
  that beats the 200 here counts as 0 ms);
- send -> delivered: from the 200 to the phone reporting delivery.
At the end the API's own list (`GET /v1/sms`, every page) must hold every accepted SMS, each in
status 4, and no phone may have sent one twice.

Memory (`--devices-memory N`): `simrelay serve` alone, its resident memory (VmRSS of the server
and its children) idle with no phone connected, then with N phones connected (bench/phones.py
processes of `--phones-per-process` each) and idle for `--settle` seconds, then again after
they all left. Results go to bench/results/devices-<stamp>.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchlib as bl
import httpx
import orjson
from profiling import Profiler, render

EMAIL = "devices@simrelay.localhost"
PG_DATABASE = "simrelay_bench_devices"
RUNNER = bl.BENCH_DIR / "phones.py"
DELIVERED = 4
PAGE = 100
LINE_LIMIT = 64 * 1024 * 1024
"""The runner's summary line lists duplicate ids: allow long lines."""
SETTINGS = {
    "SIMRELAY_SEND_INTERVAL_MIN": "0",
    "SIMRELAY_SEND_INTERVAL_MAX": "0",
    "SIMRELAY_LIMIT_PER_MINUTE": "0",
    "SIMRELAY_LIMIT_PER_HOUR": "0",
    "SIMRELAY_LIMIT_PER_DAY": "0",
}
"""Pacing off for new devices; bl.simrelay_env turns off the rate limit and access log."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=bl.csv, default=["sqlite", "postgres"], help="sqlite,postgres")
    parser.add_argument("--sms", type=int, default=5000, help="SMS to send (0: no throughput run)")
    parser.add_argument("--phones", type=int, default=50, help="phones for the throughput run")
    parser.add_argument("--concurrency", type=int, default=50, help="send requests in flight")
    parser.add_argument("--send-ms", default="0..0", help="phones: taken -> sent, A..B ms")
    parser.add_argument("--delivery-ms", default="0..0", help="phones: sent -> delivered, A..B ms")
    parser.add_argument(
        "--reconnect-max", type=float, default=60.0, help="phones: longest reconnect backoff, s"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for every SMS to be delivered")
    parser.add_argument("--devices-memory", type=int, default=0, help="phones for the memory run (0: none)")
    parser.add_argument("--phones-per-process", type=int, default=1000, help="memory run: phones per runner")
    parser.add_argument("--settle", type=float, default=5.0, help="memory run: idle seconds before measuring")
    parser.add_argument(
        "--connect-rate",
        type=float,
        default=200.0,
        help="memory run: phones connecting per second (0: all at once)",
    )
    parser.add_argument(
        "--connect-timeout", type=float, default=600.0, help="memory run: seconds for every phone to connect"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="throughput run: sample the server with py-spy while it works into DIR, print the top",
    )
    parser.add_argument("--port", type=int, default=8013, help="port for simrelay serve on 127.0.0.1")
    parser.add_argument(
        "--pg-server",
        default="postgresql://postgres@127.0.0.1:5432",
        help=f"PostgreSQL server (no database part); the database {PG_DATABASE} is dropped and recreated",
    )
    args = parser.parse_args()
    if set(args.db) - {"sqlite", "postgres"}:
        parser.error(f"unknown databases {args.db}")
    if (
        args.sms < 0
        or args.devices_memory < 0
        or min(args.phones, args.concurrency, args.phones_per_process) < 1
    ):
        parser.error("--sms and --devices-memory must be >= 0; --phones, --concurrency >= 1")
    return args


# --- set-up --------------------------------------------------------------------------------


@dataclass
class Setup:
    env: dict[str, str]
    data_dir: Path
    token: str
    fetchval: Callable[[str], Any]
    """One value of a query, straight from the database."""

    def pairing_code(self, uses: int) -> str:
        answer = bl.cli(self.env, self.data_dir, "device", "pair", EMAIL, "--uses", str(uses), "--json")
        return str(bl.last_json(answer)["code"])


def prepare(db: str, args: argparse.Namespace, tmp: Path, name: str) -> Setup:
    """A fresh database with an account and an API key (no device: the phones pair themselves)."""
    data_dir = tmp / f"{name}-{db}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    fetchval: Callable[[str], Any]
    if db == "sqlite":
        path = data_dir / "simrelay.db"
        url = f"sqlite+aiosqlite:///{path}"

        def fetchval(query: str) -> Any:
            return bl.sqlite_fetchval(path, query)
    else:
        server = args.pg_server.rstrip("/")
        bl.pg_recreate(PG_DATABASE, dsn=f"{server}/postgres")
        url = f"{server.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{PG_DATABASE}"

        def fetchval(query: str) -> Any:
            return bl.pg_fetchval(f"{server}/{PG_DATABASE}", query)

    env = bl.simrelay_env(data_dir, url, SIMRELAY_SECRET_KEY=secrets.token_urlsafe(48), **SETTINGS)
    bl.cli(env, data_dir, "account", "create", EMAIL)
    key = bl.last_json(bl.cli(env, data_dir, "key", "create", EMAIL, "--json"))
    return Setup(env, data_dir, str(key["token"]), fetchval)


def raise_open_files() -> int:
    """Soft RLIMIT_NOFILE up to the hard one, for us and the processes we start; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            bl.log(f"could not raise the open-files limit from {soft}: {exc}")
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid: int) -> int:
    """VmRSS of `pid` and every process below it, in KiB."""
    total = 0
    for one in [pid, *(child for child, _ in bl.descendants(pid))]:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its children that are still running."""
    total = 0.0
    for one in [pid, *(child for child, _ in bl.descendants(pid))]:
        try:
            total += cpu_seconds_of(one)
        except (OSError, ValueError, IndexError):
            continue
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU time of the machine's running PostgreSQL processes."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    total = 0.0
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() in ("postgres", "postmaster"):
                total += cpu_seconds_of(pid)
        except OSError:
            continue
    return total


def cpu_seconds_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def keep_logs(data_dir: Path, tag: str) -> None:
    """Copies the server's and the phones' logs of a failed run to bench/results/ (the rest is temporary)."""
    target = bl.RESULTS_DIR / f"devices-logs-{bl.stamp()}-{tag}"
    target.mkdir(parents=True, exist_ok=True)
    for log_file in data_dir.glob("*.log"):
        shutil.copy(log_file, target / log_file.name)
    bl.log(f"{tag}: logs kept in {target}")


# --- the phones' processes -----------------------------------------------------------------

Handler = Callable[[str, float, str], None]


class Phones:
    """One bench/phones.py process: its stdout lines go to `handler(kind, t, value)`."""

    def __init__(self, url: str, code: str, count: int, *, log_path: Path, extra: list[str]) -> None:
        self.args = [sys.executable, str(RUNNER), "--url", url, "--code", code, "--count", str(count), *extra]
        self.count = count
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()
        self.summary: dict[str, Any] = {}
        self.failure = ""
        self.ended = False
        self._reader: asyncio.Task[None] | None = None

    async def start(self, handler: Handler) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=LINE_LIMIT,
            )
        self._reader = asyncio.create_task(self._read(handler))

    async def _read(self, handler: Handler) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            kind, _, rest = line.decode().rstrip("\n").partition("\t")
            at, _, value = rest.partition("\t")
            if kind == "ready":
                self.ready.set()
            elif kind == "summary":
                self.summary = json.loads(value)
            elif kind == "error":
                self.failure = value
            else:
                handler(kind, float(at), value)
        self.ended = True
        self.ready.set()  # nobody waits forever: `ended` (and `failure`) say why

    async def wait_ready(self, timeout: float) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)
        if self.ended:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"phones ended before all connected: {self.failure}\n{tail}")

    async def stop(self, timeout: float = 60.0) -> dict[str, Any]:
        """Closes its stdin (the runner stops its phones and prints a summary), then reaps it."""
        if self.proc is None:
            return {}
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            bl.log(f"phones PID {self.proc.pid} still running after {timeout:.0f}s, killing it")
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)
        return self.summary


# --- throughput ----------------------------------------------------------------------------


@dataclass
class Throughput:
    store: str
    phones: int
    sms: int
    concurrency: int
    accepted: int = 0
    send_errors: int = 0
    sends_per_s: float = 0.0
    send_p50_ms: float = 0.0
    send_p99_ms: float = 0.0
    e2e_seconds: float = 0.0
    e2e_sms_per_s: float = 0.0
    offer_p50_ms: float = 0.0
    offer_p99_ms: float = 0.0
    offers_before_200: int = 0
    request_to_offer_p50_ms: float = 0.0
    request_to_offer_p99_ms: float = 0.0
    delivered_p50_ms: float = 0.0
    delivered_p99_ms: float = 0.0
    stored: int = 0
    delivered_api: int = 0
    delivered_phones: int = 0
    sent_twice: int = 0
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0
    """PostgreSQL: CPU time of every postgres process over the run (the machine is otherwise quiet)."""
    profile: dict[str, Any] = field(default_factory=dict)
    phones_summary: dict[str, Any] = field(default_factory=dict)
    check_ok: bool = False


@dataclass
class Track:
    """What the phones reported, by SMS id (first occurrence), in CLOCK_MONOTONIC seconds."""

    offered: dict[str, float] = field(default_factory=dict)
    delivered: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)

    def __call__(self, kind: str, at: float, message_id: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if kind == "offer":
            self.offered.setdefault(message_id, at)
        elif kind in ("delivered", "undelivered"):
            self.delivered.setdefault(message_id, at)


@dataclass
class Sends:
    """Per accepted SMS id: when its request started and when its 200 arrived."""

    started: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    first: float = 0.0


async def send_all(base_url: str, token: str, total: int, concurrency: int) -> Sends:
    """`total` sends over `concurrency` keep-alive connections, each sending its next request when
    its last was answered. A bare HTTP/1.1 client: httpx's pool spent more CPU per request than
    the server does (it checks every pooled connection on each request), which on two cores
    made the driver the bottleneck."""
    sends = Sends(first=time.monotonic())
    host, port = base_url.removeprefix("http://").split(":")
    numbers = iter(range(total))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for number in numbers:
                body = orjson.dumps({"message": f"bench {number}", "phone_number": f"7999{number:07d}"})
                head = (
                    f"POST /v1/sms/send HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                started = time.monotonic()
                writer.write(head.encode() + body)
                status, answer = await read_response(reader)
                answered = time.monotonic()
                if status == 200:
                    message_id = str(orjson.loads(answer)["id"])
                    sends.started[message_id], sends.answered[message_id] = started, answered
                else:
                    sends.errors += 1
                    bl.log(f"send {number}: HTTP {status} {answer[:200]!r}")
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            sends.errors += 1
            bl.log(f"send connection failed: {exc!r}")
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return sends


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response with a Content-Length (what simrelay answers)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return int(lines[0].split()[1]), await reader.readexactly(length)


async def api_statuses(http: httpx.AsyncClient, token: str) -> tuple[int, dict[str, int]]:
    """(total_records, {id: status}) from every page of GET /v1/sms."""
    headers = {"Authorization": f"Bearer {token}"}
    found: dict[str, int] = {}
    page, total = 1, 0
    while True:
        response = await http.get("/v1/sms", headers=headers, params={"limit": PAGE, "offset": page})
        response.raise_for_status()
        body = response.json()
        total = int(body["pagination"]["total_records"])
        found.update({sms["id"]: int(sms["status"]) for sms in body["sms_list"]})
        if page * PAGE >= total:
            return total, found
        page += 1


async def wait_delivered(
    http: httpx.AsyncClient, token: str, ids: set[str], timeout: float
) -> tuple[int, dict[str, int]]:
    """The API's statuses once every id is delivered (status 4), or at the timeout."""
    deadline = time.monotonic() + timeout
    total, statuses = await api_statuses(http, token)
    while time.monotonic() < deadline and any(statuses.get(i) != DELIVERED for i in ids):
        await asyncio.sleep(0.2)
        total, statuses = await api_statuses(http, token)
    return total, statuses


def ms(values: list[float], pct: float) -> float:
    return round(bl.percentile(values, pct) * 1000, 1) if values else float("nan")


def waits(since: dict[str, float], until: dict[str, float]) -> list[float]:
    return [until[i] - t for i, t in since.items() if i in until]


def measure(result: Throughput, sends: Sends, track: Track, last_delivered: float) -> None:
    """Fills the rates and latencies in. `last_delivered`: the server's last status 4 (monotonic)."""
    result.accepted = len(sends.answered)
    result.send_errors = sends.errors
    last_answer = max(sends.answered.values(), default=sends.first)
    result.sends_per_s = round(result.accepted / (last_answer - sends.first), 1) if result.accepted else 0.0
    request = waits(sends.started, sends.answered)
    result.send_p50_ms, result.send_p99_ms = ms(request, 50), ms(request, 99)
    result.delivered_phones = sum(i in track.delivered for i in sends.answered)
    result.e2e_seconds = round(last_delivered - sends.first, 2)
    if result.e2e_seconds > 0:
        result.e2e_sms_per_s = round(result.delivered_api / result.e2e_seconds, 1)
    offers = waits(sends.answered, track.offered)
    result.offers_before_200 = sum(wait < 0 for wait in offers)
    offers = [max(0.0, wait) for wait in offers]  # an offer that beat the 200 here waited 0 ms
    result.offer_p50_ms, result.offer_p99_ms = ms(offers, 50), ms(offers, 99)
    from_request = waits(sends.started, track.offered)
    result.request_to_offer_p50_ms, result.request_to_offer_p99_ms = (
        ms(from_request, 50),
        ms(from_request, 99),
    )
    delivered = [max(0.0, wait) for wait in waits(sends.answered, track.delivered)]
    result.delivered_p50_ms, result.delivered_p99_ms = ms(delivered, 50), ms(delivered, 99)


async def bench_throughput(db: str, args: argparse.Namespace, tmp: Path) -> Throughput:
    result = Throughput(store=db, phones=args.phones, sms=args.sms, concurrency=args.concurrency)
    setup = await asyncio.to_thread(prepare, db, args, tmp, "throughput")
    server = bl.Server(setup.env, setup.data_dir, args.port)
    track = Track()
    phones = Phones(
        server.base_url,
        setup.pairing_code(args.phones),
        args.phones,
        log_path=setup.data_dir / "phones.log",
        extra=[
            *("--send-ms", args.send_ms, "--delivery-ms", args.delivery_ms),
            *("--reconnect-max", str(args.reconnect_max)),
        ],
    )
    try:
        server.start()
        assert server.proc is not None
        await phones.start(track)
        await phones.wait_ready(120)
        bl.log(f"{db}: {args.phones} phones connected; sending {args.sms} SMS")
        cpu_before = cpu_seconds(server.proc.pid)
        database_before = postgres_cpu_seconds()
        profiler = Profiler.start(args.profile, server.proc.pid, db) if args.profile else None
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as http:
            sends = await send_all(server.base_url, setup.token, args.sms, args.concurrency)
            ids = set(sends.answered)
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline and not ids <= track.delivered.keys():
                await asyncio.sleep(0.05)
            result.stored, statuses = await wait_delivered(http, setup.token, ids, timeout=30)
            result.server_cpu_s = round(cpu_seconds(server.proc.pid) - cpu_before, 1)
            if db == "postgres":
                result.database_cpu_s = round(postgres_cpu_seconds() - database_before, 1)
            if profiler:
                result.profile = profiler.stop()
        result.delivered_api = sum(statuses.get(i) == DELIVERED for i in ids)
        # The server's own time of the last status 4 (wall clock) on the monotonic clock.
        query = f"SELECT max(at) FROM message_history WHERE status = {DELIVERED}"
        last_delivered = await asyncio.to_thread(setup.fetchval, query)
        measure(result, sends, track, float(last_delivered or 0) - (time.time() - time.monotonic()))
    finally:
        summary = await phones.stop()
        server.stop()
        if result.delivered_api != args.sms or not summary or summary.get("duplicates"):
            keep_logs(setup.data_dir, f"throughput-{db}")
    result.phones_summary = {k: v for k, v in summary.items() if k != "duplicates"}
    result.sent_twice = len(summary.get("duplicates", {}))
    result.check_ok = (
        result.send_errors == 0
        and result.accepted == result.sms == result.stored == result.delivered_api == result.delivered_phones
        and result.sent_twice == 0
        and bool(summary)
    )
    return result


# --- memory --------------------------------------------------------------------------------


@dataclass
class Memory:
    store: str
    devices: int
    processes: int
    rss_idle_mb: float = 0.0
    rss_connected_mb: float = 0.0
    rss_peak_mb: float = 0.0
    """The highest RSS seen while the phones connected."""
    per_device_kb: float = 0.0
    rss_after_mb: float = 0.0
    connect_seconds: float = 0.0
    server_connected: int = 0
    check_ok: bool = False


async def connected_devices(http: httpx.AsyncClient) -> int:
    response = await http.get("/metrics")
    for line in response.text.splitlines():
        if line.startswith("simrelay_devices_connected"):
            return int(float(line.split()[-1]))
    return -1


async def wait_connected(http: httpx.AsyncClient, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    found = await connected_devices(http)
    while found != count and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        found = await connected_devices(http)
    return found


async def sample_peak(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    """Keeps peak[0] at the highest RSS (KiB) seen, sampling every 0.5 s until `stop`."""
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kb(pid))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass


async def bench_memory(db: str, args: argparse.Namespace, tmp: Path) -> Memory:
    total = args.devices_memory
    per = args.phones_per_process
    sizes = [min(per, total - start) for start in range(0, total, per)]
    result = Memory(store=db, devices=total, processes=len(sizes))
    setup = await asyncio.to_thread(prepare, db, args, tmp, "memory")
    server = bl.Server(setup.env, setup.data_dir, args.port)
    runners: list[Phones] = []
    ramp = ["--ramp", str(args.connect_rate / len(sizes))] if args.connect_rate > 0 else []
    peak, stop_sampling = [0], asyncio.Event()
    try:
        server.start()
        assert server.proc is not None
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            for _ in range(5):  # warm-up: the code paths an idle server has run once
                await http.get("/readyz")
                await connected_devices(http)
            await asyncio.sleep(args.settle)
            result.rss_idle_mb = round(rss_kb(server.proc.pid) / 1024, 1)
            code = await asyncio.to_thread(setup.pairing_code, total)
            sampler = asyncio.create_task(sample_peak(server.proc.pid, peak, stop_sampling))
            started = time.monotonic()
            for number, size in enumerate(sizes):
                runner = Phones(
                    server.base_url,
                    code,
                    size,
                    log_path=setup.data_dir / f"phones-{number}.log",
                    extra=[
                        *("--events", "", "--connect-timeout", str(args.connect_timeout), *ramp),
                        *("--reconnect-max", str(args.reconnect_max)),
                    ],
                )
                runners.append(runner)
                await runner.start(lambda *_: None)
            await asyncio.gather(*(runner.wait_ready(args.connect_timeout + 300) for runner in runners))
            result.server_connected = await wait_connected(http, total, 60)
            result.connect_seconds = round(time.monotonic() - started, 1)
            bl.log(f"{db}: {result.server_connected} connected in {result.connect_seconds} s; settling")
            await asyncio.sleep(args.settle)
            result.rss_connected_mb = round(rss_kb(server.proc.pid) / 1024, 1)
            stop_sampling.set()
            await sampler
            result.rss_peak_mb = round(peak[0] / 1024, 1)
            await asyncio.gather(*(runner.stop() for runner in runners))
            runners = []
            await wait_connected(http, 0, 60)
            await asyncio.sleep(args.settle)
            result.rss_after_mb = round(rss_kb(server.proc.pid) / 1024, 1)
        result.per_device_kb = round((result.rss_connected_mb - result.rss_idle_mb) * 1024 / total, 1)
        result.check_ok = result.server_connected == total
    finally:
        stop_sampling.set()
        if server.proc is not None:
            result.rss_peak_mb = max(result.rss_peak_mb, round(peak[0] / 1024, 1))
        await asyncio.gather(*(runner.stop() for runner in runners), return_exceptions=True)
        server.stop()
        if not result.check_ok:
            keep_logs(setup.data_dir, f"memory-{db}")
    return result


# --- report --------------------------------------------------------------------------------


def markdown(runs: list[Throughput], memory: list[Memory], info: dict[str, Any]) -> str:
    out = [f"commit {info.get('commit')}, {info.get('cpus')} CPUs, Python {info.get('python')}", ""]
    if runs:
        out += [
            "| store | phones | SMS | c | sends/s | send p50 / p99 ms | end-to-end SMS/s | "
            "send->offer p50 / p99 ms | offers before the 200 | request->offer p50 / p99 ms | "
            "send->delivered p50 / p99 ms | stored / delivered | sent twice | server CPU s | "
            "server CPU ms per SMS | PostgreSQL CPU ms per SMS | check |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in runs:
            out.append(
                f"| {r.store} | {r.phones} | {r.sms} | {r.concurrency} | {r.sends_per_s:.0f} | "
                f"{r.send_p50_ms:.0f} / {r.send_p99_ms:.0f} | {r.e2e_sms_per_s:.0f} | "
                f"{r.offer_p50_ms:.1f} / {r.offer_p99_ms:.1f} | {r.offers_before_200} | "
                f"{r.request_to_offer_p50_ms:.0f} / {r.request_to_offer_p99_ms:.0f} | "
                f"{r.delivered_p50_ms:.0f} / {r.delivered_p99_ms:.0f} | {r.stored} / {r.delivered_api} | "
                f"{r.sent_twice} | {r.server_cpu_s} | {1000 * r.server_cpu_s / max(r.sms, 1):.2f} | "
                f"{f'{1000 * r.database_cpu_s / max(r.sms, 1):.2f}' if r.store == 'postgres' else '-'} | "
                f"{'ok' if r.check_ok else '**FAILED**'} |"
            )
        out.append("")
        for r in runs:
            if r.profile:
                out += [f"Profile of the server, {r.store}:", "", render(r.profile), ""]
    if memory:
        out += [
            "| store | devices | runner processes | RSS idle MB | RSS connected MB | per device KB | "
            "peak RSS while connecting MB | RSS after they left MB | connect s | check |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for m in memory:
            out.append(
                f"| {m.store} | {m.devices} | {m.processes} | {m.rss_idle_mb} | {m.rss_connected_mb} | "
                f"{m.per_device_kb} | {m.rss_peak_mb} | {m.rss_after_mb} | {m.connect_seconds} | "
                f"{'ok' if m.check_ok else f'**FAILED** ({m.server_connected} connected)'} |"
            )
    return "\n".join(out)


async def run(args: argparse.Namespace, tmp: Path) -> tuple[list[Throughput], list[Memory], list[str]]:
    runs: list[Throughput] = []
    memory: list[Memory] = []
    failures: list[str] = []
    for db in args.db:
        if args.sms:
            try:
                runs.append(await bench_throughput(db, args, tmp))
                bl.log(f"{db}: {runs[-1]}")
            except Exception as exc:  # reported in the summary; the other runs still happen
                failures.append(f"throughput {db}: {exc!r}")
                bl.log(f"FAILED throughput {db}: {exc!r}")
        if args.devices_memory:
            try:
                memory.append(await bench_memory(db, args, tmp))
                bl.log(f"{db}: {memory[-1]}")
            except Exception as exc:
                failures.append(f"memory {db}: {exc!r}")
                bl.log(f"FAILED memory {db}: {exc!r}")
    return runs, memory, failures


def main() -> int:
    args = parse_args()
    when = bl.stamp()
    files = raise_open_files()
    info = bl.machine()
    info["open_files_limit"] = files
    bl.log(f"machine: {info}")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="simrelay-bench-devices-") as tmp_name:
        runs, memory, failures = asyncio.run(run(args, Path(tmp_name)))
    table = markdown(runs, memory, info)
    print()
    print(table)
    payload = {
        "kind": "devices",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "args": vars(args),
        "machine": info,
        "throughput": [asdict(r) for r in runs],
        "memory": [asdict(m) for m in memory],
        "failures": failures,
        "markdown": table,
        "offer_latency": "from the send's 200 (driver) to the offer (phones process), CLOCK_MONOTONIC",
    }
    path = bl.write_json(f"devices-{when}.json", payload)
    (bl.RESULTS_DIR / f"devices-{when}.md").write_text(table + "\n")
    print(f"\nresults: {path}")
    for failure in failures:
        print(f"FAILURE: {failure}")
    bad = [r for r in runs if not r.check_ok] + [m for m in memory if not m.check_ok]
    return 1 if failures or bad else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    raise SystemExit(main())
