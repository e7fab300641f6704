"""Report periods: ids, filing windows around both deadlines, tokens, and periods.yaml checks."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.i18n import use_language
from bot.reporting.periods import (
    DEFAULT_PERIODS_PATH,
    Period,
    PeriodCalendar,
    ReminderSettings,
    load_calendar,
)

CAL = load_calendar()


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_shipped_calendar_kinds_and_settings() -> None:
    assert CAL.kind_codes == ("6T", "N")
    assert CAL.late_days == 30
    assert CAL.reminders == ReminderSettings(
        before_days=(7, 3, 1, 0), after_days=(1, 3, 7), time=time(8, 0)
    )


def test_period_ids_and_dates_are_the_contract() -> None:
    six = CAL.period_of("6T", 2026)
    assert (six.id, six.kind, six.year) == ("2026-6T", "6T", 2026)
    assert (six.opens, six.deadline, six.late_until) == (
        d("2025-12-16"),
        d("2026-06-15"),
        d("2026-07-15"),
    )
    annual = CAL.period_of("n", 2026)
    assert annual.id == "2026-N"
    assert (annual.opens, annual.deadline, annual.late_until) == (
        d("2026-06-16"),
        d("2026-12-15"),
        d("2027-01-14"),
    )


def test_get_by_id() -> None:
    assert CAL.get("2026-6T") == CAL.period_of("6T", 2026)
    assert CAL.get("2026-n") == CAL.period_of("N", 2026)
    for bad in ("6T2026", "2026-X", "2026", "", "26-6T", "0999-N"):
        assert CAL.get(bad) is None


def test_periods_compare_by_id_and_dates_and_hash() -> None:
    assert CAL.period_of("6T", 2026) == CAL.get("2026-6t")
    assert len({CAL.period_of("6T", 2026), CAL.get("2026-6T")}) == 1
    with pytest.raises(ValueError):
        CAL.period_of("Q", 2026)
    with pytest.raises(ValueError):
        CAL.period_of("N", 99999)


@pytest.mark.parametrize(
    ("period_id", "day", "status"),
    [
        ("2026-6T", "2025-12-15", "not_open"),
        ("2026-6T", "2025-12-16", "on_time"),
        ("2026-6T", "2026-06-15", "on_time"),
        ("2026-6T", "2026-06-16", "late"),
        ("2026-6T", "2026-07-15", "late"),
        ("2026-6T", "2026-07-16", "locked"),
        ("2026-N", "2026-06-15", "not_open"),
        ("2026-N", "2026-06-16", "on_time"),
        ("2026-N", "2026-12-15", "on_time"),
        ("2026-N", "2026-12-16", "late"),
        ("2026-N", "2027-01-14", "late"),
        ("2026-N", "2027-01-15", "locked"),
        ("2027-6T", "2026-12-15", "not_open"),
        ("2027-6T", "2026-12-16", "on_time"),
    ],
)
def test_status_around_deadlines(period_id: str, day: str, status: str) -> None:
    period = CAL.get(period_id)
    assert period is not None
    assert CAL.status(period, d(day)) == status


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-01-01", "2026-6T"),
        ("2026-06-15", "2026-6T"),
        ("2026-06-16", "2026-N"),
        ("2026-06-20", "2026-N"),
        ("2026-11-28", "2026-N"),
        ("2026-12-15", "2026-N"),
        ("2026-12-16", "2027-6T"),
        ("2026-12-31", "2027-6T"),
    ],
)
def test_default_for(day: str, expected: str) -> None:
    assert CAL.default_for(d(day)).id == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-05-01", ["2026-6T"]),
        ("2026-06-20", ["2026-6T", "2026-N"]),
        ("2026-07-15", ["2026-6T", "2026-N"]),
        ("2026-07-16", ["2026-N"]),
        ("2026-11-28", ["2026-N"]),
        ("2026-12-20", ["2026-N", "2027-6T"]),
        ("2027-01-15", ["2027-6T"]),
    ],
)
def test_open_periods(day: str, expected: list[str]) -> None:
    assert [p.id for p in CAL.open_periods(d(day))] == expected


@pytest.mark.parametrize(
    ("token", "day", "expected"),
    [
        ("6T", "2026-05-20", "2026-6T"),
        ("6t", "2026-05-20", "2026-6T"),
        ("N", "2026-05-20", "2026-N"),  # not open yet: the next one of that kind
        ("n", "2026-11-28", "2026-N"),
        # Filing late: a bare kind means the still-open period, not next year's.
        ("6T", "2026-06-20", "2026-6T"),
        ("N", "2026-12-20", "2026-N"),
        # Once locked, the next one of that kind.
        ("6T", "2026-07-16", "2027-6T"),
        ("6T", "2026-11-28", "2027-6T"),
        ("N", "2027-01-15", "2027-N"),
        ("6T2026", "2026-11-28", "2026-6T"),
        ("6t2026", "2026-11-28", "2026-6T"),
        ("N2026", "2026-05-20", "2026-N"),
        ("n2025", "2026-05-20", "2025-N"),
        ("2026-6T", "2026-11-28", "2026-6T"),
        ("2026-6t", "2026-11-28", "2026-6T"),
        ("2026-N", "2026-11-28", "2026-N"),
        ("2026-n", "2026-11-28", "2026-N"),
        ("6T-2026", "2026-11-28", "2026-6T"),
        ("6T/2026", "2026-11-28", "2026-6T"),
        ("N 2026", "2026-11-28", "2026-N"),
        (" 6T2027 ", "2026-11-28", "2027-6T"),
        ("６Ｔ２０２６", "2026-11-28", "2026-6T"),  # full-width keyboard
    ],
)
def test_parse_token(token: str, day: str, expected: str) -> None:
    period = CAL.parse_token(token, d(day))
    assert period is not None
    assert period.id == expected


@pytest.mark.parametrize(
    "token", ["", "7T", "T6", "6T26", "2026", "6T20267", "Q1", "6T0999", "NN", "6 T", "bc"]
)
def test_parse_token_refuses(token: str) -> None:
    assert CAL.parse_token(token, d("2026-11-28")) is None


def test_labels_in_both_languages() -> None:
    six, annual = CAL.period_of("6T", 2026), CAL.period_of("N", 2026)
    assert six.label("vi") == "Báo cáo 6 tháng năm 2026 (hạn 15/06/2026)"
    assert six.label("en") == "Six-month report 2026 (due 15/06/2026)"
    assert annual.label("vi") == "Báo cáo năm 2026 (hạn 15/12/2026)"
    assert annual.label("en") == "Annual report 2026 (due 15/12/2026)"
    assert six.title("vi") == "Báo cáo 6 tháng năm 2026"
    assert six.token == "6T2026"
    with use_language("en"):
        assert six.label() == "Six-month report 2026 (due 15/06/2026)"
    with use_language("vi"):
        assert six.label() == "Báo cáo 6 tháng năm 2026 (hạn 15/06/2026)"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "periods.yaml"
    path.write_text(text, encoding="utf-8")
    return path


KINDS = """
kinds:
  - {kind: 6T, deadline: "30/06", name: {vi: "Báo cáo 6 tháng năm {year}", en: "Six-month {year}"}}
  - {kind: "N", deadline: "20/12", name: {vi: "Báo cáo năm {year}", en: "Annual {year}"}}
