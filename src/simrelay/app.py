"""create_app(settings): routes, error handlers, middleware and the lifespan of services."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from simrelay import __version__
from simrelay.accounts.auth import Authenticator
from simrelay.accounts.guessing import LocalGuesses, RedisGuesses
from simrelay.api.body import validation_context
from simrelay.api.deps import Services
from simrelay.api.dispatch import PREFIXES, ApiDispatcher
from simrelay.api.errors import EXCEPTION_HANDLERS
from simrelay.api.middleware import BodyLimit, RequestContext
from simrelay.api.openapi import build_openapi
from simrelay.api.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from simrelay.api.routes import campaigns, device_link, devices, ext, inbox, mobile, ops, sms, webhooks
from simrelay.config import Settings
from simrelay.devices.dispatch import Dispatcher
from simrelay.devices.policy import Policy
from simrelay.log import configure_logging
from simrelay.mobile.link import MobileHub
from simrelay.smpp import delivery, notices, query, senders, users
from simrelay.smpp.backend import Backend, Limits
from simrelay.smpp.delivery import Outbox
from simrelay.smpp.route import RouteOptions
from simrelay.smpp.server import SmppServer, tls_context
from simrelay.smpp.submit import SendPath
from simrelay.smpp.supervisor import RouteSupervisor
from simrelay.sms import repository
from simrelay.sms import service as sms_service
from simrelay.sms.intake import Intake
from simrelay.storage.database import Database
from simrelay.storage.redis import create_redis
from simrelay.storage.signals import create_signals
from simrelay.tasks import cancel_and_wait
from simrelay.web import campaigns as panel_campaigns
from simrelay.web import routes as panel_routes
from simrelay.web.common import Panel
from simrelay.webhooks import service as webhooks_service
from simrelay.webhooks.client import WebhookClient
from simrelay.webhooks.courier import USER_AGENT, Courier
from simrelay.webhooks.courier import Policy as CourierPolicy
from simrelay.webhooks.outbox import QUEUED
from simrelay.webhooks.service import Keys

log = structlog.get_logger(__name__)

HOUSEKEEPING_SECONDS = 30.0
API_ENDPOINTS = [
    *sms.ENDPOINTS,
    *campaigns.ENDPOINTS,
    *devices.ENDPOINTS,
    *inbox.ENDPOINTS,
    *webhooks.ENDPOINTS,
]


def create_app(settings: Settings | None = None) -> Application:
    settings = settings or Settings()
    # Receipts and MO are queued wherever the change happens, SMPP server or not.
    notices.install()
    configure_logging(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _tune_garbage_collector()
        db = Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
        redis = create_redis(settings.redis_url) if settings.redis_url else None
        limiter: RateLimiter | None = None
        if settings.rate_limit > 0:
            limiter = (
                RedisRateLimiter(redis, settings.rate_limit)
                if redis is not None
                else LocalRateLimiter(settings.rate_limit)
            )
        signals = create_signals(db.url, redis)
        await signals.start()
        dispatcher = Dispatcher(db, signals, Policy.from_settings(settings))
        dispatcher.start()
        intake = Intake(
            db,
            idempotency_ttl=settings.idempotency_ttl_seconds,
            on_stored=signals.work_arrived,
        )
        intake.start()
        authenticator = Authenticator(db, secret_key=settings.resolved_secret_key())
        keys = Keys(settings.resolved_secret_key(), allow_private=settings.webhook_allow_private)
        courier = Courier(
            db,
            CourierPolicy.from_settings(settings),
            # As many kept-alive connections as attempts in flight: fewer would reconnect under load.
            client=WebhookClient(
                allow_private=settings.webhook_allow_private,
                connections=settings.webhook_concurrency,
                user_agent=USER_AGENT,
            ),
        )
        db.listen(QUEUED, courier.wake)
        courier.start()
        mobile_hub = MobileHub(dispatcher)
        app.state.services = Services(
            settings,
            db,
            intake,
            authenticator,
            limiter,
            redis,
            dispatcher=dispatcher,
            signals=signals,
            courier=courier,
            webhook_keys=keys,
            mobile=mobile_hub,
            guesses=RedisGuesses(redis) if redis is not None else LocalGuesses(),
        )
        outbox = Outbox(db, _delivery_policy(settings))
        db.listen(notices.QUEUED, outbox.wake)
        smpp_servers = _smpp_servers(app.state.services, outbox)
        for server in smpp_servers:
            await server.start()
        # Routes run whether or not this process listens for SMPP clients.
        carriers = _route_supervisor(app.state.services)
        carriers.start()
        housekeeping = asyncio.create_task(_housekeeping(app.state.services))
        indexer = asyncio.create_task(_index_for_search(db)) if db.is_sqlite else None
        log.info("started", version=__version__)
        try:
            yield
        finally:
            await cancel_and_wait(housekeeping)
            for server in smpp_servers:
                await server.stop()  # before the intake: submits in progress are stored and answered
            await carriers.stop()
            await mobile_hub.stop()
            await intake.stop()
            await dispatcher.stop()
            await courier.stop()
            await signals.stop()
            if indexer is not None:
                await cancel_and_wait(indexer)
                with contextlib.suppress(Exception):
                    await sms_service.index_for_search(db)
            with contextlib.suppress(Exception):
                await authenticator.flush_last_used()
            if redis is not None:
                await redis.aclose()
            await db.dispose()
            log.info("stopped")

    web = Starlette(
        routes=[*ops.ROUTES, *device_link.ROUTES, *mobile.ROUTES, *ext.ROUTES, *panel_routes.ROUTES],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    web.state.openapi = build_openapi(API_ENDPOINTS, context=validation_context(settings))
    web.state.panel = Panel(
        settings.resolved_secret_key(),
        session_hours=settings.panel_session_hours,
        open_signup=settings.open_signup,
    )
    bulk = {prefix + campaigns.BULK_PATH: settings.max_bulk_body_bytes for prefix in PREFIXES}
    # The panel's campaign posts carry a whole CSV, as large as a bulk send's, beside a form.
    upload = panel_campaigns.upload_limit(settings.max_bulk_body_bytes, settings.max_body_bytes)
    bulk.update(dict.fromkeys(panel_campaigns.UPLOAD_PATHS, upload))
    return Application(
        web, access_log=settings.access_log, body_limit=settings.max_body_bytes, larger_bodies=bulk
    )


def _delivery_policy(settings: Settings) -> delivery.Policy:
    return delivery.Policy(
        window=settings.smpp_window,
        answer_seconds=settings.smpp_answer_seconds,
    )


def _smpp_servers(services: Services, outbox: Outbox) -> list[SmppServer]:
    """The plain and the TLS listener, as configured; both serve the same sessions."""
    settings = services.settings
    if settings.smpp_port is None and settings.smpp_tls_port is None:
        return []
    store = SendPath(services.db, services.intake, validation_context(settings))
    authenticate = functools.partial(users.authenticate, services.db, services.guesses)
    limits = Limits(
        window=settings.smpp_window,
        bind_seconds=settings.smpp_bind_seconds,
        concat_seconds=settings.smpp_concat_seconds,
        link_seconds=settings.smpp_link_seconds,
        max_sessions=settings.smpp_max_sessions,
    )
    backend = Backend(
        store,
        authenticate,
        limits,
        allow=_send_budget(services.limiter),
        outbox=outbox,
        may_stay=functools.partial(users.may_stay, services.db),
        targets=functools.partial(senders.targets_of, services.db),
        query=lambda pdu, account_id: query.answer(services.db, pdu, account_id=account_id),
    )
    servers = []
    if settings.smpp_port is not None:
        servers.append(SmppServer(backend, host=settings.smpp_host, port=settings.smpp_port))
    if settings.smpp_tls_port is not None:
        assert settings.smpp_tls_cert is not None and settings.smpp_tls_key is not None
        tls = tls_context(settings.smpp_tls_cert, settings.smpp_tls_key)
        servers.append(SmppServer(backend, host=settings.smpp_host, port=settings.smpp_tls_port, tls=tls))
    return servers


def _route_supervisor(services: Services) -> RouteSupervisor:
    settings = services.settings
    options = RouteOptions(
        reconnect=(settings.smpp_route_reconnect_seconds, 60.0),
        enquire_seconds=settings.smpp_route_enquire_seconds,
        response_seconds=settings.smpp_route_enquire_seconds,
        concat_seconds=settings.smpp_concat_seconds,
    )
    every = settings.smpp_route_check_seconds
    return RouteSupervisor(services.dispatcher, claim_seconds=every * 6, every=every, options=options)


def _send_budget(limiter: RateLimiter | None) -> Callable[[str], Awaitable[bool]] | None:
    """A submit_sm spends from the same per-account budget as a `POST /v1/sms/send`."""
    if limiter is None:
        return None

    async def allow(account_id: str) -> bool:
        return (await limiter.hit(account_id, sms.SEND_ENDPOINT)).allowed

    return allow


def _tune_garbage_collector() -> None:
    """Each request allocates many short-lived objects (futures, dicts, frames), so the default
    threshold runs the young-generation collector thousands of times a second. Objects from
    start-up are frozen out of its way and collections become rarer: about 15% less CPU per
    send, measured in-process."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


