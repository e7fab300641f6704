"""Command-line report draft and charts: `bdg-bot report` and `bdg-bot chart`.

`report --period ID [--out FILE.docx] [--template FILE.docx] [--no-charts]` writes the Word
draft (default name bao-cao-tong-hop-<period>.docx) and prints its path; `chart --period ID
--out DIR` writes the two PNG charts into DIR and prints their paths. Both only read: run
where BOT_DB does not point to a database, they say where they looked and exit 1. A wrong or
broken template, an unknown period or a file that cannot be written is one line on stderr
and exit 1.

`bot.cli.main` adds them with `add_subcommands(sub)` and runs them from `COMMANDS`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.app import open_runtime
from bot.cli.output import fail, missing_database, write_atomically
from bot.reporting.draft import ReportData, draft_filename
from bot.reporting.service import (
    build_charts,
    build_draft,
    gather_report,
    resolve_period,
    template_path,
)
from bot.settings import Settings

__all__ = ["COMMANDS", "add_subcommands", "cmd_chart", "cmd_report"]

_PERIOD_HELP = "period id, e.g. 2026-6T, or a kind (6T: the one open now or closed last)"


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` and `chart` to the `bdg-bot` parser."""
    report = sub.add_parser("report", help="the period's report draft as a Word document")
    report.add_argument("--period", required=True, help=_PERIOD_HELP)
    report.add_argument("--out", help="output file (default bao-cao-tong-hop-<period>.docx)")
    report.add_argument(
        "--template", help="a Word template (default content/report_template.docx)"
    )
    report.add_argument("--no-charts", action="store_true", help="leave the charts out")
    chart = sub.add_parser("chart", help="the period's charts as PNG images")
    chart.add_argument("--period", required=True, help=_PERIOD_HELP)
    chart.add_argument("--out", required=True, help="folder to write the PNG files into")


async def _load(settings: Settings, raw: str) -> tuple[ReportData, Path] | str:
    """The period's data and the content folder's template, or why not (one line)."""
    if missing := missing_database(settings):
        return missing
    async with open_runtime(settings) as rt:
        reporting = rt.reporting
        today = rt.clock.now().date()
        period = resolve_period(reporting.calendar, raw, today) if raw.strip() else None
        if period is None:
            example = reporting.calendar.default_for(today).id
            return f"unknown period '{raw}'; use an id such as {example}"
        data = await gather_report(
            reporting, rt.content, period, made_at=rt.clock.now(), tz=rt.clock.tz
        )
        return data, template_path(rt.content)


async def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    """Write the report draft (.docx) and print its path."""
    from bot.reporting.draft import ReportTemplateError

    loaded = await _load(settings, args.period)
    if isinstance(loaded, str):
        return fail(loaded)
    data, template = loaded
    if args.template:
        template = Path(args.template)
    try:
        content = await asyncio.to_thread(build_draft, data, template, charts=not args.no_charts)
    except ReportTemplateError as exc:
        return fail(f"report template error: {exc}")
    path = Path(args.out) if args.out else Path(draft_filename(data.period.id))
    try:
        await asyncio.to_thread(write_atomically, path, content)
    except OSError as exc:
        return fail(f"cannot write {path}: {exc.strerror or exc}")
    print(path)
    return 0


async def cmd_chart(settings: Settings, args: argparse.Namespace) -> int:
    """Write the two charts (.png) into a folder and print their paths."""
    from bot.reporting.charts import chart_filenames

    loaded = await _load(settings, args.period)
    if isinstance(loaded, str):
        return fail(loaded)
    data, _template = loaded
    folder = Path(args.out)
    try:
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        return fail(f"cannot create {folder}: {exc.strerror or exc}")
    images = await asyncio.to_thread(build_charts, data)
    names = chart_filenames(data.period.id)
    for key, image in images.items():
        path = folder / names[key]
        try:
            await asyncio.to_thread(write_atomically, path, image)
        except OSError as exc:
            return fail(f"cannot write {path}: {exc.strerror or exc}")
        print(path)
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "report": cmd_report,
    "chart": cmd_chart,
}
