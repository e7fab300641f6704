"""Reporting rate and totals of one period, and how they read in a chat (pure, no I/O).

Who is expected: the reporting units (xã, phường, thị trấn) of units.yaml. On time or late is
decided by a unit's FIRST version: a unit that filed on time and corrected its figures after
the deadline filed on time. Figures come from the latest version. Units are grouped under
their parent when that parent is not the top of the hierarchy (the province): Lạng Sơn has no
district level since 1/7/2025, other provinces and older data do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from babel.numbers import format_decimal

from bot.content import Unit
from bot.i18n import _, ngettext
from bot.reporting.indicators import IndicatorSet
from bot.reporting.periods import Period, Status
from bot.storage.reports import Report

__all__ = [
    "MAX_CHAT_CHARS",
    "Group",
    "GroupTotals",
    "PeriodStatus",
    "PeriodTotals",
    "Totals",
    "UnitState",
    "UnitStatus",
    "format_status",
    "format_totals",
    "group_parent",
    "period_status",
    "totals",
]

UnitState = Literal["on_time", "late", "missing"]

#: Room for a chat reply: Telegram refuses messages over 4096 characters, and the adapter does
#: not split them; the rest of a long list is in the Excel file (/xuat).
MAX_CHAT_CHARS = 3500
_MAX_UNEXPECTED = 10


@dataclass(frozen=True, slots=True)
class UnitStatus:
    """One expected unit: its first and latest versions for the period, if it filed."""

    unit: Unit
    group: Unit | None
    first: Report | None
    current: Report | None

    @property
    def state(self) -> UnitState:
        """On time or late by the first version; missing when nothing was filed."""
        first = self.first or self.current
        if first is None:
            return "missing"
        return "late" if first.late else "on_time"


@dataclass(frozen=True, slots=True)
class Group:
    """The expected units under one parent (None: directly under the province)."""

    parent: Unit | None
    units: tuple[UnitStatus, ...]

    @property
    def missing(self) -> tuple[UnitStatus, ...]:
        """The units of this group that have not filed."""
        return tuple(u for u in self.units if u.state == "missing")

    @property
    def reported(self) -> tuple[UnitStatus, ...]:
        """The units of this group that have filed."""
        return tuple(u for u in self.units if u.state != "missing")


@dataclass(frozen=True, slots=True)
class PeriodStatus:
    """Who was expected to report for a period, who did (on time or late) and who did not."""

    period: Period
    expected: tuple[UnitStatus, ...]
    reported: tuple[UnitStatus, ...]
    on_time: tuple[UnitStatus, ...]
    late: tuple[UnitStatus, ...]
    missing: tuple[UnitStatus, ...]
    groups: tuple[Group, ...]
    #: Codes of units that filed but are not expected (no longer in units.yaml, say).
    unexpected: tuple[str, ...] = ()
    #: Officer address -> the name given at registration, so a file names a person.
    officer_names: dict[str, str] = field(default_factory=dict, compare=False)

    def officer_label(self, address: str) -> str:
        """'Name (telegram:123)' when the officer's name is known, else the address."""
        name = self.officer_names.get(address)
        return f"{name} ({address})" if name else address

    @property
    def rate_percent(self) -> int:
        """Reported / expected in whole percent, rounded down so 100 means everyone."""
        if not self.expected:
            return 0
        return len(self.reported) * 100 // len(self.expected)

    @property
    def grouped(self) -> bool:
        """Whether any unit sits under a parent other than the province."""
        return any(g.parent is not None for g in self.groups)


def group_parent(unit: Unit, units: Mapping[str, Unit]) -> Unit | None:
    """The parent a unit is listed under, or None when it is directly under the province.

    The top of the hierarchy (a unit without a parent: the province, or a city governed
    directly by the centre) adds nothing as a heading, so it is not a group.
    """
    parent = units.get(unit.parent) if unit.parent else None
    if parent is None or parent.parent is None or parent.kind == "tinh":
        return None
    return parent


