"""Device endpoints: info, edit, delete, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from simrelay.accounts.auth import Principal
from simrelay.api.body import paging, parse_model, read_body
from simrelay.api.deps import AppServices, Permission, caller
from simrelay.api.errors import documented
from simrelay.api.openapi import json_body, query_params
from simrelay.api.responses import Json, no_content
from simrelay.devices import service
from simrelay.devices.schemas import (
    DeviceIdRequest,
    DeviceList,
    DeviceOut,
    EditDeviceRequest,
    device_object,
)
from simrelay.errors import ErrorCode as E

router = APIRouter(tags=["devices"])

AUTH = (E.UNAUTHORIZED, E.KEY_INACTIVE, E.ACCOUNT_BLOCKED, E.RATE_LIMITED, E.INTERNAL)
BODY = (E.BODY_TOO_LARGE, E.INVALID_JSON)


@router.post(
    "/devices/get/info",
    response_model=DeviceOut,
    openapi_extra=json_body(DeviceIdRequest),
    responses=documented(*AUTH, E.READ_FORBIDDEN, *BODY, E.INVALID_DEVICE_ID, E.DEVICE_NOT_FOUND),
)
async def get_device_info(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("devices-info", Permission.READ))],
) -> Response:
    body = parse_model(await read_body(request, limit=app.settings.max_body_bytes), DeviceIdRequest)
    async with app.engine.connect() as conn:
        row = await service.get_device(conn, account_id=principal.account_id, device_id=body.device_id)
    return Json(device_object(row))


@router.post(
    "/devices/edit",
    status_code=204,
    response_class=Response,
    openapi_extra=json_body(EditDeviceRequest),
    responses=documented(
        *AUTH, E.SEND_FORBIDDEN, *BODY, E.INVALID_DEVICE_ID, E.INVALID_SIM, E.DEVICE_NOT_FOUND
    ),
)
async def edit_device(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("devices-edit", Permission.SEND))],
) -> Response:
    body = parse_model(await read_body(request, limit=app.settings.max_body_bytes), EditDeviceRequest)
    changes = body.model_dump(exclude={"device_id"}, exclude_none=True)
    async with app.engine.begin() as conn:
        await service.edit_device(
            conn, account_id=principal.account_id, device_id=body.device_id, changes=changes
        )
    return no_content()


@router.post(
    "/devices/del",
    status_code=204,
    response_class=Response,
    openapi_extra=json_body(DeviceIdRequest),
    responses=documented(*AUTH, E.SEND_FORBIDDEN, *BODY, E.INVALID_DEVICE_ID, E.DEVICE_NOT_FOUND),
)
async def delete_device(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("devices-del", Permission.SEND))],
) -> Response:
    body = parse_model(await read_body(request, limit=app.settings.max_body_bytes), DeviceIdRequest)
    async with app.engine.begin() as conn:
        await service.delete_device(conn, account_id=principal.account_id, device_id=body.device_id)
    return no_content()


@router.get(
    "/devices",
    response_model=DeviceList,
    openapi_extra=query_params(("limit", "integer", True), ("offset", "integer", False)),
    responses=documented(*AUTH, E.READ_FORBIDDEN, E.INVALID_LIMIT, E.INVALID_OFFSET),
)
async def list_devices(
    request: Request,
    app: AppServices,
    principal: Annotated[Principal, Depends(caller("devices-list", Permission.READ))],
) -> Response:
    limit, page = paging(request)
    async with app.engine.connect() as conn:
        total, rows = await service.list_devices(
            conn, account_id=principal.account_id, limit=limit, page=page
        )
    return Json(
        {
            "pagination": {"total_records": total, "limit": limit, "offset": page},
            "device_list": [device_object(row) for row in rows],
        }
    )
