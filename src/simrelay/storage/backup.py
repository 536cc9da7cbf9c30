"""`simrelay db backup`: a consistent copy of a SQLite database while the server writes to it.

SQLite's online backup API (https://www.sqlite.org/backup.html) run in one step copies every
page under a single read transaction: in WAL mode writers go on meanwhile, and the copy is the
database as of the moment the step began, whatever commits after. PostgreSQL has pg_dump for
the same job, so we point to it instead of wrapping it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from simrelay.storage.db import is_sqlite

BUSY_MILLISECONDS = 30_000


class BackupError(Exception):
    """Why no backup was made, in words for the operator."""


def back_up_database(database_url: str, target: Path, *, force: bool = False) -> int:
    """Copies the database to `target` and returns the copy's size in bytes.

    The copy is written beside `target` and renamed over it when complete, so `target` is
    never a half-written file, even when the backup fails or is interrupted."""
    if not is_sqlite(database_url):
        raise BackupError(pg_dump_advice(database_url, target))
    source = sa.make_url(database_url).database
    if not source or source == ":memory:" or source.startswith("file:"):
        raise BackupError(f"cannot back up the SQLite database {source or '(none)'!r}: not a file")
    if not Path(source).is_file():
        raise BackupError(f"no database at {source}: nothing to back up")
    if target.exists() and not force:
        raise BackupError(f"{target} exists: choose another path or pass --force to replace it")
    if target.resolve() == Path(source).resolve():
        raise BackupError(f"{target} is the database itself")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def _copy(source: str, partial: Path) -> None:
    # Opened read-only so that a mistyped path never creates an empty database there.
    with contextlib.closing(sqlite3.connect(f"file:{quote(source)}?mode=ro", uri=True)) as src:
        src.execute(f"PRAGMA busy_timeout={BUSY_MILLISECONDS}")
        with contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)  # pages=-1: all in one step, one snapshot
            # The copy keeps the source's WAL flag; a rollback journal suits a file that sits
            # in a backup store, and leaves no -wal or -shm beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
            (result,) = dst.execute("PRAGMA quick_check").fetchone()
            if result != "ok":
                raise BackupError(f"the copy failed its check: {result}")


def pg_dump_advice(database_url: str, target: Path) -> str:
    """The pg_dump command for this database, without the password (pg_dump asks, or reads
    PGPASSWORD or ~/.pgpass)."""
    url = sa.make_url(database_url)
    parts = ["pg_dump", "--format=custom", f"--file={target}"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(f"--dbname={url.database or ''}")
    return (
        "simrelay db backup copies SQLite databases only; for PostgreSQL use pg_dump, which takes "
        "a consistent snapshot while the server runs:\n  " + " ".join(parts)
    )
