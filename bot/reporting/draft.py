"""The department's six-month or annual report drafted as a Word document (docxtpl).

The layout is `content/report_template.docx`, a Word file the department may edit as long as
it keeps the placeholders (`{{ ... }}`, `{%tr ... %}`, `{%p ... %}`). This module computes
every text the template shows (`report_context`) and renders it (`render_docx`); the figures
are those of `bot.reporting.status.totals`, the same sums the Excel export prints.

Rules the draft keeps: nothing a commune did not report is shown as a number (an indicator
nobody gave is "chưa báo cáo", a unit's missing figure "—"); the narrative sections are
marked places for the department to fill, never generated text; numbers use Vietnamese
separators (1.234 and 12,5 %). The text is in Vietnamese only: the document goes to the
province and the ministry as it is.

docxtpl (and with it python-docx and Jinja) is imported only when a document is rendered.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from bot.reporting.indicators import IndicatorSet
from bot.reporting.periods import Period, zone_label
from bot.reporting.status import PeriodStatus, PeriodTotals, Totals, UnitStatus, totals
from bot.settings import DEFAULT_CONTENT_DIR

__all__ = [
    "ANNEX_CAPTION",
    "DASH",
    "DEFAULT_TEMPLATE_PATH",
    "NOT_REPORTED",
    "STATE_LABELS",
    "ReportData",
    "ReportTemplateError",
    "draft_filename",
    "period_name",
    "rate_text",
    "render_docx",
    "report_context",
    "report_data",
    "vi_int",
    "vi_percent",
]

DEFAULT_TEMPLATE_PATH = DEFAULT_CONTENT_DIR / "report_template.docx"
#: An indicator no unit gave, or a unit that has not filed: words, never a 0.
NOT_REPORTED = "chưa báo cáo"
#: A figure a unit that filed left out, or a comparison that cannot be made.
DASH = "—"
STATE_LABELS = {"on_time": "Đúng hạn", "late": "Muộn", "missing": "Chưa báo cáo"}
#: The annex table's alternative-text title in the template: how the renderer finds it to
#: size its columns (their number follows indicators.yaml).
ANNEX_CAPTION = "phu-luc"
DIRECT = "Trực thuộc tỉnh"

# Annex column widths in twentieths of a point: landscape A4 less 2 cm margins each side.
_ANNEX_WIDTH = 14570
_ANNEX_FIXED = (520, 2600, 1250)


class ReportTemplateError(Exception):
    """The Word template cannot be opened or rendered; the message is one line naming it."""


def draft_filename(period_id: str) -> str:
    """`bao-cao-tong-hop-2026-N.docx`: the name sent in chat and written by the CLI."""
    return f"bao-cao-tong-hop-{period_id}.docx"


# --- Vietnamese numbers --------------------------------------------------------------------------


def vi_int(value: int) -> str:
    """'1.234' (dots group thousands in Vietnamese); '-1.234' below zero."""
    return f"{value:,}".replace(",", ".")


def _vi_decimal(value: float) -> str:
    whole, _sep, tenth = f"{abs(value):.1f}".partition(".")
    sign = "-" if value < 0 and f"{abs(value):.1f}" != "0.0" else ""
    return f"{sign}{vi_int(int(whole))},{tenth}"


def vi_percent(value: float) -> str:
    """'12,5 %': a comma before the decimal, a space before the sign."""
    return f"{_vi_decimal(value)} %"


def _signed(text: str, value: float) -> str:
    return f"+{text}" if value > 0 else text


def rate_text(reported: int, expected: int) -> str:
    """The reporting rate with one decimal, rounded down so '100,0 %' means everyone."""
    if not expected:
        return DASH
    return vi_percent(reported * 1000 // expected / 10)


def period_name(period: Period) -> str:
    """'6 tháng năm 2026' from 'Báo cáo 6 tháng năm 2026': the title already says BÁO CÁO."""
    title = period.title("vi")
    head = "báo cáo "
    return title[len(head) :] if title.lower().startswith(head) else title


# --- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the draft shows, gathered before rendering (no I/O in here)."""

    status: PeriodStatus
    indicators: IndicatorSet
    totals: PeriodTotals
    #: The same period a year earlier, when at least one expected unit filed it.
    previous_status: PeriodStatus | None
    previous_totals: Totals | None
    #: Codes of the units that have an active registered officer.
    officer_units: frozenset[str]
    agency: str = ""
    #: The top of the hierarchy as written in headings ('Tỉnh Lạng Sơn'), '' when unknown.
    province: str = ""
    #: The place name of the date line ('Lạng Sơn').
    place: str = ""
    made_at: datetime | None = None
    tz: tzinfo | None = field(default=None, compare=False)

    @property
    def period(self) -> Period:
        """The period reported on."""
        return self.status.period

    @property
    def no_officer(self) -> tuple[UnitStatus, ...]:
        """Expected units with no active officer: nobody there can file."""
        return tuple(r for r in self.status.expected if r.unit.code not in self.officer_units)


