"""CSV exports through HTTP on both databases: `GET /v1/sms/export.csv` and
`/v1/inbox/export.csv`, their header and rows, the period and search filters, one account never
seeing another's, permissions, bad bounds, UTF-8, the formula guard and keyset pages."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update

from simrelay.config import Settings
from simrelay.ids import new_object_id
from simrelay.inbox import export as inbox_export
from simrelay.inbox import service as inbox
from simrelay.sms import export as sms_export
from simrelay.sms.models import Message, MessageHistory
from simrelay.storage.database import Database
from tests.conftest import running_client
from tests.factories import Caller, make_caller, make_device
from tests.integration.api.helpers import assert_error, freeze_rate_limit_clock, send_ok

pytestmark = pytest.mark.integration

SMS_HEADER = [
    "id",
    "created_at",
    "phone_number",
    "message",
    "status",
    "message_status",
    "device_id",
    "to_sim",
    "sim",
    "parts",
    "reason",
    "sent_at",
    "delivered_at",
    "callback_id",
]
INBOX_HEADER = ["id", "received_at", "phone_number", "message", "device_id", "sim"]
ATTACHMENT = re.compile(r'^attachment; filename="(sms|inbox)-(\d{8})\.csv"$')
NOW = int(time.time())


async def export(
    client: httpx.AsyncClient, caller: Caller, what: str = "sms", **params: Any
) -> httpx.Response:
    return await client.get(f"/v1/{what}/export.csv", headers=caller.headers, params=params)


def table(response: httpx.Response, name: str = "sms") -> list[dict[str, str]]:
    """The CSV answer as dicts by header, after checking what makes it a download."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = ATTACHMENT.match(response.headers["content-disposition"])
    assert disposition and disposition.group(1) == name
    assert disposition.group(2) == time.strftime("%Y%m%d", time.gmtime())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert rows[0] == (SMS_HEADER if name == "sms" else INBOX_HEADER)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


async def move_to(engine, message_id: str, moment: int) -> str:
    """Gives the SMS `moment` as time_create and an id made then (as a send at that moment
    would), returning the new id."""
    new_id = moment.to_bytes(4, "big").hex() + message_id[8:]
    async with engine.begin() as conn:
        await conn.execute(
            update(Message).where(Message.id == message_id).values(id=new_id, time_create=moment)
        )
    return new_id


async def receive(engine, caller: Caller, device_id: str, **fields: Any) -> None:
    values: dict[str, Any] = {
        "phone_number": "79990001122",
        "message": "Привет",
        "received_at": NOW,
        "sim": None,
    }
    values.update(fields)
    now = time.time()
    assert await Database.on_engine(engine).run(
        lambda conn: inbox.store_received(
            conn,
            account_id=caller.account_id,
            device_id=device_id,
            external_id=new_object_id(),
            now=now,
            **values,
        )
    )


# --- the SMS log ---------------------------------------------------------------------------


async def test_sms_export_has_a_header_and_one_row_per_sms_oldest_first(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    first = await send_ok(client, caller, message="первое", phone_number="+79990001122", to_sim=-2)
    second = await send_ok(client, caller, message="второе", phone_number="79990003344")
    rows = table(await export(client, caller))
    assert [row["id"] for row in rows] == [first, second]
    got = (await client.post("/v1/sms/get", headers=caller.headers, json={"id": first})).json()
    row = rows[0]
    assert row["phone_number"] == got["phone_number"] == "79990001122"
    assert row["message"] == "первое" and row["to_sim"] == "-2" and row["sim"] == ""
    assert row["status"] == "0" and row["message_status"] == "Ждет обработки"
    assert row["created_at"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(got["time_create"]))
    assert row["sent_at"] == row["delivered_at"] == row["reason"] == row["callback_id"] == ""
    assert row["parts"] == "1"


async def test_sms_export_carries_sent_and_delivered_times_from_the_history(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    message_id = await send_ok(client, caller)
    async with engine.begin() as conn:
        await conn.execute(
            update(Message).where(Message.id == message_id).values(status=4, device_id=device_id, sim=1)
        )
        await conn.execute(
            insert(MessageHistory),
            [
                {
                    "message_id": message_id,
                    "status": 1,
                    "at": NOW + 1.0,
                    "device_id": device_id,
                    "sim": 1,
                    "reason": "",
                },
                {
                    "message_id": message_id,
                    "status": 2,
                    "at": NOW + 2.5,
                    "device_id": device_id,
                    "sim": 1,
                    "reason": "",
                },
                {
                    "message_id": message_id,
                    "status": 4,
                    "at": NOW + 7.25,
                    "device_id": device_id,
                    "sim": 1,
                    "reason": "",
                },
            ],
        )
    [row] = table(await export(client, caller))
    assert row["status"] == "4" and row["message_status"] == "Доставлено"
    assert row["device_id"] == device_id and row["sim"] == "1"
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW))
    assert row["sent_at"].startswith(moment[:10]) and row["sent_at"].endswith(".500Z")
    assert row["delivered_at"].endswith(".250Z")


