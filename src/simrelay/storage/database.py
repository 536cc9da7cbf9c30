"""The one way features reach the database: `await db.run(work)`, work being sync Core code.

Repositories are plain synchronous SQLAlchemy Core functions over a `Connection`; `run`
executes one of them inside one transaction. How depends on the dialect, and only here:

- PostgreSQL: on the asyncpg engine through `AsyncConnection.run_sync`, so the event loop
  never blocks.
- SQLite: on a synchronous pysqlite engine in a small thread pool. aiosqlite would cost a
  thread hop per statement (and per fetch, and per commit); here a whole transaction costs
  one, which is most of the difference under load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from simrelay.storage.db import create_engine, install_sqlite_pragmas, is_sqlite

T = TypeVar("T")

SQLITE_THREADS = 4
READ_ONLY = {"simrelay_read_only": True}


class Database:
    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        async_engine: AsyncEngine | None = None,
    ) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        self._executor: ThreadPoolExecutor | None = None
        self._sync_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None
        if self.is_sqlite and async_engine is None:
            self._sync_engine = _sqlite_engine(url, synchronous=sqlite_synchronous)
            self._executor = ThreadPoolExecutor(SQLITE_THREADS, thread_name_prefix="sqlite")
        else:
            self._async_engine = async_engine or create_engine(url)

    @classmethod
    def on_engine(cls, engine: AsyncEngine) -> Database:
        """A Database over an existing async engine (CLI sessions, test factories)."""
        return cls(engine.url.render_as_string(hide_password=False), async_engine=engine)

    @classmethod
    def in_transaction(cls, conn: AsyncConnection) -> Database:
        """A Database whose work joins the caller's open transaction (CLI commands, tests)."""
        db = cls(conn.engine.url.render_as_string(hide_password=False), async_engine=conn.engine)
        db._connection = conn
        return db

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Runs read-only `work(conn)`; on PostgreSQL in autocommit, saving BEGIN and COMMIT."""
        if self._connection is not None:
            return await self.run(work)
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._run_here, work, READ_ONLY)
        assert self._async_engine is not None
        async with self._async_engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await conn.run_sync(work)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Runs `work(conn)` in one transaction: committed if it returns, rolled back if it raises."""
        if self._connection is not None:
            return await self._connection.run_sync(work)
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._run_here, work)
        assert self._async_engine is not None
        async with self._async_engine.begin() as conn:
            return await conn.run_sync(work)

    def _run_here(self, work: Callable[[Connection], T], options: dict[str, bool] | None = None) -> T:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as conn:
            if options:
                conn = conn.execution_options(**options)
            with conn.begin():
                return work(conn)

    async def dispose(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._async_engine is not None:
            await self._async_engine.dispose()


def _sqlite_engine(url: str, *, synchronous: str) -> Engine:
    sync_url = sa.make_url(url).set(drivername="sqlite+pysqlite")
    engine = sa.create_engine(
        sync_url, pool_size=SQLITE_THREADS + 1, max_overflow=4, connect_args={"check_same_thread": False}
    )
    install_sqlite_pragmas(engine, synchronous=synchronous)

    # pysqlite opens a transaction only at the first write, so a transaction's reads are not
    # isolated from other writers, and read-then-write work (a report checking the lease it
    # updates) could act on a stale row. Driver autocommit plus our own BEGIN fixes that:
    # IMMEDIATE takes the write lock up front for work that may write; reads use a plain
    # BEGIN for a consistent snapshot without blocking writers.
    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("simrelay_read_only")
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
