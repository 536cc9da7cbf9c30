"""Panel: campaigns. The list with each one's progress (following live over server-sent events,
as the SMS log's badges do), pause, resume and cancel; and a new campaign from a CSV file in two
steps: a preview that stores nothing, then the send, through the bulk API's own code path."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response
from starlette.routing import Route

from simrelay.api.body import parse_model, validation_context
from simrelay.campaigns import service as campaigns
from simrelay.campaigns.control import Action, change_campaign
from simrelay.campaigns.schemas import BulkSendRequest
from simrelay.campaigns.upload import BadUpload, Upload, decode_upload, parse_recipients
from simrelay.devices import repository as device_records
from simrelay.errors import ApiError, ErrorCode
from simrelay.ids import is_object_id
from simrelay.sms import service as sms
from simrelay.sms.status import Status
from simrelay.web.common import SignedIn, checked_form, form_view, language, page_view, templates
from simrelay.web.i18n import translator
from simrelay.web.live import swap_stream

PAGE = 20
LIVE_SECONDS = 2.0
EXAMPLES = 10
"""Messages the preview renders."""
REJECTIONS_SHOWN = 100
"""Rejected rows the preview lists; the rest are counted."""
KEY_PREFIX = "panel-"
UPLOAD_PATHS = ("/panel/campaigns/preview", "/panel/campaigns/send")
"""Posts carrying a whole CSV: app.py lets their bodies be as large as a bulk send's, plus a form."""
COUNTS = [
    (str(int(status)), label)
    for status, label in (
        (Status.WAITING, "count_waiting"),
        (Status.TAKEN, "count_taken"),
        (Status.SENT, "count_sent"),
        (Status.SEND_FAILED, "count_failed"),
        (Status.DELIVERED, "count_delivered"),
        (Status.NOT_DELIVERED, "count_not_delivered"),
    )
]
"""(key of a campaign object's counts, its label's text), in the order the page shows them."""
progress = templates.get_template("campaign_progress.html")


def upload_limit(max_bulk_body_bytes: int, max_body_bytes: int) -> int:
    """Bytes a post of UPLOAD_PATHS may have: the CSV a bulk send could carry, plus an ordinary
    form's worth for the template and the other fields."""
    return max_bulk_body_bytes + max_body_bytes


@page_view
async def campaigns_page(page: SignedIn) -> Response:
    return await _render(page)


async def _render(page: SignedIn, status: int = 200, **context: Any) -> Response:
    params = page.request.query_params
    number = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
    total, items = await campaigns.list_campaigns(
        page.app.db, account_id=page.account_id, limit=PAGE, page=number
    )
    account_id = page.account_id
    devices = await page.app.db.read(lambda conn: device_records.all_devices(conn, account_id=account_id))
    return page.render(
        "campaigns.html",
        status,
        campaigns=items,
        open_ids=[item["campaign_id"] for item in items if _open(item)],
        counts=COUNTS,
        number=number,
        more=number * PAGE < total,
        devices=devices,
        sent=params.get("sent", ""),
        **context,
    )


def _open(item: dict[str, Any]) -> bool:
    """Whether its counts can still change: some SMS of it waits or is held by a device."""
    return bool(item["counts"][str(int(Status.WAITING))] or item["counts"][str(int(Status.TAKEN))])


async def _upload_form(page: SignedIn) -> FormData | Response:
    """The posted form, read with room for a whole CSV in one field (Starlette's default part
    limit is 1 MiB), when it carries the session's CSRF token; else the page with why not."""
    settings = page.app.settings
    limit = upload_limit(settings.max_bulk_body_bytes, settings.max_body_bytes)
    declared = page.request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:  # refused before reading any of it
        return await _render(page, 413, upload_error="upload_too_large", limit=settings.max_bulk_body_bytes)
    try:
        form = await page.request.form(max_part_size=limit)
    except ApiError as exc:  # past the body limit without a content-length (app.py: BodyLimit)
        if exc.error is not ErrorCode.BODY_TOO_LARGE:
            raise
        return await _render(page, 413, upload_error="upload_too_large", limit=settings.max_bulk_body_bytes)
    checked = await checked_form(page)  # reads the form parsed just now
    if isinstance(checked, Response):
        await form.close()  # the uploaded file's temporary copy
    return checked


@page_view
async def preview(page: SignedIn) -> Response:
    """Step 1: the CSV checked as a bulk send would be; nothing stored. The confirm form carries
    the CSV's text and an Idempotency-Key made here, so that a double click sends once."""
    form = await _upload_form(page)
    if isinstance(form, Response):
        return form
    try:
        return await _read_upload(page, form)
    finally:
        await form.close()


async def _read_upload(page: SignedIn, form: FormData) -> Response:
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await _render(page, 400, upload_error="upload_no_file", draft=_draft(form))
    try:
        text = decode_upload(await file.read(), max_bytes=page.app.settings.max_bulk_body_bytes)
    except BadUpload as exc:
        return await _refuse(page, form, exc)
    return await _preview(page, form, text)


