"""Pairing: one-time codes that enrol devices, and the device tokens they are traded for.

Codes and tokens are stored only as sha256 hashes: a database leak does not let anyone
pair or pose as a device. Codes are 8 digits, shown `1234 5678`: the SMSGate app's code field
takes digits only (`editCode`, inputType number|numberPassword, in dialog_first_start.xml,
v1.34.0 to v1.68.0), and one code must pair every kind of device. 10^8 codes are safe because
a code lives 10 minutes, pairs a bounded number of devices, and guesses are throttled per
client address and per code (devices/guessing.py).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection

from simrelay.devices.models import PairingCode

pairing_codes = cast(Table, PairingCode.__table__)

DIGITS = "0123456789"
CODE_LENGTH = 8
IGNORED = " -\t"
"""What may be typed between the digits."""
CODE_LIFETIME_SECONDS = 600.0
TOKEN_PREFIX = "sdt_"


class PairingError(Exception):
    """The code is unknown, expired or used up."""


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    """As shown: 1234 5678."""
    qr_payload: str
    expires_at: float
    uses: int

    @property
    def digits(self) -> str:
        """As typed on a command line or into the app: 12345678."""
        return normalise_code(self.code)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """Spaces and dashes do not matter when a code is typed; anything else does."""
    return "".join(ch for ch in code if ch not in IGNORED)


def new_device_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def qr_payload(server_url: str, code: str) -> str:
    """What the native protocol's devices scan (docs/device-protocol.md). The SMSGate app scans
    no QR code at all (no scanner in any release to v1.68.0): its user types the code."""
    return "simrelay://pair?" + urlencode({"server": server_url.rstrip("/"), "code": normalise_code(code)})


def issue_code(conn: Connection, account_id: str, *, uses: int, server_url: str) -> IssuedCode:
    now = time.time()
    # Spent and expired codes are of no use to anyone: clear them while we are here.
    conn.execute(delete(pairing_codes).where(pairing_codes.c.expires_at < now))
    while True:  # a live code is never issued twice (10^8 codes, a few live at a time)
        raw = "".join(secrets.choice(DIGITS) for _ in range(CODE_LENGTH))
        taken = conn.execute(
            select(pairing_codes.c.code_hash).where(pairing_codes.c.code_hash == hash_secret(raw))
        ).first()
        if taken is None:
            break
    expires_at = now + CODE_LIFETIME_SECONDS
    conn.execute(
        pairing_codes.insert().values(
            code_hash=hash_secret(raw),
            account_id=account_id,
            uses_left=uses,
            expires_at=expires_at,
            created_at=now,
        )
    )
    shown = f"{raw[:4]} {raw[4:]}"
    return IssuedCode(shown, qr_payload(server_url, shown), expires_at, uses)


def redeem_code(conn: Connection, code: str, *, now: float) -> str:
    """Uses the code once; returns its account id. Raises PairingError."""
    code_hash = hash_secret(normalise_code(code))
    row: Any = conn.execute(
        update(pairing_codes)
        .where(
            pairing_codes.c.code_hash == code_hash,
            pairing_codes.c.uses_left > 0,
            pairing_codes.c.expires_at > now,
        )
        .values(uses_left=pairing_codes.c.uses_left - 1)
        .returning(pairing_codes.c.account_id)
    ).first()
    if row is None:
        raise PairingError
    return str(row[0])
