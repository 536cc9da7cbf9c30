"""What every CLI command needs: settings, a migrated database, a session, clean errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from simrelay.accounts.service import AccountError
from simrelay.config import Settings
from simrelay.storage.db import create_engine, create_sessionmaker
from simrelay.storage.migrate import upgrade_database

T = TypeVar("T")


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Runs `work` in one committed transaction; an AccountError exits 1 with its message."""
    upgrade_database(settings.resolved_database_url())

    async def main() -> T:
        engine = create_engine(settings.resolved_database_url())
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
