"""The report's charts as PNG images: reporting status by unit group, indicators vs last year.

matplotlib is imported only when a chart is drawn (start-up time and idle memory of the bot
stay as they are), on its non-interactive Agg canvas, one `Figure` per chart and no pyplot
state, so charts can be drawn in a worker thread. Text is set in DejaVu Sans, which
matplotlib ships and which has the Vietnamese letters; numbers use Vietnamese separators.
Everything reads in grey print: shades of grey and hatching, never colour alone.

Sizes are fixed (`DPI`, `WIDTH_IN`, the heights below), so the same data gives an image of
the same size; the status chart grows by `BAR_IN` per bar.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.reporting.draft import NOT_REPORTED, ReportData, rate_text, vi_int
from bot.reporting.status import Totals

__all__ = [
    "BAR_IN",
    "DPI",
    "MAX_GROUPS",
    "WIDTH_IN",
    "chart_filenames",
    "indicators_chart",
    "indicators_height_in",
    "render_charts",
    "status_chart",
    "status_height_in",
]

DPI = 150
WIDTH_IN = 7.5
BAR_IN = 0.42
STATUS_BASE_IN = 1.6
#: Indicator panels per row of the indicators chart, and the height of one row.
PANELS_PER_ROW = 4
PANEL_ROW_IN = 1.9
INDICATORS_BASE_IN = 0.8
#: More groups than this and the chart shows those with the lowest rate (the list is in the
#: document's annex).
MAX_GROUPS = 20
FONT = "DejaVu Sans"

# Grey-print safe: black, mid grey with hatching, white with cross-hatching.
_STATES = (
    ("on_time", "Đúng hạn", "#303030", ""),
    ("late", "Muộn", "#a0a0a0", "///"),
    ("missing", "Chưa báo cáo", "#ffffff", "xxx"),
)
_KIND_GROUPS = {"xa": "Xã", "phuong": "Phường", "thitran": "Thị trấn"}


def chart_filenames(period_id: str) -> dict[str, str]:
    """The file name of each chart: 'status' and 'indicators'."""
    return {
        "status": f"bieu-do-{period_id}-tinh-hinh-bao-cao.png",
        "indicators": f"bieu-do-{period_id}-chi-tieu.png",
    }


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str
    on_time: int
    late: int
    missing: int

    @property
    def expected(self) -> int:
        return self.on_time + self.late + self.missing


def _bars(data: ReportData) -> list[_Bar]:
    """The province first, then its districts (or, in a flat province, xã/phường/thị trấn)."""
    status = data.status

    def bar(label: str, rows: Sequence[Any]) -> _Bar:
        states = [r.state for r in rows]
        return _Bar(label, states.count("on_time"), states.count("late"),
                    states.count("missing"))  # fmt: skip

    groups: list[_Bar] = []
    if status.grouped:
        for group in status.groups:
            name = group.parent.full_name("vi") if group.parent else "Trực thuộc tỉnh"
            groups.append(bar(name, group.units))
    else:
        for kind, name in _KIND_GROUPS.items():
            rows = [r for r in status.expected if r.unit.kind == kind]
            if rows:
                groups.append(bar(name, rows))
    if len(groups) > MAX_GROUPS:
        groups = sorted(groups, key=lambda b: (b.on_time + b.late) / max(1, b.expected))
        groups = groups[:MAX_GROUPS]
    total = bar(data.province or "Toàn tỉnh", status.expected)
    # One group alone says nothing the total does not.
    return [total] + (groups if len(groups) > 1 else [])


def status_height_in(bars: int) -> float:
    """The status chart's height in inches for `bars` bars (the total included)."""
    return STATUS_BASE_IN + BAR_IN * bars


