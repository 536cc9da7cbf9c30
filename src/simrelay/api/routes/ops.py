"""Operations endpoints: liveness, readiness, metrics, the OpenAPI document and its page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from simrelay.api import metrics
from simrelay.api.deps import services
from simrelay.api.reference import render_reference
from simrelay.api.responses import Json
from simrelay.sms import repository
from simrelay.storage.readiness import check_readiness


async def healthz(request: Request) -> Response:
    """The process is up."""
    return Json({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database and Redis answer and the schema is the code's (storage/readiness.py)."""
    app = services(request)
    readiness = await check_readiness(app.db, app.redis)
    checks = {"database": readiness.database, "migrations": readiness.migrations, "redis": readiness.redis}
    if readiness.ready:
        return Json({"status": "ready", "checks": checks})
    return Json({"status": "unavailable", "checks": checks}, status_code=503)


async def prometheus_metrics(request: Request) -> Response:
    app = services(request)
    counts = await app.db.read(repository.count_by_status)
    worker = metrics.WorkerCounters(
        batches=app.intake.batches,
        items=app.intake.items,
        devices=app.dispatcher.connected,
        webhook_attempts=app.courier.attempts,
        webhooks_delivered=app.courier.delivered,
    )
    text = metrics.render(counts, worker)
    return Response(text, media_type="text/plain; version=0.0.4")


async def openapi_document(request: Request) -> Response:
    return Json(request.app.state.openapi)


async def api_reference(request: Request) -> Response:
    """The document as a page to read (api/reference.py), made once per process."""
    state = request.app.state
    page: str | None = getattr(state, "reference_page", None)
    if page is None:
        page = state.reference_page = render_reference(state.openapi)
    return HTMLResponse(page)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", prometheus_metrics, methods=["GET"]),
    Route("/openapi.json", openapi_document, methods=["GET"]),
    Route("/v1/openapi.json", openapi_document, methods=["GET"]),
    Route("/docs", api_reference, methods=["GET"]),
]
