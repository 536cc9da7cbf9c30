"""What bench/smpp.py runs beside simrelay: Jasmin's SMPP server (bench/peers_jasmin.sh) and a
one-message check with smpplib, an SMPP client no one here wrote."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import benchlib as bl
from smpp_load import Load, submit_template

JASMIN_SMPP_PORT = 2775
"""Fixed by ../shared/bench-peers/jasmin.sh's jasmin.cfg ([smpp-server] port)."""


def check_with_smpplib(port: int, system_id: str, password: str) -> str:
    """Encodes the load generator's submit_sm with smpplib and with our codec, which must give
    the same octets, then sends smpplib's over a bind of its own: the server must answer
    ESME_ROK with a message_id. Returns what happened; RuntimeError if it went otherwise."""
    import smpplib.client
    import smpplib.consts
    import smpplib.smpp

    load = Load(host="127.0.0.1", port=port, system_id=system_id, password=password)
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transmitter(system_id=system_id, password=password)
        fields = {
            "source_addr": "bench",
            "dest_addr_ton": smpplib.consts.SMPP_TON_INTL,
            "dest_addr_npi": smpplib.consts.SMPP_NPI_ISDN,
            "destination_addr": load.destination,
            "short_message": load.text,
            "registered_delivery": load.registered_delivery,
        }
        pdu = smpplib.smpp.make_pdu("submit_sm", client=client, **fields)
        pdu.sequence = client.next_sequence()
        ours = submit_template(load, sequence=pdu.sequence)
        if pdu.generate() != ours:
            raise RuntimeError(f"smpplib encodes {pdu.generate().hex()}, our codec {ours.hex()}")
        client.send_pdu(pdu)
        answer = client.read_pdu()
        if answer.command != "submit_sm_resp" or answer.status != 0 or not answer.message_id:
            raise RuntimeError(f"smpplib's submit_sm answered {answer.command} status {answer.status}")
        client.unbind()
        return f"same octets as ours; ESME_ROK message_id={answer.message_id.decode()}"
    finally:
        client.disconnect()


class Jasmin:
    """bench/peers_jasmin.sh from start to `READY` to its clean-up: a context manager. The
    submit_sm that reached smpp_sim.py are in its count file."""

    port = JASMIN_SMPP_PORT

    def __init__(self, log_path: Path, *, startup_timeout: float) -> None:
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.count_file: Path | None = None
        self.proc: subprocess.Popen[str] | None = None
        self.started: str | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Jasmin:
        bl.log(f"jasmin: starting bench/peers_jasmin.sh (log {self.log_path})")
        self.proc = subprocess.Popen(
            [str(bl.BENCH_DIR / "peers_jasmin.sh")],
            env=bl.wrk_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self.started = bl._start_time(self.proc.pid)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(self.startup_timeout) or self.count_file is None:
            self.__exit__(None, None, None)
            tail = self.log_path.read_text(errors="replace")[-1500:] if self.log_path.exists() else ""
            raise RuntimeError(f"Jasmin did not come up within {self.startup_timeout:g}s:\n{tail}")
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.log_path, "w") as log_file:
            for line in self.proc.stdout:
                log_file.write(line)
                log_file.flush()
                if line.startswith("READY "):
                    self.count_file = Path(line.split(" ", 1)[1].strip())
                    self._ready.set()
        self._ready.set()  # the script ended: nobody waits any longer

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()  # the script's signal to stop everything it started
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            bl.stop_process(self.proc.pid, self.started, grace=60)
        if self._reader is not None:
            self._reader.join(timeout=10)
        self.proc = None

    def drained(self, limit: float) -> tuple[int, float]:
        return drained(self.count_file, limit)


def delivered(count_file: Path | None) -> int:
    """The number of submit_sm smpp_sim.py has counted (it rewrites the file every 0.2 s)."""
    try:
        return int((count_file or Path("/nonexistent")).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def drained(count_file: Path | None, limit: float) -> tuple[int, float]:
    """Waits until smpp_sim.py's count has not moved for 2 s (at most `limit` s); (count,
    seconds it kept moving)."""
    start = time.monotonic()
    last, last_change = delivered(count_file), start
    while time.monotonic() - start < limit:
        time.sleep(0.5)
        now = delivered(count_file)
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= 2:
            break
    return last, round(last_change - start, 1)


class SmppSim:
    """../shared/bench-peers/smpp_sim.py on 127.0.0.1:`port`, stopped by its PID: a context manager."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.count_file = workdir / "smpp_sim.count"
        self.log_path = workdir / "smpp_sim.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started: str | None = None

    def __enter__(self) -> SmppSim:
        if not bl.port_free(self.port):
            raise RuntimeError(f"port {self.port} is already in use on 127.0.0.1")
        command = [sys.executable, str(bl.PEERS_DIR / "smpp_sim.py"), "--port", str(self.port)]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [*command, "--count-file", str(self.count_file)], stdout=out, stderr=subprocess.STDOUT
            )
        self.started = bl._start_time(self.proc.pid)
        if not bl.wait_port(self.port, 10):
            self.__exit__(None, None, None)
            raise RuntimeError(f"smpp_sim.py did not listen on {self.port}")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.proc is not None:
            bl.stop_process(self.proc.pid, self.started, grace=10)
            self.proc.wait(timeout=5)
            self.proc = None
