"""The period export: the workbook read back with openpyxl, and the CSV's BOM and columns."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.content import Unit
from bot.reporting.export import (
    SHEET_DATA,
    SHEET_STATUS,
    export_csv,
    export_filename,
    export_xlsx,
)
from bot.reporting.indicators import IndicatorSet, load_indicators
from bot.reporting.periods import load_calendar
from bot.reporting.status import PeriodStatus, period_status
from bot.storage.reports import Report

IND: IndicatorSet = load_indicators()
PERIOD = load_calendar().period_of("N", 2026)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def units() -> dict[str, Unit]:
    return {
        "tinh": Unit("tinh", "Lạng Sơn", "tinh"),
        "that-khe": Unit("that-khe", "Thất Khê", "xa", "tinh"),
        "dong-kinh": Unit("dong-kinh", "Đông Kinh", "phuong", "tinh"),
        "binh-gia": Unit("binh-gia", "Bình Gia", "xa", "tinh"),
    }


def sample() -> PeriodStatus:
    first_at = datetime(2026, 12, 10, 8, 30, tzinfo=TZ)
    first = {
        "that-khe": Report(1, "that-khe", "2026-N", 1, {"tt": 1}, "telegram:1", first_at, False),
        "dong-kinh": Report(
            2, "dong-kinh", "2026-N", 1, {"tt": 2, "nd": 1500, "nu": 0}, "zalo:77",
            datetime(2026, 12, 20, 14, 5, tzinfo=TZ), True,
        ),
    }  # fmt: skip
    # that-khe corrected after the deadline: still on time (its first version was).
    corrected = Report(
        3, "that-khe", "2026-N", 2, {"tt": 4, "nd": 120, "nu": 70}, "telegram:2",
        datetime(2026, 12, 16, 2, 0, tzinfo=UTC), True,
    )  # fmt: skip
    current = {**first, "that-khe": corrected}
    return period_status(PERIOD, units(), current, first)


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_figures_sheet_one_row_per_unit_with_totals() -> None:
    wb = workbook(export_xlsx(sample(), IND, tz=TZ))
    assert wb.sheetnames == [SHEET_DATA, SHEET_STATUS]
    ws = wb[SHEET_DATA]
    title, *rows = list(ws.iter_rows(values_only=True))
    assert title[0].startswith("Báo cáo năm 2026 (hạn 15/12/2026) — lập lúc ")
    header = rows[0]
    assert header[:3] == ("Mã đơn vị", "Tên đơn vị", "Buổi truyền thông (tt)")
    assert header[2:] == tuple(f"{i.label.vi} ({i.code})" for i in IND)
    codes = list(IND.codes)
    by_unit = {row[0]: dict(zip(codes, row[2:], strict=True)) for row in rows[1:-1]}
    assert [row[0] for row in rows[1:-1]] == ["that-khe", "dong-kinh", "binh-gia"]
    assert rows[1][1] == "Xã Thất Khê"
    assert by_unit["that-khe"]["tt"] == 4  # the latest version
    assert by_unit["that-khe"]["nd"] == 120
    assert by_unit["that-khe"]["sp"] is None  # not filed: an empty cell
    assert by_unit["dong-kinh"]["nu"] == 0  # a filed zero stays a zero
    assert all(v is None for v in by_unit["binh-gia"].values())
    assert isinstance(by_unit["dong-kinh"]["nd"], int)
    total = dict(zip(codes, rows[-1][2:], strict=True))
    assert rows[-1][1] == "Tổng cộng"
    assert total["tt"] == 6 and total["nd"] == 1620 and total["nu"] == 70
    assert total["sp"] is None  # nobody gave it
    assert ws.freeze_panes == "C3"
    assert ws.sheet_view.tabSelected
    assert ws.auto_filter.ref == "A2:M5"  # the units, not the totals row
    assert ws.print_title_rows == "$1:$2"
    assert ws.column_dimensions["A"].width >= 10
    assert ws.column_dimensions["B"].width >= len("Phường Đông Kinh")
    assert ws.column_dimensions["C"].width == 14
    assert ws.row_dimensions[2].height > 15  # room for the wrapped labels
    assert ws.cell(1, 1).font.b  # the title
    assert ws.cell(2, 1).font.b and ws.cell(2, 3).alignment.wrap_text
    assert not ws.cell(3, 1).font.b
    assert ws.cell(3, 3).number_format == "#,##0"
    assert ws.cell(3, 3).data_type == "n" and ws.cell(3, 1).data_type == "s"
    assert ws.cell(6, 2).font.b and ws.cell(6, 3).font.b  # the totals row
    assert ws.cell(6, 3).number_format == "#,##0"
    assert ws.cell(6, 1).value is None


def test_status_sheet_uses_the_first_version_and_local_time() -> None:
    st = sample()
    st.officer_names["zalo:77"] = "Nguyễn Thị Mai"
    ws = workbook(export_xlsx(st, IND, tz=TZ))[SHEET_STATUS]
    title, *rows = list(ws.iter_rows(values_only=True))
    assert title[0].startswith("Báo cáo năm 2026")
    assert rows[0] == (
        "Mã đơn vị", "Tên đơn vị", "Cán bộ gửi", "Tài khoản", "Thời điểm gửi (UTC+7)",
        "Phiên bản", "Gửi lần đầu (UTC+7)", "Tình trạng",
    )  # fmt: skip
    that_khe, dong_kinh, binh_gia = rows[1:]
    # 02:00 UTC is 09:00 in Hà Nội; Excel has no zones, so the local time is written.
    assert that_khe == ("that-khe", "Xã Thất Khê", None, "telegram:2",
                        datetime(2026, 12, 16, 9, 0), 2, datetime(2026, 12, 10, 8, 30),
                        "Đúng hạn")  # fmt: skip
    assert dong_kinh[-1] == "Muộn" and dong_kinh[2:4] == ("Nguyễn Thị Mai", "zalo:77")
    assert binh_gia == ("binh-gia", "Xã Bình Gia", None, None, None, None,
                        None, "Chưa báo cáo")  # fmt: skip
    assert ws.freeze_panes == "C3"
    assert not ws.sheet_view.tabSelected  # the figures sheet opens first
    assert ws.auto_filter.ref == "A2:H5"
    assert ws.print_title_rows == "$1:$2"
    assert ws.cell(2, 1).font.b
    assert ws.cell(3, 5).number_format == "dd/mm/yyyy hh:mm"
    assert ws.cell(3, 7).number_format == "dd/mm/yyyy hh:mm"
    assert ws.cell(3, 5).is_date and isinstance(ws.cell(3, 6).value, int)
    assert ws.column_dimensions["B"].width >= len("Phường Đông Kinh")
    assert ws.column_dimensions["E"].width == 19


def test_status_times_keep_their_own_offset_without_a_zone() -> None:
    ws = workbook(export_xlsx(sample(), IND))[SHEET_STATUS]
    assert ws.cell(3, 5).value == datetime(2026, 12, 16, 2, 0)  # the UTC time as given
    assert ws.cell(3, 7).value == datetime(2026, 12, 10, 8, 30)


def test_both_sheets_print_landscape_one_page_wide() -> None:
    wb = workbook(export_xlsx(sample(), IND, tz=TZ))
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.paperSize == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.page_margins.left == 0.5
    assert wb.properties.creator == "bdg-bot"
    assert wb.properties.title == PERIOD.label("vi")


def test_workbook_parts_are_well_formed_and_deterministic() -> None:
    st = sample()
    data = export_xlsx(st, IND, tz=TZ)
    assert data == export_xlsx(st, IND, tz=TZ)
    # The creation time is the latest filing's, not the export's.
    assert workbook(data).properties.created == datetime(2026, 12, 20, 7, 5)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert "[Content_Types].xml" in names and "xl/workbook.xml" in names
        # Fixed entry times: the same data gives the same bytes on any day.
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        for name in names:
            ElementTree.fromstring(archive.read(name))  # raises if not well-formed


def test_text_that_xml_cannot_carry_is_dropped_not_fatal() -> None:
    odd = {"tinh": Unit("tinh", "T", "tinh"),
           "x": Unit("x", "A & B <c> \x01 ' \"q\"", "xa", "tinh")}  # fmt: skip
    data = export_xlsx(period_status(PERIOD, odd, {}, {}), IND)
    ws = workbook(data)[SHEET_DATA]
    assert ws.cell(3, 2).value == 'Xã A & B <c>  \' "q"'


def test_text_that_looks_like_a_formula_stays_text() -> None:
    odd = {"tinh": Unit("tinh", "T", "tinh"), "=1+1": Unit("=1+1", "X", "xa", "tinh"),
           "#N/A": Unit("#N/A", "Y", "xa", "tinh")}  # fmt: skip
    ws = workbook(export_xlsx(period_status(PERIOD, odd, {}, {}), IND))[SHEET_DATA]
    assert (ws.cell(3, 1).value, ws.cell(3, 1).data_type) == ("=1+1", "s")
    assert (ws.cell(4, 1).value, ws.cell(4, 1).data_type) == ("#N/A", "s")


def test_csv_has_a_bom_and_exactly_the_contract_columns() -> None:
    data = export_csv(sample(), IND)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["unit_code", "unit_name", *IND.codes]
    assert len(rows) == 4  # one row per unit, no totals row
    that_khe = dict(zip(rows[0], rows[1], strict=True))
    assert that_khe["unit_name"] == "Xã Thất Khê"
    assert (that_khe["tt"], that_khe["nd"], that_khe["sp"]) == ("4", "120", "")
    assert rows[3] == ["binh-gia", "Xã Bình Gia", *([""] * len(IND))]
    assert data.count(b"\r\n") == 4


def test_title_row_names_province_period_deadline_and_when_made() -> None:
    made = datetime(2026, 12, 21, 1, 30, tzinfo=UTC)
    ws = workbook(export_xlsx(sample(), IND, tz=TZ, made_at=made, province="Tỉnh Lạng Sơn"))[
        SHEET_DATA
    ]
    assert ws.cell(1, 1).value == (
        "Tỉnh Lạng Sơn — Báo cáo năm 2026 (hạn 15/12/2026) — lập lúc 08:30 21/12/2026 (UTC+7)"
    )


def test_filenames() -> None:
    assert export_filename("2026-N", "xlsx") == "bao-cao-2026-N.xlsx"
    assert export_filename("2026-6T", "csv") == "bao-cao-2026-6T.csv"


@pytest.mark.slow
def test_ten_thousand_units_round_trip() -> None:
    many: dict[str, Unit] = {"tinh": Unit("tinh", "T", "tinh")}
    for d in range(50):
        many[f"h{d}"] = Unit(f"h{d}", f"Huyện {d}", "huyen", "tinh")
    for i in range(10_000):
        many[f"x{i}"] = Unit(f"x{i}", f"Xã {i}", "xa", f"h{i % 50}")
    at = datetime(2026, 12, 1, tzinfo=TZ)
    current = {
        f"x{i}": Report(i, f"x{i}", "2026-N", 1, dict.fromkeys(IND.codes, i % 7), "telegram:1",
                        at + timedelta(minutes=i), i % 3 == 0)
        for i in range(0, 10_000, 2)
    }  # fmt: skip
    st = period_status(PERIOD, many, current, current)
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsx(st, IND, tz=TZ)), read_only=True)
    rows = list(wb[SHEET_DATA].iter_rows(values_only=True))
    assert len(rows) == 10_003
    assert rows[-1][2] == sum(i % 7 for i in range(0, 10_000, 2))
    states = [r[-1] for r in wb[SHEET_STATUS].iter_rows(min_row=3, values_only=True)]
    assert states.count("Chưa báo cáo") == 5_000
    assert states.count("Muộn") == len(range(0, 10_000, 6))
    assert len(export_csv(st, IND).decode("utf-8-sig").splitlines()) == 10_001
