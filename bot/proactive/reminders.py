"""Deadline reminders and escalation digests, queued through the outbox.

The daily pass (the scheduler's job, the start-up catch-up and `bdg-bot reminders run` all
call `Reminders.run`) looks at one local day:

- on each configured day before a period's deadline (default 7, 3, 1 and the deadline day)
  and after it (default 1, 3, 7 days overdue), every active officer of each reporting unit
  with no confirmed report for the period gets a reminder;
- on the first and the last overdue reminder day, admins and the officers of the units above
  get one digest: reporting rate, the overdue units, and the units nobody could be reminded
  in (no registered officer).

Every message has a dedupe key of (purpose, period, occasion, recipient), so a pass run twice
for the same day queues nothing the second time. A reminder still queued when its unit
reports, or after its day is over, is skipped by the sender instead of being sent.
"""

from __future__ import annotations

import logging
import time as walltime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from babel.dates import format_date

from bot.content import Content, Unit
from bot.i18n import _, ngettext, use_language
from bot.messages import Button, Reply
from bot.reporting.indicators import IndicatorSet
from bot.reporting.periods import Period, PeriodCalendar
from bot.storage import Store
from bot.storage.outbox import OutboxMessage
from bot.storage.reports import Officer

__all__ = ["Occasion", "PassResult", "Planned", "Reminders", "long_date"]

logger = logging.getLogger(__name__)

Purpose = Literal["remind", "escalate"]
#: Unit names listed in a digest before "… and N more" (Telegram caps a message at 4096).
DIGEST_NAMES = 40


def long_date(day: date, lang: str) -> str:
    """'Thứ Hai, 15 tháng 6, 2026' / 'Monday, June 15, 2026' (Babel, full format)."""
    return str(format_date(day, format="full", locale="en" if lang == "en" else "vi"))


@dataclass(frozen=True, slots=True)
class Occasion:
    """One reminder day of one period: 'before-7', 'before-0' (the deadline), 'overdue-1'."""

    period: Period
    kind: str
    days_left: int  # negative when overdue
    escalate: bool


@dataclass(frozen=True, slots=True)
class Planned:
    """One message the pass queues (or would queue, in a dry run)."""

    purpose: Purpose
    address: str
    unit_code: str | None  # the reminded unit; None for a digest
    period_id: str
    kind: str
    message: OutboxMessage


@dataclass
class PassResult:
    """What a pass did."""

    day: date
    due: bool  # False when run before the day's reminder time: nothing is due yet
    occasions: list[Occasion] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    queued: int = 0  # new outbox rows (0 when everything was queued before)
    existing: set[str] = field(default_factory=set)  # keys queued by an earlier run


