"""Process-level helpers: run `python -m simrelay serve` and CLI commands as real subprocesses.

All traffic goes to 127.0.0.1. Every wait is bounded in time and in iterations.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import (
    PG2_URL,
    REDIS2_URL,
    SECRET,
    WORKER,
    WORKER_COUNT,
    reset_postgres,
    reset_redis,
    unavailable,
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 40.0
CLI_TIMEOUT = 60.0


PORTS_START = 10000


def _worker_ports() -> Iterator[int]:
    """Under xdist, the ports of this worker's own block, from a random start, round and round:
    the ports from 10000 up to the range that the kernel hands out to bind(0) and connect()
    (32768 on Linux), in one block per worker (gw0 gets the first); nothing without xdist.

    A port from bind(0) is free when the socket closes, so another worker may get it too before
    the server that it is for listens (a second or so), or while a killed server restarts on it:
    workers take ports from blocks of their own that the kernel never hands out by itself. The
    random start keeps two test runs on one machine apart.
    """
    if not WORKER:
        return
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    size = (ephemeral_low - PORTS_START) // WORKER_COUNT
    if size < 100:
        return
    first = PORTS_START + size * int(WORKER.removeprefix("gw"))
    offset = random.randrange(size)
    while True:
        offset = (offset + 1) % size
        yield first + offset


_PORTS = _worker_ports()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing is bound to (so nothing listens on it) at the moment."""
    for port in itertools.islice(_PORTS, 1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use, or in TIME_WAIT after an earlier test
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


def free_port_besides(*taken: int) -> int:
    """A free port that is none of `taken` (ports chosen but not bound yet, such as a server's
    HTTP port before it starts)."""
    for _ in range(100):
        port = free_port()
        if port not in taken:
            return port
    raise AssertionError(f"no free port besides {taken}")


def server_env(data_dir: Path, *, database_url: str = "", **settings: str | None) -> dict[str, str]:
    """The parent's environment without any SIMRELAY_* variable, plus these settings.

    `settings` keys are setting names (`rate_limit="0"` -> SIMRELAY_RATE_LIMIT=0).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIMRELAY_", "PROMETHEUS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env["SIMRELAY_DATA_DIR"] = str(data_dir)
    env["SIMRELAY_SECRET_KEY"] = SECRET
    env["SIMRELAY_RATE_LIMIT"] = "0"
    if database_url:
        env["SIMRELAY_DATABASE_URL"] = database_url
    for name, value in settings.items():
        if value is None:
            env.pop(f"SIMRELAY_{name.upper()}", None)
        else:
            env[f"SIMRELAY_{name.upper()}"] = value
    return env


def _cli_args(env: Mapping[str, str], args: tuple[str, ...]) -> dict[str, Any]:
    return {
        "args": [sys.executable, "-m", "simrelay", *args],
        "env": dict(env),
        "cwd": env["SIMRELAY_DATA_DIR"],
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "text": True,
    }


def _checked(args: tuple[str, ...], done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0:
        command = " ".join(args)
        raise AssertionError(f"simrelay {command} exited {done.returncode}\n{done.stdout}\n{done.stderr}")


def run_cli(env: Mapping[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m simrelay ARGS`; with check=True a non-zero exit fails with its output."""
    done = subprocess.run(**_cli_args(env, args), timeout=CLI_TIMEOUT, check=False)
    if check:
        _checked(args, done)
    return done


def cli(env: Mapping[str, str], *args: str) -> str:
    """stdout of a CLI command that must succeed."""
    return run_cli(env, *args).stdout


def cli_json(env: Mapping[str, str], *args: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(cli(env, *args))
    return found


def cli_concurrently(env: Mapping[str, str], *commands: tuple[str, ...]) -> list[str]:
    """stdout of independent CLI commands run at the same time (each CLI start costs ~1 s)."""
    processes = [(args, subprocess.Popen(**_cli_args(env, args))) for args in commands]
    outputs = []
    try:
        for args, process in processes:
            stdout, stderr = process.communicate(timeout=CLI_TIMEOUT)
            _checked(args, subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
            outputs.append(stdout)
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    return outputs


def make_account(
    env: Mapping[str, str], email: str, *, quota: int | None = None, device: bool = True
) -> dict[str, str]:
    """An account with one key and (unless device=False) one active device, made with the CLI.

    Returns {"id": key id, "token", "device_id"}.
    """
    cli(env, "account", "create", email, *(["--quota", str(quota)] if quota is not None else []))
    commands: list[tuple[str, ...]] = [("key", "create", email, "--json")]
    if device:
        commands.append(("device", "add", email, "--active", "--json"))
    outputs = [json.loads(out) for out in cli_concurrently(env, *commands)]
    return {
        "id": outputs[0]["id"],
        "token": outputs[0]["token"],
        "device_id": outputs[-1].get("device_id", ""),
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Server:
    """One `simrelay serve` (or `quickstart`) process; stderr and stdout go to files."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        *,
        workers: int = 1,
        command: str = "serve",
        name: str = "server",
        port: int | None = None,
        tls: tuple[Path, Path] | None = None,
        options: tuple[str, ...] = (),
    ) -> None:
        self.env = dict(env)
        self.tls = tls
        self.options = options
        """More options of the command (`--smpp-port`, ...)."""
        """(certificate, key): serve HTTPS; the certificate is what clients verify against."""
        self.workers = workers
        self.command = command
        # An earlier server's port, for a restart that its clients reconnect to.
        self.port = port if port is not None else free_port()
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"{name}-{self.port}.stderr"
        self.stdout_path = log_dir / f"{name}-{self.port}.stdout"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> Server:
        args = [
            sys.executable,
            "-m",
            "simrelay",
            self.command,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if self.workers > 1:
            args += ["--workers", str(self.workers)]
        if self.tls:
            args += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        args += self.options
        with self.stderr_path.open("ab") as err, self.stdout_path.open("ab") as out:
            # Own session: the process group id is our pid, so workers can be stopped with it.
            self.process = subprocess.Popen(
                args,
                env=self.env,
                cwd=self.env["SIMRELAY_DATA_DIR"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        if wait:
            try:
                self.wait_ready()
            except BaseException:
                self.kill()  # never leave a server behind: it would keep working on a shared database
                raise
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}:\n{self.stderr()}")
            try:
                verify = ssl.create_default_context(cafile=self.tls[0]) if self.tls else True
                if httpx.get(self.base_url + "/healthz", timeout=1.0, verify=verify).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"server not ready within {timeout} s:\n{self.stderr()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        if self.process.returncode is None:  # not reaped, so the pid is still ours (maybe a zombie)
            os.kill(self.process.pid, signum)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """The exit status, once the process ends; SIGKILL and fail if it takes longer than timeout.

        After SIGTERM uvicorn finishes in-flight requests, runs the lifespan shutdown, then
        re-raises the signal: a graceful stop exits with -15.
        """
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"server still running after {timeout} s") from None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait for the exit (in-flight requests finish)."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to the server and its workers (its own process group), then reap it."""
        if self.process is None or self.process.returncode is not None:
            return  # Already reaped: its pid (and so the group id) may belong to someone else now.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines of stderr (uvicorn's own plain-text lines are skipped)."""
        records = []
        for line in self.stderr().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def wait_for_log(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            for record in self.log_records():
                if predicate(record):
                    return record
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise AssertionError(f"no matching log line within {timeout} s:\n{self.stderr()[-4000:]}")

    def __enter__(self) -> Server:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def reset_postgres2() -> str:
    """An empty `simrelay_test2` (this xdist worker's: `simrelay_test2_gw0`, ...) for server
    processes; skips or fails like conftest if unreachable."""
    try:
        asyncio.run(asyncio.wait_for(reset_postgres(PG2_URL), 10))
    except Exception as exc:
        unavailable("PostgreSQL (simrelay_test2)", exc)
    return PG2_URL


def reset_redis14() -> str:
    """The emptied second Redis database (db 14; under xdist this worker's) for server processes."""
    return reset_redis(REDIS2_URL, f"Redis ({REDIS2_URL})")
