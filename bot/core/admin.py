"""The department's commands in chat: reporting rate, totals, the Excel file, officer invites.

Only addresses listed in BOT_ADMINS may use them; anyone else gets a refusal in their language
and nothing happens. The handlers are thin: figures come from `bot.reporting.status`, files
from `bot.reporting.export`. The helpers here (period and unit look-up, invites, loading a
period's status) are shared with the command line (`bot.cli_reporting`).
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from bot.content import Unit
from bot.core.engine import Context, Engine, Handler, button
from bot.core.officer import Reporting, new_invite_code, when
from bot.core.types import Document, Reply
from bot.i18n import _
from bot.reporting.periods import Period, PeriodCalendar
from bot.reporting.status import (
    PeriodStatus,
    format_status,
    format_totals,
    period_status,
    totals,
)
from bot.text import fold

logger = logging.getLogger(__name__)

DEFAULT_INVITE_DAYS = 14
#: An invite is a key to a unit's reports: a year is already generous for a forgotten code.
DEFAULT_UNLOCK_DAYS = 7
MAX_UNLOCK_DAYS = 60
MAX_INVITE_DAYS = 365
BOT_PLACEHOLDER = "<bot>"
EXPORT_FORMATS = ("xlsx", "csv")
# Kind words an admin may type before a name ("xa that khe"); unit codes never start with them.
_KIND_WORDS = ("thi-tran-", "phuong-", "xa-")

__all__ = [
    "DEFAULT_INVITE_DAYS",
    "EXPORT_FORMATS",
    "MAX_INVITE_DAYS",
    "AdminCommands",
    "IssuedInvite",
    "UnitError",
    "admin_only",
    "build_export",
    "invite_link",
    "issue_invite",
    "load_status",
    "refusal",
    "register",
    "resolve_period",
    "resolve_unit",
]


def register(engine: Engine, reporting: Reporting) -> None:
    """Register the department's commands on `engine`."""
    admin = AdminCommands(reporting)
    engine.add_command(admin_only(admin.status), "tinhhinh")
    engine.add_command(admin_only(admin.totals), "tonghop")
    engine.add_command(admin_only(admin.export), "xuat")
    engine.add_command(admin_only(admin.invite), "moi")
    engine.add_command(admin_only(admin.unlock), "mokhoa", "unlock")
    engine.add_button("adm", admin_only(admin.button))


def refusal() -> Reply:
    """What someone who is not an administrator gets."""
    return Reply(_("This command is for the department's administrators only."))


def admin_only(handler: Handler) -> Handler:
    """Wrap `handler` so only BOT_ADMINS reach it."""

    @functools.wraps(handler)
    async def guarded(ctx: Context, args: str) -> list[Reply]:
        if not ctx.is_admin:
            return [refusal()]
        return await handler(ctx, args)

    return guarded


# --- shared with the command line ---------------------------------------------------------------


def resolve_period(calendar: PeriodCalendar, raw: str, today: date) -> Period | None:
    """A period from an id (`2026-N`) or a token (`N`, `6T2026`); the default when empty."""
    raw = raw.strip()
    if not raw:
        return calendar.default_for(today)
    return calendar.get(raw) or calendar.parse_token(raw, today)


class UnitError(Exception):
    """A unit that cannot get an invite: `reason` is unknown or not_reporting."""

    def __init__(
        self, reason: str, raw: str, suggestions: tuple[str, ...] = (), unit: Unit | None = None
    ) -> None:
        super().__init__(f"{reason}: {raw}")
        self.reason = reason
        self.raw = raw
        self.suggestions = suggestions
        self.unit = unit


