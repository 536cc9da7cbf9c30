"""Device endpoints: info, edit, delete, list, and USSD requests."""

from __future__ import annotations

from starlette.responses import Response

from simrelay.api import responses
from simrelay.api.body import PAGING, paging, parse_model, read_body
from simrelay.api.deps import Call, Permission
from simrelay.api.endpoint import Endpoint
from simrelay.api.responses import Json, no_content
from simrelay.devices import service
from simrelay.devices.schemas import (
    DeviceIdRequest,
    DeviceList,
    DeviceOut,
    DeviceSettingsOut,
    EditDeviceRequest,
    SendUssdRequest,
    UssdIdRequest,
    UssdOut,
    device_object,
    settings_object,
)
from simrelay.devices.ussd import ussd_object
from simrelay.errors import ErrorCode as E


async def get_device_info(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, DeviceIdRequest)
    row = await service.get_device(call.app.db, account_id=call.account_id, device_id=body.device_id)
    return Json(device_object(row))


async def edit_device(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, EditDeviceRequest)
    changes = body.model_dump(exclude={"device_id"}, exclude_none=True)
    await service.edit_device(
        call.app.db, account_id=call.account_id, device_id=body.device_id, changes=changes
    )
    call.app.signals.device_changed(body.device_id)
    return no_content()


async def device_settings(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, DeviceIdRequest)
    row = await service.get_device(call.app.db, account_id=call.account_id, device_id=body.device_id)
    return Json(settings_object(row))


async def delete_device(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, DeviceIdRequest)
    await service.delete_device(call.app.db, account_id=call.account_id, device_id=body.device_id)
    call.app.signals.device_changed(body.device_id)
    return no_content()


async def list_devices(call: Call) -> Response:
    limit, page = paging(call.request)
    total, rows = await service.list_devices(call.app.db, account_id=call.account_id, limit=limit, page=page)
    return responses.page(
        "device_list", [device_object(row) for row in rows], total=total, limit=limit, page_number=page
    )


async def send_ussd(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, SendUssdRequest)
    settings = call.app.settings
    row = await service.request_ussd(
        call.app.db,
        account_id=call.account_id,
        device_id=body.device_id,
        code=body.code,
        to_sim=body.to_sim,
        heartbeat_seconds=settings.heartbeat_seconds,
        expire_seconds=settings.ussd_expire_seconds,
    )
    call.app.signals.device_changed(body.device_id)
    row = await service.await_ussd(call.app.db, row, wait_seconds=settings.ussd_wait_seconds)
    return Json({"ussd": ussd_object(row)})


async def get_ussd(call: Call) -> Response:
    raw = await read_body(call.request, limit=call.app.settings.max_body_bytes)
    body = parse_model(raw, UssdIdRequest)
    row = await service.read_ussd(call.app.db, account_id=call.account_id, request_id=body.id)
    return Json({"ussd": ussd_object(row)})


ENDPOINTS = [
    Endpoint(
        "POST",
        "/devices/get/info",
        get_device_info,
        name="devices-info",
        permission=Permission.READ,
        summary="One device by id",
        body=DeviceIdRequest,
        response=DeviceOut,
        errors=(E.INVALID_DEVICE_ID, E.DEVICE_NOT_FOUND),
    ),
    Endpoint(
        "POST",
        "/devices/edit",
        edit_device,
        name="devices-edit",
        permission=Permission.SEND,
        summary="Change a device's settings; fields left out stay as they are",
        body=EditDeviceRequest,
        status=204,
        errors=(E.INVALID_DEVICE_ID, E.INVALID_SIM, E.INVALID_FIELD, E.DEVICE_NOT_FOUND),
    ),
    Endpoint(
        "POST",
        "/devices/settings",
        device_settings,
        name="devices-settings",
        permission=Permission.READ,
        summary="A device's pacing settings (simrelay's own endpoint)",
        body=DeviceIdRequest,
        response=DeviceSettingsOut,
        errors=(E.INVALID_DEVICE_ID, E.DEVICE_NOT_FOUND),
    ),
    Endpoint(
        "POST",
        "/devices/del",
        delete_device,
        name="devices-del",
        permission=Permission.SEND,
        summary="Delete a device; its pinned waiting SMS stay in status 0",
        body=DeviceIdRequest,
        status=204,
        errors=(E.INVALID_DEVICE_ID, E.DEVICE_NOT_FOUND),
    ),
    Endpoint(
        "GET",
        "/devices",
        list_devices,
        name="devices-list",
        permission=Permission.READ,
        summary="Devices of the account",
        parameters=PAGING,
        response=DeviceList,
        links={
            name: {
                "operationId": f"devices-{name}",
                "requestBody": {"device_id": "$response.body#/device_list/0/device_id"},
            }
            for name in ("info", "edit", "settings", "del")
        },
        errors=(E.INVALID_LIMIT, E.INVALID_OFFSET),
    ),
    Endpoint(
        "POST",
        "/devices/ussd",
        send_ussd,
        name="devices-ussd",
        permission=Permission.SEND,
        summary="Dial a USSD code on a connected device and wait (30 s by default) for the answer; "
        "`pending` if none came by then (read it later with /devices/ussd/get)",
        body=SendUssdRequest,
        response=UssdOut,
        links={"get": {"operationId": "devices-ussd-get", "requestBody": {"id": "$response.body#/ussd/id"}}},
        errors=(
            E.INVALID_DEVICE_ID,
            E.INVALID_SIM,
            E.INVALID_USSD_CODE,
            E.DEVICE_NOT_FOUND,
            E.DEVICE_OFFLINE,
            E.DEVICE_CANNOT,
        ),
    ),
    Endpoint(
        "POST",
        "/devices/ussd/get",
        get_ussd,
        name="devices-ussd-get",
        permission=Permission.READ,
        summary="One USSD request by id, as it is now",
        body=UssdIdRequest,
        response=UssdOut,
        errors=(E.INVALID_ID, E.USSD_NOT_FOUND),
    ),
]