def report_data(
    status: PeriodStatus,
    indicators: IndicatorSet,
    *,
    previous: PeriodStatus | None = None,
    officer_units: Collection[str] = (),
    agency: str = "",
    province: str = "",
    place: str = "",
    made_at: datetime | None = None,
    tz: tzinfo | None = None,
) -> ReportData:
    """Sum the period (and last year's, when a unit filed it) into what the draft needs."""
    codes = indicators.codes
    previous = previous if previous is not None and previous.reported else None
    return ReportData(
        status=status,
        indicators=indicators,
        totals=totals(status, codes),
        previous_status=previous,
        previous_totals=totals(previous, codes).overall if previous is not None else None,
        officer_units=frozenset(officer_units),
        agency=agency.strip(),
        province=province.strip(),
        place=place.strip(),
        made_at=made_at,
        tz=tz,
    )


# --- the template's context ----------------------------------------------------------------------


def _total(values: Totals, code: str) -> int | None:
    """A total, or None when no unit gave the indicator (not a 0 nobody reported)."""
    return values.values[code] if values.filed.get(code) else None


def _figure(value: int | None) -> str:
    return NOT_REPORTED if value is None else vi_int(value)


def _change(now: int | None, before: int | None) -> tuple[str, str]:
    """(difference, percent) between this period and last year; dashes when not comparable."""
    if now is None or before is None:
        return DASH, DASH
    diff = now - before
    percent = _signed(vi_percent(diff * 100 / before), diff) if before else DASH
    return _signed(vi_int(diff), diff), percent


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or whole is None or whole == 0:
        return None
    return part * 100 / whole


def _figure_rows(data: ReportData) -> list[dict[str, str]]:
    """One row per indicator, and after the part of a `<=` pair its share of the whole."""
    overall, before = data.totals.overall, data.previous_totals
    # `nu <= nd`: women are counted among the participants, so nu/nd is a share.
    shares = {
        rule.left: rule.right for rule in data.indicators.constraints if rule.op in ("<=", "<")
    }
    rows: list[dict[str, str]] = []
    for number, ind in enumerate(data.indicators, 1):
        now = _total(overall, ind.code)
        then = _total(before, ind.code) if before is not None else None
        diff, percent = _change(now, then)
        filed = overall.filed[ind.code]
        rows.append(
            {
                "no": str(number),
                "label": f"{ind.label.vi} ({ind.code})",
                "value": _figure(now),
                "filed": f"{vi_int(filed)}/{vi_int(overall.expected)}",
                "previous": _figure(then) if before is not None else DASH,
                "diff": diff,
                "pct": percent,
            }
        )
        whole_code = shares.get(ind.code)
        whole = data.indicators.get(whole_code) if whole_code else None
        if whole is None:
            continue
        share_now = _share(now, _total(overall, whole.code))
        share_then = _share(then, _total(before, whole.code)) if before is not None else None
        points = DASH
        if share_now is not None and share_then is not None:
            delta = share_now - share_then
            points = _signed(_vi_decimal(delta), delta) + " điểm %"
        rows.append(
            {
                "no": "",
                "label": f"Tỷ lệ {ind.code}/{whole.code} ({ind.label.vi.lower()} / "
                f"{whole.label.vi.lower()})",
                "value": DASH if share_now is None else vi_percent(share_now),
                "filed": "",
                "previous": DASH if share_then is None else vi_percent(share_then),
                "diff": points,
                "pct": "",
            }
        )
    return rows


def _names(rows: Sequence[UnitStatus]) -> str:
    return ", ".join(r.unit.full_name("vi") for r in rows)


def _grouped_lines(status: PeriodStatus, rows: Sequence[UnitStatus]) -> list[str]:
    """Unit names, under their district when the hierarchy has districts."""
    if not rows:
        return []
    if not status.grouped:
        return [_names(rows) + "."]
    wanted = {r.unit.code for r in rows}
    lines = []
    for group in status.groups:
        members = [u for u in group.units if u.unit.code in wanted]
        if members:
            title = group.parent.full_name("vi") if group.parent else DIRECT
            lines.append(f"{title} ({len(members)}/{len(group.units)}): {_names(members)}.")
    return lines


