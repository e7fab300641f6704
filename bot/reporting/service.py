"""The reporting services that the chat commands and the command line share.

Reading a period's status, exports, invites, unlocks and the report draft: the handlers in
`bot.core.handlers` and the commands in `bot.cli.main` both call these, so the rules live once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from bot.content import Content, Unit
from bot.messages import Document
from bot.reporting.draft import ReportData, report_data
from bot.reporting.indicators import IndicatorSet, load_indicators
from bot.reporting.invites import new_invite_code
from bot.reporting.periods import Period, PeriodCalendar, load_calendar
from bot.reporting.status import PeriodStatus, period_status
from bot.storage import Store
from bot.storage.reports import ReportStore

logger = logging.getLogger(__name__)

DEFAULT_INVITE_DAYS = 14
#: An invite is a key to a unit's reports: a year is already generous for a forgotten code.
MAX_INVITE_DAYS = 365
BOT_PLACEHOLDER = "<bot>"
EXPORT_FORMATS = ("xlsx", "csv")


@dataclass
class Reporting:
    """What the officer and admin features share: indicators, periods and report storage."""

    indicators: IndicatorSet
    calendar: PeriodCalendar
    reports: ReportStore

    @classmethod
    def load(cls, content_dir: Path, store: Store) -> Reporting:
        """Read indicators.yaml and periods.yaml of `content_dir` (once, at start-up)."""
        return cls(
            indicators=load_indicators(content_dir / "indicators.yaml"),
            calendar=load_calendar(content_dir / "periods.yaml"),
            reports=store.reports,
        )

    async def closed_check(self, unit_code: str, today: date) -> Callable[[Period], bool]:
        """A test of whether a period is closed for this unit today (admin unlocks included)."""
        unlocks = await self.reports.unlocks_of(unit_code)
        return lambda period: self.closed(period, today, unlocks)

    def closed(self, period: Period, today: date, unlocks: dict[str, date]) -> bool:
        """A locked period stays closed unless an admin unlocked it up to today or later."""
        if self.calendar.status(period, today) != "locked":
            return False
        until = unlocks.get(period.id)
        return until is None or until < today


def resolve_period(calendar: PeriodCalendar, raw: str, today: date) -> Period | None:
    """A period from an id (`2026-N`) or a token (`N`, `6T2026`); the default when empty.

    A bare kind (`6T`) means the period of that kind open now, or the one that closed last:
    the department looks back, and a period that has not opened has nothing to show.
    """
    raw = raw.strip()
    if not raw:
        return calendar.default_for(today)
    return calendar.get(raw) or calendar.latest(raw, today)


#: A `channel:user` address as `officers list` prints it (for bound invites and revoking).
ADDRESS_RE = re.compile(r"(telegram|zalo|console):[^\s:]+")


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A stored one-time invite."""

    code: str
    unit: Unit
    expires_at: datetime
    bound_to: str | None = None


async def issue_invite(
    reporting: Reporting,
    unit: Unit,
    *,
    days: int,
    by: str,
    now: datetime,
    bound_to: str | None = None,
) -> IssuedInvite:
    """Create and store a one-time invite for `unit`, valid `days` days.

    `bound_to` makes it usable by that address only: the way to let a revoked officer
    register again (an ordinary invite refuses a revoked address).
    """
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise ValueError(f"days must be 1..{MAX_INVITE_DAYS}")
    code = new_invite_code()
    expires_at = now + timedelta(days=days)
    await reporting.reports.create_invite(code, unit.code, expires_at, by, now, bound_to=bound_to)
    logger.info("invite issued for %s by %s, valid %d days", unit.code, by, days)
    return IssuedInvite(code, unit, expires_at, bound_to)


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
    status = period_status(period, units, current, first)
    status.officer_names.update(await reporting.reports.display_names())
    return status


def build_export(
    status: PeriodStatus,
    reporting: Reporting,
    fmt: str,
    tz: tzinfo | None,
    made_at: datetime | None = None,
    province: str = "",
) -> Document:
    """The file of a period in `fmt` (xlsx or csv), named as the CLI names it."""
    # Imported here: openpyxl costs start-up time every bot pays and few requests use.
    from bot.reporting.export import export_csv, export_filename, export_xlsx

    if fmt == "csv":
        content = export_csv(status, reporting.indicators)
    else:
        content = export_xlsx(
            status, reporting.indicators, tz=tz, made_at=made_at, province=province
        )
    return Document(export_filename(status.period.id, fmt), content)


def unlock_until(period: Period, today: date, days: int) -> date:
    """The last day a unit may file after an unlock of `days` days from `today`.

    Never before the period's own end: unlocking a period that is still open must not
    announce (or mean) less time than it already has.
    """
    return max(today + timedelta(days=days), period.late_until)


def province_name(units: Mapping[str, Unit]) -> str:
    """The name of the top of the hierarchy (the province), '' when there is none."""
    top = [u for u in units.values() if not u.parent]
    return top[0].full_name("vi") if len(top) == 1 else ""


@dataclass(frozen=True, slots=True)
class RevokeOutcome:
    """What `revoke_invite` did: revoked, already, used (by `used_by`) or unknown."""

    state: str
    used_by: str | None = None


async def revoke_invite(reporting: Reporting, code: str, now: datetime) -> RevokeOutcome:
    """Withdraw an unused invite code (a used one is left: revoke its officer instead)."""
    found = await reporting.reports.revoke_invite(code.strip().lower(), now)
    if found is None:
        return RevokeOutcome("unknown")
    if found.revoked_at is not None:
        return RevokeOutcome("already")
    if found.used_by is not None:
        return RevokeOutcome("used", found.used_by)
    logger.info("invite for %s withdrawn", found.unit_code)
    return RevokeOutcome("revoked")


def template_path(content: Content) -> Path:
    """The Word template of the deployment's content folder."""
    return content.directory / "report_template.docx"


async def gather_report(
    reporting: Reporting,
    content: Content,
    period: Period,
    *,
    made_at: datetime | None = None,
    tz: tzinfo | None = None,
) -> ReportData:
    """Read the period, the same period a year earlier and the officers into ReportData."""
    status = await load_status(reporting, content.units, period)
    previous = None
    if period.year > 1901:
        before = reporting.calendar.period_of(period.kind, period.year - 1)
        previous = await load_status(reporting, content.units, before)
    officers = await reporting.reports.officers()
    return report_data(
        status,
        reporting.indicators,
        previous=previous,
        officer_units={o.unit_code for o in officers if o.active},
        agency=content.deployment.agency.vi,
        province=province_name(content.units),
        place=content.deployment.province.vi,
        made_at=made_at,
        tz=tz,
    )


def build_charts(data: ReportData) -> dict[str, bytes]:
    """Both charts as PNG (matplotlib imported only now)."""
    from bot.reporting.charts import render_charts

    return render_charts(data)


def build_draft(data: ReportData, template: Path, *, charts: bool = True) -> bytes:
    """The .docx draft, with the charts embedded unless `charts` is false."""
    from bot.reporting.draft import render_docx

    return render_docx(data, template, build_charts(data) if charts else None)
