"""The one way features reach the database: `await db.run(work)`, work being sync Core code.

Repositories are plain synchronous SQLAlchemy Core functions over a `Connection`; `run`
executes one of them inside one transaction. How depends on the dialect, and only here:

- PostgreSQL: on the asyncpg engine through `AsyncConnection.run_sync`, so the event loop
  never blocks.
- SQLite: on a synchronous pysqlite engine, in one writer thread or a few reader threads,
  each with its own kept connection. aiosqlite would cost a thread hop per statement (and
  per fetch, and per commit); here a whole transaction costs one, which is most of the
  difference under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from simrelay.storage.db import create_engine, install_sqlite_pragmas, is_sqlite

T = TypeVar("T")

SQLITE_READERS = 2
"""Threads for read-only work, which WAL lets run beside the writer: enough that a slow search
or two leave one free for the key lookups of sends."""
READ_ONLY = {"simrelay_read_only": True}

_BEFORE_COMMIT = "simrelay_before_commit"
_AFTER_COMMIT = "simrelay_after_commit"

Flush = Callable[[Connection, list[Any]], None]


def before_commit(conn: Connection, flush: Flush, items: Iterable[Any]) -> None:
    """Queues `items` for `flush(conn, all_items)`, run once at the end of this transaction,
    inside it. Work that records many changes one by one (a batch of device reports) can so
    derive what follows from them (webhook events) with one query instead of one per change."""
    pending: dict[Flush, list[Any]] = conn.info.setdefault(_BEFORE_COMMIT, {})
    pending.setdefault(flush, []).extend(items)


def after_commit(conn: Connection, topic: str) -> None:
    """Tells the listeners of `topic` (see Database.listen) once this transaction commits."""
    conn.info.setdefault(_AFTER_COMMIT, set()).add(topic)


def _in_transaction(conn: Connection, work: Callable[[Connection], T]) -> tuple[T, set[str]]:
    # The info dict outlives the transaction (it belongs to the pooled connection): whatever
    # a rolled-back transaction left there must not leak into this one.
    conn.info.pop(_BEFORE_COMMIT, None)
    conn.info.pop(_AFTER_COMMIT, None)
    result = work(conn)
    while pending := conn.info.pop(_BEFORE_COMMIT, None):
        for flush, items in pending.items():
            flush(conn, items)
    topics: set[str] = conn.info.pop(_AFTER_COMMIT, set())
    return result, topics


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
        self._writer: ThreadPoolExecutor | None = None
        self._sync_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self._kept = threading.local()
        self._kept_all: list[Connection] = []
        self._kept_lock = threading.Lock()
        self._write_lock: str | None = None
        self._write_lock_file: IO[str] | None = None
        if self.is_sqlite and async_engine is None:
            self._sync_engine = _sqlite_engine(url, synchronous=sqlite_synchronous)
            self._executor = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="sqlite-read")
            # SQLite has one writer at a time anyway; one thread for all writes means they queue
            # here instead of in the busy handler, and fewer threads take turns at the GIL.
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
            self._write_lock = _write_lock_path(url)
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

    def listen(self, topic: str, callback: Callable[[], None]) -> None:
        """Calls `callback` (on the event loop) after each commit of work that named `topic`."""
        self._listeners.setdefault(topic, []).append(callback)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Runs read-only `work(conn)`; on PostgreSQL in autocommit, saving BEGIN and COMMIT."""
        if self._connection is not None:
            return await self.run(work)
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            result, _ = await loop.run_in_executor(self._executor, self._run_here, work, True)
            return result
        assert self._async_engine is not None
        async with self._async_engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await conn.run_sync(work)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Runs `work(conn)` in one transaction: committed if it returns, rolled back if it raises."""
        if self._connection is not None:
            result, topics = await self._connection.run_sync(_in_transaction, work)
        elif self._writer is not None:
            loop = asyncio.get_running_loop()
            result, topics = await loop.run_in_executor(self._writer, self._run_here, work)
        else:
            assert self._async_engine is not None
            async with self._async_engine.begin() as conn:
                result, topics = await conn.run_sync(_in_transaction, work)
        for topic in topics:
            for callback in self._listeners.get(topic, ()):
                callback()
        return result

    def _run_here(self, work: Callable[[Connection], T], read_only: bool = False) -> tuple[T, set[str]]:
        conn = self._thread_connection(read_only=read_only)
        with self._writing(active=not read_only), conn.begin():
            return _in_transaction(conn, work)

    @contextlib.contextmanager
    def _writing(self, *, active: bool) -> Iterator[None]:
        """Holds a file lock beside the database while this process writes. With several worker
        processes, a writer that finds the database locked waits in SQLite's busy handler, which
        sleeps 1, 2, 5, 10... ms between tries; one waiting on this lock is woken the moment the
        other lets go. SQLite's own locking still decides; other programs (the CLI) need not know."""
        if not active or self._write_lock is None:
            yield
            return
        if self._write_lock_file is None:  # only the writer thread gets here
            self._write_lock_file = open(self._write_lock, "a")
        fcntl.flock(self._write_lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._write_lock_file, fcntl.LOCK_UN)

    def _thread_connection(self, *, read_only: bool) -> Connection:
        """This pool thread's own connection for reads or for writes, kept open between calls:
        checking one out of the pool and resetting it on return cost more than a point read."""
        kept: dict[bool, Connection] = self._kept.__dict__.setdefault("by_mode", {})
        conn = kept.get(read_only)
        if conn is None or conn.closed or conn.invalidated:
            assert self._sync_engine is not None
            conn = self._sync_engine.connect()
            if read_only:
                conn = conn.execution_options(**READ_ONLY)
            kept[read_only] = conn
            with self._kept_lock:
                self._kept_all.append(conn)
        return conn

    async def dispose(self) -> None:
        for executor in (self._executor, self._writer):
            if executor is not None:
                executor.shutdown(wait=True)
        with self._kept_lock:
            for conn in self._kept_all:
                conn.close()
            self._kept_all.clear()
        if self._write_lock_file is not None:
            self._write_lock_file.close()
            self._write_lock_file = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._async_engine is not None:
            await self._async_engine.dispose()


def _write_lock_path(url: str) -> str | None:
    database = sa.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writelock"


def _sqlite_engine(url: str, *, synchronous: str) -> Engine:
    sync_url = sa.make_url(url).set(drivername="sqlite+pysqlite")
    engine = sa.create_engine(
        sync_url, pool_size=SQLITE_READERS + 2, max_overflow=4, connect_args={"check_same_thread": False}
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
