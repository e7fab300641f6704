"""Report indicators (content/indicators.yaml), number rules and the shared `Problem` type.

`Problem` lives here because both the one-line parser and the guided dialog produce them from
the same checks (`IndicatorSet.parse_value`, `IndicatorSet.check`). A problem keeps raw data
(codes, numbers, labels in every language) and is rendered only when shown, in the language
current at that moment, so it can be built before the user's language is known.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content import ContentError, FileLoader, Localized, read_yaml
from bot.i18n import N_, _, current_language
from bot.settings import DEFAULT_CONTENT_DIR

__all__ = [
    "DEFAULT_INDICATORS_PATH",
    "OPERATORS",
    "RESERVED_CODES",
    "Constraint",
    "ContentError",
    "Indicator",
    "IndicatorSet",
    "Problem",
    "load_indicators",
    "shorten",
]

DEFAULT_INDICATORS_PATH = DEFAULT_CONTENT_DIR / "indicators.yaml"

#: Words the report line gives another meaning: `n` is the annual-period token and `bc` the
#: report keyword, so an indicator with either code could not be told apart from them.
RESERVED_CODES = frozenset({"n", "bc"})

_CODE_RE = re.compile(r"[a-z]{1,4}")
# Whole numbers: plain digits, or digits grouped in threes by dots ("1.200", "12.000.000").
# "1.2" and "1.20" are refused on purpose: they look like decimals, and guessing would store a
# count a hundred or a thousand times off.
_PLAIN_RE = re.compile(r"[0-9]+")
_GROUPED_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")
_MINUS = ("-", "\u2212")  # ASCII hyphen-minus and the Unicode minus sign some keyboards send
# Longer digit strings are refused before int(): they are never counts, and Python refuses to
# convert more than 4300 digits anyway.
_MAX_DIGITS = 15

#: Comparison operators allowed in `constraints`, with the relation shown to the user.
OPERATORS: dict[str, tuple[Callable[[int, int], bool], str]] = {
    "<=": (operator.le, N_("at most")),
    "<": (operator.lt, N_("less than")),
    ">=": (operator.ge, N_("at least")),
    ">": (operator.gt, N_("greater than")),
    "==": (operator.eq, N_("equal to")),
}

# Message templates by problem kind. A "/code" variant is used when the problem is about a
# named indicator (the one-line parser), the plain one when it is about a bare answer (the
# guided dialog, which has already said which indicator it asks for).
_TEMPLATES: dict[str, str] = {
    "unknown_code": N_("Unknown code «{code}». Valid codes: {valid}."),
    "repeated_code": N_(
        "Code {code} ({label}) is given more than once. Give each code only once."
    ),
    "missing_value/code": N_(
        "{code} ({label}) has no number. Put the number right after the code, e.g. {code}=5."
    ),
    "missing_value": N_("No number given. Type a whole number, e.g. 0, 15 or 1.200."),
    "not_number/code": N_(
        "{code} ({label}): «{raw}» is not a whole number. Use digits only, e.g. 120 or 1.200 "
        "(a dot only separates thousands)."
    ),
    "not_number": N_(
        "«{raw}» is not a whole number. Use digits only, e.g. 120 or 1.200 "
        "(a dot only separates thousands)."
    ),
    "negative/code": N_("{code} ({label}): «{raw}» is negative. Counts start at 0."),
    "negative": N_("«{raw}» is negative. Counts start at 0."),
    "too_large/code": N_(
        "{code} ({label}): {value} is above the maximum of {max}. "
        "Check the number for an extra digit."
    ),
    "too_large": N_("{value} is above the maximum of {max}. Check the number for an extra digit."),
    "constraint": N_(
        "{left} ({left_label}) = {left_value} must be {relation} {right} ({right_label}) = "
        "{right_value}. Check both numbers."
    ),
    "orphan_value": N_(
        "The number «{raw}» has no code before it. Write each number after its code, e.g. tt=3."
    ),
    "orphan_value/joined": N_(
        "The number «{raw}» has no code before it: a comma or a space separates items. "
        "For thousands write {joined} or {plain}."
    ),
    "unreadable": N_("Cannot read «{raw}». Write each item as a code and a number, e.g. tt=3."),
    "unknown_period": N_(
        "«{token}» is not a report period. Use {kinds}, optionally with the year, e.g. {example}."
    ),
    "period_misplaced": N_(
        "Put the report period «{token}» right after BC, e.g. BC {token} tt=3 nd=120."
    ),
    "period_not_open": N_(
        "{period} is not open yet: it opens on {opens}. Reports now go to {current}: "
        "write BC {example} followed by the figures."
    ),
    "period_closed": N_(
        "{period} is closed for reporting. If you still need to send it, ask an administrator "
        "to unlock it."
    ),
    "no_values": N_(
        "The report has no figures. Write each item as a code and a number, e.g. tt=3 nd=120."
    ),
}


def shorten(raw: str, limit: int = 24) -> str:
    """Cut user text to `limit` characters for quoting it back in a message."""
    return raw if len(raw) <= limit else raw[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a report, rendered in the current language by `message()`.

    `kind` is one of: unknown_code, repeated_code, missing_value, not_number, negative,
    too_large, constraint, orphan_value, unreadable, unknown_period, period_misplaced,
    period_not_open, period_closed, no_values. `params` holds plain values and `Localized`
    texts (labels), so nothing is translated before it is shown.
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        """The problem and what to do about it, in the current language."""
        lang = current_language()
        values: dict[str, Any] = {
            key: value.get(lang) if isinstance(value, Localized) else value
            for key, value in self.params.items()
        }
        if self.kind == "constraint" and str(values.get("op")) in OPERATORS:
            values["relation"] = _(OPERATORS[str(values["op"])][1])
        key = self.kind
        for marker in ("code", "joined"):
            if marker in values and f"{self.kind}/{marker}" in _TEMPLATES:
                key = f"{self.kind}/{marker}"
        template = _TEMPLATES.get(key)
        if template is None:  # an unknown kind is a programming error; still say something
            return self.kind
        # A missing parameter is a programming error too, but a chat reply must not crash on
        # it: the gap is shown as "…" (build period problems with `period_problem`).
        return _(template).format_map(_Gaps(values))


class _Gaps(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


@dataclass(frozen=True, slots=True)
class Indicator:
    """One count an officer reports, e.g. `tt` communication sessions."""

    code: str
    label: Localized
    hint: Localized
    max: int


@dataclass(frozen=True, slots=True)
class Constraint:
    """A cross-field rule such as `nu <= nd`."""

    left: str
    op: str
    right: str

    def holds(self, values: Mapping[str, int]) -> bool:
        """Whether the rule holds; true when either side is absent (partial reports)."""
        if self.left not in values or self.right not in values:
            return True
        return OPERATORS[self.op][0](values[self.left], values[self.right])


class IndicatorSet:
    """The indicators in file order, their constraints, and the checks on reported values."""

    def __init__(
        self, indicators: Iterable[Indicator], constraints: Iterable[Constraint] = ()
    ) -> None:
        self._by_code = {ind.code: ind for ind in indicators}
        self.constraints = tuple(constraints)

    @property
    def codes(self) -> tuple[str, ...]:
        """All codes in file order."""
        return tuple(self._by_code)

    def get(self, code: str) -> Indicator | None:
        """The indicator with `code` (any case), if any."""
        return self._by_code.get(code.strip().lower())

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None

    def parse_value(self, raw: str, code: str | None = None) -> int | Problem:
        """Read one reported number (digits, dots grouping thousands); a Problem if invalid.

        With `code` the problem names that indicator; the maximum is checked by `check`.
        """
        ind = self.get(code) if code else None
        named: dict[str, Any] = {"code": ind.code, "label": ind.label} if ind else {}
        text = unicodedata.normalize("NFKC", raw).strip()
        if not text:
            return Problem("missing_value", named)
        negative = text.startswith(_MINUS)
        body = text[1:].strip() if negative else text
        if not (_PLAIN_RE.fullmatch(body) or _GROUPED_RE.fullmatch(body)):
            return Problem("not_number", {**named, "raw": shorten(text)})
        digits = body.replace(".", "")
        if len(digits.lstrip("0")) > _MAX_DIGITS:
            limit = ind.max if ind else max((i.max for i in self), default=0)
            return Problem("too_large", {**named, "value": shorten(digits), "max": limit})
        number = int(digits)
        if negative and number:
            return Problem("negative", {**named, "raw": shorten(text)})
        return number

    def check(self, values: Mapping[str, int]) -> list[Problem]:
        """Problems with a set of values: unknown codes, negatives, maxima, then constraints."""
        problems: list[Problem] = []
        for code, value in values.items():
            ind = self.get(code)
            if ind is None:
                problems.append(self.unknown_code(code))
            elif value < 0:
                named = {"code": ind.code, "label": ind.label}
                problems.append(Problem("negative", {**named, "raw": str(value)}))
            elif value > ind.max:
                named = {"code": ind.code, "label": ind.label}
                problems.append(Problem("too_large", {**named, "value": value, "max": ind.max}))
        normalised = {code.strip().lower(): value for code, value in values.items()}
        for rule in self.constraints:
            if not rule.holds(normalised):
                left, right = self._by_code[rule.left], self._by_code[rule.right]
                params = {
                    "left": left.code,
                    "left_label": left.label,
                    "left_value": normalised[rule.left],
                    "op": rule.op,
                    "right": right.code,
                    "right_label": right.label,
                    "right_value": normalised[rule.right],
                }
                problems.append(Problem("constraint", params))
        return problems

    def unknown_code(self, raw: str) -> Problem:
        """The problem for a code that is not in the set, listing the valid ones."""
        return Problem("unknown_code", {"code": shorten(raw), "valid": ", ".join(self.codes)})

    @classmethod
    def from_data(cls, data: Any, path: Path) -> IndicatorSet:
        """Validate parsed YAML; errors name the file, the entry and the field."""
        return _Loader(path).load(data)


def load_indicators(path: Path = DEFAULT_INDICATORS_PATH) -> IndicatorSet:
    """Read and validate `indicators.yaml`."""
    return IndicatorSet.from_data(read_yaml(path), path)


# --- validation ----------------------------------------------------------------------------

_INDICATOR_KEYS = frozenset({"code", "label", "hint", "max"})
_TOP_KEYS = frozenset({"source", "default_max", "indicators", "constraints"})
_CONSTRAINT_KEYS = frozenset({"left", "op", "right"})


class _Loader(FileLoader):
    """Validates indicators.yaml; error messages follow bot.content's wording."""

    def no_unknown_keys(
        self, data: Mapping[str, Any], allowed: frozenset[str], entry: str
    ) -> None:
        # A misspelt key ("lable") would otherwise be ignored silently.
        for key in data:
            if key not in allowed:
                raise self.error(entry, str(key), f"unknown field; expected {sorted(allowed)}")

    def positive_int(self, value: Any, entry: str, field_name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(entry, field_name, "must be a whole number of at least 1")
        return int(value)

    def localized(self, data: Mapping[str, Any], key: str, entry: str) -> Localized:
        texts = self.mapping(data.get(key), entry, key)
        found = {}
        for lang in ("vi", "en"):
            text = texts.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise self.error(entry, f"{key}.{lang}", "must be a non-empty text")
            found[lang] = text.strip()
        return Localized(vi=found["vi"], en=found["en"])

    def load(self, data: Any) -> IndicatorSet:
        top = self.mapping(data, "", "")
        self.no_unknown_keys(top, _TOP_KEYS, "")
        default_max = self.positive_int(top.get("default_max", 100000), "", "default_max")
        raw_items = top.get("indicators")
        if not isinstance(raw_items, list) or not raw_items:
            raise self.error("", "indicators", "must be a non-empty list")
        indicators: dict[str, Indicator] = {}
        for index, raw in enumerate(raw_items, start=1):
            entry = f"#{index}"
            item = self.mapping(raw, entry, "")
            code = item.get("code")
            if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
                # YAML reads some bare words as booleans (no, on...): hint at the quotes.
                raise self.error(
                    entry, "code", f"{code!r} must be 1–4 lower-case letters a–z (quote it)"
                )
            entry = f"#{index} ({code})"
            if code in RESERVED_CODES:
                raise self.error(entry, "code", f"'{code}' is reserved for the report line")
            if code in indicators:
                raise self.error(entry, "code", "duplicate code")
            self.no_unknown_keys(item, _INDICATOR_KEYS, entry)
            limit = item.get("max")
            indicators[code] = Indicator(
                code=code,
                label=self.localized(item, "label", entry),
                hint=self.localized(item, "hint", entry),
                max=default_max if limit is None else self.positive_int(limit, entry, "max"),
            )
        raw_rules = top.get("constraints") or []
        if not isinstance(raw_rules, list):
            raise self.error("", "constraints", "must be a list")
        constraints = []
        for index, raw in enumerate(raw_rules, start=1):
            entry = f"constraints #{index}"
            rule = self.mapping(raw, entry, "")
            self.no_unknown_keys(rule, _CONSTRAINT_KEYS, entry)
            for side in ("left", "right"):
                if rule.get(side) not in indicators:
                    raise self.error(entry, side, f"unknown indicator code {rule.get(side)!r}")
            if rule.get("op") not in OPERATORS:
                raise self.error(entry, "op", f"must be one of {list(OPERATORS)} (quoted)")
            if rule["left"] == rule["right"]:
                raise self.error(entry, "right", "must differ from 'left'")
            constraints.append(Constraint(rule["left"], rule["op"], rule["right"]))
        return IndicatorSet(indicators.values(), constraints)
