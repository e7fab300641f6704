"""Commune officers: registration by invite, one-line and guided reports, confirmation,
corrections, and their own report status. The dialog state lives in the database, so a
restart in the middle of a guided report resumes where the officer was."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo

from babel.dates import format_datetime

from bot.content import Content, Unit
from bot.core.engine import NUMBERED_CHANNELS, Context, Engine, button
from bot.i18n import _, use_language
from bot.messages import Button, Incoming, Reply
from bot.reporting.draft_state import ReportDraft
from bot.reporting.indicators import Problem
from bot.reporting.invites import INVITE_RE, new_invite_code
from bot.reporting.parser import (
    CLEAR_VALUES,
    example_line,
    format_problems,
    parse_report,
    period_problem,
    report_intent,
    requested_period,
)
from bot.reporting.periods import Period, zone_label
from bot.reporting.service import Reporting
from bot.storage import StorageError, Store
from bot.storage.outbox import OutboxMessage
from bot.storage.reports import (
    DraftGone,
    InviteError,
    NotAllowed,
    Officer,
    Report,
    saved_notice_key,
    unsaved_notice_key,
)
from bot.text import normalize

DIALOG_KIND = "report"
DIALOG_TTL = timedelta(hours=24)
CONFIRM_WORDS = frozenset({"ok", "oke", "okay", "xac nhan", "dong y", "confirm", "yes", "co"})
EDIT_WORDS = frozenset({"sua", "edit", "chinh sua"})
CANCEL_WORDS = frozenset({"huy", "cancel", "huy bo", "thoi"})
SKIP_WORDS = frozenset({"bq", "bo qua", "skip", "qua"})
BACK_WORDS = frozenset({"ql", "quay lai", "back", "lui"})
#: Commands that cancel the dialog in progress instead of doing what they do outside one
#: (`/huy` is also the citizens' campaign opt-out; `/ngungtin` always opts out).
DIALOG_CANCEL_COMMANDS = frozenset({"huy", "cancel"})
#: Channels that show a reply in this process as soon as the engine returns it (the console
#: prints it): no "saved" reply can be lost there, so none is recorded as owed.
IMMEDIATE_CHANNELS = frozenset({"console"})
#: On a channel that has not reported a delivery (`Engine.sent`) since start-up (Zalo), an
#: owed "saved" reply is taken as delivered once the process has lived this long after
#: handing it over (longer than any send takes). A crash before that sends it again after
#: the restart: a rare duplicate, never a silence.
ACK_GRACE = timedelta(seconds=30)
#: How many handed-over "saved" replies wait for their delivery report (memory bound).
ACK_WAITING_MAX = 1000

logger = logging.getLogger(__name__)


def register(engine: Engine, reporting: Reporting) -> None:
    """Register the officer features on `engine`."""
    flow = OfficerFlow(reporting)
    engine.add_start_parameter(INVITE_RE, flow.start_with_code)
    engine.add_command(flow.register_command, "dangky_canbo", "register")
    engine.add_command(flow.report_command, "baocao", "report")
    engine.add_command(flow.my_reports, "baocaocuatoi", "myreports")
    engine.add_button("rep", flow.button)
    engine.delivered_hooks.append(flow.delivered)
    engine.dialog_hooks.append(flow.dialog)
    engine.dialog_resumers[DIALOG_KIND] = flow.resume
    engine.dialog_states[DIALOG_KIND] = ReportDraft.from_state
    engine.text_hooks.append(flow.invite_text)
    engine.text_hooks.append(flow.report_text)


def when(at: datetime, lang: str, tz: tzinfo) -> str:
    """'14:05 28/11/2026 (UTC+7)' — time and date as officers write them, in the bot's zone.

    Stored times come back in UTC: they are shown in `tz` (the clock's zone), never in UTC.
    """
    at = at.astimezone(tz)
    zone = zone_label(at)
    shown = format_datetime(at, "HH:mm dd/MM/yyyy", tzinfo=at.tzinfo, locale=lang)
    return f"{shown} ({zone})" if zone else str(shown)


async def cancel_dialog(ctx: Context) -> list[Reply] | None:
    """`/huy` inside any dialog cancels that dialog; None when there is none to cancel.

    Commands run before dialogs in the engine, so the `/huy` command asks here first: inside
    a guided report or a broadcast draft it means "cancel this", not "stop campaign news".
    """
    text = (ctx.inc.text or "").strip()
    name = text[1:].partition(" ")[0].split("@", 1)[0].lower() if text.startswith("/") else ""
    if name not in DIALOG_CANCEL_COMMANDS:
        return None
    dialog = await ctx.engine.dialog(ctx)
    if dialog is None:
        return None
    await ctx.clear_dialog()
    ctx.topic = f"_{dialog.kind}_cancelled"
    if dialog.kind == "broadcast":
        return [Reply(_("Broadcast cancelled: nothing was sent."))]
    return [Reply(_("Cancelled. Nothing was saved."))]


def unit_name(content: Content, code: str, lang: str) -> str:
    """The unit's full name, or its code when it is no longer in units.yaml."""
    unit: Unit | None = content.units.get(code)
    return unit.full_name(lang) if unit else code


class OfficerFlow:
    """The officer handlers, sharing one `Reporting`."""

    def __init__(self, reporting: Reporting) -> None:
        self.reporting = reporting
        #: "Saved" replies handed to a channel, by the event they answer, until delivered.
        self._waiting: OrderedDict[Incoming, int] = OrderedDict()
        #: Channels seen reporting deliveries: their owed replies wait for the report only.
        self._reporting_channels: set[str] = set()

    # --- registration ---------------------------------------------------------------------

    async def start_with_code(self, ctx: Context, code: str) -> list[Reply]:
        """`/start <code>` from the invite deep link."""
        return await self.register_command(ctx, code)

    async def register_command(self, ctx: Context, args: str) -> list[Reply]:
        """Register with an invite code."""
        code = args.strip().lower()
        if not code:
            return [
                Reply(
                    _("Send the invite code after the command, e.g. /dangky_canbo cb-abc123xyz9.")
                )
            ]
        ctx.topic = "_officer_register"
        try:
            officer = await self.reporting.reports.redeem_invite(
                code, ctx.address, ctx.now, _display_name(ctx)
            )
        except InviteError as err:
            return [Reply(invite_refusal(err))]
        name = unit_name(ctx.content, officer.unit_code, ctx.lang)
        example = example_line(self.reporting.calendar, ctx.now.date())
        return [
            Reply(
                _(
                    "You are registered as the reporting officer of {unit}.\n"
                    "Send a report in one line, e.g.: {example}\n"
                    "or send BC alone to be asked each figure in turn. /baocaocuatoi shows "
                    "what your unit has filed."
                ).format(unit=name, example=example),
                buttons=[[button(_("Start a guided report"), "rep:start")]],
            )
        ]

    async def invite_text(self, ctx: Context, text: str) -> list[Reply] | None:
        """On channels without deep links (Zalo) the invite code comes as a plain message."""
        match = INVITE_RE.match(text)
        if match is None:
            return None
        return await self.register_command(ctx, match.group(1))

    # --- reports: entry points -----------------------------------------------------------

    async def report_command(self, ctx: Context, args: str) -> list[Reply]:
        """`/baocao [period] [pairs]`."""
        return await self.report_text(ctx, f"/baocao {args}".strip()) or []

    async def report_text(self, ctx: Context, text: str) -> list[Reply] | None:
        """A message that starts with BC / báo cáo: a whole report, or the guided dialog."""
        intent = report_intent(
            text, calendar=self.reporting.calendar, indicators=self.reporting.indicators
        )
        if intent == "none":
            return None
        officer = await self.reporting.reports.officer(ctx.address)
        if officer is None:
            ctx.topic = "_report_refused"
            return [self.not_an_officer()]
        today = ctx.now.date()
        if intent == "start":
            period = requested_period(text, self.reporting.calendar, today)
            period = period or self.reporting.calendar.default_for(today)
            return await self.start_guided(ctx, officer, period, None)
        is_closed = await self.reporting.closed_check(officer.unit_code, today)
        # A line for a period the unit already filed is a correction of that version: it
        # changes only the codes it names (the period is read again, exactly, by the parser).
        target = requested_period(text, self.reporting.calendar, today)
        target = target or self.reporting.calendar.default_for(today)
        current = await self.reporting.reports.current_report(officer.unit_code, target.id)
        parsed = parse_report(
            text,
            self.reporting.indicators,
            self.reporting.calendar,
            today,
            is_closed=is_closed,
            base=current.values if current else None,
        )
        if isinstance(parsed, list):
            example = example_line(self.reporting.calendar, today)
            return [Reply(format_problems(parsed, example=example))]
        return await self.ask_confirmation(ctx, officer, parsed.period, parsed.values)

    def not_an_officer(self) -> Reply:
        """A polite refusal for someone who is not a registered officer."""
        return Reply(
            _(
                "Only registered commune officers can file activity reports. If you are one, "
                "ask the department for an invite code and send: /dangky_canbo <code>.\n"
                "If you want to report violence, call 113 or tell your commune People's "
                "Committee."
            )
        )

    # --- the guided dialog ------------------------------------------------------------------

    async def start_guided(
        self, ctx: Context, officer: Officer, period: Period, values: dict[str, int] | None
    ) -> list[Reply]:
        """Begin asking each indicator in turn (from the unit's current version, if any)."""
        today = ctx.now.date()
        is_closed = await self.reporting.closed_check(officer.unit_code, today)
        problem = period_problem(period, self.reporting.calendar, today, is_closed=is_closed)
        if problem is not None:
            return [Reply(problem.message())]
        if values is None:
            # Correcting: every step shows the saved value, and "skip" keeps it.
            current = await self.reporting.reports.current_report(officer.unit_code, period.id)
            values = dict(current.values) if current else {}
        draft = ReportDraft(period=period.id, unit=officer.unit_code, values=values)
        return await self._ask(ctx, draft)

    async def _draft(self, ctx: Context) -> ReportDraft | None:
        """The sender's report draft, if one is open and readable (read once per message)."""
        found = await ctx.engine.dialog(ctx)
        if found is None or not isinstance(found.state, ReportDraft):
            return None
        return found.state

    async def _save(self, ctx: Context, draft: ReportDraft) -> None:
        await ctx.save_dialog(DIALOG_KIND, draft.to_state(), ctx.now + DIALOG_TTL)

    async def _ask(self, ctx: Context, draft: ReportDraft, problem: str = "") -> list[Reply]:
        await self._save(ctx, draft)
        codes = self.reporting.indicators.codes
        step = draft.step
        ind = self.reporting.indicators.get(codes[step])
        assert ind is not None
        period = self.reporting.calendar.get(draft.period)
        assert period is not None
        lines = []
        if problem:
            lines.append("⚠ " + problem)
        if step == 0:
            lines.append(
                period.label(ctx.lang) + " — " + unit_name(ctx.content, draft.unit, ctx.lang)
            )
        lines.append(f"({step + 1}/{len(codes)}) {ind.label.get(ctx.lang)} [{ind.code}]")
        lines.append(ind.hint.get(ctx.lang))
        previous = await self._previous_value(draft.unit, period, ind.code)
        if previous is not None:
            lines.append(_("Last period: {value}").format(value=previous))
        current = draft.values.get(ind.code)
        if current is not None:
            lines.append(
                _("Now: {value} (skip keeps it, - clears it)").format(value=_number(current))
            )
        if ctx.numbered:
            lines.append(_("Type a number (0 if none), or: bq = skip, ql = back, huy = cancel."))
            return [Reply("\n".join(lines))]
        lines.append(_("Type a number (0 if none)."))
        rows = [[button(_("Skip"), "rep:skip"), button(_("Back"), "rep:back"),
                 button(_("Cancel"), "rep:cancel")]]  # fmt: skip
        return [Reply("\n".join(lines), buttons=rows)]

    async def _previous_value(self, unit_code: str, period: Period, code: str) -> int | None:
        # The previous period is the one whose deadline is the day before this one opens.
        before = self.reporting.calendar.default_for(period.opens - timedelta(days=1))
        report = await self.reporting.reports.current_report(unit_code, before.id)
        return report.values.get(code) if report else None

    async def dialog(self, ctx: Context, text: str) -> list[Reply] | None:
        """Route a message to the report dialog in progress, if there is one."""
        draft = await self._draft(ctx)
        if draft is None:
            return None
        word = normalize(text)
        if draft.mode == "confirm" and draft.nonce is not None:
            if word in CONFIRM_WORDS:
                return await self.confirm(ctx, draft.nonce)
            if word in EDIT_WORDS:
                return await self.edit(ctx, draft.nonce)
            if word in CANCEL_WORDS:
                return await self.cancel(ctx)
            return None  # numbers pick the offered buttons; anything else is a new message
        if (
            report_intent(
                text, calendar=self.reporting.calendar, indicators=self.reporting.indicators
            )
            != "none"
        ):
            return None  # a fresh report line replaces the dialog
        if word in SKIP_WORDS:
            return await self._advance(ctx, draft)
        if word in BACK_WORDS:
            return await self._ask(ctx, replace(draft, step=max(0, draft.step - 1)))
        if word in CANCEL_WORDS:
            return await self.cancel(ctx)
        code = self.reporting.indicators.codes[draft.step]
        if text.strip() in CLEAR_VALUES:
            kept = {k: v for k, v in draft.values.items() if k != code}
            return await self._advance(ctx, replace(draft, values=kept))
        value = self.reporting.indicators.parse_value(text, code)
        if isinstance(value, Problem):
            return await self._ask(ctx, draft, value.message())
        values = {**draft.values, code: value}
        problems = [p for p in self.reporting.indicators.check(values) if _concerns(p, code)]
        if problems:
            return await self._ask(ctx, draft, problems[0].message())
        return await self._advance(ctx, replace(draft, values=values))

    async def resume(self, ctx: Context, rest: str) -> list[Reply]:
        """Back to the report after an emergency: ask the pending step again."""
        draft = await self._draft(ctx)
        if draft is None:
            return [Reply(_("No report is in progress. Send BC to start one."))]
        if draft.mode != "confirm":
            return await self._ask(ctx, draft)
        return await self._confirm_draft(ctx, draft)

    async def _advance(self, ctx: Context, draft: ReportDraft) -> list[Reply]:
        draft = replace(draft, step=draft.step + 1)
        if draft.step < len(self.reporting.indicators.codes):
            return await self._ask(ctx, draft)
        return await self._confirm_draft(ctx, draft)

    async def _confirm_draft(self, ctx: Context, draft: ReportDraft) -> list[Reply]:
        """Show a complete draft for confirmation (or end it: no longer an officer)."""
        officer = await self.reporting.reports.officer(ctx.address)
        period = self.reporting.calendar.get(draft.period)
        if officer is None or period is None:
            await ctx.clear_dialog()
            return [self.not_an_officer()]
        return await self.ask_confirmation(ctx, officer, period, dict(draft.values))

    # --- confirmation -------------------------------------------------------------------------

    async def ask_confirmation(
        self, ctx: Context, officer: Officer, period: Period, values: dict[str, int]
    ) -> list[Reply]:
        """Show every indicator and ask to confirm; nothing is saved before that."""
        nonce = secrets.token_hex(4)
        draft = ReportDraft(period=period.id, unit=officer.unit_code, mode="confirm",
                            values=values, nonce=nonce)  # fmt: skip
        await self._save(ctx, draft)
        lines = await self.draft_lines(
            ctx.content,
            ctx.lang,
            ctx.now.date(),
            officer.unit_code,
            period,
            values,
            ctx.engine.clock.tz,
        )
        lines.append(_("Not saved yet: check the figures, then confirm."))
        if ctx.numbered:
            lines.append(_("Or type ok to confirm."))
        return [Reply("\n".join(lines), buttons=confirm_buttons(nonce))]

    async def draft_lines(
        self,
        content: Content,
        lang: str,
        today: date,
        unit_code: str,
        period: Period,
        values: dict[str, int],
        tz: tzinfo,
    ) -> list[str]:
        """The draft as the officer confirms it: period, unit, every figure, what it replaces."""
        lines = [period.label(lang) + " — " + unit_name(content, unit_code, lang)]
        current = await self.reporting.reports.current_report(unit_code, period.id)
        lines += self.summary_lines(values, lang, current.values if current else None)
        if self.reporting.calendar.status(period, today) == "late":
            lines.append(_("⚠ Filed after the deadline: it will be marked late."))
        if current is not None:
            lines.append(
                _("This replaces version {version} filed at {at}.").format(
                    version=current.version, at=when(current.created_at, lang, tz)
                )
            )
            lines.append(
                _(
                    "Figures marked → change; the others are kept from version {version}. "
                    "To clear one, write its code with a dash, e.g. {code}=-."
                ).format(version=current.version, code=self.reporting.indicators.codes[0])
            )
        return lines

    def summary_lines(
        self, values: dict[str, int], lang: str, previous: dict[str, int] | None = None
    ) -> list[str]:
        """One line per indicator; those not given are shown as not filed.

        With `previous` (the version a correction replaces), a changed figure reads
        "old → new", so the officer sees exactly what confirming changes.
        """
        out = []
        for ind in self.reporting.indicators:
            value = values.get(ind.code)
            shown = _number(value) if value is not None else _("not filed")
            if previous is not None and previous.get(ind.code) != value:
                old = previous.get(ind.code)
                shown = f"{_number(old) if old is not None else _('not filed')} → {shown}"
            out.append(f"• {ind.code} {ind.label.get(lang)}: {shown}")
        return out

    async def confirm(self, ctx: Context, nonce: str) -> list[Reply]:
        """Save the draft as a new version (once, however often confirm is pressed)."""
        draft = await self._draft(ctx)
        if draft is None or draft.nonce != nonce:
            return [Reply(_("Nothing to confirm: this report was already saved or cancelled. "
                            "/baocaocuatoi shows what is saved."))]  # fmt: skip
        period = self.reporting.calendar.get(draft.period)
        assert period is not None
        # The period may have closed between the summary and the tap on "confirm".
        today = ctx.now.date()
        is_closed = await self.reporting.closed_check(draft.unit, today)
        problem = period_problem(period, self.reporting.calendar, today, is_closed=is_closed)
        if problem is not None:
            await ctx.clear_dialog()
            return [Reply(problem.message())]
        late = self.reporting.calendar.status(period, today) != "on_time"
        try:
            report = await self.reporting.reports.save_report(
                officer=ctx.address,
                unit_code=draft.unit,
                period_id=period.id,
                values=dict(draft.values),
                late=late,
                now=ctx.now,
                draft_nonce=nonce,
                ack_owed=ctx.inc.channel not in IMMEDIATE_CHANNELS,
            )
        except DraftGone:
            return [Reply(_("Nothing to confirm: this report was already saved or cancelled. "
                            "/baocaocuatoi shows what is saved."))]  # fmt: skip
        except NotAllowed:
            await ctx.clear_dialog()
            return [Reply(_("You are no longer registered for this unit, so the report was not "
                            "saved. Ask the department for a new invite."))]  # fmt: skip
        except StorageError:
            # Locked or full database: the save is one transaction, rolled back whole, so the
            # draft (and its nonce) is still there and the same Confirm saves it once later.
            return [Reply(_("Not saved: the system could not store your report just now. "
                            "Your draft is kept: press Confirm again in a minute."),
                          buttons=confirm_buttons(nonce))]  # fmt: skip
        ctx.topic = "_report_saved"
        if ctx.inc.channel not in IMMEDIATE_CHANNELS:
            self._await_delivery(ctx, report.id)
        return [Reply(saved_text(ctx.content, report, period, ctx.lang, ctx.engine.clock.tz))]

    # --- the "saved" reply owed until it is delivered ----------------------------------------

    def _await_delivery(self, ctx: Context, report_id: int) -> None:
        """Clear the owed ack when the channel reports delivery, or after ACK_GRACE."""
        self._waiting[ctx.inc] = report_id
        while len(self._waiting) > ACK_WAITING_MAX:
            self._waiting.popitem(last=False)
        if ctx.inc.channel in self._reporting_channels:
            return  # a send that fails leaves it owed: the next start-up sends it
        loop = asyncio.get_running_loop()
        store = ctx.store
        reports = self.reporting.reports

        def fallback() -> None:
            store.later("", reports.acknowledged([report_id]), "report acknowledgement")

        loop.call_later(ACK_GRACE.total_seconds(), fallback)

    async def delivered(self, inc: Incoming) -> None:
        """The channel sent every reply to `inc`: a "saved" among them is owed no more."""
        self._reporting_channels.add(inc.channel)
        report_id = self._waiting.pop(inc, None)
        if report_id is not None:
            # Awaited (bounded) rather than left in the background: the sooner it is
            # written, the smaller the window in which a crash repeats the "saved" reply.
            store = self.reporting.reports.store
            await store.within(
                self.reporting.reports.acknowledged([report_id]), None, "report acknowledgement"
            )

    async def edit(self, ctx: Context, nonce: str) -> list[Reply]:
        """Go through the draft's figures again, one by one."""
        draft = await self._draft(ctx)
        if draft is None or draft.nonce != nonce:
            return [Reply(_("This report is no longer open for editing. Send it again."))]
        return await self._ask(ctx, ReportDraft(period=draft.period, unit=draft.unit,
                                                values=draft.values))  # fmt: skip

    async def cancel(self, ctx: Context) -> list[Reply]:
        """Drop the draft; nothing is saved."""
        await ctx.clear_dialog()
        return [Reply(_("Cancelled. Nothing was saved."))]

    async def button(self, ctx: Context, rest: str) -> list[Reply]:
        """The report buttons: start[:period], skip, back, cancel, ok:<nonce>, edit:<nonce>."""
        action, _sep, arg = rest.partition(":")
        if action in ("ok", "edit", "start", "skip", "back"):
            officer = await self.reporting.reports.officer(ctx.address)
            if officer is None:
                return [self.not_an_officer()]
            if action == "ok":
                return await self.confirm(ctx, arg)
            if action == "edit":
                return await self.edit(ctx, arg)
            if action == "start":
                today = ctx.now.date()
                period = self.reporting.calendar.get(arg) if arg else None
                return await self.start_guided(
                    ctx, officer, period or self.reporting.calendar.default_for(today), None
                )
            word = "bq" if action == "skip" else "ql"
            return await self.dialog(ctx, word) or [
                Reply(_("No report is in progress. Send BC to start one."))
            ]
        if action == "cancel":
            return await self.cancel(ctx)
        return [Reply(_("That button is no longer valid. Send BC to start a report."))]

    # --- status --------------------------------------------------------------------------------

    async def my_reports(self, ctx: Context, args: str) -> list[Reply]:
        """The unit's current version and status for the open periods."""
        officer = await self.reporting.reports.officer(ctx.address)
        if officer is None:
            return [self.not_an_officer()]
        today = ctx.now.date()
        periods = self.reporting.calendar.open_periods(today)
        default = self.reporting.calendar.default_for(today)
        if default not in periods:
            periods.append(default)
        lines = [unit_name(ctx.content, officer.unit_code, ctx.lang)]
        for period in periods:
            lines.append("")
            lines.append(period.label(ctx.lang))
            report = await self.reporting.reports.current_report(officer.unit_code, period.id)
            if report is None:
                lines.append(_("Not filed yet."))
                continue
            lines.append(
                _("Version {version}, filed at {at} by {who}{late}.").format(
                    version=report.version,
                    at=when(report.created_at, ctx.lang, ctx.engine.clock.tz),
                    who=_("you") if report.officer == ctx.address else report.officer,
                    late=_(" (late)") if report.late else "",
                )
            )
            lines += self.summary_lines(report.values, ctx.lang)
        return [Reply("\n".join(lines))]


def confirm_buttons(nonce: str) -> list[list[Button]]:
    """Confirm / Edit / Cancel for the draft with `nonce` (the same nonce saves it once)."""
    return [[button(_("Confirm"), f"rep:ok:{nonce}"), button(_("Edit"), f"rep:edit:{nonce}"),
             button(_("Cancel"), "rep:cancel")]]  # fmt: skip


def saved_text(
    content: Content, report: Report, period: Period | None, lang: str, tz: tzinfo
) -> str:
    """The "saved" reply of a confirmed version (in the current language)."""
    return (
        _("Saved: {unit}, {period}, version {version}, at {at}{late}.").format(
            unit=unit_name(content, report.unit_code, lang),
            period=period.title(lang) if period else report.period_id,
            version=report.version,
            at=when(report.created_at, lang, tz),
            late=_(" (late)") if report.late else "",
        )
        + "\n"
        + _("You can correct it until the period closes: send the report again.")
    )


async def restart_notices(engine: Engine, reporting: Reporting, wall_now: float) -> int:
    """After a restart, queue what a crash may have left unsaid; return how many were queued.

    - a "saved" reply for every version whose reply was never reported delivered;
    - for every draft still awaiting confirmation, a notice that it was NOT saved, with its
      figures and the Confirm / Edit / Cancel buttons again (the same nonce: pressing the
      old or the new Confirm saves it once).
    Both go through the outbox under dedupe keys, so a second restart repeats nothing.
    """
    langs = _Languages(engine.store)
    acks = await _owed_acks(engine, reporting, langs)
    drafts = await _unsaved_drafts(engine, reporting, langs)
    if not acks and not drafts:
        return 0
    queued: int = await reporting.reports.queue_restart_notices(acks, drafts, wall_now)
    logger.info(
        "after restart: %d owed 'saved' replies, %d unsaved drafts; %d queued",
        len(acks),
        len(drafts),
        queued,
    )
    return queued


class _Languages:
    """Each officer's chosen language, looked up once per restart pass."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.known: dict[str, str] = {}

    async def of(self, address: str) -> str:
        if address not in self.known:
            user = await self.store.get_user(address)
            self.known[address] = user.lang if user and user.lang else "vi"
        return self.known[address]


async def _owed_acks(
    engine: Engine, reporting: Reporting, langs: _Languages
) -> list[tuple[int, OutboxMessage]]:
    """A "saved" reply for every version whose reply was never reported delivered."""
    acks: list[tuple[int, OutboxMessage]] = []
    for report in await reporting.reports.owed_acks():
        lang = await langs.of(report.officer)
        with use_language(lang):
            period = reporting.calendar.get(report.period_id)
            intro = _("Your report was saved, but the bot restarted before it could tell you:")
            text = intro + "\n" + saved_text(engine.content, report, period, lang, engine.clock.tz)
        message = OutboxMessage(
            saved_notice_key(report.id), "report-saved", report.officer, Reply(text), priority=0
        )
        acks.append((report.id, message))
    return acks


async def _unsaved_drafts(
    engine: Engine, reporting: Reporting, langs: _Languages
) -> list[tuple[str, str, OutboxMessage]]:
    """A "NOT saved" notice, with the buttons again, for every draft awaiting confirmation."""
    flow = OfficerFlow(reporting)
    now = engine.clock.now()
    drafts: list[tuple[str, str, OutboxMessage]] = []
    for address, state in await reporting.reports.drafts_awaiting_confirmation(now):
        try:
            draft = ReportDraft.from_state(state)
        except ValueError as exc:
            logger.warning("after restart: an unreadable report draft is skipped (%s)", exc)
            continue
        period = reporting.calendar.get(draft.period)
        nonce = draft.nonce
        if period is None or nonce is None or draft.suspended:
            # A draft put aside by an emergency keeps its own "back to my report" button.
            continue
        lang = await langs.of(address)
        with use_language(lang):
            notice = _(
                "⚠ Your report was NOT saved: the bot restarted before it was confirmed. "
                "Check the figures, then press Confirm to save it."
            )
            lines = [notice]
            lines += await flow.draft_lines(
                engine.content,
                lang,
                now.date(),
                draft.unit,
                period,
                dict(draft.values),
                engine.clock.tz,
            )
            if address.partition(":")[0] in NUMBERED_CHANNELS:
                lines.append(_("Or type ok to confirm."))
            reply = Reply("\n".join(lines), buttons=confirm_buttons(nonce))
        key = unsaved_notice_key(address, nonce)
        drafts.append((address, nonce, OutboxMessage(key, "report-unsaved", address, reply, 0)))
    return drafts


def _number(value: int) -> str:
    """1.200: thousands grouped with dots, as officers write them."""
    return f"{value:,}".replace(",", ".")


def _display_name(ctx: Context) -> str | None:
    """The name the platform shows for the sender, when the channel passes one."""
    # getattr: `Incoming.display_name` is new, and this module must not depend on its order.
    name = getattr(ctx.inc, "display_name", None)
    return name.strip() if isinstance(name, str) and name.strip() else None


def invite_refusal(err: InviteError) -> str:
    """Why an invite code was refused, in the current language."""
    if err.reason == "throttled":
        minutes = max(1, -(-int((err.wait or timedelta()).total_seconds()) // 60))
        return _(
            "Too many wrong invite codes. Wait {minutes} min, then send the code again "
            "exactly as the department gave it."
        ).format(minutes=minutes)
    reasons = {
        "unknown": _(
            "This invite code does not exist. Check it, or ask the department for a new one."
        ),
        "used": _("This invite code has already been used. Ask the department for a new one."),
        "expired": _("This invite code has expired. Ask the department for a new one."),
        "revoked": _("This invite code was withdrawn by the department. Ask for a new one."),
        "bound": _(
            "This invite code was made for another account. Ask the department for your own."
        ),
        "blocked": _(
            "This account was removed as a reporting officer, so it cannot register with an "
            "ordinary invite. Ask the department to invite this account again."
        ),
    }
    return reasons.get(err.reason, reasons["unknown"])


def _concerns(problem: Problem, code: str) -> bool:
    """Whether a problem from `check` is about the indicator just answered."""
    params = problem.params
    return code in (params.get("code"), params.get("left"), params.get("right"))


__all__ = [
    "OfficerFlow",
    "Reporting",
    "cancel_dialog",
    "invite_refusal",
    "new_invite_code",
    "register",
    "restart_notices",
    "saved_text",
    "when",
]