def resolve_unit(units: Mapping[str, Unit], raw: str) -> Unit:
    """The reporting unit with code `raw`; its name (with or without accents) works too.

    Raises UnitError("unknown", with close codes as suggestions) or UnitError("not_reporting")
    for a province or district: only communes and wards file reports.
    """
    slug = "-".join(fold(raw).replace("_", " ").split())
    candidates = [slug] + [slug[len(w) :] for w in _KIND_WORDS if slug.startswith(w)]
    unit = next((units[c] for c in candidates if c in units), None)
    if unit is None:
        names = {"-".join(fold(u.name).split()): u.code for u in units.values() if u.reports}
        unit = next((units[names[c]] for c in candidates if c in names), None)
    if unit is None:
        codes = [u.code for u in units.values() if u.reports]
        close = difflib.get_close_matches(slug, codes, n=3, cutoff=0.75)
        raise UnitError("unknown", raw.strip(), tuple(close))
    if not unit.reports:
        raise UnitError("not_reporting", raw.strip(), unit=unit)
    return unit


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A stored one-time invite."""

    code: str
    unit: Unit
    expires_at: datetime


async def issue_invite(
    reporting: Reporting, unit: Unit, *, days: int, by: str, now: datetime
) -> IssuedInvite:
    """Create and store a one-time invite for `unit`, valid `days` days."""
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise ValueError(f"days must be 1..{MAX_INVITE_DAYS}")
    code = new_invite_code()
    expires_at = now + timedelta(days=days)
    await reporting.reports.create_invite(code, unit.code, expires_at, by, now)
    logger.info("invite issued for %s by %s, valid %d days", unit.code, by, days)
    return IssuedInvite(code, unit, expires_at)


def invite_link(bot_username: str, code: str) -> str:
    """`https://t.me/<bot>?start=<code>`; `<bot>` stands in while the username is unknown."""
    name = bot_username.strip().lstrip("@") or BOT_PLACEHOLDER
    return f"https://t.me/{name}?start={code}"


async def load_status(
    reporting: Reporting, units: Mapping[str, Unit], period: Period
) -> PeriodStatus:
    """Read a period's first and latest versions and build its status."""
    current = await reporting.reports.current_reports(period.id)
    first = await reporting.reports.first_reports(period.id)
    return period_status(period, units, current, first)


def build_export(
    status: PeriodStatus, reporting: Reporting, fmt: str, tz: tzinfo | None
) -> Document:
    """The file of a period in `fmt` (xlsx or csv), named as the CLI names it."""
    # Imported here: openpyxl costs start-up time every bot pays and few requests use.
    from bot.reporting.export import export_csv, export_filename, export_xlsx

    if fmt == "csv":
        content = export_csv(status, reporting.indicators)
    else:
        content = export_xlsx(status, reporting.indicators, tz=tz)
    return Document(export_filename(status.period.id, fmt), content)


# --- the chat commands ---------------------------------------------------------------------------