def period_status(
    period: Period,
    units: Mapping[str, Unit],
    current: Mapping[str, Report],
    first: Mapping[str, Report],
    expected: Iterable[Unit] | None = None,
) -> PeriodStatus:
    """Build the status of `period` from the latest and first versions of every report.

    `units` is every unit by code (for the parents); `expected` defaults to the reporting
    units among them, in file order.
    """
    expected_units = [u for u in units.values() if u.reports] if expected is None else expected
    rows: list[UnitStatus] = []
    by_parent: dict[str | None, list[UnitStatus]] = {None: []}
    for unit in expected_units:
        parent = group_parent(unit, units)
        row = UnitStatus(unit, parent, first.get(unit.code), current.get(unit.code))
        rows.append(row)
        by_parent.setdefault(parent.code if parent else None, []).append(row)
    expected_codes = {row.unit.code for row in rows}
    groups = tuple(
        Group(units[code] if code is not None else None, tuple(members))
        for code, members in by_parent.items()
        if members
    )
    return PeriodStatus(
        period=period,
        expected=tuple(rows),
        reported=tuple(r for r in rows if r.state != "missing"),
        on_time=tuple(r for r in rows if r.state == "on_time"),
        late=tuple(r for r in rows if r.state == "late"),
        missing=tuple(r for r in rows if r.state == "missing"),
        groups=groups,
        unexpected=tuple(sorted(set(current) - expected_codes)),
    )


# --- totals ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums per indicator over some units' latest versions."""

    values: dict[str, int]
    #: How many units gave each indicator (a report may leave some out).
    filed: dict[str, int]
    reported: int
    expected: int


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """The totals of the units under one parent."""

    parent: Unit
    totals: Totals


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    """The totals of a period, overall and per parent other than the province."""

    period: Period
    codes: tuple[str, ...]
    overall: Totals
    groups: tuple[GroupTotals, ...]


def _sum(rows: Sequence[UnitStatus], codes: Sequence[str]) -> Totals:
    values = dict.fromkeys(codes, 0)
    filed = dict.fromkeys(codes, 0)
    reported = 0
    for row in rows:
        if row.current is None:
            continue
        reported += 1
        for code, value in row.current.values.items():
            # A code no longer in indicators.yaml is ignored: its column is gone too.
            if code in values:
                values[code] += value
                filed[code] += 1
    return Totals(values, filed, reported, len(rows))


def totals(status: PeriodStatus, codes: Sequence[str]) -> PeriodTotals:
    """Sum the latest version of every expected unit, per indicator code (in `codes` order)."""
    groups = tuple(
        GroupTotals(group.parent, _sum(group.units, codes))
        for group in status.groups
        if group.parent is not None
    )
    return PeriodTotals(status.period, tuple(codes), _sum(status.expected, codes), groups)


# --- chat text ---------------------------------------------------------------------------------


def number(value: int, lang: str) -> str:
    """'1.234' in Vietnamese, '1,234' in English."""
    return str(format_decimal(value, locale=lang))


