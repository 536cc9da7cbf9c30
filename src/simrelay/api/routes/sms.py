"""SMS endpoints: send, get, delete, list, history, export."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from simrelay.api import responses
from simrelay.api.body import (
    PAGING,
    PERIOD,
    SEARCH,
    TextParameter,
    paging,
    parse_model,
    period,
    read_body,
    validation_context,
)
from simrelay.api.deps import Call, Permission
from simrelay.api.endpoint import Endpoint
from simrelay.api.responses import CSV, Json, csv_attachment, no_content
from simrelay.errors import ApiError
from simrelay.errors import ErrorCode as E
from simrelay.ids import OBJECT_ID_PATTERN
from simrelay.sms import service
from simrelay.sms.export import export_messages
from simrelay.sms.schemas import (
    MessageHistoryOut,
    MessageIdRequest,
    MessageList,
    MessageOut,
    SendMessageRequest,
    SendMessageResponse,
    history_object,
    message_object,
)

SEND_ENDPOINT = "sms-send"
"""The send endpoint's name: its rate-limit budget, which SMPP's submit_sm spends too."""
IDEMPOTENCY_KEY_MAX = 255
"""Longest Idempotency-Key stored (idempotency_keys.key); longer is 2010, not a database error."""
IDEMPOTENCY_KEY = TextParameter(
    "Idempotency-Key",
    "The same key with the same body within 24 h answers the first response and creates nothing "
    "(1013 with another body, 1014 while the first runs); longer than 255 characters: 2010",
    schema=(("maxLength", IDEMPOTENCY_KEY_MAX),),
    where="header",
)
QUERY_ID = TextParameter(
    "id",
    "The SMS id, read when the body is empty (some proxies drop DELETE bodies); 2003 otherwise",
    schema=(("pattern", OBJECT_ID_PATTERN),),
)


def idempotency_key_of(call: Call) -> str | None:
    """The request's Idempotency-Key header, if any; 2010 past IDEMPOTENCY_KEY_MAX characters."""
    key = call.request.headers.get("idempotency-key") or None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApiError(E.INVALID_FIELD, field="Idempotency-Key")
    return key


async def send_sms(call: Call) -> Response:
    settings = call.app.settings
    raw = await read_body(call.request, limit=settings.max_body_bytes)
    body = parse_model(raw, SendMessageRequest, context=validation_context(settings))
    idempotency_key = idempotency_key_of(call)
    message_id = await service.send_message(
        call.app.db,
        call.app.intake,
        body,
        account_id=call.account_id,
        raw_body=raw,
        idempotency_key=idempotency_key,
    )
    return Json({"id": message_id})


async def get_sms(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, MessageIdRequest)
    row = await service.get_message(call.app.db, account_id=call.account_id, message_id=body.id)
    return Json(message_object(row))


