"""MongoDB-style ObjectIDs: 4-byte unix time, 5 random bytes per process, 3-byte counter."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import threading
import time

OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
OBJECT_ID_PATTERN = f"^{OBJECT_ID.pattern}$"
"""The contract's rule, as a JSON Schema (ECMA 262) pattern: what the OpenAPI document states."""

_process_random = secrets.token_bytes(5)
_process_pid = os.getpid()
_counter = itertools.count(secrets.randbelow(0xFFFFFF))
_lock = threading.Lock()


def new_object_id() -> str:
    global _process_random, _process_pid
    with _lock:
        if os.getpid() != _process_pid:
            # A forked worker must not reuse its parent's random part.
            _process_pid = os.getpid()
            _process_random = secrets.token_bytes(5)
        count = next(_counter) & 0xFFFFFF
    raw = int(time.time()).to_bytes(4, "big") + _process_random + count.to_bytes(3, "big")
    return raw.hex()


def is_object_id(value: str) -> bool:
    # fullmatch: `$` would also accept a trailing newline.
    return bool(OBJECT_ID.fullmatch(value))


def object_id_floor(moment: float) -> str:
    """The smallest ObjectID made at `moment` or later: ids sort by time, so a range of ids
    finds a period's rows through an index on the id."""
    return int(max(moment, 0)).to_bytes(4, "big").hex() + "0" * 16
