"""Period export speed: 10,000 synthetic units × every indicator, to .xlsx and to .csv.

The contract is under 3 s for 10,000 units. For comparison it also times the same two sheets
written cell by cell with openpyxl's write-only mode (what export.py does not use, and why).
Prints `name: value` lines. Run with `make bench` or `.venv/bin/python bench/bench_export.py`.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content import Unit  # noqa: E402
from bot.reporting.export import STATE_LABELS, export_csv, export_xlsx  # noqa: E402
from bot.reporting.indicators import IndicatorSet, load_indicators  # noqa: E402
from bot.reporting.periods import load_calendar  # noqa: E402
from bot.reporting.status import PeriodStatus, period_status  # noqa: E402
from bot.storage.reports import Report  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def synthetic_status(
    n_units: int, n_districts: int, filed: float, indicators: IndicatorSet, rng: random.Random
) -> PeriodStatus:
    """`n_units` communes under `n_districts` districts; a share `filed` of them reported."""
    period = load_calendar().get("2026-N")
    assert period is not None
    units: dict[str, Unit] = {"tinh": Unit("tinh", "Tỉnh thử", "tinh")}
    for d in range(n_districts):
        units[f"huyen-{d}"] = Unit(f"huyen-{d}", f"Huyện số {d}", "huyen", "tinh")
    for i in range(n_units):
        units[f"xa-{i}"] = Unit(f"xa-{i}", f"Xã Đồng Văn {i}", "xa", f"huyen-{i % n_districts}")
    start = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
    first: dict[str, Report] = {}
    current: dict[str, Report] = {}
    for i in range(n_units):
        if rng.random() >= filed:
            continue
        code = f"xa-{i}"
        at = start + timedelta(minutes=rng.randint(0, 40 * 24 * 60))
        late = at.date() > period.deadline
        values = {c: rng.randint(0, 2000) for c in indicators.codes}
        first[code] = Report(i, code, period.id, 1, values, f"telegram:{10**9 + i}", at, late)
        current[code] = first[code]
        if rng.random() < 0.2:  # a correction, later
            current[code] = Report(i, code, period.id, 2, values, f"zalo:{i}", at, True)
    return period_status(period, units, current, first)


def best_of(repeat: int, fn: Callable[[], bytes]) -> tuple[float, float, int]:
    """Best and median wall time of `fn` over `repeat` runs, and its output size."""
    times = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(fn())
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), size


def openpyxl_write_only(status: PeriodStatus, indicators: IndicatorSet) -> bytes:
    """The same two sheets through openpyxl's write-only mode, for comparison."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    data = wb.create_sheet("Số liệu")
    data.freeze_panes = "C2"
    data.append(["Mã đơn vị", "Tên đơn vị", *(f"{i.label.vi} ({i.code})" for i in indicators)])
    for row in status.expected:
        values = row.current.values if row.current else {}
        data.append(
            [row.unit.code, row.unit.full_name("vi"), *(values.get(c) for c in indicators.codes)]
        )
    sheet = wb.create_sheet("Tình trạng nộp")
    sheet.freeze_panes = "C2"
    for row in status.expected:
        cur = row.current
        when = None
        if cur is not None:
            when = WriteOnlyCell(sheet, cur.created_at.astimezone(TZ).replace(tzinfo=None))
            when.number_format = "dd/mm/yyyy hh:mm"
        sheet.append(
            [row.unit.code, row.unit.full_name("vi"), cur.officer if cur else None, when,
             cur.version if cur else None, STATE_LABELS[row.state]]
        )  # fmt: skip
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def main() -> None:
    """Build the synthetic period and time each export."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--units", type=int, default=10_000)
    p.add_argument("--districts", type=int, default=100)
    p.add_argument("--filed", type=float, default=0.9, help="share of units that reported")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-openpyxl", action="store_true", help="skip the openpyxl comparison")
    args = p.parse_args()
    indicators = load_indicators()
    rng = random.Random(20261215)
    start = time.perf_counter()
    status = synthetic_status(args.units, args.districts, args.filed, indicators, rng)
    build_s = time.perf_counter() - start
    print(f"python: {platform.python_version()} ({platform.machine()}, {os.cpu_count()} cpus)")
    print(f"units: {args.units}")
    print(f"districts: {args.districts}")
    print(f"indicators: {len(indicators)}")
    print(f"units_reported: {len(status.reported)}")
    print(f"repeat: {args.repeat} (best shown, median in brackets)")
    print(f"synthetic_status_build_s: {build_s:.3f}")
    # The figure names carry the size: `10k` for the contract's 10,000 units.
    n = "10k" if args.units == 10_000 else str(args.units)
    best, median, size = best_of(args.repeat, lambda: export_xlsx(status, indicators, tz=TZ))
    print(f"export_xlsx_{n}_units_s: {best:.3f} ({median:.3f})")
    print(f"export_xlsx_bytes: {size}")
    best, median, size = best_of(args.repeat, lambda: export_csv(status, indicators))
    print(f"export_csv_{n}_units_s: {best:.3f} ({median:.3f})")
    print(f"export_csv_bytes: {size}")
    if not args.no_openpyxl:
        best, _median, size = best_of(1, lambda: openpyxl_write_only(status, indicators))
        print(f"openpyxl_write_only_{n}_units_s: {best:.3f} (comparison, not used)")


if __name__ == "__main__":
    main()
