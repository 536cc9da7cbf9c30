"""Panel: webhooks. Create (the secret shown once), change the URL and events, switch on and off,
rotate the secret, send a test event, delete, and each webhook's delivery log."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.errors import ApiError
from simrelay.web.common import SignedIn, form_view, page_view
from simrelay.webhooks import service as webhooks
from simrelay.webhooks.outbox import SUBSCRIBABLE

LOG = 50


@page_view
async def webhooks_page(page: SignedIn) -> Response:
    return await _render(page)


async def _render(page: SignedIn, status: int = 200, **context: Any) -> Response:
    _, rows = await webhooks.list_webhooks(page.app.db, account_id=page.account_id, limit=100, page=1)
    return page.render("webhooks.html", status, webhooks=rows, events=SUBSCRIBABLE, **context)


@form_view
async def create(page: SignedIn, form: FormData) -> Response:
    events = [name for name in SUBSCRIBABLE if form.get(name) == "on"] or None
    try:
        webhook_id, secret = await webhooks.create_webhook(
            page.app.db,
            page.app.webhook_keys,
            account_id=page.account_id,
            url=str(form.get("url", "")).strip()[:2000],
            events=events,
            is_active=True,
        )
    except ApiError as exc:
        return await _render(page, 400, failure=page.failure(exc))
    return await _render(page, secret=secret, created=webhook_id)


@form_view
async def change(page: SignedIn, form: FormData) -> Response:
    webhook_id = page.request.path_params["webhook_id"]
    action = str(form.get("action", ""))
    db, account_id = page.app.db, page.account_id
    try:
        if action == "delete":
            await webhooks.delete_webhook(db, account_id=account_id, webhook_id=webhook_id)
        elif action == "test":
            await webhooks.send_test(db, account_id=account_id, webhook_id=webhook_id)
            return page.back(f"/panel/webhooks/{webhook_id}")
        elif action == "edit":
            events = [name for name in SUBSCRIBABLE if form.get(name) == "on"] or list(SUBSCRIBABLE)
            url = str(form.get("url", "")).strip()[:2000]
            await webhooks.edit_webhook(
                db,
                page.app.webhook_keys,
                account_id=account_id,
                webhook_id=webhook_id,
                changes={"url": url, "events": events},
                rotate_secret=False,
            )
            return page.back(f"/panel/webhooks/{webhook_id}")
        elif action in ("activate", "deactivate", "rotate"):
            secret = await webhooks.edit_webhook(
                db,
                page.app.webhook_keys,
                account_id=account_id,
                webhook_id=webhook_id,
                changes={"is_active": action == "activate"} if action != "rotate" else {},
                rotate_secret=action == "rotate",
            )
            if secret is not None:
                return await _render(page, secret=secret, created=webhook_id)
    except ApiError as exc:
        if action == "edit":  # a refused URL (2009): say so on the webhook's page
            return await _render(page, 400, failure=page.failure(exc))
        # else: gone meanwhile, or not this account's
    return page.back("/panel/webhooks")


@page_view
async def deliveries(page: SignedIn) -> Response:
    webhook_id = page.request.path_params["webhook_id"]
    try:
        hook = await webhooks.get_webhook(page.app.db, account_id=page.account_id, webhook_id=webhook_id)
        total, rows = await webhooks.list_deliveries(
            page.app.db, account_id=page.account_id, webhook_id=webhook_id, event_id="", limit=LOG, page=1
        )
    except ApiError:
        return page.render("error.html", 404)
    return page.render("deliveries.html", hook=hook, deliveries=rows, total=total, events=SUBSCRIBABLE)


ROUTES = [
    Route("/panel/webhooks", webhooks_page, methods=["GET"]),
    Route("/panel/webhooks", create, methods=["POST"]),
    Route("/panel/webhooks/{webhook_id}", deliveries, methods=["GET"]),
    Route("/panel/webhooks/{webhook_id}", change, methods=["POST"]),
]
