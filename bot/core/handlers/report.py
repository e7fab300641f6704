"""The department's report in chat: `/baocaotonghop [period]` (the Word draft) and `/bieudo
[period]` (the charts as PNG files). Administrators only, like the commands of `admin.py`.

Zalo cannot send files: there the administrator gets a short text summary and is pointed to
Telegram or the command line. `gather_report` (reading a period, last year's same period and
the officers) is shared with the command line (`bot.cli.report`). The document and the
charts are built in a worker thread: a province's draft takes a moment, and the event loop
keeps answering meanwhile. docxtpl and matplotlib are imported only then.
"""

from __future__ import annotations

import asyncio

from bot.core.engine import Context, Engine
from bot.core.handlers.admin import admin_only
from bot.i18n import _
from bot.messages import Document, Reply
from bot.reporting.draft import (
    ReportData,
    draft_filename,
    rate_text,
    vi_int,
)
from bot.reporting.periods import Period
from bot.reporting.service import (
    Reporting,
    build_charts,
    build_draft,
    gather_report,
    resolve_period,
    template_path,
)

__all__ = ["ReportCommands", "register"]

#: Channels that cannot send a file: the admin gets text instead.
TEXT_ONLY_CHANNELS = frozenset({"zalo"})


def register(engine: Engine, reporting: Reporting) -> None:
    """Register /baocaotonghop and /bieudo (admins only) on `engine`."""
    commands = ReportCommands(reporting)
    engine.add_command(admin_only(commands.report_command), "baocaotonghop")
    engine.add_command(admin_only(commands.chart_command), "bieudo")


# --- the chat commands ---------------------------------------------------------------------------


def _period(ctx: Context, reporting: Reporting, raw: str) -> Period | Reply:
    period = resolve_period(reporting.calendar, raw, ctx.now.date())
    if period is not None:
        return period
    example = reporting.calendar.default_for(ctx.now.date())
    return Reply(
        _(
            "«{token}» is not a report period. Write a period id such as {example}, or "
            "only its kind: {kinds}."
        ).format(
            token=raw.strip()[:24],
            example=example.id,
            kinds=", ".join(reporting.calendar.kind_codes),
        )
    )


def summary(data: ReportData, lang: str) -> str:
    """A short text of the period: who reported, then every indicator's total."""
    status, overall = data.status, data.totals.overall
    lines = [
        _(
            "{period}: {reported} of {expected} units reported ({rate}); {on_time} on time, "
            "{late} late, {missing} not yet."
        ).format(
            period=data.period.label(lang),
            reported=vi_int(len(status.reported)),
            expected=vi_int(len(status.expected)),
            rate=rate_text(len(status.reported), len(status.expected)),
            on_time=vi_int(len(status.on_time)),
            late=vi_int(len(status.late)),
            missing=vi_int(len(status.missing)),
        ),
        _("Units with no registered officer: {count}.").format(count=vi_int(len(data.no_officer))),
    ]
    for ind in data.indicators:
        value = _("not filed")
        if overall.filed.get(ind.code):
            value = vi_int(overall.values[ind.code])
        lines.append(f"• {ind.label.get(lang)} ({ind.code}): {value}")
    return "\n".join(lines)


def _text_only(ctx: Context, data: ReportData, what: str, command: str) -> list[Reply]:
    note = _(
        "Zalo cannot send the {what}: ask for it on Telegram, or use the command line: {command}"
    ).format(what=what, command=command)
    return [Reply(summary(data, ctx.lang) + "\n\n" + note)]


class ReportCommands:
    """/baocaotonghop and /bieudo over the reporting services of the runtime."""

    def __init__(self, reporting: Reporting) -> None:
        self.reporting = reporting

    async def _gather(self, ctx: Context, args: str) -> ReportData | Reply:
        reporting = self.reporting
        period = _period(ctx, reporting, args)
        if isinstance(period, Reply):
            return period
        return await gather_report(
            reporting, ctx.content, period, made_at=ctx.now, tz=ctx.engine.clock.tz
        )

    async def report_command(self, ctx: Context, args: str) -> list[Reply]:
        """`/baocaotonghop [period]`: the report draft as a Word file."""
        data = await self._gather(ctx, args)
        if isinstance(data, Reply):
            return [data]
        if ctx.inc.channel in TEXT_ONLY_CHANNELS:
            command = f"bdg-bot report --period {data.period.id}"
            return _text_only(ctx, data, _("Word document"), command)
        from bot.reporting.draft import ReportTemplateError

        template = template_path(ctx.content)
        try:
            content = await asyncio.to_thread(build_draft, data, template)
        except ReportTemplateError as exc:
            return [Reply(_("The report template cannot be used: {problem}").format(problem=exc))]
        caption = _(
            "{period}: report draft from {reported} of {expected} units. Fill in the marked "
            "sections, the number and the date before sending."
        ).format(
            period=data.period.label(ctx.lang),
            reported=vi_int(len(data.status.reported)),
            expected=vi_int(len(data.status.expected)),
        )
        document = Document(draft_filename(data.period.id), content, caption)
        return [Reply(caption, document=document)]

    async def chart_command(self, ctx: Context, args: str) -> list[Reply]:
        """`/bieudo [period]`: the reporting-status and indicator charts as PNG files."""
        data = await self._gather(ctx, args)
        if isinstance(data, Reply):
            return [data]
        if ctx.inc.channel in TEXT_ONLY_CHANNELS:
            command = f"bdg-bot chart --period {data.period.id} --out DIR"
            return _text_only(ctx, data, _("charts"), command)
        from bot.reporting.charts import chart_filenames

        images = await asyncio.to_thread(build_charts, data)
        names = chart_filenames(data.period.id)
        captions = {
            "status": _("{period}: reporting status by unit group."),
            "indicators": _(
                "{period}: each indicator, this period beside the same period last year."
            ),
        }
        replies = []
        for key, image in images.items():
            caption = captions[key].format(period=data.period.label(ctx.lang))
            replies.append(Reply(caption, document=Document(names[key], image, caption)))
        return replies
