"""The department's report draft: the .docx read back with python-docx, the charts, the chat
commands (admins only, Zalo gets text) and the command line."""

from __future__ import annotations

import argparse
import dataclasses
import io
import re
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import openpyxl
import pytest
from PIL import Image

from bot.app import build_engine
from bot.cli.report import COMMANDS, add_subcommands
from bot.clock import FakeClock
from bot.content import Content, Unit
from bot.core.engine import Engine
from bot.reporting import charts
from bot.reporting.draft import (
    DEFAULT_TEMPLATE_PATH,
    NOT_REPORTED,
    ReportData,
    ReportTemplateError,
    rate_text,
    render_docx,
    report_context,
    report_data,
    vi_int,
    vi_percent,
)
from bot.reporting.export import SHEET_DATA, export_xlsx
from bot.reporting.indicators import IndicatorSet, load_indicators
from bot.reporting.invites import new_invite_code
from bot.reporting.periods import load_calendar
from bot.reporting.status import period_status
from bot.settings import Settings
from bot.storage import Store
from bot.storage.reports import Report
from tests.conftest import ADMIN, all_text, say

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IND: IndicatorSet = load_indicators()
CAL = load_calendar()
PERIOD = CAL.period_of("N", 2026)
BEFORE = CAL.period_of("N", 2025)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DIGITS = re.compile(r"[0-9]")


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


def rep(unit: str, period: str, late: bool = False, **values: int) -> Report:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    return Report(1, unit, period, 1, values, f"telegram:{unit}", at, late)


def sample(previous: bool = True) -> ReportData:
    # p3, x5 and x6 have not filed; x2 filed late; nobody gave `ct`; x4 left `sp` out.
    current = {
        "x1": rep("x1", PERIOD.id, tt=4, nd=1200, nu=700, sp=3),
        "x2": rep("x2", PERIOD.id, True, tt=1, nd=80, nu=40, sp=0),
        "x4": rep("x4", PERIOD.id, tt=2, nd=150, nu=90),
    }
    status = period_status(PERIOD, hierarchy(), current, current)
    last = {
        "x1": rep("x1", BEFORE.id, tt=5, nd=1000, nu=500, sp=2),
        "x6": rep("x6", BEFORE.id, tt=1, nd=200, nu=100, sp=0),
    }
    before = period_status(BEFORE, hierarchy(), last, last) if previous else None
    return report_data(
        status,
        IND,
        previous=before,
        officer_units={"x1", "x2", "x4", "x6"},
        agency="Sở Thử nghiệm",
        province="Tỉnh Thử",
        place="Thử",
        made_at=datetime(2026, 12, 16, 2, 0, tzinfo=ZoneInfo("UTC")),
        tz=TZ,
    )


def open_docx(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def figures_table(document: docx.document.Document) -> list[list[str]]:
    table = next(t for t in document.tables if t.rows[0].cells[1].text == "Chỉ tiêu")
    return [[c.text for c in row.cells] for row in table.rows]


def annex_table(document: docx.document.Document) -> list[list[str]]:
    table = next(t for t in document.tables if t.rows[0].cells[1].text == "Tên đơn vị")
    return [[c.text for c in row.cells] for row in table.rows]


def paragraphs(document: docx.document.Document) -> list[str]:
    return [p.text for p in document.paragraphs]


def number(text: str) -> int:
    assert re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})*", text), text
    return int(text.replace(".", ""))


# --- the document --------------------------------------------------------------------------------


