"""The declarative Base, the engine factory and dialect details kept in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    if is_sqlite(url):
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=20)
        install_sqlite_pragmas(engine.sync_engine, synchronous=sqlite_synchronous)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=False)


SQLITE_CACHE_KIB = 65536


def install_sqlite_pragmas(engine: Engine, *, synchronous: str) -> None:
    """WAL, the chosen synchronous level, a busy timeout, foreign keys and a larger page cache on
    every connection."""
    level = synchronous.upper()

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={level}")
        # Writers from other processes (CLI, a second worker) wait instead of failing.
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # 64 MB of page cache per connection (SQLite's default is 2 MB), taken only as pages are
        # read: a search over a million SMS re-read its index pages through the OS on every
        # request (bench/search.py: p50 of a 1,000-match term 17 -> 12 ms, its worst 129 -> 19 ms).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
