"""Webhook endpoints: create, list, get, edit, delete; the delivery log, re-send, test."""

from __future__ import annotations

from starlette.responses import Response

from simrelay.api import responses
from simrelay.api.body import PAGING, paging, parse_model, read_body
from simrelay.api.deps import Call, Permission
from simrelay.api.endpoint import Endpoint
from simrelay.api.responses import Json, no_content
from simrelay.errors import ErrorCode as E
from simrelay.webhooks import service
from simrelay.webhooks.schemas import (
    CreateWebhookRequest,
    DeliveriesRequest,
    DeliveryList,
    EditWebhookRequest,
    EventIdRequest,
    QueuedEventOut,
    WebhookIdRequest,
    WebhookList,
    WebhookOut,
    WebhookSecretOut,
    delivery_object,
    webhook_object,
)


async def create_webhook(call: Call) -> Response:
    body = parse_model(await _body(call), CreateWebhookRequest)
    webhook_id, secret = await service.create_webhook(
        call.app.db,
        call.app.webhook_keys,
        account_id=call.account_id,
        url=body.url,
        events=body.events,
        is_active=body.is_active,
    )
    return Json({"id": webhook_id, "secret": secret})


async def list_webhooks(call: Call) -> Response:
    limit, page = paging(call.request)
    total, rows = await service.list_webhooks(call.app.db, account_id=call.account_id, limit=limit, page=page)
    return responses.page(
        "webhook_list", [webhook_object(row) for row in rows], total=total, limit=limit, page_number=page
    )


async def get_webhook(call: Call) -> Response:
    body = parse_model(await _body(call), WebhookIdRequest)
    row = await service.get_webhook(call.app.db, account_id=call.account_id, webhook_id=body.webhook_id)
    return Json(webhook_object(row))


async def edit_webhook(call: Call) -> Response:
    body = parse_model(await _body(call), EditWebhookRequest)
    changes = body.model_dump(include={"url", "events", "is_active"}, exclude_none=True)
    secret = await service.edit_webhook(
        call.app.db,
        call.app.webhook_keys,
        account_id=call.account_id,
        webhook_id=body.webhook_id,
        changes=changes,
        rotate_secret=body.rotate_secret,
    )
    if secret is not None:
        return Json({"id": body.webhook_id, "secret": secret})
    return no_content()


async def delete_webhook(call: Call) -> Response:
    body = parse_model(await _body(call), WebhookIdRequest)
    await service.delete_webhook(call.app.db, account_id=call.account_id, webhook_id=body.webhook_id)
    return no_content()


async def list_deliveries(call: Call) -> Response:
    body = parse_model(await _body(call), DeliveriesRequest)
    total, rows = await service.list_deliveries(
        call.app.db,
        account_id=call.account_id,
        webhook_id=body.webhook_id,
        event_id=body.event_id or "",
        limit=body.limit,
        page=body.offset,
    )
    return responses.page(
        "delivery_list",
        [delivery_object(row) for row in rows],
        total=total,
        limit=body.limit,
        page_number=body.offset,
    )


async def redeliver(call: Call) -> Response:
    body = parse_model(await _body(call), EventIdRequest)
    await service.redeliver(call.app.db, account_id=call.account_id, event_id=body.event_id)
    return no_content()


async def test_webhook(call: Call) -> Response:
    body = parse_model(await _body(call), WebhookIdRequest)
    event_id = await service.send_test(call.app.db, account_id=call.account_id, webhook_id=body.webhook_id)
    return Json({"event_id": event_id})


async def _body(call: Call) -> bytes:
    return await read_body(call.request, limit=call.app.settings.max_body_bytes)


ID_ERRORS = (E.INVALID_CALLBACK_ID, E.WEBHOOK_NOT_FOUND)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/webhooks",
        create_webhook,
        name="webhooks-create",
        permission=Permission.SEND,
        summary="Create a webhook; the answer carries its signing secret, shown only here",
        body=CreateWebhookRequest,
        response=WebhookSecretOut,
        errors=(E.INVALID_WEBHOOK_URL, E.INVALID_FIELD),
        links={
            name: {"operationId": f"webhooks-{name}", "requestBody": {"webhook_id": "$response.body#/id"}}
            for name in ("get", "edit", "del", "deliveries", "test")
        },
    ),
    Endpoint(
        "GET",
        "/webhooks",
        list_webhooks,
        name="webhooks-list",
        permission=Permission.READ,
        summary="Webhooks of the account (secrets are never listed)",
        parameters=PAGING,
        response=WebhookList,
        errors=(E.INVALID_LIMIT, E.INVALID_OFFSET),
    ),
    Endpoint(
        "POST",
        "/webhooks/get",
        get_webhook,
        name="webhooks-get",
        permission=Permission.READ,
        summary="One webhook by id (`webhook_id`, or `id`)",
        body=WebhookIdRequest,
        response=WebhookOut,
        errors=ID_ERRORS,
    ),
    Endpoint(
        "POST",
        "/webhooks/edit",
        edit_webhook,
        name="webhooks-edit",
        permission=Permission.SEND,
        summary="Change url, events, is_active; `rotate_secret: true` answers a new secret (else 204)",
        body=EditWebhookRequest,
        status=204,
        response=WebhookSecretOut,
        errors=(*ID_ERRORS, E.INVALID_WEBHOOK_URL, E.INVALID_FIELD),
    ),
    Endpoint(
        "POST",
        "/webhooks/del",
        delete_webhook,
        name="webhooks-del",
        permission=Permission.SEND,
        summary="Delete a webhook with its queued events and delivery log",
        body=WebhookIdRequest,
        status=204,
        errors=ID_ERRORS,
    ),
    Endpoint(
        "POST",
        "/webhooks/deliveries",
        list_deliveries,
        name="webhooks-deliveries",
        permission=Permission.READ,
        summary="The webhook's delivery log: each attempt, newest first",
        body=DeliveriesRequest,
        response=DeliveryList,
        errors=(*ID_ERRORS, E.INVALID_LIMIT, E.INVALID_OFFSET, E.INVALID_FIELD),
    ),
    Endpoint(
        "POST",
        "/webhooks/redeliver",
        redeliver,
        name="webhooks-redeliver",
        permission=Permission.SEND,
        summary="Send one event again now, under its own webhook-id",
        body=EventIdRequest,
        status=204,
        errors=(E.INVALID_FIELD, E.WEBHOOK_NOT_FOUND),
    ),
    Endpoint(
        "POST",
        "/webhooks/test",
        test_webhook,
        name="webhooks-test",
        permission=Permission.SEND,
        summary="Queue a `ping` event to the webhook; answers its event id",
        body=WebhookIdRequest,
        response=QueuedEventOut,
        errors=ID_ERRORS,
        links={
            "redeliver": {
                "operationId": "webhooks-redeliver",
                "requestBody": {"event_id": "$response.body#/event_id"},
            }
        },
    ),
]
