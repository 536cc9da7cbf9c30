"""Text that both databases store. PostgreSQL's text cannot hold U+0000 (SQLite can), so a NUL
from any source would fail there with a server error: identifiers and codes that carry one are
refused as invalid, and free text reported from a device (names, reasons, a received SMS) keeps
what it says with the NUL replaced."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

NUL = "\x00"
REPLACEMENT = "\ufffd"


def refuse_nul(value: str) -> str:
    if NUL in value:
        raise ValueError("must not contain U+0000")
    return value


def scrub_text(value: str) -> str:
    """U+0000 becomes U+FFFD."""
    return value.replace(NUL, REPLACEMENT)


def scrub(value: object) -> object:
    """scrub_text for a string; anything else is left to the field's own checks."""
    return scrub_text(value) if isinstance(value, str) else value


Exact = AfterValidator(refuse_nul)
"""For identifiers, codes and tokens: a NUL makes the value invalid."""
Scrubbed = BeforeValidator(scrub)
"""For free text a device reports."""

FreeText = Annotated[str, Scrubbed]
