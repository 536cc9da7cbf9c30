"""Search counts up to 10,000 matches (the contract's Total-Records-Relation): exact below,
a floor with `gte` above, pages past the 10,000th match, and the panel's "10 000+"."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from simrelay.config import Settings
from simrelay.ids import new_object_id
from simrelay.sms import repository
from simrelay.sms.models import Message
from simrelay.sms.search import search_text
from tests.conftest import running_client
from tests.factories import make_caller
from tests.integration.api.helpers import list_sms
from tests.integration.test_panel import make_account, sign_in

pytestmark = pytest.mark.integration

CAP = 10_000
"""The contract's number, written out here (not read from the code under test)."""
MATCHING = CAP + 50
OTHER = 30


async def fill(engine, account_id: str, *, matching: int = MATCHING) -> list[str]:
    """`matching` SMS with "common" and OTHER with "rare", inserted as the intake would leave
    them; returns the ids of the matching ones, oldest first."""
    now = int(time.time())
    rows = []
    for i in range(matching + OTHER):
        text = f"common word {i}" if i < matching else f"rare word {i}"
        phone = "79990001122"
        rows.append(
            {
                "id": new_object_id(),
                "account_id": account_id,
                "phone_number": phone,
                "message": text,
                "time_create": now,
                "search_text": search_text(text, phone),
            }
        )
    async with engine.begin() as conn:
        await conn.execute(insert(Message), rows)
        await conn.run_sync(lambda sync: repository.add_to_total(sync, account_id, count=len(rows)))
        if conn.dialect.name == "sqlite":
            # Half in the trigram index, half still queued for it: searches see both.
            assert await conn.run_sync(repository.index_queued_messages) == repository.INDEX_BATCH
    return [row["id"] for row in rows[:matching]]


@pytest.fixture
async def filled(engine):
    caller = await make_caller(engine)
    return caller, await fill(engine, caller.account_id)


async def test_a_search_past_the_cap_answers_the_cap_with_gte(client: httpx.AsyncClient, filled) -> None:
    caller, _ = filled
    answer = await list_sms(client, caller, limit=100, search="COMMON")
    assert answer.status_code == 200
    assert answer.headers["Total-Records-Relation"] == "gte"
    assert answer.json()["pagination"] == {"total_records": CAP, "limit": 100, "offset": 1}
    assert set(answer.json()) == {"pagination", "sms_list"}
    assert len(answer.json()["sms_list"]) == 100


async def test_counts_below_the_cap_and_without_search_are_exact(client: httpx.AsyncClient, filled) -> None:
    caller, _ = filled
    rare = await list_sms(client, caller, limit=10, search="rare")
    assert rare.headers["Total-Records-Relation"] == "eq"
    assert rare.json()["pagination"]["total_records"] == OTHER
    everything = await list_sms(client, caller, limit=10)
    assert everything.headers["Total-Records-Relation"] == "eq"
    assert everything.json()["pagination"]["total_records"] == MATCHING + OTHER
    one = await list_sms(client, caller, limit=10, search="common word 10049")
    assert (one.headers["Total-Records-Relation"], one.json()["pagination"]["total_records"]) == ("eq", 1)


async def test_pages_past_the_ten_thousandth_match_still_work(client: httpx.AsyncClient, filled) -> None:
    caller, matching = filled
    last = await list_sms(client, caller, limit=100, offset=101, search="common")
    assert last.status_code == 200
    assert last.headers["Total-Records-Relation"] == "gte"
    # Newest first: page 101 holds matches 10,001..10,050, the 50 oldest.
    assert [item["id"] for item in last.json()["sms_list"]] == matching[:50][::-1]
    beyond = await list_sms(client, caller, limit=100, offset=102, search="common")
    assert beyond.json()["sms_list"] == []


@pytest.mark.parametrize(("matching", "relation"), [(CAP, "eq"), (CAP + 1, "gte")])
async def test_the_cap_itself_is_exact_one_more_is_not(
    client: httpx.AsyncClient, engine, matching: int, relation: str
) -> None:
    caller = await make_caller(engine)
    await fill(engine, caller.account_id, matching=matching)
    answer = await list_sms(client, caller, limit=1, search="common")
    assert answer.json()["pagination"]["total_records"] == CAP
    assert answer.headers["Total-Records-Relation"] == relation


async def test_the_panel_shows_ten_thousand_plus(settings: Settings) -> None:
    account_id = await make_account(settings)
    engine = create_async_engine(settings.resolved_database_url())
    try:
        await fill(engine, account_id)
    finally:
        await engine.dispose()
    async with running_client(settings) as panel:
        await sign_in(panel)
        page = await panel.get("/panel/messages", params={"search": "common"})
        assert page.status_code == 200
        assert ": 10 000+</p>" in page.text
        rare = await panel.get("/panel/messages", params={"search": "rare"})
        assert f": {OTHER}</p>" in rare.text
