"""Accept-Language decides between Russian (default) and English error texts."""

import pytest

from simrelay.api.errors import preferred_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "ru"),
        ("", "ru"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("ru;q=1, en;q=0.5", "ru"),
        ("en;q=0.4, ru;q=0.8", "ru"),
        ("de, en;q=0.3", "en"),
        ("fr", "ru"),
        ("en;q=abc", "ru"),
    ],
)
def test_preferred_language(header: str | None, expected: str) -> None:
    assert preferred_language(header) == expected
