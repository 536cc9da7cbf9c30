"""The send path's driver-level statements and SQLite's kept connections, on both databases."""

from __future__ import annotations

import asyncio
import fcntl

import pytest
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from simrelay.accounts import repository as accounts
from simrelay.accounts.models import Account
from simrelay.sms import repository as sms
from simrelay.storage.database import Database
from simrelay.storage.direct import Direct
from tests.factories import make_caller, make_key, make_webhook


async def test_direct_statement_binds_by_name_and_keeps_its_literals(
    db: Database, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine, quota=7)
    # coalesce(..., 41) makes 41 a parameter SQLAlchemy fills in itself.
    statement = Direct(
        select(
            Account.email, func.coalesce(Account.monthly_quota, 41), bindparam("extra", type_=Integer)
        ).where(Account.id == bindparam("account_id"))
    )
    rows = await db.read(lambda conn: statement.rows(conn, {"extra": 5, "account_id": caller.account_id}))
    assert rows == [(caller.email, 7, 5)]
    assert await db.read(lambda conn: statement.rows(conn, {"extra": 5, "account_id": "nobody"})) == []


async def test_direct_refuses_an_expanding_in(db: Database) -> None:
    statement = Direct(select(Account.id).where(Account.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding"):
        await db.read(lambda conn: statement.rows(conn, {"ids": ["a"]}))


async def test_direct_writes_join_the_transaction_and_roll_back_with_it(
    db: Database, engine: AsyncEngine
) -> None:
    caller = await make_caller(engine)

    def add_then_fail(conn: Connection) -> None:
        sms.add_to_total(conn, caller.account_id, count=5)
        raise RuntimeError("after the write")

    await db.run(lambda conn: sms.add_to_total(conn, caller.account_id, count=3))
    with pytest.raises(RuntimeError):
        await db.run(add_then_fail)
    await db.run(lambda conn: sms.add_to_total(conn, caller.account_id, count=-1))
    total = await db.read(lambda conn: _total(conn, caller.account_id))
    assert total == 2


async def test_principals_and_facts_for_several_keys_and_accounts(db: Database, engine: AsyncEngine) -> None:
    first = await make_caller(engine, quota=10)
    second = await make_key(engine, first, can_send=False)
    other = await make_caller(engine, with_device=False)
    await make_webhook(engine, other)

    rows = await db.read(
        lambda conn: accounts.fetch_principals(conn, [first.key_id, "missing", second.key_id, other.key_id])
    )
    by_key = {row[0]: row for row in rows}
    assert set(by_key) == {first.key_id, second.key_id, other.key_id}
    assert by_key[second.key_id][1] == first.account_id
    assert not by_key[second.key_id][4] and by_key[first.key_id][4]  # can_send

    await db.run(lambda conn: sms.add_usage(conn, first.account_id, month=202611, count=4))
    facts = await db.read(
        lambda conn: sms.fetch_account_facts(conn, [first.account_id, other.account_id, "gone"], month=202611)
    )
    assert facts == {
        first.account_id: sms.AccountFacts(10, 4, has_device=True, has_webhook=False),
        other.account_id: sms.AccountFacts(None, 0, has_device=False, has_webhook=True),
    }


async def test_sqlite_threads_keep_their_connections(db: Database, engine: AsyncEngine) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL connections come from the async engine's pool")
    caller = await make_caller(engine)

    def connection_id(conn: Connection) -> int:
        return id(conn.connection.dbapi_connection)

    seen = {await db.read(connection_id) for _ in range(20)}
    seen |= {await db.run(connection_id) for _ in range(20)}
    # One for reads and one for writes per pool thread, however many calls.
    assert seen == {id(conn.connection.dbapi_connection) for conn in db._kept_all}
    assert 2 <= len(seen) <= 4
    with pytest.raises(RuntimeError):
        await db.run(lambda conn: (sms.add_to_total(conn, caller.account_id, count=9), _fail()))
    assert await db.read(lambda conn: _total(conn, caller.account_id)) == 0
    kept = list(db._kept_all)
    await db.dispose()
    assert kept and all(conn.closed for conn in kept)


def _total(conn: Connection, account_id: str) -> int:
    return int(conn.execute(sms._LIVE_TOTAL, {"account_id": account_id}).scalar() or 0)


def _fail() -> None:
    raise RuntimeError("rolled back")


async def test_sqlite_writers_of_several_processes_queue_on_the_write_lock(
    db: Database, engine: AsyncEngine
) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL orders its writers itself")
    caller = await make_caller(engine)
    path = db._write_lock
    assert path is not None
    # Another worker process holding the lock: this one's write waits for it, then runs.
    with open(path, "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        write = asyncio.ensure_future(db.run(lambda conn: sms.add_to_total(conn, caller.account_id, count=1)))
        await asyncio.sleep(0.3)
        assert not write.done()
        assert await db.read(lambda conn: _total(conn, caller.account_id)) == 0  # reads don't wait
        fcntl.flock(other, fcntl.LOCK_UN)
        await asyncio.wait_for(write, timeout=5)
    assert await db.read(lambda conn: _total(conn, caller.account_id)) == 1
