"""SMS encoding choice and part counting, by fixed cases and against smsutil as an oracle."""

from __future__ import annotations

import pytest
import smsutil  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from simrelay.sms.encoding import GSM7_BASIC, GSM7_EXTENSION, Encoding, encoding_of, is_gsm7

EXTENSION = "\f^{}\\[~]|€"
GSM_NON_ASCII = "£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà"
EMOJI = "\U0001f600"


def test_empty_text_is_one_gsm7_part() -> None:
    assert encoding_of("") == Encoding(name="gsm7", units=0, parts=1)
    assert is_gsm7("")


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_plain_lengths(length: int, parts: int) -> None:
    assert encoding_of("a" * length) == Encoding(name="gsm7", units=length, parts=parts)


def test_extension_chars_cost_two_septets() -> None:
    for char in EXTENSION:
        assert encoding_of(char) == Encoding(name="gsm7", units=2, parts=1)
    assert encoding_of("€" * 80) == Encoding(name="gsm7", units=160, parts=1)


def test_escape_pair_is_not_split_across_parts() -> None:
    # 81 € = 162 septets: 76 pairs (152 septets) fill a part, a 77th would need 154.
    assert encoding_of("€" * 81) == Encoding(name="gsm7", units=162, parts=2)
    # 306 septets would fit 2 × 153, but each part can hold only 152 of them as pairs.
    assert encoding_of("€" * 153) == Encoding(name="gsm7", units=306, parts=3)
    # A pair that would straddle septets 153/154 moves whole to part 2, pushing one 'a' into part 3.
    assert encoding_of("a" * 152 + "€" + "a" * 152) == Encoding(name="gsm7", units=306, parts=3)
    # The same septet count with the pair ending exactly on the boundary fits in 2.
    assert encoding_of("a" * 151 + "€" + "a" * 153) == Encoding(name="gsm7", units=306, parts=2)


def test_non_ascii_gsm_alphabet_stays_gsm7() -> None:
    text = GSM_NON_ASCII + "@$_\r\n"
    assert encoding_of(text) == Encoding(name="gsm7", units=len(text), parts=1)


@pytest.mark.parametrize(
    "char",
    [
        "`",  # ASCII but not in GSM 03.38
        "\t",
        "\x1b",  # the escape code itself is not a character
        "ç",  # only the capital Ç is at 0x09
        "α",
        "\u2126",  # OHM SIGN, a look-alike of the Greek Ω that is in the table
        "\u00a0",
    ],
)
def test_char_outside_gsm_forces_ucs2(char: str) -> None:
    assert not is_gsm7("hello " + char)
    assert encoding_of("hello " + char) == Encoding(name="ucs2", units=7, parts=1)


def test_tables() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes less the escape
    assert GSM7_EXTENSION == frozenset(EXTENSION)
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert {"@", "$", "_", "\r", "\n", "¤"} <= GSM7_BASIC
    assert "`" not in GSM7_BASIC


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_lengths(length: int, parts: int) -> None:
    assert encoding_of("я" * length) == Encoding(name="ucs2", units=length, parts=parts)


def test_emoji_is_two_code_units() -> None:
    assert encoding_of(EMOJI) == Encoding(name="ucs2", units=2, parts=1)
    assert encoding_of("я" * 68 + EMOJI) == Encoding(name="ucs2", units=70, parts=1)
    assert encoding_of("я" * 69 + EMOJI) == Encoding(name="ucs2", units=71, parts=2)


def test_surrogate_pair_is_not_split_across_parts() -> None:
    # 68 units still fit one 70-unit SMS; the 67-unit limit applies only once the text is multipart.
    assert encoding_of("я" * 66 + EMOJI) == Encoding(name="ucs2", units=68, parts=1)
    # 72 units: the pair would take units 67 and 68 of part 1, so it moves whole to part 2.
    assert encoding_of("я" * 66 + EMOJI + "я" * 4) == Encoding(name="ucs2", units=72, parts=2)
    # 134 units would fit 2 × 67, but moving the pair leaves part 1 at 66 and spills one 'я'.
    assert encoding_of("я" * 66 + EMOJI + "я" * 66) == Encoding(name="ucs2", units=134, parts=3)
    # Pair ending exactly on the boundary: 67 + 67.
    assert encoding_of("я" * 65 + EMOJI + "я" * 67) == Encoding(name="ucs2", units=134, parts=2)
    assert encoding_of(EMOJI * 35) == Encoding(name="ucs2", units=70, parts=1)
    # 33 pairs (66 units) fill a part, so 67 pairs need 3 parts, not ceil(134 / 67) = 2.
    assert encoding_of(EMOJI * 36) == Encoding(name="ucs2", units=72, parts=2)
    assert encoding_of(EMOJI * 67) == Encoding(name="ucs2", units=134, parts=3)


