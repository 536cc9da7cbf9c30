"""Webhook delivery: events delivered per second to a local receiver, and the delay from a
status change to its delivery.

    python bench/webhooks.py                              # 1,000 events; 2,000 SMS at 200/s; both databases
    python bench/webhooks.py --db sqlite --events 300 --sms 400          # smoke (~15 s a database)
    python bench/webhooks.py --events 0 --sms 500 --rate 50 --with-phones 10   # statuses 1, 2, 4 too

Per database: a fresh database (SQLite file in a temp dir; PostgreSQL `simrelay_bench_webhooks`,
dropped and created again), account, API key and active device made with the CLI, `simrelay serve`
(1 worker, rate limit and access log off, SIMRELAY_WEBHOOK_ALLOW_PRIVATE=1) and one webhook on
sms.status. The receiver is a process of its own (this file with `--receiver`: uvicorn, httptools,
uvloop) that answers 200 to every POST, records its `webhook-id` and time.time() on arrival, and
keeps the first `--sample` requests, whose signatures are checked with `standardwebhooks`.

- Throughput: `--events` sms.status events (SMS objects as /v1/sms/get shows them) queued in one
  transaction by simrelay's own `queue_events`, from this process: the courier finds them at its
  next tick. events/s = N / (last - first arrival); "from commit": N / (last arrival - commit).
- Latency: `--sms` SMS through `POST /v1/sms/send` at `--rate` a second (`--concurrency` in flight
  at most), each queueing its status-0 event in its own transaction. Delay = arrival - that
  event's webhook_events.created_at (one machine, one clock). `--with-phones N` pairs N simulated
  phones (bench/phones.py) instead of adding the device, so statuses 1, 2 and 4 are announced too.

Both check that every queued event arrived exactly once, and report the courier's attempts
(/metrics), its POST round trips (webhook_deliveries.latency_ms), the TCP connections it opened
and the CPU seconds of the server and the receiver. Results: bench/results/webhooks-<stamp>.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import benchlib as bl
import devices
import httpx
import orjson
from profiling import Profiler, render
from sqlalchemy import text

EMAIL = "webhooks@simrelay.localhost"
PG_DATABASE = "simrelay_bench_webhooks"
PATH = "/hook"
SETTINGS = {"SIMRELAY_WEBHOOK_ALLOW_PRIVATE": "1"}
"""The receiver is on loopback; the courier's other settings stay at their defaults."""
ARGS = argparse.Namespace()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=bl.csv, default=["sqlite", "postgres"], help="sqlite,postgres")
    parser.add_argument("--events", type=int, default=1000, help="events queued at once (0: no run)")
    parser.add_argument("--sms", type=int, default=2000, help="SMS sent for the latency run (0: no run)")
    parser.add_argument("--rate", type=float, default=200.0, help="SMS sent per second")
    parser.add_argument("--concurrency", type=int, default=16, help="send requests in flight at most")
    parser.add_argument("--with-phones", type=int, default=0, help="simulated phones (0: a device record)")
    parser.add_argument("--sample", type=int, default=20, help="deliveries whose signature is checked")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for every event to arrive")
    parser.add_argument("--port", type=int, default=8014, help="simrelay serve on 127.0.0.1")
    parser.add_argument("--receiver-port", type=int, default=8015, help="the receiver on 127.0.0.1")
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during the throughput run; the top of the profile is printed",
    )
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if set(args.db) - {"sqlite", "postgres"}:
        parser.error(f"unknown databases {args.db}")
    if min(args.events, args.sms, args.with_phones, args.sample) < 0 or args.rate <= 0:
        parser.error("counts must be >= 0 and --rate > 0")
    return args


# --- the receiver (its own process) --------------------------------------------------------


