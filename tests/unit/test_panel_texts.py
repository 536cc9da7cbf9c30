"""The panel's texts: both languages for every key, and no key that a template would read as a
dict method (`t.keys` once rendered "<built-in method keys ...>")."""

from __future__ import annotations

import re
from pathlib import Path

from simrelay.web.i18n import LANGUAGES, TEXTS, pick_language, translator

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "simrelay" / "web" / "templates"


def test_every_text_has_both_languages() -> None:
    assert all(set(texts) == set(LANGUAGES) and all(texts.values()) for texts in TEXTS.values())


def test_no_key_shadows_a_dict_method() -> None:
    assert [key for key in TEXTS if hasattr(dict, key)] == []
    assert translator("en")["sign_in"] == "Sign in"


def test_language_choice() -> None:
    assert pick_language(chosen=None, accept_language=None) == "ru"
    assert pick_language(chosen=None, accept_language="de-DE,en;q=0.8") == "en"
    assert pick_language(chosen="ru", accept_language="en") == "ru"
    assert pick_language(chosen="xx", accept_language="fr") == "ru"


def test_every_text_a_template_reads_exists() -> None:
    """Jinja renders a missing `t.name` as nothing, so a typo would leave a blank on the page."""
    read = {name for path in TEMPLATES.glob("*.html") for name in re.findall(r"\bt\.(\w+)", path.read_text())}
    assert "smpp_users" in read
    assert sorted(read - set(TEXTS)) == []


def test_every_refusal_the_smpp_pages_word_has_a_text() -> None:
    """The SMPP pages pick a refusal's text by its reason (web/smpp.py, web/smpp_routes.py): every
    reason the domain raises must have one, or the page would show a blank error."""
    smpp = TEMPLATES.parent.parent / "smpp"

    def reasons(module: str) -> set[str]:
        return set(re.findall(r'reason="(\w+)"', (smpp / module).read_text()))

    # A route's credentials are checked by users.check_credentials: its reasons pass through.
    route_reasons = reasons("routes.py") | {"system_id", "password"}
    assert {"host", "port", "tps", "window", "unknown"} <= route_reasons
    assert sorted(r for r in route_reasons if f"smpp_route_bad_{r}" not in TEXTS) == []
    sender_reasons = reasons("senders.py") - {"user"}  # an unknown user is smpp_bad_unknown
    assert {"source_addr", "sim", "device", "unknown", "busy"} <= sender_reasons
    assert sorted(r for r in sender_reasons if f"smpp_sender_bad_{r}" not in TEXTS) == []
