"""`simrelay db upgrade`."""

from __future__ import annotations

import typer

from simrelay.config import Settings
from simrelay.storage.migrate import upgrade_database

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Migrates the database to the newest schema."""
    upgrade_database(Settings().resolved_database_url())
    typer.echo("database is up to date")


@app.callback()
def _group() -> None:
    """Keeps `upgrade` a sub-command even while it is the only one."""
