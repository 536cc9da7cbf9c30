"""Message templates: `{name}` is replaced by the recipient's variable `name`; `{{` and `}}`
write a literal brace. Any other brace makes the template malformed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class MalformedTemplate(ValueError):
    """A lone brace, or `{}` with no name in it."""


class MissingVariable(KeyError):
    """The template names a variable the recipient's `vars` lack."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True, slots=True)
class Template:
    """A template parsed once per request: alternating literal text and variable names."""

    pieces: tuple[str, ...]
    """Text, name, text, name, ..., text: the names at the odd positions."""

    @property
    def names(self) -> tuple[str, ...]:
        return self.pieces[1::2]

    def fill(self, values: Mapping[str, str]) -> str:
        """The text for one recipient; raises MissingVariable."""
        if len(self.pieces) == 1:
            return self.pieces[0]
        out = list(self.pieces)
        for position in range(1, len(out), 2):
            name = out[position]
            try:
                out[position] = values[name]
            except KeyError:
                raise MissingVariable(name) from None
        return "".join(out)


def parse_template(text: str) -> Template:
    """Raises MalformedTemplate. Names are taken exactly as written (case and spaces count)."""
    pieces: list[str] = []
    literal: list[str] = []
    at = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[at : match.start()])
        at = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif match.group(1):
            pieces += ["".join(literal), match.group(1)]
            literal = []
        else:
            raise MalformedTemplate(f"brace at {match.start()}")
    literal.append(text[at:])
    pieces.append("".join(literal))
    return Template(tuple(pieces))