class Application:
    """The ASGI app: API endpoints through their own dispatcher, everything else through
    Starlette (which also runs the lifespan); request context and metrics around both."""

    def __init__(
        self, web: Starlette, *, access_log: bool, body_limit: int, larger_bodies: dict[str, int]
    ) -> None:
        self.web = web
        self.state = web.state
        self.router = web.router
        dispatcher = ApiDispatcher(API_ENDPOINTS, fallback=web)
        limited = BodyLimit(dispatcher, limit=body_limit, larger=larger_bodies)
        self._asgi = RequestContext(limited, access_log=access_log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)


SEARCH_INDEX_SECONDS = 0.25


async def _index_for_search(db: Database) -> None:
    """New SMS reach the SQLite full-text index within a fraction of a second (searches also
    look at the queued rows, so nothing is missed meanwhile)."""
    while True:
        await asyncio.sleep(SEARCH_INDEX_SECONDS)
        try:
            while await sms_service.index_for_search(db) >= repository.INDEX_BATCH:
                pass
        except Exception:
            log.exception("search_indexing_failed")


async def _housekeeping(services: Services) -> None:
    """Periodic chores of every worker: key last-used times, expired Idempotency-Keys."""
    while True:
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
        try:
            await services.authenticator.flush_last_used()
            await sms_service.forget_idempotency_keys(
                services.db, older_than=services.settings.idempotency_ttl_seconds
            )
            await webhooks_service.forget_finished_events(
                services.db, older_than=services.settings.webhook_log_days * 86400
            )
            await delivery.forget_old(services.db, older_than=services.settings.smpp_hold_days * 86400)
        except Exception:
            log.exception("housekeeping_failed")