def _annex_value(row: UnitStatus, code: str) -> str:
    if row.current is None:
        return DASH
    value = row.current.values.get(code)
    return DASH if value is None else vi_int(value)


def _annex(data: ReportData) -> list[dict[str, Any]]:
    """Groups of unit rows; a group without a title when units sit under the province."""
    codes = data.indicators.codes
    subtotals: dict[str | None, Totals] = {g.parent.code: g.totals for g in data.totals.groups}
    groups: list[dict[str, Any]] = []
    number = 0
    for group in data.status.groups:
        rows = []
        for row in group.units:
            number += 1
            rows.append(
                {
                    "no": str(number),
                    "name": row.unit.full_name("vi"),
                    "state": STATE_LABELS[row.state],
                    "figures": [_annex_value(row, c) for c in codes],
                }
            )
        title = ""
        subtotal: list[str] = []
        if data.status.grouped:
            title = group.parent.full_name("vi") if group.parent else DIRECT
            sums = subtotals.get(group.parent.code) if group.parent else None
            if sums is not None:
                subtotal = [_figure(_total(sums, c)) for c in codes]
        groups.append({"title": title, "units": rows, "subtotal": subtotal})
    return groups


def _made_text(data: ReportData) -> str:
    if data.made_at is None:
        return ""
    made = data.made_at.astimezone(data.tz) if data.tz and data.made_at.tzinfo else data.made_at
    zone = zone_label(made)
    return f"{made:%H:%M} ngày {made:%d/%m/%Y}" + (f" ({zone})" if zone else "")


def report_context(data: ReportData) -> dict[str, Any]:
    """Every value the template shows, as ready text (the template holds no arithmetic)."""
    status, overall = data.status, data.totals.overall
    previous = data.previous_status
    province = data.province
    missing = _grouped_lines(status, status.missing)
    no_officer = _grouped_lines(status, data.no_officer)
    compare = ""
    if previous is not None:
        compare = (
            f"Cùng kỳ năm {previous.period.year}: {vi_int(len(previous.reported))}/"
            f"{vi_int(len(previous.expected))} đơn vị báo cáo."
        )
    return {
        "parent_agency": f"UBND {province.upper()}" if province else "[CƠ QUAN CHỦ QUẢN]",
        "agency": data.agency.upper() if data.agency else "[TÊN CƠ QUAN BÁO CÁO]",
        "place": data.place or "[Địa danh]",
        "province": province or "[tỉnh]",
        "period_id": data.period.id,
        "period_name": period_name(data.period),
        "period_label": data.period.label("vi"),
        "year": str(data.period.year),
        "previous_year": str(data.period.year - 1),
        "made": _made_text(data),
        "made_note": f", số liệu đến {_made_text(data)}" if data.made_at else "",
        "has_previous": previous is not None,
        "compare_note": compare,
        "figures": _figure_rows(data),
        "expected": vi_int(len(status.expected)),
        "reported": vi_int(len(status.reported)),
        "on_time": vi_int(len(status.on_time)),
        "late": vi_int(len(status.late)),
        "missing_count": vi_int(len(status.missing)),
        "rate": rate_text(len(status.reported), len(status.expected)),
        "missing_lines": missing or ["Không có: tất cả các đơn vị đã báo cáo."],
        "late_lines": _grouped_lines(status, status.late) or ["Không có."],
        "no_officer_count": vi_int(len(data.no_officer)),
        "no_officer_lines": no_officer or ["Không có: đơn vị nào cũng có cán bộ đăng ký."],
        "unexpected_note": (
            f"Ngoài ra có {vi_int(len(status.unexpected))} mã đơn vị không còn trong danh "
            "sách đơn vị đã gửi báo cáo; số liệu của các mã này không được cộng vào tổng."
            if status.unexpected
            else ""
        ),
        "annex_headers": [f"{ind.label.vi} ({ind.code})" for ind in data.indicators],
        "annex_groups": _annex(data),
        "annex_totals": [_figure(_total(overall, c)) for c in data.indicators.codes],
        "annex_span": 3 + len(data.indicators),
    }


