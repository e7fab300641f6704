"""The one-line report command, like a DHIS2 SMS data-entry line: `BC 6T tt=3 nd=120 nu=70`.

Grammar [contract]:

    line    = keyword [period] {pair}
    keyword = "BC" | "/baocao" ["@" botname] | "báo cáo" | "bao cao"     (any case)
    period  = KIND | KIND YEAR | YEAR "-" KIND      e.g. 6T, N, 6T2026, N2026, 2026-6T, 2026-N
    pair    = CODE [("=" | ":" | spaces)] VALUE     e.g. tt=3, tt: 3, tt 3, tt3
    VALUE   = digits, optionally grouped in threes by dots: 120, 1200, 1.200, 12.000.000

- Case and Vietnamese diacritics do not matter anywhere (`BÁO CÁO 6t TT=3`).
- Pairs are separated by spaces, `,`, `;` or new lines; spaces around separators are fine.
  A comma is always a separator, never a thousands mark: `nd=1,200` is `nd=1` and a stray
  `200`, which is reported (with the hint to write 1.200).
- `1.2` and `1.20` are refused: they look like decimals, and guessing would be worse.
- A dot (or several) at the very end of the message is ignored as sentence punctuation.
- The period token must come right after the keyword (elsewhere it is reported, not guessed).
  Without it the report is for the period with the nearest deadline not yet passed.
- The gaps the bot itself prints in a template (`…`, `...`, `?`, `_`) mean "not entered":
  `BC N tt=2 nd=… nu=…` is a report of tt alone, so a reminder's line can be filled and sent.
- `-` as a value (`tt=-`) clears the code: a correction then leaves it "not filed".
- When the unit already has a version for the period, a line is a correction: it changes only
  the codes it names (`base` of `parse_report`) and keeps every other value.

A report is all or nothing: `parse_report` returns either a complete `ParsedReport` or every
problem found, never a partial result.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.content import Localized
from bot.i18n import _, ngettext
from bot.reporting.indicators import IndicatorSet, Problem, shorten
from bot.reporting.periods import Period, PeriodCalendar, token_pattern
from bot.text import fold

__all__ = [
    "REPORT_EXAMPLE",
    "ParsedReport",
    "Problem",
    "example_line",
    "format_problems",
    "parse_report",
    "period_problem",
    "report_intent",
    "requested_period",
]

#: The example line shown under a list of problems; `example_line` adapts its period token to
#: the day, since on 28/11 "6T" means a period that is not open yet.
REPORT_EXAMPLE = "BC 6T tt=3 nd=120 nu=70"

Intent = Literal["none", "start", "line"]

# Matched against folded text (lower case, no diacritics). The keyword must end at a word
# boundary so that "bcd" or "baocaoxyz" are not reports.
_KEYWORD_RE = re.compile(r"\s*(?:(?P<slash>/baocao(?:@\w*)?)|bc|bao\s*cao)(?=$|[\s:,;.!])")
_TOKEN_RE = re.compile(r"(?P<ws>\s+)|(?P<sep>[,;])|(?P<assign>[=:])|(?P<chunk>[^\s,;=:]+)")
_TRAILING_DOTS_RE = re.compile(r"[\s.]*\Z")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
# A code written against its value: "tt3", "nd1.200", "tt-3".
_GLUED_RE = re.compile(r"([^\W\d_]+)([-\u2212+]?[0-9].*)")
_VALUE_START_RE = re.compile(r"[-\u2212+]?[0-9]")
_GROUPED_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})*")
_THREE_DIGITS_RE = re.compile(r"[0-9]{3}")
# A year written after a bare kind with a space ("6T 2026"). Only 19xx/20xx: "6T 1200" is more
# likely a number that lost its code than the year 1200.
_SPACED_YEAR_RE = re.compile(r"(?:19|20)[0-9]{2}")
#: Values that mean "not entered": the gaps of the bot's own template (NFKC turns "…" into
#: "...") and what officers put in a form's blank.
PLACEHOLDERS = frozenset({"...", "..", ".", "?", "??", "???", "_", "__", "___"})
#: The value that clears a code in a correction (an en or em dash from a phone keyboard too).
CLEAR_VALUES = frozenset({"-", "\u2013", "\u2014", "\u2212"})
# First words that look like an attempt at a period token ("7T", "6T26", "T6", "2026-Q1"), so
# the officer hears "not a report period" rather than "unknown code".
_PERIOD_LIKE_RE = re.compile(
    r"[0-9]{1,2}[a-z]{1,2}[0-9]*|[0-9]{4}[-/][0-9a-z]+|[a-z]{1,2}[-/]?[0-9]{1,4}"
)
# The contract kinds, for report_intent when no calendar is given.
_DEFAULT_TOKEN_RE = token_pattern(("6T", "N"))


@dataclass(frozen=True)
class ParsedReport:
    """A complete, valid report line."""

    period: Period
    values: dict[str, int]
    #: False when the line had no period token and `default_for(today)` was used: the bot
    #: should then name the period in its confirmation.
    period_given: bool
    #: The codes the line set or cleared (a correction changes only these).
    named: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["ws", "sep", "assign", "chunk"]
    folded: str  # lower case, no diacritics: what is compared
    raw: str  # as typed (NFKC): what is quoted back


@dataclass(frozen=True, slots=True)
class _Scan:
    slash: bool
    tokens: list[_Token]
    period_raw: str | None  # the period token as typed, when one follows the keyword
    period_folded: str | None
    start: int  # index of the first token after the keyword and period


def _prepare(text: str) -> tuple[str, str]:
    """The text as typed (NFKC) and its folded twin of the same length, character by character."""
    # NFKC turns full-width digits and letters from some keyboards into ASCII. Folding one
    # character at a time keeps positions aligned, so a token found in the folded text can be
    # quoted back as the user typed it.
    # Invisible format characters (zero-width spaces, direction marks) that some apps paste
    # into text are dropped, or "tt=3" could carry an invisible "3\u200b".
    norm = "".join(
        ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cf"
    )
    folded = "".join(f if len(f := fold(ch)) == 1 else ch for ch in norm)
    return norm, folded


_TOKEN_KINDS: dict[str | None, Literal["ws", "sep", "assign", "chunk"]] = {
    "ws": "ws",
    "sep": "sep",
    "assign": "assign",
    "chunk": "chunk",
}


def _tokenize(norm: str, folded: str) -> list[_Token]:
    # _TOKEN_RE matches every character, so the tokens cover the text without gaps.
    return [
        _Token(_TOKEN_KINDS[m.lastgroup], m.group(), norm[m.start() : m.end()])
        for m in _TOKEN_RE.finditer(folded)
    ]


def _skip(tokens: Sequence[_Token], i: int, kinds: Collection[str]) -> int:
    while i < len(tokens) and tokens[i].kind in kinds:
        i += 1
    return i


def _period_at(
    tokens: Sequence[_Token], i: int, is_token: Callable[[str], bool]
) -> tuple[str, str, int] | None:
    """A period token starting at chunk `i` (with a spaced year): (raw, folded, next index)."""
    first = tokens[i]
    if first.kind != "chunk" or not is_token(first.folded):
        return None
    j = _skip(tokens, i + 1, ("ws",))
    if (
        j < len(tokens)
        and tokens[j].kind == "chunk"
        and _SPACED_YEAR_RE.fullmatch(tokens[j].folded)
    ):
        joined = f"{first.folded} {tokens[j].folded}"
        if is_token(joined):
            return f"{first.raw} {tokens[j].raw}", joined, j + 1
    return first.raw, first.folded, i + 1


def _scan(text: str, is_token: Callable[[str], bool], *, require_keyword: bool) -> _Scan | None:
    norm, folded = _prepare(text)
    match = _KEYWORD_RE.match(folded)
    if match is None and require_keyword:
        return None
    begin = match.end() if match else 0
    end = _TRAILING_DOTS_RE.search(folded, begin)
    stop = end.start() if end else len(folded)
    if ".." in folded[stop:] and folded[begin:stop].rstrip().endswith(("=", ":")):
        stop = len(folded)  # "nu=…" at the end: the dots are the gap, not a full stop
    tokens = _tokenize(norm[begin:stop], folded[begin:stop])
    i = _skip(tokens, 0, ("ws", "sep", "assign"))
    found = _period_at(tokens, i, is_token) if i < len(tokens) else None
    if found is None:
        return _Scan(bool(match and match.group("slash")), tokens, None, None, i)
    raw, folded_token, nxt = found
    return _Scan(bool(match and match.group("slash")), tokens, raw, folded_token, nxt)


def report_intent(
    text: str,
    *,
    calendar: PeriodCalendar | None = None,
    indicators: IndicatorSet | None = None,
) -> Intent:
    """Whether `text` is a report line, a bare report keyword, or not a report at all.

    After the keyword (and an optional period token):
    - nothing left -> "start" (the bot opens the guided dialog);
    - `/baocao` with anything after it -> "line" (a command is never a citizen's question);
    - at least one digit -> "line";
    - a code followed by `=` or `:` (`tt=ba`) -> "line"; the code must be a known indicator
      when `indicators` is given, else any word of 1–4 letters;
    - otherwise "none". This keeps questions such as "báo cáo bạo lực gia đình ở đâu" or
      "báo cáo vụ bị đánh" out of the report path: a code followed only by a space does not
      count, because Vietnamese words fold to codes ("vụ" -> vu, "nữ" -> nu).
    """
    is_token = calendar.is_token if calendar else _is_default_token
    scan = _scan(text, is_token, require_keyword=True)
    if scan is None:
        return "none"
    rest = scan.tokens[scan.start :]
    chunks = [t for t in rest if t.kind == "chunk"]
    if not chunks:
        return "start"
    if scan.slash or any(ch.isdigit() for t in chunks for ch in t.folded):
        return "line"
    i = _skip(rest, 0, ("ws", "sep", "assign"))
    first = rest[i]
    known = indicators is None or first.folded in indicators
    if _LETTERS_RE.fullmatch(first.folded) and len(first.folded) <= 4 and known:
        j = _skip(rest, i + 1, ("ws",))
        if j < len(rest) and rest[j].kind == "assign":
            return "line"
    return "none"


def _is_gap_or_clear(value: str) -> bool:
    return value.strip() in PLACEHOLDERS or value.strip() in CLEAR_VALUES


def _is_default_token(token: str) -> bool:
    return _DEFAULT_TOKEN_RE.fullmatch(token) is not None


class _PairReader:
    """Reads the pairs after the period token, collecting values and problems."""

    def __init__(self, indicators: IndicatorSet, is_token: Callable[[str], bool]) -> None:
        self.indicators = indicators
        self.is_token = is_token
        self.values: dict[str, int] = {}
        self.cleared: set[str] = set()
        self.problems: list[Problem] = []
        self.saw_code = False
        self._seen: set[str] = set()
        self._repeated: set[str] = set()
        # Digits of the value just read, to explain a following "200" from "1,200".
        self._last_value: str | None = None

    def read(self, tokens: Sequence[_Token], i: int) -> None:
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind != "chunk":  # separators, and a stray "=" with nothing before it
                i += 1
                continue
            i = self._chunk(tokens, i)

    def _chunk(self, tokens: Sequence[_Token], i: int) -> int:
        tok = tokens[i]
        text = tok.folded
        if self.is_token(text) and text not in self.indicators:
            period = _period_at(tokens, i, self.is_token)
            assert period is not None
            self.problems.append(Problem("period_misplaced", {"token": shorten(period[0])}))
            self._last_value = None
            return period[2]
        if _LETTERS_RE.fullmatch(text):
            return self._code_then_value(tokens, i)
        glued = _GLUED_RE.fullmatch(text)
        if glued:
            cut = len(glued.group(1))
            self._pair(tok.raw[:cut], glued.group(1), tok.raw[cut:])
            return i + 1
        if _VALUE_START_RE.match(text):
            self._orphan(tok.raw)
            return i + 1
        self.problems.append(Problem("unreadable", {"raw": shorten(tok.raw)}))
        self._last_value = None
        return i + 1

    def _code_then_value(self, tokens: Sequence[_Token], i: int) -> int:
        code = tokens[i]
        j = _skip(tokens, i + 1, ("ws",))
        explicit = j < len(tokens) and tokens[j].kind == "assign"
        if explicit:
            j = _skip(tokens, j, ("ws", "assign"))
        nxt = tokens[j] if j < len(tokens) and tokens[j].kind == "chunk" else None
        if nxt is not None and explicit and _LETTERS_RE.fullmatch(nxt.folded):
            # "tt= nd=5": the word after "=" is the next code, not tt's value.
            after = _skip(tokens, j + 1, ("ws",))
            if after < len(tokens) and tokens[after].kind == "assign":
                nxt = None
        if nxt is not None and (
            explicit or _VALUE_START_RE.match(nxt.folded) or _is_gap_or_clear(nxt.folded)
        ):
            self._pair(code.raw, code.folded, nxt.raw)
            return j + 1
        self._pair(code.raw, code.folded, None)
        return j if explicit else i + 1

    def _pair(self, code_raw: str, code: str, value_raw: str | None) -> None:
        self.saw_code = True
        self._last_value = None
        ind = self.indicators.get(code)
        if ind is None:
            self.problems.append(self.indicators.unknown_code(code_raw))
            return
        if ind.code in self._seen:
            if ind.code not in self._repeated:
                self._repeated.add(ind.code)
                params = {"code": ind.code, "label": ind.label}
                self.problems.append(Problem("repeated_code", params))
            return
        self._seen.add(ind.code)
        if value_raw is None:
            self.problems.append(Problem("missing_value", {"code": ind.code, "label": ind.label}))
            return
        if value_raw.strip() in PLACEHOLDERS:
            return  # a gap of the template left empty: not entered
        if value_raw.strip() in CLEAR_VALUES:
            self.cleared.add(ind.code)
            return
        result = self.indicators.parse_value(value_raw, ind.code)
        if isinstance(result, Problem):
            self.problems.append(result)
            return
        self.values[ind.code] = result
        if _GROUPED_RE.fullmatch(value_raw):
            self._last_value = value_raw

    def _orphan(self, raw: str) -> None:
        last, self._last_value = self._last_value, None
        if last is not None and _THREE_DIGITS_RE.fullmatch(raw):
            joined = f"{last}.{raw}"
            self._last_value = joined
            params = {"raw": raw, "joined": joined, "plain": joined.replace(".", "")}
            self.problems.append(Problem("orphan_value", params))
            return
        self.problems.append(Problem("orphan_value", {"raw": shorten(raw)}))


def parse_report(
    text: str,
    indicators: IndicatorSet,
    calendar: PeriodCalendar,
    today: date,
    *,
    is_closed: Callable[[Period], bool] | None = None,
    base: Mapping[str, int] | None = None,
) -> ParsedReport | list[Problem]:
    """Parse a report line into a complete report, or return every problem found in it.

    The keyword is optional here (the guided dialog may pass a bare `tt=3 nd=120`);
    `report_intent` decides whether a chat message is a report. `is_closed` says whether a
    period no longer accepts this unit's report; by default, when the calendar says locked
    (pass a function that knows about admin unlocks to override). `base` is the unit's
    current version of that period: the line then changes only the codes it names, and the
    checks (nu <= nd, ...) apply to the values as they will be saved.
    """
    scan = _scan(text, calendar.is_token, require_keyword=False)
    assert scan is not None
    problems: list[Problem] = []
    start = scan.start
    period: Period | None
    period_given = scan.period_raw is not None
    if scan.period_folded is not None and scan.period_raw is not None:
        period = calendar.parse_token(scan.period_folded, today)
        if period is None:
            problems.append(_unknown_period(scan.period_raw, calendar, today))
    elif start < len(scan.tokens) and _looks_like_period(scan.tokens[start].folded, indicators):
        problems.append(_unknown_period(scan.tokens[start].raw, calendar, today))
        period, period_given, start = None, True, start + 1
    else:
        period = calendar.default_for(today)
    if period is not None:
        problem = period_problem(period, calendar, today, is_closed=is_closed)
        if problem is not None:
            problems.append(problem)

    reader = _PairReader(indicators, calendar.is_token)
    reader.read(scan.tokens, start)
    problems.extend(reader.problems)
    named = frozenset(reader.values) | frozenset(reader.cleared)
    if not reader.saw_code or (not named and not reader.problems):
        problems.append(Problem("no_values"))
    values = {**(base or {}), **reader.values}
    for code in reader.cleared:
        values.pop(code, None)
    problems.extend(indicators.check(values))
    if problems or period is None:
        return problems or [Problem("no_values")]
    return ParsedReport(period=period, values=values, period_given=period_given, named=named)


def period_problem(
    period: Period,
    calendar: PeriodCalendar,
    today: date,
    *,
    is_closed: Callable[[Period], bool] | None = None,
) -> Problem | None:
    """Why `period` cannot take a report today (not open yet, or closed), or None if it can.

    `is_closed` as in `parse_report`. Shared with the guided dialog so both say the same.
    """
    if calendar.status(period, today) == "not_open":
        # Point to the period that is open now: an officer who typed a future period almost
        # always meant the current one.
        current = calendar.default_for(today)
        params = {
            "period": period.label_localized(),
            "opens": f"{period.opens:%d/%m/%Y}",
            "current": current.label_localized(),
            "example": _token_for(current, calendar, today),
        }
        return Problem("period_not_open", params)
    closed = is_closed or (lambda p: calendar.status(p, today) == "locked")
    if closed(period):
        return Problem("period_closed", {"period": period.label_localized()})
    return None


def requested_period(text: str, calendar: PeriodCalendar, today: date) -> Period | None:
    """The period named right after the keyword (`BC 6T`, `/baocao 2026-N`), if a valid one."""
    scan = _scan(text, calendar.is_token, require_keyword=False)
    if scan is None or scan.period_folded is None:
        return None
    return calendar.parse_token(scan.period_folded, today)


def _looks_like_period(folded: str, indicators: IndicatorSet) -> bool:
    glued = _GLUED_RE.fullmatch(folded)
    if glued and glued.group(1) in indicators:  # "tt3" is a pair, not a period
        return False
    return _PERIOD_LIKE_RE.fullmatch(folded) is not None


def _unknown_period(raw: str, calendar: PeriodCalendar, today: date) -> Problem:
    found = (calendar.parse_token(code, today) for code in calendar.kind_codes)
    periods = sorted((p for p in found if p is not None), key=lambda p: p.deadline)
    kinds = {
        lang: ", ".join(f"{p.kind} ({p.title(lang)})" for p in periods) for lang in ("vi", "en")
    }
    params = {
        "token": shorten(raw),
        "kinds": Localized(vi=kinds["vi"], en=kinds["en"]),
        "example": periods[0].token if periods else "",
    }
    return Problem("unknown_period", params)


def _token_for(period: Period, calendar: PeriodCalendar, today: date) -> str:
    """The shortest token that means `period` today: the bare kind when it is enough."""
    return period.kind if calendar.parse_token(period.kind, today) == period else period.token


def example_line(calendar: PeriodCalendar, today: date) -> str:
    """An example report line that would be accepted today (for `format_problems`)."""
    period = calendar.default_for(today)
    return REPORT_EXAMPLE.replace("6T", _token_for(period, calendar, today), 1)


def format_problems(
    problems: Sequence[Problem], *, example: str = REPORT_EXAMPLE, limit: int = 10
) -> str:
    """A bulleted list of the problems in the current language, ending with an example line."""
    lines = [_("The report was not saved. Please correct:")]
    lines += [f"• {problem.message()}" for problem in problems[:limit]]
    if len(problems) > limit:
        extra = len(problems) - limit
        lines.append(
            ngettext("…and {count} more problem.", "…and {count} more problems.", extra).format(
                count=extra
            )
        )
    lines.append(_("Example: {example}").format(example=example))
    return "\n".join(lines)
