"""Pairing: one-time codes that enrol devices, and the device tokens they are traded for.

Codes and tokens are stored only as sha256 hashes: a database leak does not let anyone
pair or pose as a device. Codes are short enough to type (8 characters from an alphabet
without look-alikes, 40 bits) because they live 10 minutes and pair a bounded number of
devices.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from sqlalchemy import Table, delete, update
from sqlalchemy.engine import Connection

from simrelay.devices.models import PairingCode

pairing_codes = cast(Table, PairingCode.__table__)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_LIFETIME_SECONDS = 600.0
TOKEN_PREFIX = "sdt_"


class PairingError(Exception):
    """The code is unknown, expired or used up."""


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    """As shown: ABCD-EFGH."""
    qr_payload: str
    expires_at: float
    uses: int


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """Dashes, spaces and letter case do not matter when a code is typed."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_device_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def qr_payload(server_url: str, code: str) -> str:
    return "simrelay://pair?" + urlencode({"server": server_url.rstrip("/"), "code": code})


def issue_code(conn: Connection, account_id: str, *, uses: int, server_url: str) -> IssuedCode:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    shown = f"{raw[:4]}-{raw[4:]}"
    now = time.time()
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
    # Spent and expired codes are of no use to anyone: clear them while we are here.
    conn.execute(delete(pairing_codes).where(pairing_codes.c.expires_at < now))
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