def test_every_total_equals_the_export_totals() -> None:
    data = sample()
    document = open_docx(render_docx(data))
    sheet = openpyxl.load_workbook(io.BytesIO(export_xlsx(data.status, IND)))[SHEET_DATA]
    exported = dict(zip(IND.codes, list(sheet.iter_rows(values_only=True))[-1][2:], strict=True))
    rows = {m.group(1): row for row in figures_table(document)[1:]
            if (m := re.search(r"\(([a-z]+)\)$", row[1]))}  # fmt: skip
    assert set(rows) == set(IND.codes)
    for code, total in exported.items():
        if total is None:  # nobody gave it: words in the draft, an empty cell in the export
            assert rows[code][2] == NOT_REPORTED
        else:
            assert number(rows[code][2]) == total
    assert exported["tt"] == 7 and rows["tt"][2] == "7"
    assert rows["nd"][2] == "1.430"  # Vietnamese thousands separator
    # The annex's totals row is the same.
    total_row = annex_table(document)[-1]
    assert total_row[0] == "TỔNG CỘNG"
    shown = total_row[3:]
    assert shown == [NOT_REPORTED if v is None else vi_int(v) for v in exported.values()]


def test_comparison_with_the_same_period_last_year_and_the_share() -> None:
    table = figures_table(open_docx(render_docx(sample())))
    assert table[0][4] == "Cùng kỳ năm 2025"
    by_label = {row[1]: row for row in table[1:]}
    tt = by_label["Buổi truyền thông (tt)"]
    # 7 now, 6 last year: +1, +16,7 %; partial filing is counted (3 of the 6 units).
    assert tt[2:] == ["7", "3/6", "6", "+1", "+16,7 %"]
    nd = by_label["Lượt người tham dự (nd)"]
    assert nd[2:] == ["1.430", "3/6", "1.200", "+230", "+19,2 %"]
    share = next(row for row in table if row[1].startswith("Tỷ lệ nu/nd"))
    # 830 of 1.430 = 58,0 %; last year 600 of 1.200 = 50,0 %.
    assert share[2] == "58,0 %" and share[4] == "50,0 %" and share[5] == "+8,0 điểm %"
    ct = by_label["Quyết định cấm tiếp xúc (ct)"]
    assert ct[2:] == [NOT_REPORTED, "0/6", NOT_REPORTED, "—", "—"]


def test_without_last_year_the_table_has_no_comparison() -> None:
    document = open_docx(render_docx(sample(previous=False)))
    table = figures_table(document)
    assert len(table[0]) == 4
    assert any("Chưa có số liệu cùng kỳ năm 2025" in p for p in paragraphs(document))


def test_missing_late_and_officerless_units_are_named_under_their_district() -> None:
    text = "\n".join(paragraphs(open_docx(render_docx(sample()))))
    assert "Số đơn vị phải báo cáo: 6." in text
    assert f"Số đơn vị đã báo cáo: 3 (tỷ lệ {rate_text(3, 6)})" in text
    assert "tỷ lệ 50,0 %" in text and "đúng hạn 2, muộn 1" in text
    missing = text.split("a) Đơn vị chưa báo cáo:")[1].split("b)")[0]
    assert "Trực thuộc tỉnh (1/1): Xã Bắc." in missing
    assert "Huyện Một (1/3): Phường Thu." in missing
    assert "Huyện Hai (1/2): Xã Nam." in missing
    late = text.split("b) Đơn vị báo cáo muộn:")[1].split("c)")[0]
    assert "Huyện Một (1/3): Xã Hạ." in late
    officerless = text.split("c) Đơn vị chưa có cán bộ đăng ký gửi báo cáo (2):")[1]
    assert "Phường Thu" in officerless.split("\n")[1] and "Xã Nam" in officerless


