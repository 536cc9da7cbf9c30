"""Webhook endpoints through HTTP on both back ends: create, list, get, edit, delete, the
delivery log, redeliver and test; every error; isolation between accounts; and the SSRF
guard refusing URLs (2009) with a stubbed resolver, so no lookup leaves the machine."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simrelay.config import Settings
from simrelay.webhooks.service import Keys
from tests.conftest import SECRET, running_client
from tests.factories import Caller, make_caller
from tests.integration.api.helpers import OBJECT_ID, UNKNOWN_ID, assert_error, send, send_ok

pytestmark = pytest.mark.integration

ALL_EVENTS = [
    "sms.status",
    "sms.received",
    "device.online",
    "device.offline",
    "device.low_battery",
    "device.ussd",
    "device.sim_paused",
]
HOOK = "http://127.0.0.1:9/hook"
"""Loopback (allowed in these tests) and the discard port: nothing answers there."""
WEBHOOK_KEYS = [
    "id",
    "url",
    "events",
    "is_active",
    "time_create",
    "disabled_reason",
    "disabled_date",
    "failing_since",
]


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings.model_copy(update={"webhook_allow_private": True})) as client:
        yield client


@pytest.fixture
async def caller(engine) -> Caller:
    return await make_caller(engine)


async def create(http: httpx.AsyncClient, caller: Caller, **body: Any) -> httpx.Response:
    return await http.post("/v1/webhooks", headers=caller.headers, json={"url": HOOK, **body})


async def create_ok(http: httpx.AsyncClient, caller: Caller, **body: Any) -> tuple[str, str]:
    response = await create(http, caller, **body)
    assert response.status_code == 200, response.text
    answer = response.json()
    return answer["id"], answer["secret"]


async def call(http: httpx.AsyncClient, caller: Caller, path: str, body: Any) -> httpx.Response:
    return await http.post(f"/v1/webhooks{path}", headers=caller.headers, json=body)


# --- create, get, list ------------------------------------------------------------------------


async def test_create_answers_id_and_a_standard_webhooks_secret_shown_only_then(http, caller) -> None:
    response = await create(http, caller)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "secret"}
    assert OBJECT_ID.match(body["id"])
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    got = (await call(http, caller, "/get", {"webhook_id": body["id"]})).json()
    assert list(got) == WEBHOOK_KEYS
    assert got["id"] == body["id"] and got["url"] == HOOK and got["is_active"] is True
    assert got["events"] == ALL_EVENTS  # the contract's default: all
    assert got["disabled_reason"] == "" and got["disabled_date"] == "" and got["failing_since"] == ""
    listed = await http.get("/v1/webhooks?limit=10", headers=caller.headers)
    assert body["secret"] not in listed.text and "secret" not in listed.text


async def test_two_webhooks_get_different_secrets(http, caller) -> None:
    assert (await create_ok(http, caller))[1] != (await create_ok(http, caller))[1]


async def test_events_subset_is_kept_in_documented_order_and_inactive_is_kept(http, caller) -> None:
    webhook_id, _ = await create_ok(http, caller, events=["device.offline", "sms.status"], is_active=False)
    got = (await call(http, caller, "/get", {"id": webhook_id})).json()  # `id` works as well
    assert got["events"] == ["sms.status", "device.offline"]
    assert got["is_active"] is False


async def test_list_pages_newest_first_with_pagination(http, caller) -> None:
    ids = [(await create_ok(http, caller))[0] for _ in range(3)]
    response = await http.get("/v1/webhooks?limit=2&offset=1", headers=caller.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"total_records": 3, "limit": 2, "offset": 1}
    assert [item["id"] for item in body["webhook_list"]] == ids[::-1][:2]
    second = (await http.get("/v1/webhooks?limit=2&offset=2", headers=caller.headers)).json()
    assert [item["id"] for item in second["webhook_list"]] == ids[:1]
    past = (await http.get("/v1/webhooks?limit=2&offset=9", headers=caller.headers)).json()
    assert past["webhook_list"] == [] and past["pagination"]["total_records"] == 3


@pytest.mark.parametrize(
    ("query", "code"), [("", 2006), ("?limit=0", 2006), ("?limit=101", 2006), ("?limit=5&offset=0", 2007)]
)
async def test_list_refuses_bad_paging(http, caller, query: str, code: int) -> None:
    assert_error(await http.get(f"/v1/webhooks{query}", headers=caller.headers), code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 2009),
        ({"url": ""}, 2009),
        ({"url": "ftp://127.0.0.1/hook"}, 2009),
        ({"url": "javascript:alert(1)"}, 2009),
        ({"url": "http://user:pw@127.0.0.1/hook"}, 2009),
        ({"url": "http://127.0.0.1/" + "x" * 2000}, 2009),
        ({"url": 5}, 1001),
        ({"url": HOOK, "events": ["sms.sent"]}, 2010),
        ({"url": HOOK, "events": []}, 2010),
        ({"url": HOOK, "events": "sms.status"}, 1001),
        ({"url": HOOK, "is_active": "yes"}, 1001),
    ],
)
async def test_create_refuses_bad_input_and_stores_nothing(
    http, caller, body: dict[str, Any], code: int
) -> None:
    response = await http.post("/v1/webhooks", headers=caller.headers, json=body)
    assert_error(response, code)
    listed = (await http.get("/v1/webhooks?limit=10", headers=caller.headers)).json()
    assert listed["pagination"]["total_records"] == 0


async def test_create_needs_the_send_permission(http, engine) -> None:
    reader = await make_caller(engine, can_send=False)
    assert_error(await create(http, reader), 1005)


# --- edit, delete -----------------------------------------------------------------------------


async def test_edit_changes_only_the_given_fields(http, caller) -> None:
    webhook_id, _ = await create_ok(http, caller)
    other = "http://127.0.0.1:10/other"
    response = await call(
        http, caller, "/edit", {"webhook_id": webhook_id, "url": other, "events": ["sms.received"]}
    )
    assert response.status_code == 204 and response.content == b""
    got = (await call(http, caller, "/get", {"webhook_id": webhook_id})).json()
    assert got["url"] == other and got["events"] == ["sms.received"] and got["is_active"] is True
    assert (
        await call(http, caller, "/edit", {"webhook_id": webhook_id, "is_active": False})
    ).status_code == 204
    got = (await call(http, caller, "/get", {"webhook_id": webhook_id})).json()
    assert got["is_active"] is False and got["url"] == other


async def test_rotate_secret_answers_a_new_secret(http, caller) -> None:
    webhook_id, old = await create_ok(http, caller)
    response = await call(http, caller, "/edit", {"webhook_id": webhook_id, "rotate_secret": True})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == webhook_id and body["secret"].startswith("whsec_") and body["secret"] != old


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"url": "gopher://127.0.0.1/"}, 2009),
        ({"events": ["nope"]}, 2010),
        ({"is_active": 1}, 1001),
        ({"rotate_secret": "true"}, 1001),
    ],
)
async def test_edit_refuses_bad_fields_and_changes_nothing(
    http, caller, fields: dict[str, Any], code: int
) -> None:
    webhook_id, _ = await create_ok(http, caller)
    before = (await call(http, caller, "/get", {"webhook_id": webhook_id})).json()
    assert_error(await call(http, caller, "/edit", {"webhook_id": webhook_id, **fields}), code)
    assert (await call(http, caller, "/get", {"webhook_id": webhook_id})).json() == before


async def test_delete_then_the_webhook_is_gone_and_callback_id_is_refused(http, caller) -> None:
    webhook_id, _ = await create_ok(http, caller)
    response = await call(http, caller, "/del", {"webhook_id": webhook_id})
    assert response.status_code == 204 and response.content == b""
    assert_error(await call(http, caller, "/get", {"webhook_id": webhook_id}), 1010)
    assert_error(await call(http, caller, "/del", {"webhook_id": webhook_id}), 1010)
    assert_error(await send(http, caller, callback_id=webhook_id), 1010)


@pytest.mark.parametrize("path", ["/get", "/edit", "/del", "/deliveries", "/test"])
@pytest.mark.parametrize(("webhook_id", "code"), [(UNKNOWN_ID, 1010), ("not-an-id", 2004), ("", 2004)])
async def test_unknown_or_malformed_ids(http, caller, path: str, webhook_id: str, code: int) -> None:
    assert_error(await call(http, caller, path, {"webhook_id": webhook_id}), code)


@pytest.mark.parametrize("path", ["/get", "/edit", "/del", "/deliveries", "/test"])
async def test_bad_bodies_are_1001(http, caller, path: str) -> None:
    response = await http.post(f"/v1/webhooks{path}", headers=caller.headers, content=b"{nope")
    assert_error(response, 1001)


# --- isolation --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/get", "/edit", "/del", "/deliveries", "/test"])
async def test_another_accounts_webhook_looks_like_no_webhook(http, caller, engine, path: str) -> None:
    other = await make_caller(engine)
    theirs, _ = await create_ok(http, other)
    assert_error(await call(http, caller, path, {"webhook_id": theirs, "is_active": False}), 1010)
    assert_error(await send(http, caller, callback_id=theirs), 1010)
    listed = (await http.get("/v1/webhooks?limit=10", headers=caller.headers)).json()
    assert listed["webhook_list"] == []
    got = (await call(http, other, "/get", {"webhook_id": theirs})).json()
    assert got["is_active"] is True  # untouched


async def test_another_accounts_event_cannot_be_redelivered(http, caller, engine) -> None:
    other = await make_caller(engine)
    theirs, _ = await create_ok(http, other)
    event_id = (await call(http, other, "/test", {"webhook_id": theirs})).json()["event_id"]
    assert_error(await call(http, caller, "/redeliver", {"event_id": event_id}), 1010)


# --- delivery log, redeliver, test ------------------------------------------------------------


async def test_test_queues_a_ping_and_the_log_shows_its_attempt(http, caller) -> None:
    webhook_id, _ = await create_ok(http, caller)
    response = await call(http, caller, "/test", {"webhook_id": webhook_id})
    assert response.status_code == 200
    event_id = response.json()["event_id"]
    assert event_id.startswith("msg_")
    for _ in range(200):
        log = (await call(http, caller, "/deliveries", {"webhook_id": webhook_id})).json()
        # Count and page are two statements: an attempt recorded between them shows in one only.
        if log["delivery_list"] and log["pagination"]["total_records"]:
            break
        import asyncio

        await asyncio.sleep(0.05)
    (attempt,) = log["delivery_list"]
    assert attempt["event_id"] == event_id and attempt["event"] == "ping"
    assert attempt["http_status"] is None and attempt["success"] is False
    assert attempt["error"]  # nothing listens on the discard port
    assert log["pagination"] == {"total_records": 1, "limit": 20, "offset": 1}


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"limit": 0}, 2006), ({"limit": 101}, 2006), ({"offset": 0}, 2007), ({"event_id": "x"}, 2010)],
)
async def test_deliveries_refuses_bad_paging(http, caller, fields: dict[str, Any], code: int) -> None:
    webhook_id, _ = await create_ok(http, caller)
    assert_error(await call(http, caller, "/deliveries", {"webhook_id": webhook_id, **fields}), code)


@pytest.mark.parametrize(("event_id", "code"), [("msg_" + UNKNOWN_ID, 1010), ("nope", 2010), (None, 1001)])
async def test_redeliver_refuses_unknown_and_malformed_events(http, caller, event_id: Any, code: int) -> None:
    assert_error(await call(http, caller, "/redeliver", {"event_id": event_id}), code)


async def test_send_with_callback_id_of_own_webhook_is_accepted(http, caller) -> None:
    webhook_id, _ = await create_ok(http, caller)
    assert OBJECT_ID.match(await send_ok(http, caller, callback_id=webhook_id))


# --- SSRF guard -------------------------------------------------------------------------------

RESOLVES = {
    "loopback.test": ["127.0.0.1"],
    "loopback6.test": ["::1"],
    "ten.test": ["10.1.2.3"],
    "oneseventwo.test": ["172.16.0.9"],
    "home.test": ["192.168.1.10"],
    "metadata.test": ["169.254.169.254"],
    "linklocal6.test": ["fe80::1"],
    "cgnat.test": ["100.64.0.1"],
    "multicast.test": ["224.0.0.1"],
    "ula.test": ["fd00::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "unspecified.test": ["0.0.0.0"],
    "mixed.test": ["93.184.216.34", "10.0.0.1"],
    "public.test": ["93.184.216.34"],
}


async def stub_resolve(host: str, port: int) -> list[str]:
    return RESOLVES.get(host, [])


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    running = running_client(settings)  # webhook_allow_private is off by default
    async with running as client:
        services = running.app.state.services
        services.webhook_keys = Keys(SECRET, allow_private=False, resolve=stub_resolve)
        yield client


@pytest.mark.parametrize(
    "url",
    [
        *[f"http://{host}/hook" for host in RESOLVES if host != "public.test"],
        "http://127.0.0.1:8000/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "http://unresolvable.test/hook",
    ],
)
async def test_urls_reaching_internal_addresses_are_refused(guarded, caller, url: str) -> None:
    assert_error(await guarded.post("/v1/webhooks", headers=caller.headers, json={"url": url}), 2009)


async def test_a_public_address_is_accepted_and_an_edit_to_an_internal_one_is_refused(
    guarded, caller
) -> None:
    webhook_id, _ = await create_ok(guarded, caller, url="https://public.test/hook")
    response = await call(
        guarded, caller, "/edit", {"webhook_id": webhook_id, "url": "http://metadata.test/"}
    )
    assert_error(response, 2009)
    got = (await call(guarded, caller, "/get", {"webhook_id": webhook_id})).json()
    assert got["url"] == "https://public.test/hook"