def indicators_height_in(indicators: int) -> float:
    """The indicators chart's height in inches for that many indicators."""
    rows = max(1, -(-indicators // PANELS_PER_ROW))
    return INDICATORS_BASE_IN + PANEL_ROW_IN * rows


def _figure(height_in: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    out = io.BytesIO()
    # No tight bounding box: the image keeps the size the figure was given. No metadata
    # with the matplotlib version, so the same data gives the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _style() -> Any:
    import matplotlib

    return matplotlib.rc_context(
        {
            "font.family": FONT,
            "font.size": 8,
            "hatch.linewidth": 0.6,
            "axes.edgecolor": "#000000",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def status_chart(data: ReportData) -> bytes:
    """Horizontal bars per unit group: share on time, late and missing, with the counts."""
    from matplotlib.ticker import FuncFormatter

    bars = _bars(data)
    with _style():
        fig = _figure(status_height_in(len(bars)))
        ax = fig.add_axes((0.30, 0.45 / status_height_in(len(bars)) + 0.08, 0.52,
                           1 - (1.05 / status_height_in(len(bars))) - 0.08))  # fmt: skip
        names = [textwrap.shorten(b.label, 34, placeholder="…") for b in bars]
        positions = list(range(len(bars)))[::-1]
        left = [0.0] * len(bars)
        for state, label, fill, hatch in _STATES:
            shares = [getattr(b, state) * 100 / max(1, b.expected) for b in bars]
            ax.barh(positions, shares, left=left, color=fill, hatch=hatch, edgecolor="#000000",
                    linewidth=0.6, height=0.62, label=label)  # fmt: skip
            left = [a + b for a, b in zip(left, shares, strict=True)]
        ax.set_yticks(positions, names)
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:.0f} %"))
        ax.set_xlabel("Tỷ lệ số đơn vị (%)")
        for pos, b in zip(positions, bars, strict=True):
            reported = b.on_time + b.late
            ax.text(101, pos, f"{vi_int(reported)}/{vi_int(b.expected)} "
                    f"({rate_text(reported, b.expected)})", va="center", fontsize=7.5,
                    clip_on=False)  # fmt: skip
        fig.legend(loc="upper center", ncols=3, frameon=False, fontsize=8,
                   bbox_to_anchor=(0.5, 1.0))  # fmt: skip
        fig.text(0.01, 0.01, f"Tình hình báo cáo — {data.period.label('vi')}", fontsize=7,
                 color="#404040")  # fmt: skip
        return _png(fig)


def _value(values: Totals | None, code: str) -> int | None:
    if values is None or not values.filed.get(code):
        return None
    return values.values[code]


def indicators_chart(data: ReportData) -> bytes:
    """One small panel per indicator: last year's total beside this period's, each labelled.

    Each panel has its own scale: participants count in thousands, orders in units.
    """
    indicators = list(data.indicators)
    height = indicators_height_in(len(indicators))
    rows = max(1, -(-len(indicators) // PANELS_PER_ROW))
    now_label = f"Kỳ này ({data.period.year})"
    before_label = f"Cùng kỳ {data.period.year - 1}"
    with _style():
        fig = _figure(height)
        grid = fig.add_gridspec(rows, PANELS_PER_ROW, left=0.03, right=0.97, bottom=0.04,
                                top=1 - 0.55 / height, hspace=0.75, wspace=0.25)  # fmt: skip
        for index, ind in enumerate(indicators):
            ax = fig.add_subplot(grid[index // PANELS_PER_ROW, index % PANELS_PER_ROW])
            title = textwrap.fill(f"{ind.label.vi} ({ind.code})", 26)
            ax.set_title(title, fontsize=7, pad=3)
            before = _value(data.previous_totals, ind.code)
            now = _value(data.totals.overall, ind.code)
            shown = [v for v in (before, now) if v is not None]
            top = max(shown, default=0) or 1
            ax.set_ylim(0, top * 1.3)
            ax.set_xlim(-0.6, 1.6)
            ax.set_yticks([])
            ax.set_xticks([0, 1], [str(data.period.year - 1), str(data.period.year)],
                          fontsize=7)  # fmt: skip
            for pos, value, fill, hatch in ((0, before, "#d0d0d0", "///"),
                                            (1, now, "#303030", "")):  # fmt: skip
                if value is None:
                    text = NOT_REPORTED if pos == 1 or data.previous_totals else "không có"
                    ax.text(pos, top * 0.05, text, ha="center", va="bottom", fontsize=6.5,
                            rotation=90, color="#404040")  # fmt: skip
                    continue
                ax.bar([pos], [value], color=fill, hatch=hatch, edgecolor="#000000",
                       linewidth=0.6, width=0.7)  # fmt: skip
                ax.text(pos, value + top * 0.03, vi_int(value), ha="center", va="bottom",
                        fontsize=7)  # fmt: skip
        from matplotlib.patches import Patch

        handles = [
            Patch(facecolor="#d0d0d0", hatch="///", edgecolor="#000000", label=before_label),
            Patch(facecolor="#303030", edgecolor="#000000", label=now_label),
        ]
        fig.legend(handles=handles, loc="upper center", ncols=2, frameon=False, fontsize=8,
                   bbox_to_anchor=(0.5, 1.0))  # fmt: skip
        return _png(fig)


def render_charts(data: ReportData) -> dict[str, bytes]:
    """Both charts as PNG bytes, keyed 'status' and 'indicators'."""
    return {"status": status_chart(data), "indicators": indicators_chart(data)}