async def test_sms_export_takes_from_inclusive_and_to_exclusive(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    base = NOW - 10 * 86400
    ids = {}
    for offset in (0, 100, 200):
        ids[offset] = await move_to(
            engine, await send_ok(client, caller, message=f"at {offset}"), base + offset
        )

    def exported(response: httpx.Response) -> list[str]:
        return [row["id"] for row in table(response)]

    assert exported(await export(client, caller, **{"from": base + 100})) == [ids[100], ids[200]]
    assert exported(await export(client, caller, to=base + 200)) == [ids[0], ids[100]]
    assert exported(await export(client, caller, **{"from": base, "to": base + 100})) == [ids[0]]
    assert exported(await export(client, caller, **{"from": base + 50, "to": base + 50})) == []
    assert exported(await export(client, caller)) == [ids[0], ids[100], ids[200]]


async def test_sms_export_search_means_what_the_lists_search_means(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    hello = await send_ok(client, caller, message="Привет, МИР")
    other = await send_ok(client, caller, message="bye", phone_number="79995550000")
    delivered = await send_ok(client, caller, message="third")
    async with engine.begin() as conn:
        await conn.execute(update(Message).where(Message.id == delivered).values(status=4))
    for needle, expected in (("мир", [hello]), ("+7999555", [other]), ("доставл", [delivered]), ("", None)):
        listed = await client.get("/v1/sms", headers=caller.headers, params={"limit": 100, "search": needle})
        exported = [row["id"] for row in table(await export(client, caller, search=needle))]
        assert sorted(exported) == sorted(item["id"] for item in listed.json()["sms_list"])
        if expected is not None:
            assert exported == expected
    assert table(await export(client, caller, search="\x01")) == []


async def test_sms_export_shows_only_the_callers_live_sms(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    stranger = await make_caller(engine)
    mine = await send_ok(client, caller, message="mine")
    gone = await send_ok(client, caller, message="mine too")
    await send_ok(client, stranger, message="mine")
    deleted = await client.request("DELETE", "/v1/sms/del", headers=caller.headers, json={"id": gone})
    assert deleted.status_code == 204
    assert [row["id"] for row in table(await export(client, caller, search="mine"))] == [mine]
    assert [row["id"] for row in table(await export(client, caller))] == [mine]


async def test_sms_export_keeps_unicode_and_defuses_formulas(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    texts = [
        'Код: 4242 — ёжик 😀, "кавычки"\nвторая строка',
        '=HYPERLINK("http://evil.example","жми")',
        "+1+2",
        "-2",
        "@SUM(1)",
        "\tтаб",
        "a=b, safe",
    ]
    for text in texts:
        await send_ok(client, caller, message=text)
    response = await export(client, caller)
    assert "ёжик 😀".encode() in response.content
    assert [row["message"] for row in table(response)] == [
        texts[0],
        "'" + texts[1],
        "'+1+2",
        "-2",  # only a signed number: nothing to run
        "'@SUM(1)",
        "'\tтаб",
        "a=b, safe",
    ]
    assert table(response)[0]["to_sim"] == ""  # numbers we write stay numbers: no apostrophe


async def test_sms_export_reads_page_after_page_and_loses_nothing(
    client: httpx.AsyncClient, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = await make_caller(engine)
    sent = [await send_ok(client, caller, message=f"номер {n}") for n in range(10)]
    await send_ok(client, await make_caller(engine), message="номер 99")
    monkeypatch.setattr(sms_export, "PAGE_SIZE", 3)
    reads = []
    read_page = sms_export._read_page

    def counted(conn, **options):
        reads.append(options["after"])
        return read_page(conn, **options)

    monkeypatch.setattr(sms_export, "_read_page", counted)
    assert [row["id"] for row in table(await export(client, caller))] == sent
    assert reads == ["", sent[2], sent[5], sent[8]]
    reads.clear()
    assert [row["id"] for row in table(await export(client, caller, search="номер"))] == sent
    assert len(reads) == 4


@pytest.mark.parametrize("what", ["sms", "inbox"])
async def test_export_needs_the_read_permission(client: httpx.AsyncClient, engine, what: str) -> None:
    sender_only = await make_caller(engine, can_read=False)
    assert_error(await export(client, sender_only, what), 1007)
    assert_error(await export(client, sender_only, what, **{"from": "x"}), 1007)  # permission first
    reader = await make_caller(engine, can_send=False)
    assert table(await export(client, reader, what), what) == []
    anonymous = await client.get(f"/v1/{what}/export.csv", params={"from": "x"})
    assert_error(anonymous, 1003)
    assert table(await client.get(f"/{what}/export.csv", headers=reader.headers), what) == []  # bare host


@pytest.mark.parametrize(("what", "module"), [("sms", sms_export), ("inbox", inbox_export)])
async def test_a_database_failure_before_the_first_rows_is_1000_not_a_short_200(
    client: httpx.AsyncClient, engine, monkeypatch: pytest.MonkeyPatch, what: str, module: Any
) -> None:
    caller = await make_caller(engine)

    def broken(conn, **options):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(module, "_read_page", broken)
    response = await export(client, caller, what)
    assert_error(response, 1000)
    assert "database" not in response.text


@pytest.mark.parametrize("what", ["sms", "inbox"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "1.5"}, "from"),
        ({"from": ""}, "from"),
        ({"from": "-1"}, "from"),
        ({"to": str(2**31)}, "to"),
        ({"to": "99999999999999999999999"}, "to"),
        ({"from": "200", "to": "100"}, "to"),
    ],
)
async def test_bad_bounds_are_2010_naming_the_field(
    client: httpx.AsyncClient, engine, what: str, params: dict[str, str], field: str
) -> None:
    caller = await make_caller(engine)
    response = await client.get(
        f"/v1/{what}/export.csv", headers=caller.headers | {"Accept-Language": "en"}, params=params
    )
    assert assert_error(response, 2010, language="en") == f"Invalid field {field}"


async def test_exports_are_rate_limited_like_the_other_endpoints(
    settings: Settings, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = await make_caller(engine)
    freeze_rate_limit_clock(monkeypatch)
    async with running_client(settings.model_copy(update={"rate_limit": 1})) as client:
        for what in ("sms", "inbox"):
            first = await export(client, caller, what)
            assert first.status_code == 200
            assert first.headers["ratelimit-policy"] == f'"{what}-export";q=1;w=1'
            limited = await export(client, caller, what)
            assert_error(limited, 1011)
            assert limited.headers["retry-after"]


# --- the inbox -----------------------------------------------------------------------------


async def test_inbox_export_has_a_header_and_the_inbox_items(client: httpx.AsyncClient, engine) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    await receive(engine, caller, device_id, message="Привет 😀", phone_number="+7 (999) 000-11-22", sim=1)
    await receive(engine, caller, device_id, message="=2+2", phone_number="-MyBank", received_at=NOW + 5)
    listed = (await client.get("/v1/inbox", headers=caller.headers, params={"limit": 10})).json()[
        "inbox_list"
    ]
    rows = table(await export(client, caller, "inbox"), "inbox")
    assert [row["id"] for row in rows] == [item["id"] for item in reversed(listed)]
    first, second = rows
    assert first["phone_number"] == "79990001122" and first["message"] == "Привет 😀" and first["sim"] == "1"
    assert first["device_id"] == device_id
    assert first["received_at"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(NOW))
    assert second["phone_number"] == "'-MyBank" and second["message"] == "'=2+2" and second["sim"] == ""


async def test_inbox_export_filters_by_period_and_search_and_account(
    client: httpx.AsyncClient, engine
) -> None:
    caller = await make_caller(engine)
    stranger = await make_caller(engine)
    device_id = await make_device(engine, caller)
    for offset, text in ((0, "STOP"), (60, "ok stop"), (120, "Да")):
        await receive(engine, caller, device_id, message=text, received_at=NOW + offset)
    await receive(engine, stranger, await make_device(engine, stranger), message="stop", received_at=NOW)

    async def messages(**params: Any) -> list[str]:
        return [row["message"] for row in table(await export(client, caller, "inbox", **params), "inbox")]

    assert await messages() == ["STOP", "ok stop", "Да"]
    assert await messages(search="stop") == ["STOP", "ok stop"]
    assert await messages(**{"from": NOW + 60}) == ["ok stop", "Да"]
    assert await messages(**{"from": NOW, "to": NOW + 60, "search": "sto"}) == ["STOP"]
    assert await messages(search="да") == ["Да"]


async def test_inbox_export_reads_page_after_page(
    client: httpx.AsyncClient, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = await make_caller(engine)
    device_id = await make_device(engine, caller)
    for n in range(7):
        await receive(engine, caller, device_id, message=f"сообщение {n}")
    monkeypatch.setattr(inbox_export, "PAGE_SIZE", 2)
    rows = table(await export(client, caller, "inbox"), "inbox")
    assert [row["message"] for row in rows] == [f"сообщение {n}" for n in range(7)]
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)


async def test_exports_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path in ("/v1/sms/export.csv", "/v1/inbox/export.csv"):
        operation = document["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"from", "to", "search"}
        assert list(operation["responses"]["200"]["content"]) == ["text/csv; charset=utf-8"]
        assert "Content-Disposition" in operation["responses"]["200"]["headers"]
        assert (
            2010
            in operation["responses"]["400"]["content"]["application/json"]["schema"]["properties"]["errors"][
                "properties"
            ]["code"]["enum"]
        )