async def _preview(page: SignedIn, form: FormData, text: str) -> Response:
    settings = page.app.settings
    try:
        upload = parse_recipients(text)
        request, _ = _bulk_request(page, form, upload)
        if request.device_id:  # told now rather than at the send (1009)
            await sms.check_targets(
                page.app.db, account_id=page.account_id, device_id=request.device_id, callback_id=None
            )
    except BadUpload as exc:
        return await _refuse(page, form, exc)
    except ApiError as exc:
        return await _render(page, 400, failure=page.failure(exc), draft=_draft(form))
    found = campaigns.preview_bulk(request, max_message_length=settings.max_message_length, examples=EXAMPLES)
    chosen = language(page.request)
    rejected = [
        (upload.lines[index], error.code, error.text(chosen, max=settings.max_message_length))
        for index, error in found.rejected[:REJECTIONS_SHOWN]
    ]
    shown = {
        "recipients": len(request.recipients),
        "accepted": found.accepted,
        "rejected_total": len(found.rejected),
        "rejected": rejected,
        "examples": found.examples,
        "csv": text,
        "key": KEY_PREFIX + secrets.token_urlsafe(18),
    }
    return await _render(page, preview=shown, draft=_draft(form))


@page_view
async def send(page: SignedIn) -> Response:
    """Step 2: the previewed CSV sent as one campaign by campaigns.service.send_bulk, the bulk
    API's code path (quota, rejections, Idempotency-Key alike); then the list."""
    form = await _upload_form(page)
    if isinstance(form, Response):
        return form
    try:
        return await _send(page, form)
    finally:
        await form.close()


async def _send(page: SignedIn, form: FormData) -> Response:
    key = str(form.get("key", ""))
    text = str(form.get("csv", ""))
    if not key.startswith(KEY_PREFIX) or not key.isascii() or len(key) > 64:
        return page.render("error.html", 400, error="bad_form")
    if len(text.encode()) > page.app.settings.max_bulk_body_bytes:
        return await _refuse(page, form, BadUpload("too_large"))
    try:
        request, raw = _bulk_request(page, form, parse_recipients(text))
        answer = await campaigns.send_bulk(
            page.app.db,
            page.app.intake,
            request,
            account_id=page.account_id,
            raw_body=raw,
            idempotency_key=key,
            max_message_length=page.app.settings.max_message_length,
        )
    except BadUpload as exc:
        return await _refuse(page, form, exc)
    except ApiError as exc:
        if exc.error is ErrorCode.IDEMPOTENCY_IN_PROGRESS:  # the first click's send is storing it
            return page.back("/panel/campaigns")
        return await _render(page, 400, failure=page.failure(exc), draft=_draft(form))
    return page.back(f"/panel/campaigns?sent={answer.campaign_id}")


def _bulk_request(page: SignedIn, form: FormData, upload: Upload) -> tuple[BulkSendRequest, bytes]:
    """The bulk send the form asks for, checked as the API checks one (raises ApiError), and
    its JSON: the same form makes the same bytes, as an Idempotency-Key needs."""
    body: dict[str, Any] = {
        "message": str(form.get("message", "")),
        "recipients": upload.recipients,
    }
    if form.get("device_id"):
        body["device_id"] = str(form.get("device_id"))
    sim = str(form.get("to_sim", "")).strip()
    if sim.lstrip("-").isdigit():
        body["to_sim"] = int(sim)
    raw = orjson.dumps(body)
    return parse_model(raw, BulkSendRequest, context=validation_context(page.app.settings)), raw


def _draft(form: FormData) -> dict[str, str]:
    """What the user typed, shown back in the form."""
    return {name: str(form.get(name, "")) for name in ("message", "device_id", "to_sim")}


async def _refuse(page: SignedIn, form: FormData, exc: BadUpload) -> Response:
    status = 413 if exc.reason == "too_large" else 400
    limit = page.app.settings.max_bulk_body_bytes
    return await _render(page, status, upload_error=f"upload_{exc.reason}", limit=limit, draft=_draft(form))


@form_view
async def change(page: SignedIn, form: FormData) -> Response:
    campaign_id = page.request.path_params["campaign_id"]
    try:
        action = Action(page.request.path_params["action"])
        if not is_object_id(campaign_id):
            raise ApiError(ErrorCode.CAMPAIGN_NOT_FOUND)
        await change_campaign(
            page.app.db,
            page.app.signals,
            action,
            account_id=page.account_id,
            campaign_id=campaign_id,
            max_attempts=page.app.settings.max_attempts,
        )
    except (ValueError, ApiError):  # no such action; not this account's campaign
        return page.render("error.html", 404)
    return page.back("/panel/campaigns")


@page_view
async def live(page: SignedIn) -> Response:
    """The progress of the listed campaigns, read every LIVE_SECONDS (from the database, so it
    works across server nodes): each change as event `c<id>` carrying the new progress block,
    which htmx's SSE extension swaps in; `done` once no listed campaign can change."""
    ids = [i for i in page.request.query_params.get("ids", "").split(",") if is_object_id(i)][:PAGE]
    db, account_id = page.app.db, page.account_id
    context = {"t": translator(language(page.request)), "csrf": page.session.csrf, "counts": COUNTS}

    async def poll() -> tuple[dict[str, str], bool]:
        items = await campaigns.follow_campaigns(db, account_id=account_id, campaign_ids=ids)
        blocks = {
            f"c{item['campaign_id']}": progress.render(c=item, live=_open(item), **context) for item in items
        }
        return blocks, not any(_open(item) for item in items)

    return swap_stream(poll, every=LIVE_SECONDS)


ROUTES = [
    Route("/panel/campaigns", campaigns_page, methods=["GET"]),
    Route("/panel/campaigns/live", live, methods=["GET"]),
    Route(UPLOAD_PATHS[0], preview, methods=["POST"]),
    Route(UPLOAD_PATHS[1], send, methods=["POST"]),
    Route("/panel/campaigns/{campaign_id}/{action}", change, methods=["POST"]),
]
