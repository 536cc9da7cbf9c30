"""create_app(settings): routers, error handlers, middleware and the lifespan of services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI

from simrelay import __version__
from simrelay.accounts.auth import Authenticator
from simrelay.api.deps import Services
from simrelay.api.errors import install_error_handlers
from simrelay.api.middleware import RequestContext
from simrelay.api.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from simrelay.api.routes import devices, ops, sms
from simrelay.config import Settings
from simrelay.log import configure_logging
from simrelay.sms.intake import Intake
from simrelay.storage.db import create_engine
from simrelay.storage.redis import create_redis

log = structlog.get_logger(__name__)

HOUSEKEEPING_SECONDS = 30.0


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous
        )
        redis = create_redis(settings.redis_url) if settings.redis_url else None
        limiter: RateLimiter | None = None
        if settings.rate_limit > 0:
            limiter = (
                RedisRateLimiter(redis, settings.rate_limit)
                if redis is not None
                else LocalRateLimiter(settings.rate_limit)
            )
        intake = Intake(engine, idempotency_ttl=settings.idempotency_ttl_seconds)
        intake.start()
        authenticator = Authenticator(engine, secret_key=settings.resolved_secret_key())
        app.state.services = Services(settings, engine, intake, authenticator, limiter, redis)
        housekeeping = asyncio.create_task(_housekeeping(authenticator))
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
            await engine.dispose()
            log.info("stopped")

    app = FastAPI(
        title="simrelay",
        version=__version__,
        summary="GoSMS-compatible SMS gateway API",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (sms.router, devices.router):
        app.include_router(router, prefix="/v1")
        # The same endpoints at the root, for clients configured with a bare host.
        app.include_router(router, include_in_schema=False)
    app.include_router(ops.router, include_in_schema=False)
    app.add_middleware(RequestContext, access_log=settings.access_log)
    _add_bearer_security(app)
    return app


async def _housekeeping(authenticator: Authenticator) -> None:
    while True:
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
        try:
            await authenticator.flush_last_used()
        except Exception:
            log.exception("housekeeping_failed")


def _add_bearer_security(app: FastAPI) -> None:
    """Every v1 endpoint takes `Authorization: Bearer <token>`; say so in the document."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = original()
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