# --- rendering -----------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _size_annex(document: Any, columns: int) -> None:
    """Give the annex table its column widths: fixed ones, then the indicators evenly.

    docxtpl adds a grid column per indicator but spreads the table's width evenly over all
    of them, which would squeeze the unit names.
    """
    from docx.oxml.ns import qn

    rest = max(1, columns - len(_ANNEX_FIXED))
    each = (_ANNEX_WIDTH - sum(_ANNEX_FIXED)) // rest
    widths = [*_ANNEX_FIXED, *([each] * rest)][:columns]
    for table in document.element.body.iter(qn("w:tbl")):
        caption = table.find(f"{qn('w:tblPr')}/{qn('w:tblCaption')}")
        if caption is None or caption.get(qn("w:val")) != ANNEX_CAPTION:
            continue
        grid = table.find(qn("w:tblGrid"))
        for col in list(grid):
            grid.remove(col)
        for width in widths:
            grid.append(grid.makeelement(qn("w:gridCol"), {qn("w:w"): str(width)}))


_LISTING_CHARS = ("\t", "\a", "\n", "\f")


def _template_class() -> Any:
    """DocxTemplate with two shortcuts that take a province's annex from 12 s to about 2 s.

    docxtpl rewrites every paragraph looking for line breaks and tabs in the values (none in
    ours unless a name has one: then its own code runs), and it moves the rendered body into
    the old document node by node; here the whole document is parsed once and replaces the
    old one. Its column fixing is not needed: `_size_annex` sets the annex's grid.
    """
    from copy import deepcopy

    from docx.oxml.ns import qn
    from docx.oxml.parser import parse_xml
    from docxtpl import DocxTemplate  # type: ignore[import-untyped]
    from lxml import etree  # type: ignore[import-untyped]

    class FastTemplate(DocxTemplate):  # type: ignore[misc]
        def resolve_listing(self, xml: str) -> str:
            if any(char in xml for char in _LISTING_CHARS):
                return str(super().resolve_listing(xml))
            return xml

        def fix_tables(self, xml: str) -> Any:
            root = self.docx.element
            shell = root.makeelement(root.tag, dict(root.attrib), nsmap=root.nsmap)
            for child in root:
                if child.tag == qn("w:body"):
                    shell.append(etree.Comment("body"))
                else:
                    shell.append(deepcopy(child))
            before, _sep, after = etree.tostring(shell, encoding="unicode").partition(
                "<!--body-->"
            )
            return parse_xml(before + xml + after)

        def fix_docpr_ids(self, tree: Any) -> None:
            # docxtpl's own calls lxml's xpath with a keyword python-docx's elements refuse.
            for element in tree.iter(qn("wp:docPr")):
                self.docx_ids_index += 1
                element.attrib["id"] = str(self.docx_ids_index)

        def map_tree(self, tree: Any) -> None:
            document = self.docx
            document._element = tree
            document.part._element = tree
            document._Document__body = None  # the cached body of the old element

    return FastTemplate


def render_docx(
    data: ReportData,
    template: Path = DEFAULT_TEMPLATE_PATH,
    charts: Mapping[str, bytes] | None = None,
) -> bytes:
    """The draft as .docx bytes; `charts` maps 'status'/'indicators' to PNG images.

    Raises ReportTemplateError (one line, naming `template`) when the file is not a Word
    document or its placeholders do not render.
    """
    from docx.shared import Mm
    from docxtpl import InlineImage
    from jinja2 import Environment, StrictUndefined, TemplateError

    context = report_context(data)
    try:
        tpl = _template_class()(template)
        tpl.init_docx()
    except Exception as exc:  # python-docx raises several kinds for a damaged package
        raise ReportTemplateError(
            f"{template}: not a Word document (.docx) that can be opened ({_one_line(exc)})"
        ) from None
    for key in ("status", "indicators"):
        image = (charts or {}).get(key)
        context[f"chart_{key}"] = (
            InlineImage(tpl, io.BytesIO(image), width=Mm(160)) if image else ""
        )
    # Strict: a misspelt placeholder is an error naming it, not an empty gap in the report.
    env = Environment(autoescape=True, undefined=StrictUndefined)
    try:
        tpl.render(context, jinja_env=env)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line} of the document's XML)" if line else ""
        raise ReportTemplateError(
            f"{template}: placeholder error{where}: {_one_line(exc)}"
        ) from None
    except Exception as exc:  # a template whose XML the placeholders have broken
        raise ReportTemplateError(f"{template}: cannot be rendered ({_one_line(exc)})") from None
    _size_annex(tpl.docx, int(context["annex_span"]))
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()
