"""Text both databases store (simrelay/text.py): U+0000 refused in identifiers, replaced in free text."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from simrelay.text import Exact, FreeText, scrub, scrub_text


class Shape(BaseModel):
    key: Annotated[str, Exact]
    note: FreeText = ""


def test_a_nul_is_refused_in_an_identifier_and_replaced_in_free_text() -> None:
    assert Shape(key="a", note="x\x00y").note == "x\ufffdy"
    with pytest.raises(ValidationError):
        Shape(key="a\x00")
    assert scrub_text("\x00\x00") == "\ufffd\ufffd" and scrub(5) == 5
