"""API tokens: JWT-shaped, signed with the server key, stored only as a sha256 hash.

A token's claims name its key (`kid`) and carry 128 random bits (`jti`), so neither a leaked
database (only hashes) nor a leaked signing key (no valid `jti`) is enough to forge one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import jwt

ALGORITHM = "HS256"


def issue_token(*, key_id: str, account_id: str, secret_key: str) -> str:
    claims = {
        "kid": key_id,
        "sub": account_id,
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_key_id(token: str, *, secret_key: str) -> str | None:
    """The key id of a well-formed, correctly signed token; None for anything else."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[ALGORITHM], options={"require": ["kid", "jti"]})
    except jwt.PyJWTError:
        return None
    key_id = claims.get("kid")
    return key_id if isinstance(key_id, str) else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
