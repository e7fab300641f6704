"""The catalogs: Vietnamese complete, placeholders kept, locale resolution with fallbacks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import _, ngettext, normalize_language, use_language

PO = Path("locales/vi/LC_MESSAGES/messages.po")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _messages() -> list[tuple[str, str]]:
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    out: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id:
            continue
        ids = _forms(message.id)
        out.extend((ids[0], s) for s in _forms(message.string))
    return out


def _forms(value: str | Sequence[str] | None) -> list[str]:
    """A catalog id or translation as its forms (several for a plural message)."""
    if value is None:
        return [""]  # no translation at all: reported as untranslated, like an empty one
    return [value] if isinstance(value, str) else list(value)


def test_every_ui_string_has_a_vietnamese_translation() -> None:
    missing = [mid for mid, string in _messages() if not string]
    assert not missing, (
        "untranslated in locales/vi (run `make locales`, then translate):\n" + "\n".join(missing)
    )


def test_translations_keep_their_placeholders() -> None:
    broken = [
        mid
        for mid, string in _messages()
        if sorted(PLACEHOLDER.findall(mid)) != sorted(PLACEHOLDER.findall(string))
    ]
    assert not broken


@pytest.mark.parametrize(
    ("code", "lang"),
    [("vi", "vi"), ("en-US", "en"), ("en", "en"), ("fr", "vi"), (None, "vi"), ("", "vi"),
     ("zz-!!", "vi"), ("vi_VN", "vi")],
)  # fmt: skip
def test_language_resolution(code: str | None, lang: str) -> None:
    assert normalize_language(code) == lang


def test_gettext_follows_the_current_language() -> None:
    with use_language("vi"):
        assert _("Main menu") == "Menu chính"
        assert ngettext("…and {count} more problem.", "…and {count} more problems.", 3)
    with use_language("en"):
        assert _("Main menu") == "Main menu"
    with use_language("xx"):
        assert _("Main menu") == "Menu chính"


def _extracted_ids() -> set[str]:
    """The msgids a fresh `make locales` would write, extracted with Babel's own API."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open("babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "_": None, "N_": None}
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ".", method_map, options_map, keywords=keywords
    ):
        ids.add(message[0] if isinstance(message, (tuple, list)) else message)
    return ids


def test_the_catalog_template_is_what_a_fresh_extraction_gives() -> None:
    # A stale messages.pot hid untranslated strings from the test above: compare the two.
    with open("locales/messages.pot", "rb") as fh:
        template = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(fh) if m.id}
    fresh = _extracted_ids()
    missing, stale = sorted(fresh - template), sorted(template - fresh)
    assert not missing and not stale, (
        "locales/messages.pot is out of date: run `make locales` and translate.\n"
        f"not in the template: {missing}\nno longer in the code: {stale}"
    )
