"""Reporting rate and totals of a period: on time by the first version, district grouping."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.content import Content, Unit
from bot.i18n import use_language
from bot.reporting.indicators import IndicatorSet, load_indicators
from bot.reporting.periods import PeriodCalendar, load_calendar
from bot.reporting.status import (
    format_status,
    format_totals,
    group_parent,
    period_status,
    totals,
)
from bot.storage.reports import Report

CAL: PeriodCalendar = load_calendar()
IND: IndicatorSet = load_indicators()
PERIOD = CAL.period_of("N", 2026)


def hierarchy() -> dict[str, Unit]:
    """A province with two districts and a commune directly under the province."""
    units = [
        Unit("tinh", "Thử", "tinh"),
        Unit("h1", "Một", "huyen", "tinh"),
        Unit("h2", "Hai", "huyen", "tinh"),
        Unit("x1", "Xuân", "xa", "h1"),
        Unit("x2", "Hạ", "xa", "h1"),
        Unit("p3", "Thu", "phuong", "h1"),
        Unit("x4", "Đông", "xa", "h2"),
        Unit("x5", "Nam", "xa", "h2"),
        Unit("x6", "Bắc", "xa", "tinh"),
    ]
    return {u.code: u for u in units}


def report(unit: str, version: int, late: bool, **values: int) -> Report:
    at = datetime(2026, 12, 1 + version, 9, 0)
    return Report(version, unit, "2026-N", version, values, f"telegram:{unit}", at, late)


def test_on_time_is_decided_by_the_first_version() -> None:
    # x1 filed on time, then corrected late; x2's first version was late; x4 on time.
    first = {
        "x1": report("x1", 1, False),
        "x2": report("x2", 1, True),
        "x4": report("x4", 1, False),
    }
    current = {**first, "x1": report("x1", 2, True, tt=5)}
    st = period_status(PERIOD, hierarchy(), current, first)
    assert [r.unit.code for r in st.expected] == ["x1", "x2", "p3", "x4", "x5", "x6"]
    assert [r.unit.code for r in st.on_time] == ["x1", "x4"]
    assert [r.unit.code for r in st.late] == ["x2"]
    assert [r.unit.code for r in st.reported] == ["x1", "x2", "x4"]
    assert [r.unit.code for r in st.missing] == ["p3", "x5", "x6"]
    assert st.rate_percent == 50
    assert st.expected[0].current is not None and st.expected[0].current.version == 2


def test_grouping_under_districts_but_not_the_province() -> None:
    units = hierarchy()
    assert group_parent(units["x1"], units) == units["h1"]
    assert group_parent(units["x6"], units) is None  # directly under the province
    assert group_parent(units["h1"], units) is None
    st = period_status(PERIOD, units, {}, {})
    assert st.grouped
    assert [(g.parent.code if g.parent else None, [u.unit.code for u in g.units])
            for g in st.groups] == [(None, ["x6"]), ("h1", ["x1", "x2", "p3"]),
                                    ("h2", ["x4", "x5"])]  # fmt: skip


def test_shipped_units_are_flat_and_all_expected(content: Content) -> None:
    st = period_status(PERIOD, content.units, {}, {})
    assert len(st.expected) == 65
    assert not st.grouped
    assert len(st.groups) == 1 and st.groups[0].parent is None
    assert st.rate_percent == 0


def test_rate_is_rounded_down_so_100_means_everyone() -> None:
    units = {f"x{i}": Unit(f"x{i}", f"X{i}", "xa") for i in range(300)}
    first = {f"x{i}": report(f"x{i}", 1, False) for i in range(299)}
    st = period_status(PERIOD, units, first, first)
    assert st.rate_percent == 99
    everyone = {**first, "x299": report("x299", 1, False)}
    assert period_status(PERIOD, units, everyone, everyone).rate_percent == 100


def test_unexpected_reporters_are_named_but_not_counted() -> None:
    current = {"gone": report("gone", 1, False, tt=9), "x1": report("x1", 1, False, tt=1)}
    st = period_status(PERIOD, hierarchy(), current, current)
    assert st.unexpected == ("gone",)
    assert len(st.reported) == 1
    assert totals(st, IND.codes).overall.values["tt"] == 1
    with use_language("en"):
        text = format_status(st, window="late", today=date(2026, 12, 20), lang="en")
    assert "Also filed by units no longer expected to report: gone" in text
    many = {f"old-{i:02d}": report(f"old-{i:02d}", 1, False) for i in range(30)}
    st = period_status(PERIOD, hierarchy(), many, many)
    with use_language("en"):
        text = format_status(st, window="late", today=date(2026, 12, 20), lang="en")
    assert "old-09, …" in text and "old-10" not in text


def test_totals_overall_and_per_district() -> None:
    current = {
        "x1": report("x1", 2, False, tt=3, nd=100, nu=60),
        "x2": report("x2", 1, False, tt=2, nd=50),
        "x4": report("x4", 1, True, tt=10, nd=7, nu=7, zz=99),  # zz: a retired code
        "x6": report("x6", 1, False, tt=1),
    }
    st = period_status(PERIOD, hierarchy(), current, current)
    summed = totals(st, IND.codes)
    assert summed.overall.values["tt"] == 16
    assert summed.overall.values["nd"] == 157
    assert summed.overall.filed["nu"] == 2
    assert summed.overall.reported == 4 and summed.overall.expected == 6
    assert "zz" not in summed.overall.values
    by = {g.parent.code: g.totals for g in summed.groups}
    assert set(by) == {"h1", "h2"}  # not the province, and x6 has no group
    assert by["h1"].values["tt"] == 5 and by["h1"].reported == 2 and by["h1"].expected == 3
    assert by["h2"].values["nd"] == 7 and by["h2"].expected == 2


def test_status_text_names_the_period_first_and_groups_the_missing() -> None:
    first = {"x1": report("x1", 1, False), "x2": report("x2", 1, True)}
    st = period_status(PERIOD, hierarchy(), first, first)
    with use_language("en"):
        text = format_status(st, window="on_time", today=date(2026, 12, 10), lang="en")
    lines = text.splitlines()
    assert lines[0] == "Reporting status — Annual report 2026 (due 15/12/2026)"
    assert "5 days left" in lines[1]
    assert "Reported: 2 of 6 units (33%)" in text
    assert "• on time: 1" in text and "• late: 1" in text
    assert "Not reported yet: 4" in text
    assert "Directly under the province (1 of 1): Bắc commune" in text
    assert "Một district (1 of 3): Thu ward" in text
    assert "Hai district (2 of 2): Đông commune, Nam commune" in text
    assert "Xuân" not in text  # reported units are not listed


def test_status_text_in_vietnamese_by_default() -> None:
    st = period_status(PERIOD, hierarchy(), {}, {})
    with use_language("vi"):
        text = format_status(st, window="late", today=date(2026, 12, 20), lang="vi")
    assert text.splitlines()[0].startswith("Tình hình báo cáo — Báo cáo năm 2026")
    assert "Huyện Hai" in text and "Xã Đông" in text
    assert "14/01/2027" in text  # late reports accepted until


@pytest.mark.parametrize(
    ("window", "expected"),
    [("not_open", "16/06/2026"), ("locked", "15/01/2027"), ("on_time", "1 day left")],
)
def test_window_lines(window: str, expected: str) -> None:
    st = period_status(PERIOD, hierarchy(), {}, {})
    with use_language("en"):
        text = format_status(st, window=window, today=date(2026, 12, 14), lang="en")  # type: ignore[arg-type]
    assert expected in text.splitlines()[1]


def test_everyone_reported_and_no_reporting_units() -> None:
    units = hierarchy()
    done = {u: report(u, 1, False) for u in ("x1", "x2", "p3", "x4", "x5", "x6")}
    with use_language("en"):
        text = format_status(
            period_status(PERIOD, units, done, done), window="late", today=date(2026, 12, 20),
            lang="en",
        )  # fmt: skip
        assert "Every unit has reported." in text
        empty = format_status(
            period_status(PERIOD, {"tinh": units["tinh"]}, {}, {}), window="late",
            today=date(2026, 12, 20), lang="en",
        )  # fmt: skip
        assert "No unit in units.yaml files reports." in empty


def test_long_lists_are_cut_to_fit_one_chat_message() -> None:
    units: dict[str, Unit] = {"tinh": Unit("tinh", "T", "tinh")}
    for d in range(200):
        units[f"h{d}"] = Unit(f"h{d}", f"Huyện số {d}", "huyen", "tinh")
    for i in range(10_000):
        units[f"x{i}"] = Unit(f"x{i}", f"Xã có tên khá dài số {i}", "xa", f"h{i % 200}")
    st = period_status(PERIOD, units, {}, {})
    with use_language("en"):
        text = format_status(st, window="on_time", today=date(2026, 12, 1), lang="en")
        summed = format_totals(totals(st, IND.codes), IND, lang="en")
    for body in (text, summed):
        assert len(body) <= 3500
        assert "/xuat 2026-N gives the full Excel file" in body.splitlines()[-1]
    assert "Not reported yet: 10,000" in text


def test_totals_text_lists_every_indicator_and_partial_filing() -> None:
    current = {
        "x1": report("x1", 1, False, tt=1200, nd=5),
        "x2": report("x2", 1, False, tt=3),
    }
    st = period_status(PERIOD, hierarchy(), current, current)
    with use_language("vi"):
        text = format_totals(totals(st, IND.codes), IND, lang="vi")
    lines = text.splitlines()
    assert lines[0].startswith("Tổng hợp — Báo cáo năm 2026")
    assert "• Buổi truyền thông (tt): 1.203" in lines
    assert any(line.startswith("• Lượt người tham dự (nd): 5 (") for line in lines)
    assert sum(line.startswith("• ") for line in lines) == len(IND)
    assert any(line.startswith("Huyện Một (2/3") or "Huyện Một" in line for line in lines)
    with use_language("en"):
        english = format_totals(totals(st, IND.codes), IND, lang="en")
    assert "• Communication sessions (tt): 1,203" in english
    assert "• Participants (nd): 5 (from 1 unit)" in english
    assert "Một district (2 of 3 reported): tt 1,203 · nd 5" in english
