"""Inbox and opt-out endpoints: received SMS (listed and exported), and the numbers not to text."""

from __future__ import annotations

from starlette.responses import Response

from simrelay.api import responses
from simrelay.api.body import PAGING, PERIOD, SEARCH, paging, parse_model, period, read_body
from simrelay.api.deps import Call, Permission
from simrelay.api.endpoint import Endpoint
from simrelay.api.responses import CSV, csv_attachment, no_content
from simrelay.errors import ErrorCode as E
from simrelay.inbox import service
from simrelay.inbox.export import export_received
from simrelay.inbox.schemas import (
    InboxList,
    OptOutList,
    PhoneNumberRequest,
    optout_object,
    received_object,
)


async def list_inbox(call: Call) -> Response:
    limit, page = paging(call.request)
    search = call.request.query_params.get("search", "")
    total, rows = await service.list_received(
        call.app.db, account_id=call.account_id, limit=limit, page=page, query=search
    )
    return responses.page(
        "inbox_list", [received_object(row) for row in rows], total=total, limit=limit, page_number=page
    )


async def export_inbox(call: Call) -> Response:
    start, end = period(call.request)
    search = call.request.query_params.get("search", "")
    chunks = export_received(call.app.db, account_id=call.account_id, start=start, end=end, query=search)
    return await csv_attachment(chunks, name="inbox")


async def list_optouts(call: Call) -> Response:
    limit, page = paging(call.request)
    total, rows = await service.list_optouts(call.app.db, account_id=call.account_id, limit=limit, page=page)
    return responses.page(
        "optout_list", [optout_object(row) for row in rows], total=total, limit=limit, page_number=page
    )


async def add_optout(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, PhoneNumberRequest)
    await service.add_optout(call.app.db, account_id=call.account_id, phone_number=body.phone_number)
    return no_content()


async def remove_optout(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, PhoneNumberRequest)
    await service.remove_optout(call.app.db, account_id=call.account_id, phone_number=body.phone_number)
    return no_content()


ENDPOINTS = [
    Endpoint(
        "GET",
        "/inbox",
        list_inbox,
        name="inbox-list",
        permission=Permission.READ,
        summary="SMS received by the account's devices, newest first, with search and paging",
        parameters=(*PAGING, SEARCH),
        response=InboxList,
        errors=(E.INVALID_LIMIT, E.INVALID_OFFSET),
    ),
    Endpoint(
        "GET",
        "/inbox/export.csv",
        export_inbox,
        name="inbox-export",
        permission=Permission.READ,
        summary="The inbox as CSV (UTF-8, a header row, streamed), in the order received: SMS "
        "whose `received_at` is in [from, to) that `search` finds as the list's search does",
        parameters=(*PERIOD, SEARCH),
        media_type=CSV,
        errors=(E.INVALID_FIELD,),
        headers=("Content-Disposition",),
    ),
    Endpoint(
        "GET",
        "/optouts",
        list_optouts,
        name="optouts-list",
        permission=Permission.READ,
        summary="Numbers on the account's opt-out list, most recently added first",
        parameters=PAGING,
        response=OptOutList,
        errors=(E.INVALID_LIMIT, E.INVALID_OFFSET),
    ),
    Endpoint(
        "POST",
        "/optouts/add",
        add_optout,
        name="optouts-add",
        permission=Permission.SEND,
        summary="Put a number on the opt-out list (already there: no change)",
        body=PhoneNumberRequest,
        status=204,
        errors=(E.INVALID_PHONE,),
    ),
    Endpoint(
        "POST",
        "/optouts/del",
        remove_optout,
        name="optouts-del",
        permission=Permission.SEND,
        summary="Take a number off the opt-out list (not on it: no change)",
        body=PhoneNumberRequest,
        status=204,
        errors=(E.INVALID_PHONE,),
    ),
]
