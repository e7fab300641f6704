"""Report draft speed: 10,000 synthetic units × every indicator, to .docx and to the charts.

Goals: the Word draft (charts embedded) under 5 s, the two charts under 2 s, for 10,000 units
under 100 districts with last year's same period to compare with. The charts' first run
includes importing matplotlib (what the first /bieudo after a start pays); it is shown apart.
Best of `--repeat` runs, median in brackets. Prints `name: value` lines. Run with `make bench`
or `.venv/bin/python bench/bench_report.py`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_export import synthetic_status  # noqa: E402

from bot.reporting.draft import ReportData, render_docx, report_data  # noqa: E402
from bot.reporting.indicators import load_indicators  # noqa: E402
from bot.reporting.periods import load_calendar  # noqa: E402
from bot.reporting.status import PeriodStatus, period_status  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GOAL_REPORT_S = 5.0
GOAL_CHARTS_S = 2.0


def timed(repeat: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Best and median wall time of `fn` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def last_year(status: PeriodStatus, rng: random.Random) -> PeriodStatus:
    """The same units a year earlier, with other figures and fewer of them filed."""
    from dataclasses import replace

    period = load_calendar().period_of(status.period.kind, status.period.year - 1)
    units = {r.unit.code: r.unit for r in status.expected}
    for row in status.expected:
        if row.group is not None:
            units[row.group.code] = row.group
    current = {}
    for row in status.reported:
        if row.current is not None and rng.random() < 0.85:
            values = {c: max(0, v + rng.randint(-300, 300)) for c, v in row.current.values.items()}
            current[row.unit.code] = replace(row.current, period_id=period.id, values=values)
    return period_status(period, units, current, current)


def main() -> None:
    """Build the synthetic periods and time the draft and the charts."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--units", type=int, default=10_000)
    p.add_argument("--districts", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    indicators = load_indicators()
    rng = random.Random(20261215)
    status = synthetic_status(args.units, args.districts, 0.9, indicators, rng)
    previous = last_year(status, rng)
    data: ReportData = report_data(
        status,
        indicators,
        previous=previous,
        officer_units={r.unit.code for r in status.expected[: args.units * 95 // 100]},
        agency="Sở Thử nghiệm",
        province="Tỉnh thử",
        place="Thử",
        made_at=datetime(2026, 12, 16, 9, 0, tzinfo=TZ),
        tz=TZ,
    )
    print(f"python: {platform.python_version()} ({platform.machine()}, {os.cpu_count()} cpus)")
    print(f"units: {args.units}")
    print(f"districts: {args.districts}")
    print(f"indicators: {len(indicators)}")
    print(f"units_reported: {len(status.reported)} (last year {len(previous.reported)})")
    print(f"repeat: {args.repeat} (best shown, median in brackets)")
    print(f"load_average_1min: {os.getloadavg()[0]:.2f}")
    n = "10k" if args.units == 10_000 else str(args.units)

    start = time.perf_counter()
    from bot.reporting.charts import render_charts

    images = render_charts(data)
    print(f"charts_first_run_with_matplotlib_import_s: {time.perf_counter() - start:.3f}")
    best, median = timed(args.repeat, lambda: render_charts(data))
    print(f"charts_{n}_s: {best:.3f} [{median:.3f}] (goal < {GOAL_CHARTS_S:g})")
    sizes = ", ".join(f"{k} {len(v) // 1024} KiB" for k, v in images.items())
    print(f"charts_png: {sizes}")

    best_plain, median_plain = timed(args.repeat, lambda: render_docx(data))
    print(f"report_{n}_without_charts_s: {best_plain:.3f} [{median_plain:.3f}]")
    holder: dict[str, bytes] = {}

    def full() -> None:
        holder["docx"] = render_docx(data, charts=render_charts(data))

    best_full, median_full = timed(args.repeat, full)
    print(f"report_{n}_with_charts_s: {best_full:.3f} [{median_full:.3f}] "
          f"(goal < {GOAL_REPORT_S:g})")  # fmt: skip
    print(f"report_{n}_docx_kib: {len(holder['docx']) // 1024}")
    ok = best_full < GOAL_REPORT_S and best < GOAL_CHARTS_S
    print(f"goals_met: {'yes' if ok else 'no'}")


if __name__ == "__main__":
    main()
