"""Build content/report_template.docx, the Word layout of the department's report draft.

Run `python bench/make_report_template.py` after changing the layout here; the committed
.docx is what the bot uses, and a department may edit that file in Word instead (keeping the
placeholders). Layout after Nghị định 30/2020/NĐ-CP (administrative documents): Times New
Roman 13 pt, A4, left margin 30 mm; the agency block and the national motto side by side,
the number and date line left for the clerk, the title, the sections; the annex on a
landscape page.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "content" / "report_template.docx"
FONT = "Times New Roman"
ANNEX_CAPTION = "phu-luc"  # bot.reporting.draft.ANNEX_CAPTION

Container = object  # a Document or a _Cell: both have add_paragraph


def _fonts(run_or_style: object, size: float | None = None) -> None:
    element = run_or_style.element  # type: ignore[attr-defined]
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for key in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(key), FONT)
    if size is not None:
        run_or_style.font.size = Pt(size)  # type: ignore[attr-defined]


def para(
    where: object,
    text: str = "",
    *,
    align: str = "justify",
    bold: bool = False,
    italic: bool = False,
    size: float | None = None,
    after: float = 3,
    before: float = 0,
    indent: bool = False,
    first: Paragraph | None = None,
) -> Paragraph:
    """A paragraph (or `first`, the empty one a new cell has) with one formatted run."""
    p = first if first is not None else where.add_paragraph()  # type: ignore[attr-defined]
    p.alignment = {
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
    }[align]
    fmt = p.paragraph_format
    fmt.space_after = Pt(after)
    fmt.space_before = Pt(before)
    if indent:
        fmt.first_line_indent = Cm(1)
    if text:
        run = p.add_run(text)
        run.bold = bold
        run.italic = italic
        _fonts(run, size)
    return p


def placeholder(where: object, text: str) -> Paragraph:
    """A marked place the department fills in: bracketed, italic, highlighted."""
    p = para(where, indent=True)
    run = p.add_run(f"[{text}]")
    run.italic = True
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    _fonts(run)
    return p


def short_rule(where: object, indent_cm: float) -> Paragraph:
    """A short line under a heading block: the top border of a tiny indented paragraph.

    A paragraph of its own, so the indent that sets the line's length never narrows the text.
    """
    p = para(where, align="center", after=0)
    run = p.add_run("")
    _fonts(run, 2)
    fmt = p.paragraph_format
    fmt.left_indent = fmt.right_indent = Cm(indent_cm)
    fmt.line_spacing = Pt(2)
    ppr = p._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"),
                       ("w:color", "000000")):  # fmt: skip
        top.set(qn(key), value)
    borders.append(top)
    ppr.insert(0, borders)
    return p


def _borders(table: Table, value: str) -> None:
    tblpr = table._tbl.tblPr
    old = tblpr.find(qn("w:tblBorders"))
    if old is not None:
        tblpr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), value)
        edge.set(qn("w:sz"), "4")
        edge.set(qn("w:space"), "0")
        edge.set(qn("w:color"), "000000")
        borders.append(edge)
    tblpr.append(borders)


def _fixed(table: Table, widths_cm: list[float], *, cell_widths: bool = True) -> None:
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(width * 567)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=False):
            if cell_widths:
                cell.width = Cm(width)
            else:
                tcpr = cell._tc.get_or_add_tcPr()
                for old in tcpr.findall(qn("w:tcW")):
                    tcpr.remove(old)


def _header_row(table: Table, index: int = 0) -> None:
    """Repeat the row at the top of every page the table runs onto."""
    trpr = table.rows[index]._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    trpr.append(flag)


def _cell(cell: _Cell, text: str, *, bold: bool = False, align: str = "center",
          size: float = 11, italic: bool = False) -> None:  # fmt: skip
    para(cell, text, align=align, bold=bold, size=size, italic=italic, after=0,
         first=cell.paragraphs[0])  # fmt: skip


def _shade(cell: _Cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _loop_row(table: Table, tag: str, size: float = 11) -> None:
    """A row holding only a docxtpl row tag (`{%tr ... %}`): removed when rendered."""
    row = table.add_row()
    _cell(row.cells[0], tag, align="left", size=size)


def _styles(doc: Document) -> None:  # type: ignore[valid-type]
    normal = doc.styles["Normal"]
    _fonts(normal, 13)
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.line_spacing = 1.1
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    # Page numbers, centred at the bottom.
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    footer._p.append(field)


def _heading_block(doc: Document) -> None:  # type: ignore[valid-type]
    table = doc.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _borders(table, "nil")
    _fixed(table, [6.6, 9.9])
    left, right = table.rows[0].cells
    para(left, "{{ parent_agency }}", align="center", size=12.5, after=0,
         first=left.paragraphs[0])  # fmt: skip
    para(left, "{{ agency }}", align="center", bold=True, size=12.5, after=0)
    short_rule(left, 2.0)
    para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="center", bold=True, size=12.5,
         after=0, first=right.paragraphs[0])  # fmt: skip
    para(right, "Độc lập - Tự do - Hạnh phúc", align="center", bold=True, size=13.5, after=0)
    short_rule(right, 1.3)
    number, day = table.rows[1].cells
    para(number, "Số:         /BC-", align="center", size=13, before=6,
         first=number.paragraphs[0])  # fmt: skip
    para(day, "{{ place }}, ngày      tháng      năm {{ year }}", align="center", italic=True,
         size=13, before=6, first=day.paragraphs[0])  # fmt: skip


def _figures_table(doc: Document, compare: bool) -> None:  # type: ignore[valid-type]
    if compare:
        heads = ["TT", "Chỉ tiêu", "Kỳ này", "Số đơn vị có số liệu",
                 "Cùng kỳ năm {{ previous_year }}", "Tăng (+), giảm (-)",
                 "Tỷ lệ tăng, giảm"]  # fmt: skip
        cells = ["{{ f.no }}", "{{ f.label }}", "{{ f.value }}", "{{ f.filed }}",
                 "{{ f.previous }}", "{{ f.diff }}", "{{ f.pct }}"]  # fmt: skip
        widths = [0.9, 5.6, 2.0, 2.0, 2.0, 2.0, 2.0]
    else:
        heads = ["TT", "Chỉ tiêu", "Kỳ này", "Số đơn vị có số liệu"]
        cells = ["{{ f.no }}", "{{ f.label }}", "{{ f.value }}", "{{ f.filed }}"]
        widths = [0.9, 9.6, 3.0, 3.0]
    table = doc.add_table(rows=1, cols=len(heads))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _borders(table, "single")
    for cell, head in zip(table.rows[0].cells, heads, strict=True):
        _cell(cell, head, bold=True, size=11)
        _shade(cell, "E7E6E6")
    _header_row(table)
    _loop_row(table, "{%tr for f in figures %}")
    row = table.add_row()
    for index, (cell, text) in enumerate(zip(row.cells, cells, strict=True)):
        _cell(cell, text, size=11, align="left" if index == 1 else "center")
    _loop_row(table, "{%tr endfor %}")
    _fixed(table, widths)


def _status_part(doc: Document) -> None:  # type: ignore[valid-type]
    para(doc, "II. TÌNH HÌNH BÁO CÁO CỦA CẤP XÃ", bold=True, before=6)
    lines = [
        "- Số đơn vị phải báo cáo: {{ expected }}.",
        "- Số đơn vị đã báo cáo: {{ reported }} (tỷ lệ {{ rate }}), trong đó đúng hạn "
        "{{ on_time }}, muộn {{ late }}.",
        "- Số đơn vị chưa báo cáo: {{ missing_count }}.",
    ]
    for line in lines:
        para(doc, line, indent=True)
    para(doc, "{%p if unexpected_note %}")
    para(doc, "- {{ unexpected_note }}", indent=True)
    para(doc, "{%p endif %}")
    para(doc, "a) Đơn vị chưa báo cáo:", italic=True, indent=True)
    para(doc, "{%p for line in missing_lines %}")
    para(doc, "{{ line }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "b) Đơn vị báo cáo muộn:", italic=True, indent=True)
    para(doc, "{%p for line in late_lines %}")
    para(doc, "{{ line }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "c) Đơn vị chưa có cán bộ đăng ký gửi báo cáo ({{ no_officer_count }}):",
         italic=True, indent=True)  # fmt: skip
    para(doc, "{%p for line in no_officer_lines %}")
    para(doc, "{{ line }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "{{ chart_status }}", align="center", before=6)
    para(doc, "Biểu đồ 2. Tình hình báo cáo theo nhóm đơn vị", align="center", italic=True,
         size=12, after=6)  # fmt: skip


def _closing(doc: Document) -> None:  # type: ignore[valid-type]
    table = doc.add_table(rows=1, cols=2)
    _borders(table, "nil")
    _fixed(table, [7.5, 9.0])
    left, right = table.rows[0].cells
    para(left, "Nơi nhận:", align="left", bold=True, italic=True, size=12, after=0,
         before=12, first=left.paragraphs[0])  # fmt: skip
    for line in ("- [Cơ quan nhận báo cáo];", "- [Cơ quan nhận báo cáo];", "- Lưu: VT, ...."):
        para(left, line, align="left", size=11, after=0)
    para(right, "[CHỨC VỤ NGƯỜI KÝ]", align="center", bold=True, size=13, after=0,
         before=12, first=right.paragraphs[0])  # fmt: skip
    para(right, "(Ký, ghi rõ họ tên, đóng dấu)", align="center", italic=True, size=12,
         after=60)  # fmt: skip
    para(right, "[Họ và tên]", align="center", bold=True, size=13)


def _annex(doc: Document) -> None:  # type: ignore[valid-type]
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.left_margin = section.right_margin = Cm(2)
    section.top_margin = section.bottom_margin = Cm(1.8)
    para(doc, "PHỤ LỤC", align="center", bold=True, after=0)
    para(doc, "Số liệu chi tiết của từng đơn vị cấp xã — {{ period_name }}", align="center",
         bold=True, after=0)  # fmt: skip
    para(doc, "(Kèm theo Báo cáo số         /BC-         ngày      /     /        )",
         align="center", italic=True, size=12, after=6)  # fmt: skip
    cols = 6
    table = doc.add_table(rows=1, cols=cols)
    _borders(table, "single")
    tblpr = table._tbl.tblPr
    caption = OxmlElement("w:tblCaption")
    caption.set(qn("w:val"), ANNEX_CAPTION)
    tblpr.append(caption)
    head = ["TT", "Tên đơn vị", "Tình trạng", "{%tc for h in annex_headers %}", "{{ h }}",
            "{%tc endfor %}"]  # fmt: skip
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        _cell(cell, text, bold=True, size=8)
        _shade(cell, "E7E6E6")
    _header_row(table)
    _loop_row(table, "{%tr for g in annex_groups %}", size=8)
    _loop_row(table, "{%tr if g.title %}", size=8)
    title = table.add_row()
    merged = title.cells[0].merge(title.cells[cols - 1])
    _cell(merged, "{% colspan annex_span %}{{ g.title }}", bold=True, align="left", size=9)
    _loop_row(table, "{%tr endif %}", size=8)
    _loop_row(table, "{%tr for u in g.units %}", size=8)
    unit = table.add_row()
    texts = ["{{ u.no }}", "{{ u.name }}", "{{ u.state }}", "{%tc for v in u.figures %}",
             "{{ v }}", "{%tc endfor %}"]  # fmt: skip
    for index, (cell, text) in enumerate(zip(unit.cells, texts, strict=True)):
        _cell(cell, text, size=9, align="left" if index == 1 else "center")
    _loop_row(table, "{%tr endfor %}", size=8)
    _loop_row(table, "{%tr if g.subtotal %}", size=8)
    sub = table.add_row()
    sub_cells = sub.cells
    label = sub_cells[0].merge(sub_cells[2])
    _cell(label, "Cộng {{ g.title }}", bold=True, align="left", size=9)
    for cell, text in zip(sub_cells[3:], ["{%tc for v in g.subtotal %}", "{{ v }}",
                                           "{%tc endfor %}"], strict=True):  # fmt: skip
        _cell(cell, text, bold=True, size=9)
    _loop_row(table, "{%tr endif %}", size=8)
    _loop_row(table, "{%tr endfor %}", size=8)
    total = table.add_row()
    total_cells = total.cells
    label = total_cells[0].merge(total_cells[2])
    _cell(label, "TỔNG CỘNG", bold=True, align="left", size=9)
    for cell, text in zip(total_cells[3:], ["{%tc for v in annex_totals %}", "{{ v }}",
                                             "{%tc endfor %}"], strict=True):  # fmt: skip
        _cell(cell, text, bold=True, size=9)
    # Widths are set when rendering (their number follows indicators.yaml); cells carry none.
    _fixed(table, [0.9, 4.6, 2.2, 2.0, 2.0, 2.0], cell_widths=False)
    para(doc, "Ghi chú: «—»: đơn vị đã báo cáo nhưng không có số liệu chỉ tiêu này, hoặc "
         "chưa báo cáo; «chưa báo cáo»: chưa đơn vị nào gửi số liệu.", italic=True, size=10,
         before=6)  # fmt: skip


def build(out: Path = OUT) -> Path:
    """Write the template to `out`."""
    doc = Document()
    _styles(doc)
    _heading_block(doc)
    para(doc, "BÁO CÁO", align="center", bold=True, size=14, before=12, after=0)
    para(doc, "Kết quả công tác bình đẳng giới và phòng, chống bạo lực gia đình",
         align="center", bold=True, after=0)  # fmt: skip
    para(doc, "{{ period_name }}", align="center", bold=True, after=0)
    short_rule(doc, 6.0)
    para(doc, after=6)
    placeholder(doc, "Cơ quan điền: phần mở đầu — căn cứ, mục đích của báo cáo")
    para(doc, "I. KẾT QUẢ THỰC HIỆN", bold=True, before=6)
    para(doc, "1. Số liệu tổng hợp", bold=True)
    para(doc, "Tổng hợp từ báo cáo của {{ reported }}/{{ expected }} đơn vị cấp xã gửi qua hệ "
         "thống{{ made_note }}. {{ compare_note }}", indent=True)  # fmt: skip
    para(doc, "{%p if has_previous %}")
    _figures_table(doc, compare=True)
    para(doc, "{%p else %}")
    para(doc, "Chưa có số liệu cùng kỳ năm {{ previous_year }} trong hệ thống để so sánh.",
         italic=True, indent=True)  # fmt: skip
    _figures_table(doc, compare=False)
    para(doc, "{%p endif %}")
    para(doc, "«Chưa báo cáo»: chưa đơn vị nào gửi số liệu của chỉ tiêu; tổng của một chỉ tiêu "
         "chỉ cộng các đơn vị có số liệu.", italic=True, size=11, before=3)  # fmt: skip
    para(doc, "{{ chart_indicators }}", align="center", before=6)
    para(doc, "Biểu đồ 1. Các chỉ tiêu kỳ này so với cùng kỳ năm trước", align="center",
         italic=True, size=12, after=6)  # fmt: skip
    para(doc, "2. Đánh giá kết quả đạt được", bold=True)
    placeholder(doc, "Cơ quan điền: đánh giá kết quả đạt được, nêu nổi bật và so sánh")
    _status_part(doc)
    para(doc, "III. TỒN TẠI, HẠN CHẾ, KHÓ KHĂN VÀ NGUYÊN NHÂN", bold=True, before=6)
    placeholder(doc, "Cơ quan điền: tồn tại, hạn chế, khó khăn, vướng mắc và nguyên nhân")
    para(doc, "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ THỜI GIAN TỚI", bold=True, before=6)
    placeholder(doc, "Cơ quan điền: phương hướng, nhiệm vụ, giải pháp kỳ tới")
    para(doc, "V. KIẾN NGHỊ, ĐỀ XUẤT", bold=True, before=6)
    placeholder(doc, "Cơ quan điền: kiến nghị, đề xuất với tỉnh và Bộ")
    _closing(doc)
    _annex(doc)
    doc.core_properties.title = "Mẫu báo cáo tổng hợp"
    doc.core_properties.author = "bdg-bot"
    doc.save(str(out))
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
