"""`simrelay db upgrade` and `simrelay db backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simrelay.config import Settings
from simrelay.storage.backup import BackupError, back_up_database
from simrelay.storage.migrate import upgrade_database

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Migrates the database to the newest schema."""
    upgrade_database(Settings().resolved_database_url())
    typer.echo("database is up to date")


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="Where to write the copy.")],
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
) -> None:
    """Copies the SQLite database to PATH while the server runs (PostgreSQL: use pg_dump)."""
    try:
        size = back_up_database(Settings().resolved_database_url(), path, force=force)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up to {path} ({size} bytes, {size / 2**20:.1f} MiB)")
