"""A running server sampled with py-spy (a dev dependency): where its CPU time goes.

py-spy reads the process's memory from outside, so the server runs unchanged and unslowed by a
tracing profiler. Only the thread holding the GIL is sampled (--gil): Python's own CPU time.
Without it, a thread waiting in fsync or epoll looks busy; the cost of that is that work done
with the GIL released (SQLite running a statement) is missing from the picture.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RATE = 250
"""Samples per second."""
TOP = 30


@dataclass
class Profiler:
    proc: subprocess.Popen[bytes]
    path: Path

    @classmethod
    def start(cls, directory: Path, pid: int, name: str) -> Profiler:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.collapsed"
        command = [spy, "record", "--pid", str(pid), "--subprocesses", "--gil", "--rate", str(RATE)]
        command += ["--format", "raw", "--output", str(path), "--nonblocking"]
        return cls(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), path)

    def stop(self) -> dict[str, Any]:
        """Stops sampling; the top functions by own and by inclusive samples."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=60)
        if not self.path.exists():
            return {"error": err.decode(errors="replace")[-500:]}
        return summarize(self.path)


def summarize(path: Path) -> dict[str, Any]:
    """From py-spy's collapsed stacks ("frame;frame;frame count" per line)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return {
        "samples": total,
        "file": str(path),
        "own": [(frame, round(100 * n / total, 1)) for frame, n in own.most_common(TOP)] if total else [],
        "inclusive": [(frame, round(100 * n / total, 1)) for frame, n in inclusive.most_common(TOP)]
        if total
        else [],
    }


def _short(frame: str) -> str:
    """`function (path/to/module.py:line)` -> `function (package/module.py)`: one entry per function."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})"


def render(profile: dict[str, Any]) -> str:
    if "error" in profile:
        return f"py-spy failed: {profile['error']}"
    lines = [f"{profile['samples']} samples ({profile['file']})", ""]
    lines.append("| own % | function | | inclusive % | function |")
    lines.append("|---|---|---|---|---|")
    for (own, own_pct), (inc, inc_pct) in zip(profile["own"], profile["inclusive"], strict=False):
        lines.append(f"| {own_pct} | `{own}` | | {inc_pct} | `{inc}` |")
    return "\n".join(lines)
