"""create_app(settings): routes, error handlers, middleware and the lifespan of services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from simrelay import __version__
from simrelay.accounts.auth import Authenticator
from simrelay.api.deps import Services
from simrelay.api.errors import EXCEPTION_HANDLERS
from simrelay.api.middleware import RequestContext
from simrelay.api.openapi import build_openapi
from simrelay.api.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from simrelay.api.routes import devices, ops, sms
from simrelay.config import Settings
from simrelay.log import configure_logging
from simrelay.sms import service as sms_service
from simrelay.sms.intake import Intake
from simrelay.storage.database import Database
from simrelay.storage.redis import create_redis

log = structlog.get_logger(__name__)

HOUSEKEEPING_SECONDS = 30.0
API_ENDPOINTS = [*sms.ENDPOINTS, *devices.ENDPOINTS]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
        redis = create_redis(settings.redis_url) if settings.redis_url else None
        limiter: RateLimiter | None = None
        if settings.rate_limit > 0:
            limiter = (
                RedisRateLimiter(redis, settings.rate_limit)
                if redis is not None
                else LocalRateLimiter(settings.rate_limit)
            )
        intake = Intake(db, idempotency_ttl=settings.idempotency_ttl_seconds)
        intake.start()
        authenticator = Authenticator(db, secret_key=settings.resolved_secret_key())
        app.state.services = Services(settings, db, intake, authenticator, limiter, redis)
        housekeeping = asyncio.create_task(_housekeeping(app.state.services))
        log.info("started", version=__version__)
        try:
            yield
        finally:
            housekeeping.cancel()
            await intake.stop()
            with contextlib.suppress(Exception):
                await authenticator.flush_last_used()
            if redis is not None:
                await redis.aclose()
            await db.dispose()
            log.info("stopped")

    routes: list[BaseRoute] = list(ops.ROUTES)
    for endpoint in API_ENDPOINTS:
        routes.append(endpoint.route("/v1"))
        # The same endpoints at the root, for clients configured with a bare host.
        routes.append(endpoint.route())
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestContext, access_log=settings.access_log)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.openapi = build_openapi(API_ENDPOINTS)
    return app


async def _housekeeping(services: Services) -> None:
    """Periodic chores of every worker: key last-used times, expired Idempotency-Keys."""
    while True:
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
        try:
            await services.authenticator.flush_last_used()
            await sms_service.forget_idempotency_keys(
                services.db, older_than=services.settings.idempotency_ttl_seconds
            )
        except Exception:
            log.exception("housekeeping_failed")
