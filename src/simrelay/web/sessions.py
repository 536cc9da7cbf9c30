"""Panel sessions: a signed cookie (itsdangerous) holding the account and a CSRF token.

Every visitor has a session, signed-in or not, so that the sign-in form carries a CSRF token
too. Signing in draws a fresh session (and token): a token seen before sign-in is worth
nothing after it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "simrelay_session"


@dataclass(frozen=True, slots=True)
class Session:
    csrf: str
    account_id: str = ""

    @classmethod
    def anonymous(cls) -> Session:
        return cls(csrf=secrets.token_urlsafe(24))

    @classmethod
    def signed_in(cls, account_id: str) -> Session:
        return cls(csrf=secrets.token_urlsafe(24), account_id=account_id)

    def accepts(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


class SessionCodec:
    def __init__(self, secret_key: str, *, max_age_seconds: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="simrelay-panel-session")
        self.max_age = max_age_seconds

    def dump(self, session: Session) -> str:
        return str(self._serializer.dumps({"c": session.csrf, "a": session.account_id}))

    def load(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=int(self.max_age))
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        return Session(csrf=data["c"], account_id=str(data.get("a") or ""))
