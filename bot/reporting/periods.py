"""Report periods (content/periods.yaml): ids, deadlines, filing windows and period tokens.

A period of kind K in year Y has the id "Y-K" [contract] (2026-6T, 2026-N). It opens the day
after the previous period's deadline, is on time until its deadline (inclusive, local date),
late for `late_days` days after it, and locked after that. All dates are local calendar
dates: the caller turns its clock's aware datetime into a date in the configured time zone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from bot.content import FileLoader, Localized, read_yaml
from bot.i18n import _, current_language, use_language
from bot.settings import DEFAULT_CONTENT_DIR
from bot.text import fold

__all__ = [
    "DEFAULT_PERIODS_PATH",
    "Period",
    "PeriodCalendar",
    "PeriodKind",
    "ReminderSettings",
    "Status",
    "load_calendar",
    "token_pattern",
    "zone_label",
]

DEFAULT_PERIODS_PATH = DEFAULT_CONTENT_DIR / "periods.yaml"

Status = Literal["not_open", "on_time", "late", "locked"]

# Years a period can have. The bounds keep date arithmetic (opens a year before, late_until
# after the deadline) inside what `datetime.date` can hold.
MIN_YEAR = 1901
MAX_YEAR = 9998
_MAX_LATE_DAYS = 366


def token_pattern(kind_codes: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    """The regex of period tokens for these kinds, matched against folded lower-case text.

    Accepted: "6t", "6t2026", "6t-2026", "6t/2026", "6t 2026", "2026-6t", "2026/n", "2026n".
    """
    alternatives = "|".join(re.escape(code.lower()) for code in sorted(kind_codes, key=len)[::-1])
    return re.compile(
        rf"(?:(?P<kind>{alternatives})(?:\s*[-/]?\s*(?P<year>[0-9]{{4}}))?"
        rf"|(?P<year2>[0-9]{{4}})\s*[-/]?\s*(?P<kind2>{alternatives}))"
    )


def _fold_token(token: str) -> str:
    # NFKC first: some phone keyboards send full-width digits and letters.
    return fold(unicodedata.normalize("NFKC", token)).strip()


def _dmy(day: date) -> str:
    # DD/MM/YYYY in both languages: it is how Vietnamese documents write dates, and English
    # users here read official Vietnamese forms.
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


@dataclass(frozen=True, slots=True)
class PeriodKind:
    """A kind of report (6T, N) and its deadline day in the year."""

    code: str
    month: int
    day: int
    name: Localized


@dataclass(frozen=True)
class Period:
    """One report period, e.g. 2026-6T (due 2026-06-15)."""

    id: str
    kind: str
    year: int
    deadline: date
    opens: date
    late_until: date
    # Display names only: two periods with the same id are the same period.
    name: Localized = field(default=Localized("", ""), compare=False, repr=False)

    @property
    def token(self) -> str:
        """The compact form an officer types, e.g. `6T2026`."""
        return f"{self.kind}{self.year}"

    def title(self, lang: str | None = None) -> str:
        """The name with the year: 'Báo cáo 6 tháng năm 2026' / 'Six-month report 2026'."""
        lang = lang or current_language()
        name = self.name.get(lang) or self.kind
        # The name says where the year goes: "Báo cáo năm {year}" must not become
        # "Báo cáo năm năm 2026", so the name, not the code, decides the word order.
        if "{year}" in name:
            return name.replace("{year}", str(self.year))
        return f"{name} {self.year}"

    def label(self, lang: str | None = None) -> str:
        """'Báo cáo 6 tháng năm 2026 (hạn 15/06/2026)' / 'Six-month report 2026 (due ...)'."""
        lang = lang or current_language()
        with use_language(lang):
            return _("{name} (due {deadline})").format(
                name=self.title(lang), deadline=_dmy(self.deadline)
            )

    def label_localized(self) -> Localized:
        """The label in every language, for messages rendered later."""
        return Localized(vi=self.label("vi"), en=self.label("en"))


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """When to remind units that have not reported (read by the reminder scheduler)."""

    before_days: tuple[int, ...] = (7, 3, 1, 0)
    after_days: tuple[int, ...] = (1, 3, 7)
    time: time = time(8, 0)


class PeriodCalendar:
    """The period kinds with their deadlines, and every date rule about periods."""

    def __init__(
        self,
        kinds: list[PeriodKind] | tuple[PeriodKind, ...],
        late_days: int = 30,
        reminders: ReminderSettings | None = None,
    ) -> None:
        if not kinds:
            raise ValueError("a calendar needs at least one period kind")
        # Sorted by deadline in the year: a period opens after the one before it in this order.
        self.kinds: tuple[PeriodKind, ...] = tuple(sorted(kinds, key=lambda k: (k.month, k.day)))
        self._index = {k.code: i for i, k in enumerate(self.kinds)}
        if len(self._index) != len(self.kinds):
            raise ValueError("period kinds must be unique")
        if len({(k.month, k.day) for k in self.kinds}) != len(self.kinds):
            raise ValueError("period deadlines must be different days")
        if not 0 <= late_days <= _MAX_LATE_DAYS:
            raise ValueError(f"late_days must be 0..{_MAX_LATE_DAYS}")
        self.late_days = late_days
        self.reminders = reminders or ReminderSettings()
        self._token_re = token_pattern(self.kind_codes)

    @property
    def kind_codes(self) -> tuple[str, ...]:
        """Kind codes in deadline order, e.g. ('6T', 'N')."""
        return tuple(k.code for k in self.kinds)

    def kind(self, code: str) -> PeriodKind | None:
        """The kind with `code` (any case), if any."""
        index = self._index.get(code.strip().upper())
        return None if index is None else self.kinds[index]

    # --- building periods --------------------------------------------------------------------

    def period_of(self, kind: str, year: int) -> Period:
        """The period of `kind` in `year`; ValueError for an unknown kind or year."""
        index = self._index.get(kind.strip().upper())
        if index is None:
            raise ValueError(f"unknown period kind {kind!r}")
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year {year} outside {MIN_YEAR}..{MAX_YEAR}")
        spec = self.kinds[index]
        deadline = date(year, spec.month, spec.day)
        if index > 0:
            previous = self.kinds[index - 1]
            previous_deadline = date(year, previous.month, previous.day)
        else:
            previous = self.kinds[-1]
            previous_deadline = date(year - 1, previous.month, previous.day)
        return Period(
            id=f"{year}-{spec.code}",
            kind=spec.code,
            year=year,
            deadline=deadline,
            opens=previous_deadline + timedelta(days=1),
            late_until=deadline + timedelta(days=self.late_days),
            name=spec.name,
        )

    def get(self, period_id: str) -> Period | None:
        """The period with id `YYYY-KIND` (any case), or None."""
        match = re.fullmatch(r"\s*([0-9]{4})-([0-9A-Za-z]+)\s*", period_id)
        if match is None:
            return None
        try:
            return self.period_of(match.group(2), int(match.group(1)))
        except ValueError:
            return None

    def _around(self, today: date) -> list[Period]:
        # Every period whose window can contain `today`: a window starts at most a year before
        # its deadline and ends at most _MAX_LATE_DAYS after it.
        years = range(max(MIN_YEAR, today.year - 1), min(MAX_YEAR, today.year + 1) + 1)
        periods = [self.period_of(k.code, y) for y in years for k in self.kinds]
        return sorted(periods, key=lambda p: p.deadline)

    # --- questions about a day ---------------------------------------------------------------

    def status(self, period: Period, day: date) -> Status:
        """Whether `period` is not open yet, on time, late or locked on `day`."""
        if day < period.opens:
            return "not_open"
        if day <= period.deadline:
            return "on_time"
        if day <= period.late_until:
            return "late"
        return "locked"

    def default_for(self, today: date) -> Period:
        """The period with the nearest deadline not yet passed (deadline >= today)."""
        return next(p for p in self._around(today) if p.deadline >= today)

    def open_periods(self, today: date) -> list[Period]:
        """Periods accepting reports on `today` (on time or late), earliest deadline first."""
        return [p for p in self._around(today) if p.opens <= today <= p.late_until]

    def parse_token(self, token: str, today: date) -> Period | None:
        """Read `6T`, `N`, `6T2026`, `N2026`, `2026-6T`, `2026-N` (any case); None if not one.

        A bare kind means the open period of that kind (on time or late), the earliest if
        several are open, else the next one to open: someone filing late on 2026-06-20 with
        `6T` means 2026-6T, not 2027-6T.
        """
        match = self._token_re.fullmatch(_fold_token(token))
        if match is None:
            return None
        kind = (match.group("kind") or match.group("kind2")).upper()
        year = match.group("year") or match.group("year2")
        if year is not None:
            try:
                return self.period_of(kind, int(year))
            except ValueError:
                return None
        open_now = [p for p in self.open_periods(today) if p.kind == kind]
        if open_now:
            return open_now[0]
        return next(p for p in self._around(today) if p.kind == kind and p.opens > today)

    def latest(self, token: str, today: date) -> Period | None:
        """Like `parse_token`, but a bare kind never means a period that has not opened.

        For looking back (status, exports): the open period of the kind, else the one of that
        kind that closed last.
        """
        period = self.parse_token(token, today)
        if period is None or period.opens <= today or self.kind(_fold_token(token)) is None:
            return period  # open, or a year written out: what was asked
        # A bare kind whose next period opens later: the previous one of that kind.
        before = [p for p in self._around(today) if p.kind == period.kind and p.opens <= today]
        return before[-1] if before else period

    def is_token(self, token: str) -> bool:
        """Whether `token` has the shape of a period token (ignoring whether the year exists)."""
        return self._token_re.fullmatch(_fold_token(token)) is not None

    @classmethod
    def from_data(cls, data: Any, path: Path) -> PeriodCalendar:
        """Validate parsed YAML; errors name the file, the entry and the field."""
        return _Loader(path).load(data)


def load_calendar(path: Path = DEFAULT_PERIODS_PATH) -> PeriodCalendar:
    """Read and validate `periods.yaml`."""
    return PeriodCalendar.from_data(read_yaml(path), path)


# --- validation ----------------------------------------------------------------------------

_KIND_RE = re.compile(r"(?=[0-9A-Z]*[A-Z])[0-9A-Z]{1,4}")
_DEADLINE_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})")
_TIME_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class _Loader(FileLoader):
    """Validates periods.yaml; error messages follow bot.content's wording."""

    def days(self, value: Any, field_name: str, low: int, high: int) -> tuple[int, ...]:
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
        ):
            raise self.error(
                "reminders", field_name, f"must be a list of whole days {low}..{high}"
            )
        if len(set(value)) != len(value):
            raise self.error("reminders", field_name, "has a day twice")
        return tuple(value)

    def load(self, data: Any) -> PeriodCalendar:
        top = self.mapping(data, "", "")
        for key in top:
            if key not in {"kinds", "late_days", "reminders"}:
                raise self.error("", str(key), "unknown field")
        late_days = top.get("late_days", 30)
        if isinstance(late_days, bool) or not isinstance(late_days, int):
            raise self.error("", "late_days", "must be a whole number of days")
        if not 0 <= late_days <= _MAX_LATE_DAYS:
            raise self.error("", "late_days", f"must be 0..{_MAX_LATE_DAYS}")
        raw_kinds = top.get("kinds")
        if not isinstance(raw_kinds, list) or not raw_kinds:
            raise self.error("", "kinds", "must be a non-empty list")
        kinds: list[PeriodKind] = []
        for index, raw in enumerate(raw_kinds, start=1):
            kinds.append(self.kind(raw, f"#{index}", kinds))
        reminders = self.reminders(top.get("reminders"), late_days)
        return PeriodCalendar(kinds, late_days, reminders)

    def kind(self, raw: Any, entry: str, previous: list[PeriodKind]) -> PeriodKind:
        item = self.mapping(raw, entry, "")
        code = item.get("kind")
        if not isinstance(code, str) or not _KIND_RE.fullmatch(code):
            raise self.error(
                entry, "kind", "must be 1–4 upper-case letters or digits with a letter (quoted)"
            )
        entry = f"{entry} ({code})"
        for key in item:
            if key not in {"kind", "deadline", "name"}:
                raise self.error(entry, str(key), "unknown field")
        if any(k.code == code for k in previous):
            raise self.error(entry, "kind", "duplicate kind")
        deadline = item.get("deadline")
        match = _DEADLINE_RE.fullmatch(deadline) if isinstance(deadline, str) else None
        if match is None:
            raise self.error(entry, "deadline", 'must be "DD/MM" (quoted)')
        day, month = int(match.group(1)), int(match.group(2))
        try:
            date(2001, month, day)  # a common year: 29/02 would vanish three years in four
        except ValueError:
            raise self.error(entry, "deadline", f"{deadline} is not a day of every year") from None
        if any((k.month, k.day) == (month, day) for k in previous):
            raise self.error(entry, "deadline", "another kind has the same deadline")
        name = self.mapping(item.get("name"), entry, "name")
        texts = {}
        for lang in ("vi", "en"):
            text = name.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise self.error(entry, f"name.{lang}", "must be a non-empty text")
            texts[lang] = text.strip()
        return PeriodKind(code, month, day, Localized(vi=texts["vi"], en=texts["en"]))

    def reminders(self, raw: Any, late_days: int) -> ReminderSettings:
        data = self.mapping({} if raw is None else raw, "", "reminders")
        for key in data:
            if key not in {"before_days", "after_days", "time"}:
                raise self.error("reminders", str(key), "unknown field")
        defaults = ReminderSettings()
        before = defaults.before_days
        if "before_days" in data:
            before = self.days(data["before_days"], "before_days", 0, _MAX_LATE_DAYS)
        # A reminder after the late window would ask for a report that can no longer be sent.
        after = tuple(day for day in defaults.after_days if day <= late_days)
        if "after_days" in data:
            after = self.days(data["after_days"], "after_days", 1, late_days)
        at = defaults.time
        if "time" in data:
            value = data["time"]
            match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                raise self.error("reminders", "time", 'must be "HH:MM" (quoted, 24-hour)')
            at = time(int(match.group(1)), int(match.group(2)))
        return ReminderSettings(
            before_days=tuple(sorted(before, reverse=True)),
            after_days=tuple(sorted(after)),
            time=at,
        )


def zone_label(at: datetime) -> str:
    """The time zone of an aware time as 'UTC+7' (or 'UTC+5:30'); '' for a naive time."""
    offset = at.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
