"""SMS endpoints: send, get, delete, list."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from simrelay.accounts.auth import Principal
from simrelay.api.body import paging, parse_model, read_body
from simrelay.api.deps import AppServices, Permission, caller
from simrelay.api.errors import documented
from simrelay.api.openapi import header_params, json_body, query_params
from simrelay.api.responses import Json, no_content
from simrelay.errors import ErrorCode as E
from simrelay.sms import service
from simrelay.sms.schemas import (
    MessageIdRequest,
    MessageList,
    MessageOut,
    SendMessageRequest,
    SendMessageResponse,
    message_object,
)

router = APIRouter(tags=["sms"])

AUTH = (E.UNAUTHORIZED, E.KEY_INACTIVE, E.ACCOUNT_BLOCKED, E.RATE_LIMITED, E.INTERNAL)
BODY = (E.BODY_TOO_LARGE, E.INVALID_JSON)


@router.post(
    "/sms/send",
    response_model=SendMessageResponse,
    openapi_extra=json_body(SendMessageRequest) | header_params("Idempotency-Key"),
    responses=documented(
        *AUTH,
        E.SEND_FORBIDDEN,
        *BODY,
        E.INVALID_PHONE,
        E.INVALID_MESSAGE,
        E.INVALID_CALLBACK_ID,
        E.INVALID_DEVICE_ID,
        E.INVALID_SIM,
        E.DEVICE_NOT_FOUND,
        E.WEBHOOK_NOT_FOUND,
        E.QUOTA_EXCEEDED,
        E.NO_DEVICE,
        E.IDEMPOTENCY_MISMATCH,
        E.IDEMPOTENCY_IN_PROGRESS,
    ),
)
async def send_sms(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("sms-send", Permission.SEND))],
) -> Response:
    raw = await read_body(request, limit=app.settings.max_body_bytes)
    body = parse_model(
        raw, SendMessageRequest, context={"max_message_length": app.settings.max_message_length}
    )
    message_id = await service.send_message(
        app.engine,
        app.intake,
        body,
        account_id=principal.account_id,
        raw_body=raw,
        idempotency_key=request.headers.get("idempotency-key") or None,
    )
    return Json({"id": message_id})


@router.post(
    "/sms/get",
    response_model=MessageOut,
    openapi_extra=json_body(MessageIdRequest),
    responses=documented(*AUTH, E.READ_FORBIDDEN, *BODY, E.INVALID_ID, E.MESSAGE_NOT_FOUND),
)
async def get_sms(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("sms-get", Permission.READ))],
) -> Response:
    body = parse_model(await read_body(request, limit=app.settings.max_body_bytes), MessageIdRequest)
    async with app.engine.connect() as conn:
        row = await service.get_message(conn, account_id=principal.account_id, message_id=body.id)
    return Json(message_object(row))


@router.delete(
    "/sms/del",
    status_code=204,
    response_class=Response,
    openapi_extra=json_body(MessageIdRequest, required=False) | query_params(("id", "string", False)),
    responses=documented(*AUTH, E.SEND_FORBIDDEN, *BODY, E.INVALID_ID, E.MESSAGE_NOT_FOUND),
)
async def delete_sms(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("sms-del", Permission.SEND))],
) -> Response:
    raw = await read_body(request, limit=app.settings.max_body_bytes)
    query_id = request.query_params.get("id")
    if not raw.strip() and query_id is not None:
        # Some proxies drop DELETE bodies, so the id may come in the query string.
        raw = orjson.dumps({"id": query_id})
    body = parse_model(raw, MessageIdRequest)
    async with app.engine.begin() as conn:
        await service.delete_message(conn, account_id=principal.account_id, message_id=body.id)
    return no_content()


@router.get(
    "/sms",
    response_model=MessageList,
    openapi_extra=query_params(
        ("limit", "integer", True), ("offset", "integer", False), ("search", "string", False)
    ),
    responses=documented(*AUTH, E.READ_FORBIDDEN, E.INVALID_LIMIT, E.INVALID_OFFSET),
)
async def list_sms(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("sms-list", Permission.READ))],
) -> Response:
    page_size, page = paging(request)
    search = request.query_params.get("search", "")
    async with app.engine.connect() as conn:
        total, rows = await service.list_messages(
            conn, account_id=principal.account_id, limit=page_size, page=page, search=search
        )
    return Json(
        {
            "pagination": {"total_records": total, "limit": page_size, "offset": page},
            "sms_list": [message_object(row) for row in rows],
        }
    )