def test_unreported_values_are_never_numbers_in_the_annex() -> None:
    rows = annex_table(open_docx(render_docx(sample())))
    assert rows[0][:3] == ["TT", "Tên đơn vị", "Tình trạng"]
    assert rows[0][3:] == [f"{i.label.vi} ({i.code})" for i in IND]
    titles = [r[0] for r in rows if len(set(r)) == 1]  # merged group headings
    assert titles == ["Trực thuộc tỉnh", "Huyện Một", "Huyện Hai"]
    by_name = {r[1]: r for r in rows if r[1].startswith(("Xã", "Phường"))}
    for name in ("Xã Bắc", "Phường Thu", "Xã Nam"):
        assert by_name[name][2] == "Chưa báo cáo"
        assert not any(DIGITS.search(cell) for cell in by_name[name][3:]), by_name[name]
    codes = list(IND.codes)
    dong = by_name["Xã Đông"]
    assert dong[2] == "Đúng hạn" and dong[3 + codes.index("sp")] == "—"  # left out
    assert by_name["Xã Hạ"][3 + codes.index("sp")] == "0"  # a filed zero stays a zero
    subtotal = next(r for r in rows if r[0] == "Cộng Huyện Một")
    assert subtotal[3 + codes.index("nd")] == "1.280"


def test_administrative_layout_and_marked_places_to_fill() -> None:
    document = open_docx(render_docx(sample()))
    text = "\n".join(paragraphs(document))
    heading = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert heading[0][0].split("\n")[:2] == ["UBND TỈNH THỬ", "SỞ THỬ NGHIỆM"]
    assert heading[0][1].splitlines()[:2] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    assert heading[1][0].startswith("Số:") and "/BC-" in heading[1][0]
    assert heading[1][1].startswith("Thử, ngày ") and "tháng" in heading[1][1]
    assert "BÁO CÁO" in text and "năm 2026" in text
    for section in ("III. TỒN TẠI", "IV. PHƯƠNG HƯỚNG", "V. KIẾN NGHỊ"):
        after = text.split(section)[1].split("\n")[1]
        assert after.startswith("[Cơ quan điền:"), after
    assert "{{" not in text and "{%" not in text


def test_agency_left_empty_is_a_marked_place() -> None:
    context = report_context(dataclasses.replace(sample(), agency="", province=""))
    assert context["agency"] == "[TÊN CƠ QUAN BÁO CÁO]"
    assert context["parent_agency"] == "[CƠ QUAN CHỦ QUẢN]"


def test_vietnamese_numbers() -> None:
    assert vi_int(1234567) == "1.234.567"
    assert vi_percent(12.5) == "12,5 %" and vi_percent(-3.04) == "-3,0 %"
    assert vi_percent(1234.5) == "1.234,5 %"
    assert rate_text(64, 65) == "98,4 %" and rate_text(65, 65) == "100,0 %"
    assert rate_text(0, 0) == "—"


def test_special_characters_in_names_do_not_break_the_document() -> None:
    data = dataclasses.replace(sample(), agency="Sở <Nội vụ> & Lao động")
    document = open_docx(render_docx(data))
    assert document.tables[0].rows[0].cells[0].text.splitlines()[1] == "SỞ <NỘI VỤ> & LAO ĐỘNG"


# --- the template --------------------------------------------------------------------------------


