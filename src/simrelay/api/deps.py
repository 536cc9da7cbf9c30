"""What endpoints get: the app's services and the caller, checked in contract order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from redis.asyncio import Redis
from starlette.requests import HTTPConnection, Request

from simrelay.accounts import guessing
from simrelay.accounts.auth import Authenticator, Principal
from simrelay.accounts.guessing import Guesses
from simrelay.api.ratelimit import RateLimiter
from simrelay.config import Settings
from simrelay.devices.dispatch import Dispatcher
from simrelay.errors import ApiError, ErrorCode
from simrelay.mobile.link import MobileHub
from simrelay.sms.intake import Intake
from simrelay.storage.database import Database
from simrelay.storage.signals import Signals
from simrelay.webhooks.courier import Courier
from simrelay.webhooks.service import Keys


@dataclass
class Services:
    settings: Settings
    db: Database
    intake: Intake
    authenticator: Authenticator
    limiter: RateLimiter | None
    redis: Redis | None
    dispatcher: Dispatcher
    signals: Signals
    courier: Courier
    webhook_keys: Keys
    mobile: MobileHub
    guesses: Guesses


class Permission(Enum):
    SEND = "send"
    READ = "read"


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API request, as an endpoint handler sees it."""

    request: Request
    principal: Principal
    app: Services

    @property
    def account_id(self) -> str:
        return self.principal.account_id


def services(request: HTTPConnection) -> Services:
    found: Services = request.app.state.services
    return found


async def authorize(request: Request, *, endpoint: str, permission: Permission) -> Call:
    """Authentication (1003, 1002, 3000), then rate limit (1011), then permission (1005/1007)."""
    app = services(request)
    authorization = request.headers.get("authorization")
    try:
        principal = await app.authenticator.authenticate(authorization)
    except ApiError as error:
        if error.error is ErrorCode.UNAUTHORIZED and authorization:  # no token is no guess
            await _wrong_token(app.guesses, client_host(request))
        raise
    if app.limiter is not None:
        decision = await app.limiter.hit(principal.account_id, endpoint)
        # The ASGI middleware copies these onto whatever response follows, errors included.
        request.state.rate_headers = decision.headers(endpoint)
        if not decision.allowed:
            raise ApiError(ErrorCode.RATE_LIMITED, retry_after=decision.reset)
    if permission is Permission.SEND and not principal.can_send:
        raise ApiError(ErrorCode.SEND_FORBIDDEN)
    if permission is Permission.READ and not principal.can_read:
        raise ApiError(ErrorCode.READ_FORBIDDEN)
    return Call(request, principal, app)


async def _wrong_token(guesses: Guesses, host: str) -> None:
    """A wrong token counts against its address in the limiter of every secret check
    (accounts/guessing.py); past the free tries it is answered 1011 instead of 1003. A right
    token is never held up, so no stranger can lock a key's owner out."""
    keys = guessing.token_keys(host)
    try:
        await guessing.check(guesses, keys)
    except guessing.TooManyGuesses as exc:
        raise ApiError(ErrorCode.RATE_LIMITED, retry_after=exc.retry_after) from None
    await guesses.failed(keys)


def client_host(connection: HTTPConnection) -> str:
    """The client's address, as limits per address count it ("" when the server knows none)."""
    return connection.client.host if connection.client else ""