def _dmy(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def window_line(period: Period, window: Status, today: date) -> str:
    """Where the period's filing window stands today."""
    if window == "not_open":
        return _("Not open yet: units can file from {opens}.").format(opens=_dmy(period.opens))
    if window == "on_time":
        days = (period.deadline - today).days
        return ngettext(
            "Open: {days} day left until the deadline.",
            "Open: {days} days left until the deadline.",
            days,
        ).format(days=days)
    if window == "late":
        return _("The deadline has passed: late reports are accepted until {until}.").format(
            until=_dmy(period.late_until)
        )
    return _("Closed since {until}: units can file only if an administrator unlocks it.").format(
        until=_dmy(period.late_until + timedelta(days=1))
    )


def _fit(head: list[str], items: list[str], period: Period, max_chars: int) -> str:
    """`head` then as many `items` as fit in `max_chars`, then how many were left out."""
    used = sum(len(line) + 1 for line in head)
    kept: list[str] = []
    # Keep room for the closing line about what was left out.
    budget = max_chars - 120
    for index, item in enumerate(items):
        if used + len(item) + 1 > budget:
            rest = len(items) - index
            kept.append(
                ngettext(
                    "…and {count} more line: /xuat {period} gives the full Excel file.",
                    "…and {count} more lines: /xuat {period} gives the full Excel file.",
                    rest,
                ).format(count=rest, period=period.id)
            )
            break
        kept.append(item)
        used += len(item) + 1
    return "\n".join(head + kept)


def _names(rows: Iterable[UnitStatus], lang: str) -> str:
    return ", ".join(row.unit.full_name(lang) for row in rows)


def format_status(
    status: PeriodStatus,
    *,
    window: Status,
    today: date,
    lang: str,
    max_chars: int = MAX_CHAT_CHARS,
) -> str:
    """The reporting rate for a chat: the period first, the counts, then who is missing."""
    expected = len(status.expected)
    head = [
        _("Reporting status — {period}").format(period=status.period.label(lang)),
        window_line(status.period, window, today),
        _("Reported: {reported} of {expected} units ({rate}%)").format(
            reported=number(len(status.reported), lang),
            expected=number(expected, lang),
            rate=status.rate_percent,
        ),
        _("• on time: {count}").format(count=number(len(status.on_time), lang)),
        _("• late: {count}").format(count=number(len(status.late), lang)),
    ]
    if status.unexpected:
        # Only a few: after a reorganisation hundreds of old codes may still have reports.
        codes = ", ".join(status.unexpected[:_MAX_UNEXPECTED])
        if len(status.unexpected) > _MAX_UNEXPECTED:
            codes += ", …"
        head.append(
            _("Also filed by units no longer expected to report: {codes}").format(codes=codes)
        )
    if not expected:
        head.append(_("No unit in units.yaml files reports."))
        return "\n".join(head)
    if not status.missing:
        head.append(_("Every unit has reported."))
        return "\n".join(head)
    head.append(_("Not reported yet: {count}").format(count=number(len(status.missing), lang)))
    items: list[str] = []
    for group in status.groups:
        missing = group.missing
        if not missing:
            continue
        names = _names(missing, lang)
        if group.parent is None and not status.grouped:
            items.append(names)
            continue
        title = (
            group.parent.full_name(lang)
            if group.parent is not None
            else _("Directly under the province")
        )
        items.append(
            _("{group} ({missing} of {expected}): {names}").format(
                group=title,
                missing=number(len(missing), lang),
                expected=number(len(group.units), lang),
                names=names,
            )
        )
    return _fit(head, items, status.period, max_chars)


def _figures(values: Totals, codes: Sequence[str], lang: str) -> str:
    return " · ".join(f"{code} {number(values.values[code], lang)}" for code in codes)


def format_totals(
    summed: PeriodTotals,
    indicators: IndicatorSet,
    *,
    lang: str,
    max_chars: int = MAX_CHAT_CHARS,
) -> str:
    """The totals for a chat: the period first, one line per indicator, then per parent."""
    overall = summed.overall
    head = [
        _("Totals — {period}").format(period=summed.period.label(lang)),
        _("Latest figures of the {reported} of {expected} units that reported.").format(
            reported=number(overall.reported, lang), expected=number(overall.expected, lang)
        ),
    ]
    for code in summed.codes:
        indicator = indicators.get(code)
        label = indicator.label.get(lang) if indicator else code
        value = number(overall.values[code], lang)
        filed = overall.filed[code]
        if not filed:
            value = _("not filed")
        elif filed < overall.reported:
            # A unit may leave an indicator out: say how many the sum covers.
            value = ngettext(
                "{value} (from {count} unit)", "{value} (from {count} units)", filed
            ).format(value=value, count=number(filed, lang))
        head.append(f"• {label} ({code}): {value}")
    if not summed.groups:
        return "\n".join(head)
    head.append("")
    head.append(_("By unit:"))
    items = [
        _("{group} ({reported} of {expected} reported): {figures}").format(
            group=group.parent.full_name(lang),
            reported=number(group.totals.reported, lang),
            expected=number(group.totals.expected, lang),
            figures=_figures(group.totals, summed.codes, lang),
        )
        for group in summed.groups
    ]
    return _fit(head, items, summed.period, max_chars)
