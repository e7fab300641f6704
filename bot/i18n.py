"""Translations through Babel gettext catalogs, with the locale held per update.

Message ids are English; `locales/vi` holds the Vietnamese (the default language) and a
test keeps it complete. The build compiles the catalogs and installs them as `bot._locales`
(setup.py); a missing one is an error, never English in its place.
Use `_("Hello, {name}!").format(name=...)` — never an f-string inside `_()`, or the catalog
cannot find it. Strings built before the locale is known are marked with `N_()` and translated
later with `_()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import Translations

from bot import data_dir

LOCALES_DIR = data_dir("bot._locales")
DOMAIN = "messages"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
_NAMES = {"vi": "Vietnamese", "en": "English"}

_current: ContextVar[str] = ContextVar("bot_locale", default=DEFAULT_LANGUAGE)


def normalize_language(code: str | None) -> str:
    """Map a platform language code (`vi`, `en-US`, `fr`...) to a supported language."""
    if not code:
        return DEFAULT_LANGUAGE
    try:
        lang = Locale.parse(code.replace("-", "_")).language
    except (ValueError, TypeError):
        return DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


class CatalogError(RuntimeError):
    """A compiled catalog is missing: the bot would answer in English, or not at all."""


def translations(lang: str, directory: Path | None = None) -> Translations:
    """The compiled catalog for `lang` (from `LOCALES_DIR` unless `directory` is given)."""
    return _load(lang, LOCALES_DIR if directory is None else directory)


@cache
def _load(lang: str, directory: Path) -> Translations:
    path = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    except FileNotFoundError:
        # Babel's own loader would quietly give English; Vietnamese users must not get that.
        name = _NAMES.get(lang, lang)
        raise CatalogError(
            f"the {name} translations are missing ({path}): run `make catalogs` in a checkout, "
            "or reinstall bdg-bot (its build compiles them)"
        ) from None


def check_catalogs(directory: Path | None = None) -> None:
    """Raise `CatalogError` unless every supported language has its compiled catalog."""
    for lang in LANGUAGES:
        translations(lang, directory)


def current_language() -> str:
    """The language of the update being handled."""
    return _current.get()


@contextlib.contextmanager
def use_language(lang: str) -> Iterator[None]:
    """Translate with `lang` inside the block."""
    token = _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def set_language(lang: str) -> None:
    """Set the language for the rest of the current task."""
    _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def gettext(message: str) -> str:
    """Translate `message` into the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with a plural form chosen by `n`."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it yet."""
    return message


_ = gettext
