"""SMPP users in the database (SQLite and PostgreSQL): creating, listing, deleting, and the
throttled check of credentials a bind makes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import false, update
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.accounts.guessing import LocalGuesses, TooManyGuesses
from simrelay.accounts.models import Account
from simrelay.smpp import users
from simrelay.storage.database import Database
from tests.factories import make_caller

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"


async def test_create_authenticate_list_delete(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine, with_device=False)
    other = await make_caller(engine, with_device=False)
    user_id = await users.create_user(db, account_id=caller.account_id, system_id="billing", password="pw")
    await users.create_user(db, account_id=other.account_id, system_id="other", password="pw")
    with pytest.raises(users.SmppUserError, match="taken") as taken:
        await users.create_user(db, account_id=other.account_id, system_id="billing", password="x")
    assert taken.value.reason == "taken"

    guesses = LocalGuesses()
    bound = await users.authenticate(db, guesses, "billing", "pw", client_host=HOST)
    assert bound == users.BoundUser(user_id, caller.account_id, "billing", account_blocked=False)
    assert await users.authenticate(db, guesses, "billing", "PW", client_host=HOST) is None
    assert await users.authenticate(db, guesses, "nobody", "pw", client_host=HOST) is None
    assert await users.authenticate(db, guesses, "", "", client_host=HOST) is None

    assert await users.may_stay(db, user_id)
    async with engine.begin() as conn:
        await conn.execute(update(Account).where(Account.id == caller.account_id).values(is_blocked=True))
    blocked = await users.authenticate(db, guesses, "billing", "pw", client_host="127.0.0.2")
    assert blocked is not None and blocked.account_blocked
    assert not await users.may_stay(db, user_id)  # bound sessions of a blocked account end
    async with engine.begin() as conn:
        await conn.execute(update(Account).where(Account.id == caller.account_id).values(is_blocked=False))

    assert [system_id for _, system_id, _ in await users.list_users(db, account_id=caller.account_id)] == [
        "billing"
    ]
    with pytest.raises(users.SmppUserError, match="no SMPP user other"):
        await users.delete_user(db, account_id=caller.account_id, system_id="other")  # another account's
    await users.delete_user(db, account_id=caller.account_id, system_id="billing")
    assert await users.list_users(db, account_id=caller.account_id) == []
    assert not await users.may_stay(db, user_id)  # nor do those of a deleted user
    assert await users.authenticate(db, guesses, "billing", "pw", client_host="127.0.0.3") is None


@pytest.mark.parametrize(
    ("system_id", "password", "reason"),
    [
        ("", "pw", "system_id"),
        ("a" * 16, "pw", "system_id"),
        ("with\x00nul", "pw", "system_id"),
        ("ok", "", "password"),
        ("ok", "123456789", "password"),
        ("ok", "пароль", "password"),
    ],
)
async def test_credentials_that_do_not_fit_smpp(
    engine: AsyncEngine, system_id: str, password: str, reason: str
) -> None:
    caller = await make_caller(engine, with_device=False)
    with pytest.raises(users.SmppUserError) as refused:
        await users.create_user(
            Database.on_engine(engine), account_id=caller.account_id, system_id=system_id, password=password
        )
    assert refused.value.reason == reason


async def test_a_system_id_taken_between_the_check_and_the_insert_is_refused_as_taken(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine, with_device=False)
    first = await users.create_user(db, account_id=caller.account_id, system_id="billing", password="pw")
    real_select = users.select
    blind = {"checks": 0}

    def select_missing_the_first(*columns: Any) -> Any:
        # The check runs as if the first create had not committed yet: a race, made certain.
        blind["checks"] += 1
        return real_select(*columns).where(false()) if blind["checks"] == 1 else real_select(*columns)

    monkeypatch.setattr(users, "select", select_missing_the_first)
    with pytest.raises(users.SmppUserError) as refused:
        await users.create_user(db, account_id=caller.account_id, system_id="billing", password="x")
    assert refused.value.reason == "taken"
    monkeypatch.undo()
    assert [(i, s) for i, s, _ in await users.list_users(db, account_id=caller.account_id)] == [
        (first, "billing")
    ]


async def test_delete_by_id_only_within_the_account(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine, with_device=False)
    other = await make_caller(engine, with_device=False)
    mine = await users.create_user(db, account_id=caller.account_id, system_id="mine", password="pw")
    theirs = await users.create_user(db, account_id=other.account_id, system_id="theirs", password="pw")
    with pytest.raises(users.SmppUserError) as refused:
        await users.delete_user_by_id(db, account_id=caller.account_id, user_id=theirs)
    assert refused.value.reason == "unknown"
    assert [s for _, s, _ in await users.list_users(db, account_id=other.account_id)] == ["theirs"]
    assert await users.delete_user_by_id(db, account_id=caller.account_id, user_id=mine) == "mine"
    assert await users.list_users(db, account_id=caller.account_id) == []
    with pytest.raises(users.SmppUserError, match="no SMPP user"):
        await users.delete_user_by_id(db, account_id=caller.account_id, user_id=mine)


async def test_wrong_passwords_make_the_next_try_wait(engine: AsyncEngine) -> None:
    db = Database.on_engine(engine)
    caller = await make_caller(engine, with_device=False)
    await users.create_user(db, account_id=caller.account_id, system_id="billing", password="pw")
    guesses = LocalGuesses()
    for _ in range(5):
        assert await users.authenticate(db, guesses, "billing", "wrong", client_host=HOST) is None
    with pytest.raises(TooManyGuesses):
        await users.authenticate(db, guesses, "billing", "pw", client_host=HOST)
    # Another address is not held up by this one's failures.
    assert await users.authenticate(db, guesses, "billing", "pw", client_host="127.0.0.9") is not None
