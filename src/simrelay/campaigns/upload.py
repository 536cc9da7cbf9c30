"""A recipients' CSV, as the panel uploads it: UTF-8, a header row, a `phone_number` (or `phone`)
column, every other column a template variable. Parsing only: the recipients it makes are
checked like any bulk send's (campaigns/service.py)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from simrelay.campaigns.schemas import RECIPIENTS_MAX

PHONE_COLUMNS = ("phone_number", "phone")
"""The number's column, the first of these the header has (case and surrounding spaces aside)."""


class BadUpload(ValueError):
    """Why a file is refused whole: `reason` is one of too_large, not_utf8, empty, no_phone_column,
    too_many_rows, bad_csv."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Upload:
    recipients: list[dict[str, Any]]
    """`{"phone_number": ..., "vars": {...}}` per data row, as `POST /v1/sms/bulk` takes them."""
    lines: list[int]
    """The line of the file each recipient starts on (the header is line 1): what the page names
    when it tells why one is rejected."""


def decode_upload(data: bytes, *, max_bytes: int) -> str:
    """The file's text: refused past `max_bytes` (the bulk API's body limit) or when not UTF-8.
    A byte-order mark, as spreadsheets write one, is dropped."""
    if len(data) > max_bytes:
        raise BadUpload("too_large")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadUpload("not_utf8") from None


def parse_recipients(text: str, *, max_rows: int = RECIPIENTS_MAX) -> Upload:
    """The recipients of a CSV text. Blank lines are skipped; a row shorter than the header lacks
    the missing columns' variables (a template naming one rejects that row); cells past the
    header's width are ignored."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise BadUpload("empty")
        names = [cell.strip() for cell in header]
        phone_at = _phone_column(names)
        recipients: list[dict[str, Any]] = []
        lines: list[int] = []
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(recipients) == max_rows:
                    raise BadUpload("too_many_rows")
                recipients.append(_recipient(names, phone_at, row))
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error:
        raise BadUpload("bad_csv") from None
    if not recipients:
        raise BadUpload("empty")
    return Upload(recipients, lines)


def _phone_column(names: list[str]) -> int:
    lowered = [name.lower() for name in names]
    for wanted in PHONE_COLUMNS:
        if wanted in lowered:
            return lowered.index(wanted)
    raise BadUpload("no_phone_column")


def _recipient(names: list[str], phone_at: int, row: list[str]) -> dict[str, Any]:
    values = {
        name: cell for at, (name, cell) in enumerate(zip(names, row, strict=False)) if at != phone_at and name
    }
    phone = row[phone_at].strip() if phone_at < len(row) else ""
    return {"phone_number": phone, "vars": values}