# --- smsutil as an oracle ---------------------------------------------------------------------------
#
# smsutil 1.1.3 splits the same way (160/153 septets, 70/67 units, an extension char or an astral char
# moved whole to the next part), but it differs from GSM 03.38 in two places, where we follow the spec
# and the properties below keep to the domain where smsutil is right:
# - it lists U+001B in its basic alphabet, so a text containing it counts as gsm0338; 0x1B is the
#   escape to the extension table, not a character, and has no Unicode character to stand for;
# - its validity regex needs at least one char, so "" is reported as utf_16_be (1 part); an empty
#   text needs no UCS-2 and we call it gsm7 (it is tested above).

ORACLE_NAMES = {"gsm0338": "gsm7", "utf_16_be": "ucs2"}

gsm_basic = st.sampled_from(sorted(GSM7_BASIC))
gsm_extension = st.sampled_from(EXTENSION)
cyrillic = st.characters(min_codepoint=0x0400, max_codepoint=0x04FF)
emoji = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
# Default categories already exclude lone surrogates, which a real text cannot hold.
anything = st.characters(exclude_characters="\x1b")


def oracle(text: str) -> tuple[str, int]:
    result = smsutil.split(text)
    return ORACLE_NAMES[result.encoding], len(result.parts)


def assert_matches_oracle(text: str) -> None:
    ours = encoding_of(text)
    assert (ours.name, ours.parts) == oracle(text)


@st.composite
def near_boundary(draw: st.DrawFn, alphabet: st.SearchStrategy[str], boundaries: list[int]) -> str:
    # Uniform lengths rarely land where the part count changes, so aim near a multiple of a part size:
    # one filler char repeated, with a short random run dropped in at a random place (cheap to draw,
    # and it still moves escape and surrogate pairs across every boundary).
    size = draw(st.sampled_from(boundaries)) + draw(st.integers(-4, 4))
    filler = draw(alphabet)
    run = draw(st.text(alphabet, max_size=12))
    at = draw(st.integers(0, size - len(run)))
    return filler * at + run + filler * (size - len(run) - at)


GSM_BOUNDARIES = [80, 153, 160, 306, 459]
UCS2_BOUNDARIES = [35, 67, 70, 134, 201]


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(st.one_of(gsm_basic, gsm_extension), min_size=1, max_size=400),
        near_boundary(st.one_of(gsm_basic, gsm_basic, gsm_extension), GSM_BOUNDARIES),
        near_boundary(gsm_extension, GSM_BOUNDARIES),
    )
)
def test_gsm7_matches_oracle(text: str) -> None:
    assert encoding_of(text).name == "gsm7"
    assert_matches_oracle(text)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(st.one_of(cyrillic, emoji, gsm_basic, gsm_extension), min_size=1, max_size=250),
        near_boundary(st.one_of(cyrillic, cyrillic, emoji), UCS2_BOUNDARIES),
        near_boundary(emoji, UCS2_BOUNDARIES),
    ).filter(lambda text: not is_gsm7(text))
)
def test_ucs2_matches_oracle(text: str) -> None:
    assert_matches_oracle(text)


@settings(max_examples=150, deadline=None)
@given(
    st.text(st.one_of(gsm_basic, gsm_extension), max_size=200),
    st.one_of(cyrillic, emoji, anything),
    st.text(st.one_of(gsm_basic, gsm_extension), max_size=200),
)
def test_one_foreign_char_switches_to_ucs2(head: str, char: str, tail: str) -> None:
    text = head + char + tail
    assert encoding_of(text).name == ("gsm7" if char in GSM7_BASIC | GSM7_EXTENSION else "ucs2")
    assert_matches_oracle(text)


@settings(max_examples=150, deadline=None)
@given(st.text(anything, min_size=1, max_size=300))
def test_arbitrary_text_matches_oracle(text: str) -> None:
    assert_matches_oracle(text)


@pytest.mark.parametrize(("count", "parts"), [(70, 1), (71, 1), (80, 1), (81, 2)])
def test_short_ascii_texts_of_escapes_count_like_long_ones(count: int, parts: int) -> None:
    # Up to 70 characters take the one-part shortcut; the escapes must still count twice.
    assert encoding_of("{" * count) == Encoding(name="gsm7", units=2 * count, parts=parts)
    assert encoding_of("a" * (count - 1) + "€") == Encoding(name="gsm7", units=count + 1, parts=1)