def receiver_main(port: int, sample: int) -> None:
    """POST: 200 at once, (webhook-id, arrival) recorded. GET /count, /records, /reset."""
    import uvicorn

    records: list[tuple[str, float]] = []
    samples: list[dict[str, Any]] = []
    peers: set[tuple[Any, ...]] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        at, body, more, out = time.time(), b"", True, b""
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        if scope["method"] == "POST":
            records.append((next((v.decode() for k, v in scope["headers"] if k == b"webhook-id"), ""), at))
            peers.add(tuple(scope.get("client") or ()))
            if len(samples) < sample:
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
                samples.append({"body": body.decode(), "headers": headers})
        elif scope["path"] == "/count":
            out = str(len(records)).encode()
        elif scope["path"] == "/records":
            out = orjson.dumps({"records": records, "samples": samples, "connections": len(peers)})
        elif scope["path"] == "/reset":
            records.clear()
            samples.clear()
            peers.clear()
        length = [(b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": length})
        await send({"type": "http.response.body", "body": out})

    options = {"loop": "uvloop", "http": "httptools", "lifespan": "off", "access_log": False}
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **options)


class Receiver:
    """The receiver process, stopped by its PID."""

    def __init__(self, port: int, sample: int, log_path: Path) -> None:
        self.url, self.port, self.sample, self.log_path = f"http://127.0.0.1:{port}", port, sample, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not bl.port_free(self.port):
            raise RuntimeError(f"port {self.port} is already in use on 127.0.0.1")
        command = [sys.executable, __file__, "--receiver", "--receiver-port", str(self.port)]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen([*command, "--sample", str(self.sample)], stdout=out, stderr=out)
        if not bl.wait_port(self.port, 30):
            self.stop()
            raise RuntimeError(f"the receiver did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        """TERM to this one PID (our own child), KILL if it ignores it for 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    async def get(self, path: str) -> bytes:
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as http:
            return (await http.get(path)).content


# --- set-up and helpers --------------------------------------------------------------------


def prepare(store: str, args: argparse.Namespace, data_dir: Path) -> tuple[dict[str, str], str, str]:
    """A fresh database with an account, an API key and (without phones) an active device:
    (env, database URL, token)."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if store == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'simrelay.db'}"
    else:
        server = args.pg_server.rstrip("/")
        bl.pg_recreate(PG_DATABASE, dsn=f"{server}/postgres")
        url = f"{server.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{PG_DATABASE}"
    key = secrets.token_urlsafe(48)
    env = bl.simrelay_env(data_dir, url, SIMRELAY_SECRET_KEY=key, **SETTINGS, **devices.SETTINGS)
    bl.cli(env, data_dir, "account", "create", EMAIL)
    token = str(bl.last_json(bl.cli(env, data_dir, "key", "create", EMAIL, "--json"))["token"])
    if not args.with_phones:  # an SMS is accepted with no device connected if the account has one
        bl.cli(env, data_dir, "device", "add", EMAIL, "--active")
    return env, url, token


@dataclass
class Run:
    store: str
    kind: str
    figures: dict[str, Any] = field(default_factory=dict)
    """The checks and the courier's side, from Context.finish."""
    columns: dict[str, Any] = field(default_factory=dict)
    """This run's own figures, as table columns."""
    check_ok: bool = False


def ms(seconds: list[float], pct: float) -> float:
    return round(bl.percentile(seconds, pct) * 1000, 1)


async def wait_until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


@dataclass
class Context:
    store: str
    env: dict[str, str]
    data_dir: Path
    token: str
    db: Any
    """simrelay.storage.database.Database on the server's database."""
    http: httpx.AsyncClient
    receiver: Receiver
    server: bl.Server
    secret: str = ""

    async def rows(self, query: str, **params: Any) -> list[Any]:
        return list(await self.db.read(lambda conn: conn.execute(text(query), params).all()))

    def counters(self) -> tuple[float, float, float]:
        """(server CPU s, receiver CPU s, courier attempts) so far."""
        assert self.server.proc is not None and self.receiver.proc is not None
        attempts = float("nan")
        for line in httpx.get(self.server.base_url + "/metrics").text.splitlines():
            if line.startswith("simrelay_webhook_attempts_total "):
                attempts = float(line.split()[-1])
        cpu = devices.cpu_seconds
        return cpu(self.server.proc.pid), cpu(self.receiver.proc.pid), attempts

    async def finish(
        self, run: Run, expected: set[str], before: tuple[float, ...], since: float
    ) -> list[Any]:
        """Waits for every expected event to arrive and be recorded, then checks the records:
        each id once, sampled signatures valid. Returns [(webhook-id, arrival)]."""
        from standardwebhooks import Webhook

        async def done() -> bool:
            if int(await self.receiver.get("/count")) < len(expected):
                return False
            query = "SELECT count(*) FROM webhook_events WHERE state = 0 AND created_at >= :t"
            return bool((await self.rows(query, t=since))[0][0] == 0)

        if not await wait_until(done, ARGS.timeout):
            bl.log(f"{self.store}: not every event arrived within {ARGS.timeout:g} s")
        after = self.counters()
        query = "SELECT d.latency_ms FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
        posts = [r[0] / 1000 for r in await self.rows(query + " WHERE e.created_at >= :t", t=since)]
        got = orjson.loads(await self.receiver.get("/records"))
        records = [(str(i), float(t)) for i, t in got["records"]]
        counts = collections.Counter(i for i, _ in records)
        verified = 0
        for one in got["samples"]:
            try:
                Webhook(self.secret).verify(one["body"], one["headers"])
                verified += 1
            except Exception as exc:
                bl.log(f"signature of {one['headers'].get('webhook-id')} refused: {exc!r}")
        run.figures.update(
            queued=len(expected),
            received=len(records),
            distinct=len(counts),
            duplicates=sum(n - 1 for n in counts.values() if n > 1),
            missing=len(expected - counts.keys()),
            unexpected=len(counts.keys() - expected),
            signatures=f"{verified}/{len(got['samples'])}",
            connections=got["connections"],  # TCP connections opened to the receiver
            attempts=int(after[2] - before[2]),  # simrelay_webhook_attempts_total
            post_ms=f"{ms(posts, 50)} / {ms(posts, 99)}",  # webhook_deliveries.latency_ms p50 / p99
            cpu_s=f"{after[0] - before[0]:.2f} / {after[1] - before[1]:.2f}",  # server / receiver
        )
        run.check_ok = len(records) == len(counts) == len(expected) > 0 and verified == min(
            self.receiver.sample, len(expected)
        )
        await self.receiver.get("/reset")
        return records


# --- the runs ------------------------------------------------------------------------------


def sms_object(number: int, now: float) -> dict[str, Any]:
    """An SMS in status 0 as /v1/sms/get shows it (simrelay's own message_object)."""
    from simrelay.ids import new_object_id
    from simrelay.sms.schemas import message_object

    text = f"Код подтверждения {number:06d}. Никому его не сообщайте."
    fields = {
        "id": new_object_id(),
        "message": text,
        "phone_number": f"+7999{number:07d}",
        "time_create": int(now),
    }
    row = SimpleNamespace(
        **fields, status=0, callback_id="", device_id="", requested_device_id="", to_sim=None
    )
    return message_object(row)


async def throughput(ctx: Context) -> Run:
    """`--events` events queued in one transaction; the courier finds them at its next tick."""
    from simrelay.webhooks.outbox import Event, Kind, queue_events

    run = Run(ctx.store, "throughput")
    account_id = (await ctx.rows("SELECT id FROM accounts WHERE email = :e", e=EMAIL))[0][0]
    now = time.time()
    sms = [sms_object(n, now) for n in range(ARGS.events)]
    events = [Event(account_id, Kind.SMS_STATUS, data=one, at=now, subject=one["id"]) for one in sms]
    before = ctx.counters()
    assert ctx.server.proc is not None
    name = f"webhooks-{ctx.store}"
    profiler = Profiler.start(ARGS.profile, ctx.server.proc.pid, name) if ARGS.profile else None
    queued = await ctx.db.run(lambda conn: queue_events(conn, events))
    committed = time.time()
    expected = {r[0] for r in await ctx.rows("SELECT id FROM webhook_events WHERE created_at = :t", t=now)}
    bl.log(f"{ctx.store}: {queued} events queued in {committed - now:.3f} s; waiting for the receiver")
    times = sorted(t for _, t in await ctx.finish(run, expected, before, since=now))
    if profiler:
        print(f"Profile of the server, {ctx.store}:\n\n{render(profiler.stop())}\n", flush=True)
    if len(times) > 1:
        run.figures["insert_s"] = round(committed - now, 3)
        run.columns = {
            "events": run.figures["queued"],
            "commit -> first POST s": round(times[0] - committed, 3),
            "first -> last s": round(times[-1] - times[0], 3),
            "events/s": round(len(times) / (times[-1] - times[0]), 1),
            "events/s from commit": round(len(times) / (times[-1] - committed), 1),
        }
    return run


async def send_paced(ctx: Context) -> tuple[list[float], int, float]:
    """`--sms` sends started at `--rate` a second, `--concurrency` at most in flight:
    (seconds of each accepted send, errors, seconds from the first start to the last answer)."""
    limit, took, errors = asyncio.Semaphore(ARGS.concurrency), [], 0
    headers = {"Authorization": f"Bearer {ctx.token}"}

    async def send(number: int) -> None:
        nonlocal errors
        body = {"phone_number": f"+7999{number:07d}", "message": f"Ваш заказ {number} собран"}
        started = time.monotonic()
        try:
            response = await ctx.http.post("/v1/sms/send", json=body, headers=headers)
            if response.status_code == 200:
                took.append(time.monotonic() - started)
            else:
                errors += 1
                bl.log(f"send {number}: HTTP {response.status_code} {response.text[:200]}")
        except httpx.HTTPError as exc:
            errors += 1
            bl.log(f"send {number}: {exc!r}")
        finally:
            limit.release()

    tasks, first = [], time.monotonic()
    for number in range(ARGS.sms):
        await asyncio.sleep(max(0.0, first + number / ARGS.rate - time.monotonic()))
        await limit.acquire()
        tasks.append(asyncio.create_task(send(number)))
    await asyncio.gather(*tasks)
    return took, errors, time.monotonic() - first


async def latency(ctx: Context) -> Run:
    """`--sms` SMS through the API; delay = arrival - the event's created_at."""
    run, phones = Run(ctx.store, "latency"), None
    if ARGS.with_phones:
        pair = ["device", "pair", EMAIL, "--uses", str(ARGS.with_phones), "--json"]
        code = str(bl.last_json(bl.cli(ctx.env, ctx.data_dir, *pair))["code"])
        log_path = ctx.data_dir / "phones.log"
        phones = devices.Phones(
            ctx.server.base_url, code, ARGS.with_phones, log_path=log_path, extra=["--events", ""]
        )
        await phones.start(lambda *_: None)
        await phones.wait_ready(120)
    try:
        before, since = ctx.counters(), time.time()
        bl.log(f"{ctx.store}: sending {ARGS.sms} SMS at {ARGS.rate:g}/s")
        took, errors, seconds = await send_paced(ctx)

        async def settled() -> bool:  # with phones: every SMS at its last status
            return (await ctx.rows("SELECT count(*) FROM messages WHERE status IN (0, 1, 2)"))[0][0] == 0

        if phones is not None and not await wait_until(settled, ARGS.timeout):
            bl.log(f"{ctx.store}: some SMS did not reach a final status")
        query = "SELECT id, created_at, payload FROM webhook_events WHERE created_at >= :t"
        created = {
            r.id: (r.created_at, orjson.loads(r.payload)["data"]["status"])
            for r in await ctx.rows(query, t=since)
        }
        records = await ctx.finish(run, set(created), before, since=since)
    finally:
        if phones is not None:
            await phones.stop()
    first: dict[str, float] = {}
    for event_id, at in records:
        first.setdefault(event_id, at)
    by_status: dict[int, list[float]] = collections.defaultdict(list)
    for i, at in first.items():
        if i in created:
            by_status[created[i][1]].append(at - created[i][0])
    delays = [d for one in by_status.values() for d in one]
    run.figures.update(send_errors=errors, events_by_status={s: len(d) for s, d in by_status.items()})
    run.columns = {
        "SMS sent / accepted": f"{ARGS.sms} / {len(took)}",
        "sends/s": round(len(took) / seconds, 1),
        "send p50 / p99 ms": f"{ms(took, 50)} / {ms(took, 99)}",
        "events": len(delays),
        "delay p50 / p90 / p99 / max ms": " / ".join(str(ms(delays, p)) for p in (50, 90, 99, 100)),
    }
    if len(by_status) > 1:  # with phones: the delay of each status
        run.columns["delay p50 / p99 ms by status"] = ", ".join(
            f"{s}: {ms(d, 50)} / {ms(d, 99)}" for s, d in sorted(by_status.items())
        )
    run.check_ok = run.check_ok and errors == 0 and len(took) == ARGS.sms
    return run


async def bench(store: str, tmp: Path) -> list[Run]:
    from simrelay.storage.database import Database

    data_dir = tmp / store
    env, url, token = await asyncio.to_thread(prepare, store, ARGS, data_dir)
    server = bl.Server(env, data_dir, ARGS.port)
    receiver = Receiver(ARGS.receiver_port, ARGS.sample, data_dir / "receiver.log")
    runs: list[Run] = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        ctx = Context(store, env, data_dir, token, Database(url), http, receiver, server)
        try:
            receiver.start()
            server.start()
            hook = {"url": receiver.url + PATH, "events": ["sms.status"]}
            answer = await http.post("/v1/webhooks", json=hook, headers={"Authorization": f"Bearer {token}"})
            ctx.secret = str(answer.raise_for_status().json()["secret"])
            for kind, count in ((throughput, ARGS.events), (latency, ARGS.sms)):
                if count:
                    runs.append(await kind(ctx))
                    bl.log(f"{store}: {runs[-1]}")
        finally:
            server.stop()
            receiver.stop()
            await ctx.db.dispose()
            if not runs or not all(run.check_ok for run in runs):
                keep = bl.RESULTS_DIR / f"webhooks-logs-{bl.stamp()}-{store}"
                keep.mkdir(parents=True, exist_ok=True)
                for log_file in data_dir.glob("*.log"):
                    shutil.copy(log_file, keep / log_file.name)
    return runs


# --- report --------------------------------------------------------------------------------


def markdown(runs: list[Run], info: dict[str, Any]) -> str:
    out = [f"commit {info.get('commit')}, {info.get('cpus')} CPUs, Python {info.get('python')}", ""]
    for kind in ("throughput", "latency"):
        rows = [{"store": r.store, **r.columns, **common(r)} for r in runs if r.kind == kind]
        if rows:
            out += ["| " + " | ".join(rows[0]) + " |", "|---" * len(rows[0]) + "|"]
            out += ["| " + " | ".join(map(str, row.values())) + " |" for row in rows] + [""]
    return "\n".join(out)


def common(r: Run) -> dict[str, Any]:
    f = r.figures
    check = f"{f['distinct']} / {f['queued']}, dup {f['duplicates']}, sig {f['signatures']}"
    return {
        "attempts": f["attempts"],
        "courier POST p50 / p99 ms": f["post_ms"],
        "connections": f["connections"],
        "server / receiver CPU s": f["cpu_s"],
        "arrived / queued": f"{check} {'ok' if r.check_ok else '**FAILED**'}",
    }


def main() -> int:
    global ARGS
    ARGS = parse_args()
    if ARGS.receiver:
        receiver_main(ARGS.receiver_port, ARGS.sample)
        return 0
    from simrelay.config import Settings

    when, started, info = bl.stamp(), time.time(), bl.machine()
    bl.log(f"machine: {info}")
    runs: list[Run] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="simrelay-bench-webhooks-") as tmp:
        for store in ARGS.db:
            try:
                runs += asyncio.run(bench(store, Path(tmp)))
            except Exception as exc:  # reported; the other database still runs
                failures.append(f"{store}: {exc!r}")
                bl.log(f"FAILED {store}: {exc!r}")
    table = markdown(runs, info)
    print()
    print(table)
    fields = Settings.model_fields.items()
    defaults = {k: v.default for k, v in fields if k.startswith("webhook_") and k != "webhook_allow_private"}
    payload = {
        "kind": "webhooks",
        "command": " ".join(["python", *sys.argv]),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "args": vars(ARGS),
        "settings": {**defaults, **SETTINGS, **devices.SETTINGS, "workers": 1},
        "machine": info,
        "runs": [asdict(r) for r in runs],
        "failures": failures,
        "markdown": table,
        "delay": "receiver's time.time() on arrival - webhook_events.created_at (the change's time.time())",
    }
    path = bl.write_json(f"webhooks-{when}.json", payload)
    (bl.RESULTS_DIR / f"webhooks-{when}.md").write_text(table + "\n")
    print(f"\nresults: {path}")
    for failure in failures:
        print(f"FAILURE: {failure}")
    return 1 if failures or not all(r.check_ok for r in runs) else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    raise SystemExit(main())