class AdminCommands:
    """The department's handlers, sharing one `Reporting` (call them through `admin_only`)."""

    def __init__(self, reporting: Reporting) -> None:
        self.r = reporting

    def _period(self, ctx: Context, raw: str) -> Period | Reply:
        period = resolve_period(self.r.calendar, raw, ctx.now.date())
        if period is not None:
            return period
        example = self.r.calendar.default_for(ctx.now.date())
        return Reply(
            _(
                "«{token}» is not a report period. Write a period id such as {example}, or "
                "only its kind: {kinds}."
            ).format(
                token=raw.strip()[:24],
                example=example.id,
                kinds=", ".join(self.r.calendar.kind_codes),
            )
        )

    async def status(self, ctx: Context, args: str) -> list[Reply]:
        """`/tinhhinh [period]`: who has reported, on time or late, and who has not."""
        period = self._period(ctx, args)
        if isinstance(period, Reply):
            return [period]
        st = await load_status(self.r, ctx.content.units, period)
        today = ctx.now.date()
        text = format_status(
            st, window=self.r.calendar.status(period, today), today=today, lang=ctx.lang
        )
        rows = [[button(_("Totals"), f"adm:tonghop:{period.id}"),
                 button(_("Excel file"), f"adm:xuat:{period.id}")]]  # fmt: skip
        return [Reply(text, buttons=rows)]

    async def totals(self, ctx: Context, args: str) -> list[Reply]:
        """`/tonghop [period]`: the sum of every indicator, overall and per parent unit."""
        period = self._period(ctx, args)
        if isinstance(period, Reply):
            return [period]
        st = await load_status(self.r, ctx.content.units, period)
        text = format_totals(totals(st, self.r.indicators.codes), self.r.indicators, lang=ctx.lang)
        rows = [[button(_("Reporting status"), f"adm:tinhhinh:{period.id}"),
                 button(_("Excel file"), f"adm:xuat:{period.id}")]]  # fmt: skip
        return [Reply(text, buttons=rows)]

    async def export(self, ctx: Context, args: str) -> list[Reply]:
        """`/xuat [period] [csv]`: the period's workbook (or CSV) as a file."""
        words = args.split()
        fmt = next((w.lower() for w in words if w.lower() in EXPORT_FORMATS), "xlsx")
        period = self._period(ctx, " ".join(w for w in words if w.lower() not in EXPORT_FORMATS))
        if isinstance(period, Reply):
            return [period]
        st = await load_status(self.r, ctx.content.units, period)
        # A province-wide workbook takes a moment to build: keep the event loop answering.
        document = await asyncio.to_thread(build_export, st, self.r, fmt, ctx.engine.clock.tz)
        caption = _(
            "{period}: {reported} of {expected} units reported. Sheet 1: figures and totals; "
            "sheet 2: who filed, when, on time or late."
        ).format(
            period=period.label(ctx.lang), reported=len(st.reported), expected=len(st.expected)
        )
        document = Document(document.filename, document.content, caption)
        return [Reply(caption, document=document)]

    async def invite(self, ctx: Context, args: str) -> list[Reply]:
        """`/moi CODE [days]`: a one-time invite code and link for a unit's officer."""
        words = args.split()
        days = DEFAULT_INVITE_DAYS
        if len(words) >= 2 and words[-1].isdigit():
            days = int(words[-1])
            words = words[:-1]
        if not words:
            return [Reply(_("Write the unit code after the command, e.g. /moi {example} 14. "
                            "The codes: bdg-bot units list, or content/units.yaml.").format(
                                example=self._example_unit(ctx)))]  # fmt: skip
        if not 1 <= days <= MAX_INVITE_DAYS:
            return [
                Reply(_("The number of days must be from 1 to {max}.").format(max=MAX_INVITE_DAYS))
            ]
        try:
            unit = resolve_unit(ctx.content.units, " ".join(words))
        except UnitError as err:
            return [Reply(self._unit_problem(err, ctx.lang))]
        issued = await issue_invite(self.r, unit, days=days, by=ctx.address, now=ctx.now)
        link = invite_link(ctx.engine.bot_username, issued.code)
        text = _(
            "Invite for the officer of {unit}, valid until {until}, usable once:\n"
            "{code}\n"
            "Telegram: {link}\n"
            "On Zalo, the officer sends the code as a message (or /dangky_canbo {code})."
        ).format(
            unit=unit.full_name(ctx.lang),
            until=when(issued.expires_at, ctx.lang),
            code=issued.code,
            link=link,
        )
        return [Reply(text)]

    async def unlock(self, ctx: Context, args: str) -> list[Reply]:
        """`/mokhoa UNIT PERIOD [days]`: let a unit file a closed period for a few more days."""
        words = args.split()
        days = DEFAULT_UNLOCK_DAYS
        if len(words) >= 3 and words[-1].isdigit():
            days = int(words[-1])
            words = words[:-1]
        usage = _("Write the unit and the period, e.g. /mokhoa {unit} {period} 7 (days).").format(
            unit=self._example_unit(ctx), period=self.r.calendar.default_for(ctx.now.date()).id
        )
        if len(words) < 2 or not 1 <= days <= MAX_UNLOCK_DAYS:
            return [Reply(usage)]
        period = self._period(ctx, words[-1])
        if isinstance(period, Reply):
            return [period]
        try:
            unit = resolve_unit(ctx.content.units, " ".join(words[:-1]))
        except UnitError as err:
            return [Reply(self._unit_problem(err, ctx.lang))]
        until = ctx.now.date() + timedelta(days=days)
        await self.r.reports.unlock(unit.code, period.id, until, ctx.address)
        logger.info("period %s unlocked for %s by %s", period.id, unit.code, ctx.address)
        return [
            Reply(
                _("{unit} can file {period} until {until} inclusive.").format(
                    unit=unit.full_name(ctx.lang),
                    period=period.title(ctx.lang),
                    until=f"{until:%d/%m/%Y}",
                )
            )
        ]

    def _example_unit(self, ctx: Context) -> str:
        units = ctx.content.reporting_units()
        return units[0].code if units else "that-khe"

    def _unit_problem(self, err: UnitError, lang: str) -> str:
        if err.reason == "not_reporting" and err.unit is not None:
            return _(
                "{unit} does not file reports itself: invite the officer of a commune or ward."
            ).format(unit=err.unit.full_name(lang))
        text = _(
            "Unknown unit code «{code}». The codes: bdg-bot units list, or content/units.yaml."
        ).format(code=err.raw[:40])
        if err.suggestions:
            text += "\n" + _("Did you mean: {codes}?").format(codes=", ".join(err.suggestions))
        return text

    async def button(self, ctx: Context, rest: str) -> list[Reply]:
        """The buttons under status and totals: adm:tinhhinh|tonghop|xuat:<period id>."""
        action, _sep, period_id = rest.partition(":")
        handler = {"tinhhinh": self.status, "tonghop": self.totals, "xuat": self.export}.get(
            action
        )
        if handler is None or self.r.calendar.get(period_id) is None:
            return [Reply(_("That button is no longer valid. Send /tinhhinh again."))]
        return await handler(ctx, period_id)