class Reminders:
    """Plans and queues the reminder pass for a moment."""

    def __init__(
        self,
        *,
        store: Store,
        content: Content,
        calendar: PeriodCalendar,
        indicators: IndicatorSet,
        admins: Iterable[str],
        tz: tzinfo,
        wall: Callable[[], float] = walltime.time,
    ) -> None:
        self.store = store
        self.outbox = store.outbox
        self.reports = store.reports
        self.content = content
        self.calendar = calendar
        self.indicators = indicators
        self.admins = sorted(admins)
        self.tz = tz
        self.wall = wall

    # --- when -----------------------------------------------------------------------------------

    def local_day(self, at: datetime) -> tuple[date, bool]:
        """The local date of `at` and whether that day's reminder time has come."""
        local = at.astimezone(self.tz) if at.tzinfo else at.replace(tzinfo=self.tz)
        return local.date(), local.time().replace(tzinfo=None) >= self.calendar.reminders.time

    def next_run(self, after: datetime) -> datetime:
        """The first reminder time strictly after `after` (local time zone)."""
        day, _due = self.local_day(after)
        at = datetime.combine(day, self.calendar.reminders.time, self.tz)
        while at <= after:
            day += timedelta(days=1)
            at = datetime.combine(day, self.calendar.reminders.time, self.tz)
        return at

    def occasions(self, day: date) -> list[Occasion]:
        """The reminder occasions of `day`, earliest deadline first."""
        settings = self.calendar.reminders
        last_overdue = max(settings.after_days, default=1)
        out = []
        for period in self.calendar.open_periods(day):
            left = (period.deadline - day).days
            if left >= 0 and left in settings.before_days:
                out.append(Occasion(period, f"before-{left}", left, escalate=False))
            elif left < 0 and -left in settings.after_days:
                # Escalate on the first overdue reminder and on the last one, after which the
                # department follows up itself.
                escalate = -left in (min(settings.after_days), last_overdue)
                out.append(Occasion(period, f"overdue-{-left}", left, escalate=escalate))
        return out

    # --- the pass -------------------------------------------------------------------------------

    async def plan(self, at: datetime) -> PassResult:
        """Every message the pass at `at` queues, without queueing anything."""
        day, due = self.local_day(at)
        result = PassResult(day=day, due=due)
        if not due:
            return result
        occasions = result.occasions = self.occasions(day)
        if not occasions:
            return result
        officers = [o for o in await self.reports.officers() if o.active]
        by_unit: dict[str, list[Officer]] = {}
        for officer in officers:
            by_unit.setdefault(officer.unit_code, []).append(officer)
        addresses = sorted({o.address for o in officers} | set(self.admins))
        languages = await self.outbox.languages(addresses)
        # A reminder is true only on its day ("3 days left"): one still undelivered at the end
        # of that day is dropped. Outbox times are wall-clock, `at` may be a chosen moment
        # (--at, tests): what carries over is how much of the day is left.
        aware = at if at.tzinfo else at.replace(tzinfo=self.tz)
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), self.tz)
        expires = self.wall() + max(60.0, (midnight - aware).total_seconds())
        units = self.content.reporting_units()
        for occasion in occasions:
            period = occasion.period
            reported = await self.reports.current_reports(period.id)
            missing = [u for u in units if u.code not in reported]
            for unit in missing:
                for officer in by_unit.get(unit.code, []):
                    lang = languages.get(officer.address, "vi")
                    key = f"remind:{period.id}:{occasion.kind}:{officer.address}"
                    message = OutboxMessage(
                        dedupe_key=key,
                        purpose="remind",
                        address=officer.address,
                        reply=self.reminder_reply(unit, occasion, lang),
                        priority=0,
                        expires_at=expires,
                        report_unit=unit.code,
                        report_period=period.id,
                    )
                    result.planned.append(
                        Planned("remind", officer.address, unit.code, period.id, occasion.kind,
                                message)
                    )  # fmt: skip
            if occasion.escalate:
                result.planned.extend(
                    await self._digests(occasion, units, reported, by_unit, languages, expires)
                )
        return result

    async def run(self, at: datetime, *, dry_run: bool = False) -> PassResult:
        """Run the pass as of `at`: queue what is due (or, dry, only say what would be)."""
        result = await self.plan(at)
        keys = [p.message.dedupe_key for p in result.planned]
        if keys:
            result.existing = await self.outbox.existing_keys(keys)
        if not dry_run and result.planned:
            result.queued = await self.outbox.enqueue(
                (p.message for p in result.planned), self.wall()
            )
            logger.info(
                "reminder pass for %s: %s new of %s planned",
                result.day,
                result.queued,
                len(result.planned),
            )
        return result

    # --- escalation digests ---------------------------------------------------------------------

    async def _digests(
        self,
        occasion: Occasion,
        units: list[Unit],
        reported: Iterable[str],
        by_unit: dict[str, list[Officer]],
        languages: dict[str, str],
        expires: float,
    ) -> list[Planned]:
        period = occasion.period
        done = set(reported)
        counts = await self.outbox.reminder_counts(period.id)
        # Scopes: admins see every unit, an officer of a unit above communes sees the units
        # under it (its own descendants).
        scopes: list[tuple[str, list[Unit]]] = [(a, units) for a in self.admins]
        seen = set(self.admins)
        for parent_code, parent_officers in sorted(by_unit.items()):
            below = [u for u in units if parent_code in self._ancestors(u)]
            if not below:
                continue
            for officer in parent_officers:
                if officer.address not in seen:
                    seen.add(officer.address)
                    scopes.append((officer.address, below))
        out = []
        for address, scope in scopes:
            lang = languages.get(address, "vi")
            with use_language(lang):
                text = self.digest_text(occasion, scope, done, by_unit, counts, lang)
            key = f"escalate:{period.id}:{occasion.kind}:{address}"
            message = OutboxMessage(
                dedupe_key=key,
                purpose="escalate",
                address=address,
                reply=Reply(text),
                priority=0,
                expires_at=expires,
            )
            out.append(Planned("escalate", address, None, period.id, occasion.kind, message))
        return out

    def _ancestors(self, unit: Unit) -> list[str]:
        out = []
        parent = unit.parent
        while parent:
            out.append(parent)
            above = self.content.units.get(parent)
            parent = above.parent if above else None
        return out

    def digest_text(
        self,
        occasion: Occasion,
        scope: list[Unit],
        done: set[str],
        by_unit: dict[str, list[Officer]],
        counts: dict[tuple[str, str], int],
        lang: str,
    ) -> str:
        """The digest for one recipient, in the current language."""
        period = occasion.period
        overdue = -occasion.days_left
        late = [u for u in scope if u.code not in done]
        nobody = [u for u in late if not by_unit.get(u.code)]
        total = len(scope)
        filed = total - len(late)
        percent = round(100 * filed / total) if total else 100
        heading = ngettext(
            "{period}: {count} day overdue (deadline {deadline})",
            "{period}: {count} days overdue (deadline {deadline})",
            overdue,
        ).format(
            period=period.title(lang), count=overdue, deadline=long_date(period.deadline, lang)
        )
        lines = [
            "📊 " + heading,
            _("Reporting rate: {done}/{total} units ({percent}%).").format(
                done=filed, total=total, percent=percent
            ),
        ]
        if late:
            lines.append(
                _("Not reported ({count}): {units}").format(
                    count=len(late), units=self._names(late, lang)
                )
            )
        else:
            lines.append(_("Every unit has reported."))
        if nobody:
            lines.append(
                _("No registered officer, so nobody could be reminded ({count}): {units}").format(
                    count=len(nobody), units=self._names(nobody, lang)
                )
            )
        codes = {u.code for u in scope}
        undelivered = {
            state: sum(n for (unit, s), n in counts.items() if s == state and unit in codes)
            for state in ("blocked", "undeliverable", "failed")
        }
        if any(undelivered.values()):
            lines.append(
                _(
                    "Reminders not delivered: {blocked} blocked the bot, {undeliverable} outside "
                    "Zalo's 48-hour window, {failed} failed."
                ).format(**undelivered)
            )
        if late and overdue == max(self.calendar.reminders.after_days, default=1):
            lines.append(
                _(
                    "That was the last reminder. Please contact these units directly; late "
                    "reports are accepted until {date}."
                ).format(date=long_date(period.late_until, lang))
            )
        return "\n".join(lines)

    @staticmethod
    def _names(units: list[Unit], lang: str) -> str:
        names = [u.full_name(lang) for u in units[:DIGEST_NAMES]]
        text = ", ".join(names)
        if len(units) > DIGEST_NAMES:
            text += " " + _("and {count} more").format(count=len(units) - DIGEST_NAMES)
        return text + "."

    # --- the reminder -------------------------------------------------------------------------

    def format_line(self, period: Period) -> str:
        """The one-line report for a period with a gap for each figure."""
        return " ".join(["BC", period.token, *(f"{code}=…" for code in self.indicators.codes)])

    def reminder_reply(self, unit: Unit, occasion: Occasion, lang: str) -> Reply:
        """The reminder to one officer, in `lang`."""
        period = occasion.period
        with use_language(lang):
            deadline = long_date(period.deadline, lang)
            left = occasion.days_left
            if left > 0:
                when = ngettext(
                    "Deadline: {deadline} ({count} day left).",
                    "Deadline: {deadline} ({count} days left).",
                    left,
                ).format(deadline=deadline, count=left)
            elif left == 0:
                when = _("Deadline: today, {deadline}.").format(deadline=deadline)
            else:
                when = ngettext(
                    "Deadline: {deadline}, {count} day overdue. Late reports are accepted "
                    "until {late_until}.",
                    "Deadline: {deadline}, {count} days overdue. Late reports are accepted "
                    "until {late_until}.",
                    -left,
                ).format(
                    deadline=deadline, count=-left, late_until=long_date(period.late_until, lang)
                )
            text = "\n".join(
                [
                    "🔔 " + _("Reminder: {period}").format(period=period.title(lang)),
                    _("{unit} has not sent this report yet.").format(unit=unit.full_name(lang)),
                    when,
                    "",
                    _("Send it in one line, putting your figure in place of each …:"),
                    self.format_line(period),
                    _("Or choose “Start the report” below to enter the figures one by one."),
                ]
            )
            start = Button(label=_("Start the report"), data=f"rep:start:{period.id}")
        return Reply(text=text, buttons=[[start]], track=False)
