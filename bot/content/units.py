"""Finding a unit by what a person types: its code, or its name with or without accents."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from bot.content import Unit
from bot.text import fold

__all__ = ["UnitError", "resolve_unit"]

# Kind words an admin may type before a name ("xa that khe"); unit codes never start with them.
_KIND_WORDS = ("thi-tran-", "phuong-", "xa-")


class UnitError(Exception):
    """A unit that cannot get an invite: `reason` is unknown or not_reporting."""

    def __init__(
        self, reason: str, raw: str, suggestions: tuple[str, ...] = (), unit: Unit | None = None
    ) -> None:
        super().__init__(f"{reason}: {raw}")
        self.reason = reason
        self.raw = raw
        self.suggestions = suggestions
        self.unit = unit


def resolve_unit(units: Mapping[str, Unit], raw: str) -> Unit:
    """The reporting unit with code `raw`; its name (with or without accents) works too.

    Raises UnitError("unknown", with close codes as suggestions) or UnitError("not_reporting")
    for a province or district: only communes and wards file reports.
    """
    slug = "-".join(fold(raw).replace("_", " ").split())
    candidates = [slug] + [slug[len(w) :] for w in _KIND_WORDS if slug.startswith(w)]
    unit = next((units[c] for c in candidates if c in units), None)
    if unit is None:
        names = {"-".join(fold(u.name).split()): u.code for u in units.values() if u.reports}
        unit = next((units[names[c]] for c in candidates if c in names), None)
    if unit is None:
        codes = [u.code for u in units.values() if u.reports]
        close = difflib.get_close_matches(slug, codes, n=3, cutoff=0.75)
        raise UnitError("unknown", raw.strip(), tuple(close))
    if not unit.reports:
        raise UnitError("not_reporting", raw.strip(), unit=unit)
    return unit