def test_a_file_that_is_not_a_word_document_is_a_one_line_error(tmp_path: Path) -> None:
    broken = tmp_path / "mau.docx"
    broken.write_text("not a zip\n")
    with pytest.raises(ReportTemplateError) as err:
        render_docx(sample(), broken)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(broken))


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped template with one text of document.xml replaced."""
    out = tmp_path / "sua.docx"
    with zipfile.ZipFile(DEFAULT_TEMPLATE_PATH) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                text = data.decode()
                assert old in text
                data = text.replace(old, new, 1).encode()
            dst.writestr(item, data)
    return out


def test_a_misspelt_placeholder_names_itself_and_the_file(tmp_path: Path) -> None:
    template = _edited(tmp_path, "{{ period_name }}", "{{ period_nam }}")
    with pytest.raises(ReportTemplateError) as err:
        render_docx(sample(), template)
    message = str(err.value)
    assert "\n" not in message and str(template) in message and "period_nam" in message


def test_a_broken_tag_is_a_one_line_error(tmp_path: Path) -> None:
    template = _edited(tmp_path, "{%p endif %}", "{%p endiff %}")
    with pytest.raises(ReportTemplateError) as err:
        render_docx(sample(), template)
    assert "\n" not in str(err.value) and str(template) in str(err.value)


# --- charts --------------------------------------------------------------------------------------


def _size(png: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG"
    return image.size


def test_charts_are_png_images_of_the_expected_size() -> None:
    data = sample()
    images = charts.render_charts(data)
    width = round(charts.WIDTH_IN * charts.DPI)
    # The province, then its 3 groups (the two districts and the commune under the province).
    assert _size(images["status"]) == (width, round(charts.status_height_in(4) * charts.DPI))
    assert _size(images["indicators"]) == (
        width,
        round(charts.indicators_height_in(len(IND)) * charts.DPI),
    )
    flat = period_status(PERIOD, {"t": Unit("t", "T", "tinh"), "a": Unit("a", "A", "xa", "t")},
                         {}, {})  # fmt: skip
    alone = report_data(flat, IND)
    # A flat province of communes only: the total alone (a single group would repeat it).
    assert _size(charts.status_chart(alone))[1] == round(charts.status_height_in(1) * charts.DPI)
    assert _size(charts.indicators_chart(alone))[0] == width


def test_charts_are_embedded_in_the_document() -> None:
    data = sample()
    document = open_docx(render_docx(data, charts=charts.render_charts(data)))
    assert len(document.inline_shapes) == 2
    assert len(open_docx(render_docx(data)).inline_shapes) == 0


def test_matplotlib_and_docxtpl_are_not_loaded_at_start_up() -> None:
    code = (
        "import sys, bot.cli.main, bot.cli.report, bot.app, bot.core.handlers.report; "
        "print(sorted(m for m in ('matplotlib', 'docxtpl', 'docx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PROJECT_ROOT)  # fmt: skip
    assert out.stdout.strip() == "[]"


# --- chat and command line -----------------------------------------------------------------------

ZALO_ADMIN = "zalo:9002"


@pytest.fixture
def report_engine(settings: Settings, store: Store, content: Content, clock: FakeClock) -> Engine:
    admins = dataclasses.replace(settings, admins=settings.admins | {ZALO_ADMIN})
    return build_engine(admins, store, content, clock)


async def file_report(store: Store, unit: str, period: str, values: dict[str, int]) -> None:
    reports = store.reports
    at = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    officer = f"telegram:off-{unit}"
    if await reports.officer(officer) is None:
        code = new_invite_code()
        await reports.create_invite(code, unit, at + timedelta(days=1), ADMIN, at)
        await reports.redeem_invite(code, officer, at)
    await reports.save_report(officer=officer, unit_code=unit, period_id=period, values=values,
                              late=False, now=at)  # fmt: skip


async def english(store: Store, *addresses: str) -> None:
    """Choose English for these users (else each message's own language is detected)."""
    for address in addresses:
        await store.set_language(address, "en", datetime(2026, 11, 1, tzinfo=TZ))


@pytest.fixture(autouse=True)
async def admins_in_english(store: Store) -> None:
    await english(store, ADMIN, ZALO_ADMIN)


@pytest.mark.parametrize("command", ["/baocaotonghop", "/bieudo N"])
async def test_only_administrators_get_the_report(
    report_engine: Engine, store: Store, command: str
) -> None:
    await english(store, "telegram:100", "telegram:off-that-khe", "zalo:77")
    for user, channel in (("100", "telegram"), ("off-that-khe", "telegram"), ("77", "zalo")):
        replies = await say(report_engine, command, user=user, channel=channel, lang="en")
        assert all_text(replies) == "This command is for the department's administrators only."
        assert all(r.document is None for r in replies)


async def test_telegram_admin_gets_the_word_draft(report_engine: Engine, store: Store) -> None:
    await file_report(store, "that-khe", "2026-N", {"tt": 3, "nd": 1234, "nu": 600})
    replies = await say(report_engine, "/baocaotonghop 2026-N", user="9001", channel="telegram",
                        lang="en")  # fmt: skip
    assert len(replies) == 1 and replies[0].document is not None
    assert replies[0].document.filename == "bao-cao-tong-hop-2026-N.docx"
    document = open_docx(replies[0].document.content)
    rows = {row[1]: row for row in figures_table(document)}
    assert rows["Lượt người tham dự (nd)"][2] == "1.234"
    assert len(document.inline_shapes) == 2
    assert "1 of 65 units" in replies[0].text


async def test_charts_in_chat_are_two_png_files(report_engine: Engine) -> None:
    replies = await say(report_engine, "/bieudo", user="9001", channel="telegram", lang="en")
    assert [r.document.filename for r in replies if r.document] == [
        "bieu-do-2026-N-tinh-hinh-bao-cao.png",
        "bieu-do-2026-N-chi-tieu.png",
    ]
    assert all(_size(r.document.content)[0] == 1125 for r in replies if r.document)


@pytest.mark.parametrize("command", ["/baocaotonghop", "/bieudo"])
async def test_zalo_admin_gets_a_text_summary_instead(
    report_engine: Engine, store: Store, command: str
) -> None:
    await file_report(store, "that-khe", "2026-N", {"tt": 3, "nd": 1234})
    replies = await say(report_engine, command, user="9002", channel="zalo", lang="en")
    assert all(r.document is None for r in replies)
    text = all_text(replies)
    assert "1 of 65 units reported (1,5 %)" in text
    assert "Participants (nd): 1.234" in text and "No-contact orders (ct): not filed" in text
    assert "ask for it on Telegram, or use the command line: bdg-bot " in text
    assert ("bdg-bot report --period 2026-N" in text) == (command == "/baocaotonghop")
    assert ("bdg-bot chart --period 2026-N --out" in text) == (command == "/bieudo")


async def test_an_unknown_period_is_explained(report_engine: Engine) -> None:
    replies = await say(report_engine, "/baocaotonghop 2026-Q", user="9001", channel="telegram",
                        lang="en")  # fmt: skip
    assert "is not a report period" in all_text(replies)
    assert replies[0].document is None


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bdg-bot")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


async def run(settings: Settings, *argv: str) -> int:
    args = parse(list(argv))
    return await COMMANDS[args.command](settings, args)


async def test_cli_report_and_charts(
    settings: Settings, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await file_report(store, "dong-kinh", "2026-6T", {"tt": 2})
    out = tmp_path / "bc.docx"
    assert await run(settings, "report", "--period", "2026-6T", "--out", str(out)) == 0
    assert capsys.readouterr().out.strip() == str(out)
    rows = {row[1]: row for row in figures_table(open_docx(out.read_bytes()))}
    assert rows["Buổi truyền thông (tt)"][2] == "2"
    folder = tmp_path / "charts"
    assert await run(settings, "chart", "--period", "2026-6T", "--out", str(folder)) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == [
        "bieu-do-2026-6T-tinh-hinh-bao-cao.png",
        "bieu-do-2026-6T-chi-tieu.png",
    ]
    assert all(_size(Path(p).read_bytes())[0] == 1125 for p in printed)


async def test_cli_errors_are_one_line(
    settings: Settings, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "mau.docx"
    broken.write_bytes(b"PK not really")
    argv = ["report", "--period", "2026-N", "--template", str(broken), "--out",
            str(tmp_path / "x.docx")]  # fmt: skip
    assert await run(settings, *argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(broken) in err and "report template error" in err
    assert not (tmp_path / "x.docx").exists()
    assert await run(settings, "report", "--period", "2026-Q") == 1
    assert "unknown period '2026-Q'" in capsys.readouterr().err


async def test_cli_without_a_database_creates_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = Settings(db_path=tmp_path / "none.sqlite3")
    assert await run(nowhere, "report", "--period", "2026-N") == 1
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists()
