"""Message templates of bulk sends: `{name}` from the recipient's vars, `{{` `}}` literal."""

from __future__ import annotations

import re

import pytest

from simrelay.campaigns.schemas import BRACES_PATTERN
from simrelay.campaigns.template import MalformedTemplate, MissingVariable, parse_template


def test_each_placeholder_is_replaced_by_the_recipient_s_value() -> None:
    template = parse_template("Hello {name}, your code is {code}. Bye {name}!")
    assert template.names == ("name", "code", "name")
    assert template.fill({"name": "Ann", "code": "42"}) == "Hello Ann, your code is 42. Bye Ann!"


def test_a_template_without_placeholders_is_its_own_text() -> None:
    assert parse_template("Plain text").fill({}) == "Plain text"
    assert parse_template("Plain text").fill({"unused": "x"}) == "Plain text"


def test_doubled_braces_are_literal_braces() -> None:
    template = parse_template("{{name}} is written {{{name}}}")
    assert template.names == ("name",)
    assert template.fill({"name": "Ann"}) == "{name} is written {Ann}"


def test_values_are_inserted_as_they_are_even_with_braces() -> None:
    assert parse_template("x{a}y").fill({"a": "{b}"}) == "x{b}y"


def test_names_are_taken_exactly_as_written() -> None:
    template = parse_template("{Имя} { name }")
    assert template.names == ("Имя", " name ")
    assert template.fill({"Имя": "Аня", " name ": "!"}) == "Аня !"


def test_a_missing_variable_is_named() -> None:
    template = parse_template("Hi {name} {code}")
    with pytest.raises(MissingVariable) as caught:
        template.fill({"name": "Ann"})
    assert caught.value.name == "code"


@pytest.mark.parametrize(
    "text", ["{", "}", "a { b", "a } b", "{}", "{name", "name}", "{{a}", "{a}}", "{a{b}}"]
)
def test_a_lone_brace_or_an_empty_name_is_malformed(text: str) -> None:
    with pytest.raises(MalformedTemplate):
        parse_template(text)


@pytest.mark.parametrize(
    "text", ["", "plain", "{a}", "{{", "}}", "{{a}}", "x{a}y{b}z", "{{{a}}}", "{", "}", "{}", "{a}}}", "a}{b"]
)
def test_the_documented_pattern_agrees_with_the_parser(text: str) -> None:
    try:
        parse_template(text)
        parsed = True
    except MalformedTemplate:
        parsed = False
    assert bool(re.fullmatch(BRACES_PATTERN[1:-1], text)) == parsed
