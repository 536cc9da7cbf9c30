"""What routes ask for: the app's services and the caller's identity, checked in contract order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.accounts.auth import Authenticator, Principal
from simrelay.api.ratelimit import RateLimiter
from simrelay.config import Settings
from simrelay.errors import ApiError, ErrorCode
from simrelay.sms.intake import Intake


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    intake: Intake
    authenticator: Authenticator
    limiter: RateLimiter | None
    redis: Redis | None


class Permission(Enum):
    SEND = "send"
    READ = "read"
    ANY = "any"


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


AppServices = Annotated[Services, Depends(services)]


def caller(endpoint: str, permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: authentication (1003, 1002, 3000), rate limit (1011), permission."""

    async def dependency(request: Request) -> Principal:
        found = services(request)
        principal = await found.authenticator.authenticate(request.headers.get("authorization"))
        if found.limiter is not None:
            decision = await found.limiter.hit(principal.account_id, endpoint)
            # The ASGI middleware copies these onto whatever response follows, errors included.
            request.state.rate_headers = decision.headers(endpoint)
            if not decision.allowed:
                raise ApiError(ErrorCode.RATE_LIMITED, retry_after=decision.reset)
        if permission is Permission.SEND and not principal.can_send:
            raise ApiError(ErrorCode.SEND_FORBIDDEN)
        if permission is Permission.READ and not principal.can_read:
            raise ApiError(ErrorCode.READ_FORBIDDEN)
        return principal

    return dependency