async def delete_sms(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    query_id = call.request.query_params.get("id")
    if not raw.strip() and query_id is not None:
        # Some proxies drop DELETE bodies, so the id may come in the query string.
        raw = orjson.dumps({"id": query_id})
    elif not raw.strip():
        raise ApiError(E.INVALID_ID)  # no id at all: as a malformed one
    body = parse_model(raw, MessageIdRequest)
    holder = await service.delete_message(
        call.app.db,
        account_id=call.account_id,
        message_id=body.id,
        max_attempts=call.app.settings.max_attempts,
    )
    if holder:
        call.app.signals.device_changed(holder)
    return no_content()


async def sms_history(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, MessageIdRequest)
    row, changes = await service.message_history(call.app.db, account_id=call.account_id, message_id=body.id)
    return Json(history_object(row, changes))


async def list_sms(call: Call) -> Response:
    limit, page = paging(call.request)
    search = call.request.query_params.get("search", "")
    found = await service.list_messages(
        call.app.db, account_id=call.account_id, limit=limit, page=page, query=search
    )
    answer = responses.page(
        "sms_list",
        [message_object(row) for row in found.rows],
        total=found.total,
        limit=limit,
        page_number=page,
    )
    # Beside the body, whose fields the contract fixes: past the cap, total_records is a floor.
    answer.headers["Total-Records-Relation"] = "eq" if found.exact else "gte"
    return answer


async def export_sms(call: Call) -> Response:
    start, end = period(call.request)
    search = call.request.query_params.get("search", "")
    chunks = export_messages(call.app.db, account_id=call.account_id, start=start, end=end, query=search)
    return await csv_attachment(chunks, name="sms")


STORE_ERRORS = (
    E.INVALID_MESSAGE,
    E.INVALID_CALLBACK_ID,
    E.INVALID_DEVICE_ID,
    E.INVALID_SIM,
    E.INVALID_FIELD,
    E.DEVICE_NOT_FOUND,
    E.WEBHOOK_NOT_FOUND,
    E.QUOTA_EXCEEDED,
    E.NO_DEVICE,
    E.IDEMPOTENCY_MISMATCH,
    E.IDEMPOTENCY_IN_PROGRESS,
)
"""What storing new SMS can answer, whether one (send) or many (a bulk send)."""

ENDPOINTS = [
    Endpoint(
        "POST",
        "/sms/send",
        send_sms,
        name=SEND_ENDPOINT,
        permission=Permission.SEND,
        summary="Send an SMS: stored durably in status 0 before the answer",
        body=SendMessageRequest,
        parameters=(IDEMPOTENCY_KEY,),
        response=SendMessageResponse,
        links={
            name: {"operationId": f"sms-{name}", "requestBody": {"id": "$response.body#/id"}}
            for name in ("get", "history", "del")
        },
        errors=(E.INVALID_PHONE, *STORE_ERRORS),
    ),
    Endpoint(
        "POST",
        "/sms/get",
        get_sms,
        name="sms-get",
        permission=Permission.READ,
        summary="One SMS by id",
        body=MessageIdRequest,
        response=MessageOut,
        errors=(E.INVALID_ID, E.MESSAGE_NOT_FOUND),
    ),
    Endpoint(
        "DELETE",
        "/sms/del",
        delete_sms,
        name="sms-del",
        permission=Permission.SEND,
        summary="Delete an SMS (a waiting one is never sent)",
        # The body is documented as required: OpenAPI cannot say "the body or `?id=`", and
        # `?id=` is the fallback for proxies that drop DELETE bodies (its description says so).
        body=MessageIdRequest,
        parameters=(QUERY_ID,),
        status=204,
        errors=(E.INVALID_ID, E.MESSAGE_NOT_FOUND),
    ),
    Endpoint(
        "POST",
        "/sms/history",
        sms_history,
        name="sms-history",
        permission=Permission.READ,
        summary="Every status change of one SMS, oldest first (simrelay's own endpoint)",
        body=MessageIdRequest,
        response=MessageHistoryOut,
        errors=(E.INVALID_ID, E.MESSAGE_NOT_FOUND),
    ),
    Endpoint(
        "GET",
        "/sms",
        list_sms,
        name="sms-list",
        permission=Permission.READ,
        summary="SMS of the account, newest first, with search and paging",
        parameters=(*PAGING, SEARCH),
        response=MessageList,
        errors=(E.INVALID_LIMIT, E.INVALID_OFFSET),
        headers=("Total-Records-Relation",),
    ),
    Endpoint(
        "GET",
        "/sms/export.csv",
        export_sms,
        name="sms-export",
        permission=Permission.READ,
        summary="The SMS log as CSV (UTF-8, a header row, streamed), oldest first: SMS created in "
        "[from, to) that `search` finds as the list's search does",
        parameters=(*PERIOD, SEARCH),
        media_type=CSV,
        errors=(E.INVALID_FIELD,),
        headers=("Content-Disposition",),
    ),
]
