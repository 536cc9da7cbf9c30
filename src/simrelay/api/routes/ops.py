"""Operations endpoints: liveness, readiness, metrics."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import Response

from simrelay.api import metrics
from simrelay.api.deps import AppServices
from simrelay.api.responses import Json
from simrelay.sms import repository

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process is up."""
    return Json({"status": "ok"})


@router.get("/readyz")
async def readyz(app: AppServices) -> Response:
    """The database answers."""
    try:
        async with app.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return Json({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return Json({"status": "ok"})


@router.get("/metrics")
async def prometheus_metrics(app: AppServices) -> Response:
    async with app.engine.connect() as conn:
        counts = await repository.count_by_status(conn)
    return Response(metrics.render(counts), media_type="text/plain; version=0.0.4")
