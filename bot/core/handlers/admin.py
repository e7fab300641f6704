"""The department's commands in chat: reporting rate, totals, the Excel file, officer invites.

Only addresses listed in BOT_ADMINS may use them; anyone else gets a refusal in their language
and nothing happens. The handlers are thin: figures come from `bot.reporting.status`, files
from `bot.reporting.export`. The helpers here (period and unit look-up, invites, loading a
period's status) are shared with the command line (`bot.cli.reporting`).
"""

from __future__ import annotations

import asyncio
import functools
import logging

from bot.content.units import UnitError, resolve_unit
from bot.core.engine import Context, Engine, Handler, button
from bot.core.handlers import help as help_chat
from bot.core.handlers.officer import when
from bot.i18n import _
from bot.messages import Document, Reply
from bot.reporting.periods import Period
from bot.reporting.service import (
    ADDRESS_RE,
    DEFAULT_INVITE_DAYS,
    EXPORT_FORMATS,
    MAX_INVITE_DAYS,
    Reporting,
    build_export,
    invite_link,
    issue_invite,
    load_status,
    province_name,
    resolve_period,
    revoke_invite,
    unlock_until,
)
from bot.reporting.status import (
    format_status,
    format_totals,
    totals,
)

logger = logging.getLogger(__name__)

DEFAULT_UNLOCK_DAYS = 7
MAX_UNLOCK_DAYS = 60

__all__ = ["AdminCommands", "admin_only", "refusal", "register"]


def register(engine: Engine, reporting: Reporting) -> None:
    """Register the department's commands on `engine`."""
    admin = AdminCommands(reporting)
    engine.add_command(admin_only(admin.status), "tinhhinh")
    engine.add_command(admin_only(admin.totals), "tonghop")
    engine.add_command(admin_only(admin.export), "xuat")
    engine.add_command(admin_only(admin.invite), "moi")
    engine.add_command(admin_only(admin.unlock), "mokhoa", "unlock")
    engine.add_command(admin_only(admin.invites), "loimoi", "invites")
    engine.add_command(admin_only(admin.revoke), "thuhoi", "revoke")
    engine.add_button("adm", admin_only(admin.button))
    # /help lists the commands by role (citizen, officer, admin), so it knows them all here.
    help_chat.register(engine, reporting)


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


# --- the chat commands ---------------------------------------------------------------------------


MAX_LISTED = 30


