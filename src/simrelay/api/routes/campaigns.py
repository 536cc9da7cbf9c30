"""Bulk send and campaign endpoints."""

from __future__ import annotations

from starlette.responses import Response

from simrelay.api import responses
from simrelay.api.body import PAGING, paging, parse_model, read_body, validation_context
from simrelay.api.deps import Call, Permission
from simrelay.api.endpoint import Endpoint, Handler
from simrelay.api.errors import preferred_language
from simrelay.api.responses import Json, no_content
from simrelay.api.routes.sms import IDEMPOTENCY_KEY, STORE_ERRORS, idempotency_key_of
from simrelay.campaigns import service
from simrelay.campaigns.control import Action, change_campaign
from simrelay.campaigns.schemas import (
    BulkSendRequest,
    BulkSendResponse,
    CampaignIdRequest,
    CampaignList,
    CampaignOut,
)
from simrelay.errors import ErrorCode as E

BULK_PATH = "/sms/bulk"


async def send_bulk(call: Call) -> Response:
    settings = call.app.settings
    raw = await read_body(call.request, limit=settings.max_bulk_body_bytes)
    body = parse_model(raw, BulkSendRequest, context=validation_context(settings))
    idempotency_key = idempotency_key_of(call)
    answer = await service.send_bulk(
        call.app.db,
        call.app.intake,
        body,
        account_id=call.account_id,
        raw_body=raw,
        idempotency_key=idempotency_key,
        max_message_length=settings.max_message_length,
    )
    language = preferred_language(call.request.headers.get("accept-language"))
    rejected = [
        {"index": index, "code": error.code, "message": error.text(language, max=settings.max_message_length)}
        for index, error in answer.rejected
    ]
    return Json({"campaign_id": answer.campaign_id, "accepted": answer.accepted, "rejected": rejected})


async def _campaign_id(call: Call) -> str:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    return parse_model(raw, CampaignIdRequest).campaign_id


async def get_campaign(call: Call) -> Response:
    campaign_id = await _campaign_id(call)
    return Json(await service.get_campaign(call.app.db, account_id=call.account_id, campaign_id=campaign_id))


async def list_campaigns(call: Call) -> Response:
    limit, page = paging(call.request)
    total, items = await service.list_campaigns(
        call.app.db, account_id=call.account_id, limit=limit, page=page
    )
    return responses.page("campaign_list", items, total=total, limit=limit, page_number=page)


async def pause_campaign(call: Call) -> Response:
    return await _change_state(call, Action.PAUSE)


async def resume_campaign(call: Call) -> Response:
    return await _change_state(call, Action.RESUME)


async def cancel_campaign(call: Call) -> Response:
    return await _change_state(call, Action.CANCEL)


async def _change_state(call: Call, action: Action) -> Response:
    campaign_id = await _campaign_id(call)
    await change_campaign(
        call.app.db,
        call.app.signals,
        action,
        account_id=call.account_id,
        campaign_id=campaign_id,
        max_attempts=call.app.settings.max_attempts,
    )
    return no_content()


def _change(path: str, handler: Handler, name: str, summary: str) -> Endpoint:
    return Endpoint(
        "POST",
        path,
        handler,
        name=name,
        permission=Permission.SEND,
        summary=summary,
        body=CampaignIdRequest,
        status=204,
        errors=(E.INVALID_FIELD, E.CAMPAIGN_NOT_FOUND),
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        BULK_PATH,
        send_bulk,
        name="sms-bulk",
        permission=Permission.SEND,
        summary="Send one template to up to 10,000 recipients as a campaign: each a normal SMS, "
        "stored durably in status 0 before the answer (simrelay's own endpoint)",
        body=BulkSendRequest,
        parameters=(IDEMPOTENCY_KEY,),
        response=BulkSendResponse,
        links={
            "get": {
                "operationId": "campaigns-get",
                "requestBody": {"campaign_id": "$response.body#/campaign_id"},
            }
        },
        errors=STORE_ERRORS,
    ),
    Endpoint(
        "POST",
        "/campaigns/get",
        get_campaign,
        name="campaigns-get",
        permission=Permission.READ,
        summary="One campaign: its state and its SMS counted per status",
        body=CampaignIdRequest,
        response=CampaignOut,
        errors=(E.INVALID_FIELD, E.CAMPAIGN_NOT_FOUND),
    ),
    _change("/campaigns/pause", pause_campaign, "campaigns-pause", "Pause a campaign: its waiting SMS wait"),
    _change("/campaigns/resume", resume_campaign, "campaigns-resume", "Resume a paused campaign"),
    _change(
        "/campaigns/cancel",
        cancel_campaign,
        "campaigns-cancel",
        "Cancel a campaign: every SMS of it not yet sent ends in status 3",
    ),
    Endpoint(
        "GET",
        "/campaigns",
        list_campaigns,
        name="campaigns-list",
        permission=Permission.READ,
        summary="Campaigns of the account, newest first",
        parameters=PAGING,
        response=CampaignList,
        errors=(E.INVALID_LIMIT, E.INVALID_OFFSET),
    ),
]