"""


def test_department_can_change_the_days(tmp_path: Path) -> None:
    cal = load_calendar(write(tmp_path, KINDS + "late_days: 10\n"))
    six = cal.period_of("6T", 2026)
    assert (six.id, six.opens, six.deadline, six.late_until) == (
        "2026-6T",
        d("2025-12-21"),
        d("2026-06-30"),
        d("2026-07-10"),
    )
    assert cal.period_of("N", 2026).opens == d("2026-07-01")
    assert cal.status(six, d("2026-07-11")) == "locked"
    # Reminder defaults fit the shorter late window.
    assert cal.reminders.after_days == (1, 3, 7)


def test_late_days_zero_locks_the_day_after(tmp_path: Path) -> None:
    cal = load_calendar(write(tmp_path, KINDS + "late_days: 0\n"))
    six = cal.period_of("6T", 2026)
    assert cal.status(six, d("2026-06-30")) == "on_time"
    assert cal.status(six, d("2026-07-01")) == "locked"
    assert cal.reminders.after_days == ()


def test_reminders_loaded_and_sorted(tmp_path: Path) -> None:
    text = KINDS + 'reminders: {before_days: [0, 7, 1], after_days: [7, 1], time: "17:30"}\n'
    cal = load_calendar(write(tmp_path, text))
    assert cal.reminders == ReminderSettings((7, 1, 0), (1, 7), time(17, 30))


def test_period_names_without_year_placeholder(tmp_path: Path) -> None:
    text = 'kinds:\n  - {kind: "N", deadline: "15/12", name: {vi: "Báo cáo", en: "Report"}}\n'
    period = load_calendar(write(tmp_path, text)).period_of("N", 2026)
    assert period.label("en") == "Report 2026 (due 15/12/2026)"
    # A single kind opens the day after its own deadline a year before.
    assert period.opens == d("2025-12-16")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("kinds: []\n", ["periods.yaml", "'kinds'"]),
        ("- a\n", ["periods.yaml", "mapping"]),
        (
            'kinds:\n  - {kind: 6t, deadline: "15/06", name: {vi: a, en: b}}\n',
            ["entry #1", "'kind'"],
        ),
        (
            'kinds:\n  - {kind: 6T, deadline: "31/02", name: {vi: a, en: b}}\n',
            ["entry #1 (6T)", "'deadline'"],
        ),
        (
            'kinds:\n  - {kind: 6T, deadline: "29/02", name: {vi: a, en: b}}\n',
            ["entry #1 (6T)", "'deadline'", "every year"],
        ),
        (
            "kinds:\n  - {kind: 6T, deadline: 15/06, name: {vi: a}}\n",
            ["entry #1 (6T)", "'name.en'"],
        ),
        (
            'kinds:\n  - {kind: 6T, deadline: "15/06", name: {vi: a, en: b}}\n'
            '  - {kind: 6T, deadline: "15/12", name: {vi: a, en: b}}\n',
            ["entry #2 (6T)", "duplicate"],
        ),
        (
            'kinds:\n  - {kind: 6T, deadline: "15/06", name: {vi: a, en: b}}\n'
            '  - {kind: "N", deadline: "15/06", name: {vi: a, en: b}}\n',
            ["entry #2 (N)", "same deadline"],
        ),
        (
            'kinds:\n  - {kind: 6T, deadline: "15/06", name: {vi: a, en: b}, due: 1}\n',
            ["entry #1 (6T)", "'due'", "unknown field"],
        ),
        (KINDS + "late_days: -1\n", ["'late_days'"]),
        (KINDS + "late_days: yes\n", ["'late_days'"]),
        (KINDS + 'reminders: {time: "25:00"}\n', ["entry reminders", "'time'"]),
        (KINDS + "reminders: {time: 8:00}\n", ["entry reminders", "'time'"]),
        (KINDS + "reminders: {after_days: [40]}\n", ["entry reminders", "'after_days'"]),
        (KINDS + "reminders: {before_days: [1, 1]}\n", ["'before_days'", "twice"]),
        (KINDS + "reminders: {before: [1]}\n", ["'before'", "unknown field"]),
        (KINDS + "extra: 1\n", ["'extra'", "unknown field"]),
    ],
)
def test_invalid_periods_files_name_entry_and_field(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    with pytest.raises(ContentError) as caught:
        load_calendar(write(tmp_path, text))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="not found"):
        load_calendar(tmp_path / "nope.yaml")


def test_shipped_file_is_the_default_path() -> None:
    assert DEFAULT_PERIODS_PATH.name == "periods.yaml"
    assert isinstance(CAL, PeriodCalendar)
    assert isinstance(CAL.default_for(d("2026-11-28")), Period)