class AdminCommands:
    """The department's handlers, sharing one `Reporting` (call them through `admin_only`)."""

    def __init__(self, reporting: Reporting) -> None:
        self.reporting = reporting

    def _period(self, ctx: Context, raw: str) -> Period | Reply:
        period = resolve_period(self.reporting.calendar, raw, ctx.now.date())
        if period is not None:
            return period
        example = self.reporting.calendar.default_for(ctx.now.date())
        return Reply(
            _(
                "«{token}» is not a report period. Write a period id such as {example}, or "
                "only its kind: {kinds}."
            ).format(
                token=raw.strip()[:24],
                example=example.id,
                kinds=", ".join(self.reporting.calendar.kind_codes),
            )
        )

    async def status(self, ctx: Context, args: str) -> list[Reply]:
        """`/tinhhinh [period]`: who has reported, on time or late, and who has not."""
        period = self._period(ctx, args)
        if isinstance(period, Reply):
            return [period]
        st = await load_status(self.reporting, ctx.content.units, period)
        today = ctx.now.date()
        text = format_status(
            st, window=self.reporting.calendar.status(period, today), today=today, lang=ctx.lang
        )
        rows = [[button(_("Totals"), f"adm:tonghop:{period.id}"),
                 button(_("Excel file"), f"adm:xuat:{period.id}")]]  # fmt: skip
        return [Reply(text, buttons=rows)]

    async def totals(self, ctx: Context, args: str) -> list[Reply]:
        """`/tonghop [period]`: the sum of every indicator, overall and per parent unit."""
        period = self._period(ctx, args)
        if isinstance(period, Reply):
            return [period]
        st = await load_status(self.reporting, ctx.content.units, period)
        text = format_totals(
            totals(st, self.reporting.indicators.codes), self.reporting.indicators, lang=ctx.lang
        )
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
        st = await load_status(self.reporting, ctx.content.units, period)
        # A province-wide workbook takes a moment to build: keep the event loop answering.
        document = await asyncio.to_thread(
            build_export,
            st,
            self.reporting,
            fmt,
            ctx.engine.clock.tz,
            ctx.now,
            province_name(ctx.content.units),
        )
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
        # An address among the words binds the invite to that account (re-inviting a revoked
        # officer on purpose).
        bound = next((w for w in words if ADDRESS_RE.fullmatch(w)), None)
        words = [w for w in words if w != bound]
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
        issued = await issue_invite(
            self.reporting, unit, days=days, by=ctx.address, now=ctx.now, bound_to=bound
        )
        link = invite_link(ctx.engine.bot_username, issued.code)
        text = _(
            "Invite for the officer of {unit}, valid until {until}, usable once:\n"
            "{code}\n"
            "Telegram: {link}\n"
            "On Zalo, the officer sends the code as a message (or /dangky_canbo {code})."
        ).format(
            unit=unit.full_name(ctx.lang),
            until=when(issued.expires_at, ctx.lang, ctx.engine.clock.tz),
            code=issued.code,
            link=link,
        )
        if bound is not None:
            text += "\n" + _("Only {address} can use it.").format(address=bound)
        return [Reply(text)]

    async def unlock(self, ctx: Context, args: str) -> list[Reply]:
        """`/mokhoa UNIT PERIOD [days]`: let a unit file a closed period for a few more days."""
        words = args.split()
        days = DEFAULT_UNLOCK_DAYS
        if len(words) >= 3 and words[-1].isdigit():
            days = int(words[-1])
            words = words[:-1]
        usage = _("Write the unit and the period, e.g. /mokhoa {unit} {period} 7 (days).").format(
            unit=self._example_unit(ctx),
            period=self.reporting.calendar.default_for(ctx.now.date()).id,
        )
        if len(words) < 2:
            return [Reply(usage)]
        if not 1 <= days <= MAX_UNLOCK_DAYS:
            return [
                Reply(_("The number of days must be from 1 to {max}.").format(max=MAX_UNLOCK_DAYS))
            ]
        period = self._period(ctx, words[-1])
        if isinstance(period, Reply):
            return [period]
        try:
            unit = resolve_unit(ctx.content.units, " ".join(words[:-1]))
        except UnitError as err:
            return [Reply(self._unit_problem(err, ctx.lang))]
        until = unlock_until(period, ctx.now.date(), days)
        await self.reporting.reports.unlock(unit.code, period.id, until, ctx.address)
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

    async def invites(self, ctx: Context, args: str) -> list[Reply]:
        """`/loimoi`: the invite codes that can still be used, and how to withdraw one."""
        found = await self.reporting.reports.invites(now=ctx.now)
        if not found:
            return [Reply(_("No invite code is waiting to be used. /moi makes one."))]
        lines = [_("Invite codes not used yet ({count}):").format(count=len(found))]
        for inv in found[:MAX_LISTED]:
            unit = ctx.content.units.get(inv.unit_code)
            line = _("{code} · {unit} · valid until {until}").format(
                code=inv.code,
                unit=unit.full_name(ctx.lang) if unit else inv.unit_code,
                until=when(inv.expires_at, ctx.lang, ctx.engine.clock.tz),
            )
            if inv.bound_to:
                line += " · " + _("only {address}").format(address=inv.bound_to)
            lines.append("• " + line)
        if len(found) > MAX_LISTED:
            lines.append(_("…and {count} more: bdg-bot invites list").format(
                count=len(found) - MAX_LISTED))  # fmt: skip
        lines.append(_("To withdraw a code: /thuhoi <code>. To remove an officer: /thuhoi "
                       "<address>, e.g. /thuhoi telegram:123."))  # fmt: skip
        return [Reply("\n".join(lines))]

    async def revoke(self, ctx: Context, args: str) -> list[Reply]:
        """`/thuhoi CODE|ADDRESS`: withdraw an unused invite, or remove an officer."""
        arg = args.strip()
        if ADDRESS_RE.fullmatch(arg):
            if not await self.reporting.reports.revoke_officer(arg, ctx.now):
                return [Reply(_("No active officer has the address {address}.").format(
                    address=arg))]  # fmt: skip
            logger.info("officer %s revoked by %s", arg, ctx.address)
            return [
                Reply(
                    _(
                        "{address} can no longer file reports, nor register again with an "
                        "ordinary invite. To let this account back: /moi <unit> {address}."
                    ).format(address=arg)
                )
            ]
        if not arg:
            return [
                Reply(
                    _(
                        "Write the invite code or the officer's address, e.g. /thuhoi "
                        "cb-abc123xyz9 or /thuhoi telegram:123. /loimoi lists the codes."
                    )
                )
            ]
        outcome = await revoke_invite(self.reporting, arg, ctx.now)
        texts = {
            "revoked": _("Invite {code} is withdrawn: nobody can register with it."),
            "unknown": _("There is no invite {code}. /loimoi lists the codes."),
            "already": _("Invite {code} was already withdrawn."),
            "used": _(
                "Invite {code} was already used by {address}. To stop that officer: "
                "/thuhoi {address}."
            ),
        }
        return [Reply(texts[outcome.state].format(code=arg[:20], address=outcome.used_by))]

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
        if handler is None or self.reporting.calendar.get(period_id) is None:
            return [Reply(_("That button is no longer valid. Send /tinhhinh again."))]
        return await handler(ctx, period_id)
