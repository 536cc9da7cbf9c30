"""Panel: the SMS log with the API's search and paging, a send form, each SMS's history, delete,
badges that follow status changes live (server-sent events), and the log as CSV."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from simrelay.api.body import parse_model, period
from simrelay.api.responses import csv_attachment
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import is_object_id
from simrelay.sms import service as sms
from simrelay.sms.export import export_messages
from simrelay.sms.models import Message
from simrelay.sms.schemas import SendMessageRequest
from simrelay.sms.status import Status
from simrelay.web.common import SignedIn, form_view, page_view, templates
from simrelay.web.live import swap_stream

PAGE = 50
SEARCH_MAX = 200
"""Longest search the pages take (what they show, and their export links carry)."""
LIVE_SECONDS = 1.0
LIVE_IDS = PAGE
FINAL = {int(Status.SEND_FAILED), int(Status.DELIVERED), int(Status.NOT_DELIVERED)}
badge = templates.get_template("macros.html").module.badge  # type: ignore[attr-defined]


@page_view
async def messages_page(page: SignedIn) -> Response:
    return await _render(page)


async def _render(page: SignedIn, status: int = 200, **context: Any) -> Response:
    params = page.request.query_params
    search = params.get("search", "")[:SEARCH_MAX]
    number = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
    found = await sms.list_messages(
        page.app.db, account_id=page.account_id, limit=PAGE, page=number, query=search
    )
    rows, total = found.rows, found.total
    return page.render(
        "messages.html",
        status,
        messages=rows,
        total=f"{total:,}+".replace(",", " ") if not found.exact else total,
        search=search,
        number=number,
        pages="…" if not found.exact else max(1, (total + PAGE - 1) // PAGE),
        more=len(rows) == PAGE,
        status_text={s.value: s.text for s in Status},
        final=FINAL,
        open_ids=[row.id for row in rows if row.status not in FINAL],
        **context,
    )


@form_view
async def send(page: SignedIn, form: FormData) -> Response:
    body: dict[str, Any] = {
        "phone_number": str(form.get("phone_number", "")),
        "message": str(form.get("message", "")),
    }
    if form.get("device_id"):
        body["device_id"] = str(form.get("device_id"))
    sim = str(form.get("to_sim", ""))
    if sim.lstrip("-").isdigit():
        body["to_sim"] = int(sim)
    raw = orjson.dumps(body)
    app = page.app
    try:
        request_model = parse_model(
            raw, SendMessageRequest, context={"max_message_length": app.settings.max_message_length}
        )
        message_id = await sms.send_message(
            app.db, app.intake, request_model, account_id=page.account_id, raw_body=raw, idempotency_key=None
        )
    except ApiError as exc:
        return await _render(page, 400, failure=page.failure(exc), form=body)
    return page.back(f"/panel/messages?sent={message_id}")


@form_view
async def delete(page: SignedIn, form: FormData) -> Response:
    message_id = page.request.path_params["message_id"]
    try:
        target = await sms.delete_message(
            page.app.db,
            account_id=page.account_id,
            message_id=message_id,
            max_attempts=page.app.settings.max_attempts,
        )
        if target:
            page.app.signals.device_changed(target)
    except ApiError as exc:
        if exc.error is ErrorCode.DEVICE_CANNOT:
            return await _render(page, 400, failure=page.failure(exc))
        # else already gone, or not this account's
    return page.back("/panel/messages")


@page_view
async def history(page: SignedIn) -> Response:
    message_id = page.request.path_params["message_id"]
    try:
        row, changes = await sms.message_history(
            page.app.db, account_id=page.account_id, message_id=message_id
        )
    except ApiError:
        return page.render("error.html", 404)
    texts = {s.value: s.text for s in Status}
    return page.render("message.html", sms=row, changes=changes, status_text=texts)


@page_view
async def export(page: SignedIn) -> Response:
    """The CSV of `GET /v1/sms/export.csv` for the signed-in account: the log's search, and
    `from` / `to` when the link carries them (the same rules, 2010 when broken)."""
    try:
        start, end = period(page.request)
    except ApiError as exc:
        return page.render("error.html", 400, failure=page.failure(exc))
    search = page.request.query_params.get("search", "")[:SEARCH_MAX]
    chunks = export_messages(page.app.db, account_id=page.account_id, start=start, end=end, query=search)
    return await csv_attachment(chunks, name="sms")


@page_view
async def live(page: SignedIn) -> Response:
    """Status changes of the listed SMS, checked every second (works across server nodes: it
    reads the database, not one node's memory): each as event `s<id>` carrying the new badge,
    which htmx's SSE extension swaps in; `done` once none can change any more."""
    ids = [i for i in page.request.query_params.get("ids", "").split(",") if is_object_id(i)][:LIVE_IDS]
    account_id = page.account_id
    db = page.app.db

    def statuses(conn: Any) -> dict[str, int]:
        query = select(Message.id, Message.status).where(
            Message.account_id == account_id, Message.id.in_(ids), Message.deleted_at.is_(None)
        )
        return {row[0]: row[1] for row in conn.execute(query)}

    async def poll() -> tuple[dict[str, str], bool]:
        now = await db.read(statuses)
        badges = {
            f"s{message_id}": badge(message_id, status, Status(status).text, status in FINAL)
            for message_id, status in now.items()
        }
        return badges, all(status in FINAL for status in now.values())

    return swap_stream(poll, every=LIVE_SECONDS)


ROUTES = [
    Route("/panel/messages", messages_page, methods=["GET"]),
    Route("/panel/messages", send, methods=["POST"]),
    Route("/panel/messages/live", live, methods=["GET"]),
    Route("/panel/messages/export.csv", export, methods=["GET"]),  # before {message_id}
    Route("/panel/messages/{message_id}", history, methods=["GET"]),
    Route("/panel/messages/{message_id}/delete", delete, methods=["POST"]),
]
