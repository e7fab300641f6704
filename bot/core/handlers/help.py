"""`/help` (`/trogiup`): the commands the sender may use, on every channel.

Citizens' commands are listed for everyone, officers' commands for registered officers, the
department's commands for admins. The list is read against the engine's registered commands
when it is shown, so a command that is renamed or removed is never advertised; a test checks
that every registered command has a line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.engine import Context, Engine
from bot.core.handlers.officer import Reporting
from bot.i18n import N_, _
from bot.messages import Reply
from bot.storage import StorageError

__all__ = ["ADMIN", "CITIZEN", "OFFICER", "HelpLine", "help_text", "register"]


@dataclass(frozen=True, slots=True)
class HelpLine:
    """One command as /help shows it: its usage, what it does, and the names it also answers.

    A usage with arguments is translated ("/xuat [kỳ] [csv]"); the command name never is.
    """

    usage: str
    what: str
    aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The command name (without the slash and arguments)."""
        return self.usage.split()[0].lstrip("/")


CITIZEN = (
    HelpLine("/start", N_("the main menu"), ("batdau", "menu")),
    HelpLine("/duongdaynong", N_("hotlines"), ("hotlines", "hotline")),
    HelpLine("/diachi", N_("trusted addresses near you or in a commune"), ("places",)),
    HelpLine("/ngonngu", N_("Vietnamese / English"), ("lang", "language")),
    HelpLine("/dangky", N_("receive campaign news"), ("subscribe",)),
    HelpLine("/ngungtin", N_("stop campaign news"), ("stopnews", "huy", "unsubscribe")),
    HelpLine("/xoa", N_("erase what the bot keeps about you"), ("delete",)),
    HelpLine("/help", N_("this list"), ("trogiup",)),
)
#: For a commune officer who has an invite code but has not registered yet.
REGISTER = HelpLine(
    N_("/dangky_canbo CODE"),
    N_("register as a commune officer with an invite code"),
    ("register",),
)
OFFICER = (
    HelpLine("/baocao", N_("file or correct your unit's report"), ("report",)),
    HelpLine("/baocaocuatoi", N_("your unit's reports and their status"), ("myreports",)),
)
ADMIN = (
    HelpLine(N_("/tinhhinh [period]"), N_("who has reported, on time or late")),
    HelpLine(N_("/tonghop [period]"), N_("totals of every indicator")),
    HelpLine(N_("/xuat [period] [csv]"), N_("the period's Excel workbook")),
    HelpLine(N_("/baocaotonghop [period]"), N_("the report draft as a Word file")),
    HelpLine(N_("/bieudo [period]"), N_("charts of the period")),
    HelpLine(N_("/moi UNIT [days]"), N_("a one-time invite for a unit's officer")),
    HelpLine("/loimoi", N_("invites that can still be used"), ("invites",)),
    HelpLine(
        N_("/thuhoi CODE|ADDRESS"), N_("withdraw an invite or remove an officer"), ("revoke",)
    ),
    HelpLine(
        N_("/mokhoa UNIT PERIOD [days]"), N_("reopen a closed period for a unit"), ("unlock",)
    ),
    HelpLine("/guitin", N_("send a message to citizens or officers"), ("broadcast",)),
    HelpLine(N_("/trangthai [id]"), N_("progress of the latest broadcasts"), ("status",)),
)


def _lines(engine: Engine, lines: tuple[HelpLine, ...]) -> list[str]:
    """`/usage — what` for each line whose command is registered on `engine`."""
    return [f"{_(h.usage)} — {_(h.what)}" for h in lines if h.name in engine.commands]


def help_text(engine: Engine, *, officer: bool, admin: bool) -> str:
    """The /help text for a sender who is (or is not) an officer and an admin."""
    parts = [_("Commands:"), *_lines(engine, CITIZEN)]
    if not officer:
        parts += _lines(engine, (REGISTER,))
    if officer:
        parts += ["", _("For commune officers:"), *_lines(engine, OFFICER)]
    if admin:
        parts += ["", _("For the department (admins):"), *_lines(engine, ADMIN)]
    parts += ["", _("Or just ask your question in your own words.")]
    return "\n".join(parts)


def register(engine: Engine, reporting: Reporting) -> None:
    """Register `/help` and `/trogiup` on `engine`."""

    async def show_help(ctx: Context, args: str) -> list[Reply]:
        """List the commands the sender may use."""
        ctx.topic = "_help"
        try:
            officer = await reporting.reports.officer(ctx.address) is not None
        except StorageError:  # a locked database: the citizens' list is still worth showing
            officer = False
        return [Reply(help_text(ctx.engine, officer=officer, admin=ctx.is_admin))]

    engine.add_command(show_help, "help", "trogiup")
