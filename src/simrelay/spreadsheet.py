"""CSV for people who open it in a spreadsheet: rows written as UTF-8 lines (RFC 4180, a header
first), text cells that a spreadsheet would run as a formula defused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

Cell = str | int | None

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is taken for a formula by Excel, LibreOffice and Google
Sheets (CSV injection: `=HYPERLINK(...)` in an SMS text or a sender name the network gave). OWASP's
advice, followed here: such a cell gets a leading apostrophe, which makes it text. Numbers we
write ourselves (a status, a SIM slot of -2) stay numbers, and so does text that is only a
signed number (a phone number as +79990001122): nothing in it can run, and an apostrophe would
spoil the number for whoever copies it out."""

SIGNED_NUMBER = re.compile(r"[+-][0-9]+")


def defused(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not SIGNED_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_lines(rows: Iterable[Sequence[Cell]]) -> bytes:
    """The rows as CSV lines (CRLF, quoted where needed), UTF-8; None is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([defused(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode()


Page = tuple[list[Sequence[Cell]], str | None]
"""A page of rows, as cells, and the key to read the next page after (None: this was the last)."""


async def csv_pages(
    columns: Sequence[str], read_after: Callable[[str], Awaitable[Page]]
) -> AsyncIterator[bytes]:
    """A CSV read a page at a time (keyset: each page after the last key seen, "" at first). The
    first chunk holds the header and the first page, so a failing read is known before anything
    is sent."""
    header = csv_lines([columns])
    after = ""
    while True:
        rows, next_after = await read_after(after)
        yield header + csv_lines(rows)
        header = b""
        if next_after is None:
            return
        after = next_after
