"""What a serving bot does on its own: the daily reminder pass, campaign messages, the outbox,
and at start-up the officers' notices about what a crash left unsaid.

One APScheduler `AsyncIOScheduler` in the configured time zone holds the jobs (stable ids, so
a restart replaces rather than adds them). Every job only queues into the outbox under dedupe
keys, so the start-up catch-up, a misfired job run late and `bdg-bot reminders run` can all
run the same pass without sending anything twice. The outbox sender drains the queue until
the bot stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.broadcast import Broadcasts
from bot.core.app import Runtime
from bot.core.delivery import ProactiveSender
from bot.core.officer import restart_notices
from bot.outbox.ratelimit import limits_from_settings
from bot.outbox.sender import OutboxSender
from bot.outbox.store import OutboxStore
from bot.reminders import Reminders

__all__ = ["REMINDER_JOB_ID", "Background", "build_scheduler", "run_background"]

logger = logging.getLogger(__name__)

REMINDER_JOB_ID = "reminders-daily"
PURGE_JOB_ID = "purge-hourly"
#: A job that could not run on time (the loop was busy, the machine asleep) still runs if it
#: is at most this late; after a real downtime the start-up catch-up covers the day instead.
MISFIRE_GRACE_S = 6 * 3600


class Background:
    """The reminder and campaign passes of one runtime, and the sender they feed."""

    def __init__(
        self,
        rt: Runtime,
        sender: OutboxSender,
        reminders: Reminders | None = None,
        broadcasts: Broadcasts | None = None,
    ) -> None:
        self.rt = rt
        self.sender = sender
        self.reminders = reminders or Reminders.from_runtime(rt)
        self.broadcasts = broadcasts or Broadcasts.from_runtime(rt)

    async def purge(self) -> None:
        """Drop what is past its keeping time (message ids, update ids, dialogs)."""
        try:
            await self.rt.store.purge_expired(self.rt.clock.now())
        except Exception:
            logger.exception("purge failed; it runs again in an hour")

    async def reminder_pass(self) -> None:
        """Queue today's reminders and digests if their time has come (idempotent)."""
        try:
            result = await self.reminders.run(self.rt.clock.now())
        except Exception:
            # A failing pass must not take the bot down; the next run (or restart) retries it.
            logger.exception("reminder pass failed")
            return
        if result.queued:
            self.sender.wake()

    async def campaign_pass(self) -> None:
        """Queue today's campaign messages whose time has come (idempotent)."""
        try:
            created = await self.broadcasts.run_campaigns(self.rt.clock.now())
        except Exception:
            logger.exception("campaign pass failed")
            return
        if any(new for _b, new in created):
            self.sender.wake()

    async def restart_pass(self) -> None:
        """Tell officers what a crash left unsaid: owed "saved" replies, unconfirmed drafts."""
        try:
            queued = await restart_notices(self.rt.engine, self.sender.wall())
        except Exception:
            logger.exception("restart notices failed; the next start retries them")
            return
        if queued:
            self.sender.wake()

    async def catch_up(self) -> None:
        """Run today's passes now: a bot that was down at their time still sends, once."""
        await self.restart_pass()
        await self.reminder_pass()
        await self.campaign_pass()


def build_scheduler(background: Background) -> AsyncIOScheduler:
    """The scheduler with the daily reminder job and one job per campaign time (not started)."""
    tz = background.rt.settings.tz
    scheduler = AsyncIOScheduler(timezone=tz)
    options = {"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S, "max_instances": 1}
    at = background.reminders.calendar.reminders.time
    scheduler.add_job(
        background.reminder_pass,
        CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
        id=REMINDER_JOB_ID,
        name="deadline reminders and escalation",
        replace_existing=True,
        **options,
    )
    # Message ids older than 48 h, old update ids and expired dialogs go every hour: what is
    # kept about a citizen must not outlive DESIGN.md §3.4's limits in a long-running bot.
    scheduler.add_job(
        background.purge,
        IntervalTrigger(hours=1, timezone=tz),
        id=PURGE_JOB_ID,
        name="purge expired ids and dialogs",
        replace_existing=True,
        **options,
    )
    times = sorted({c.time for c in background.broadcasts.campaigns})
    for t in times:
        # One job per distinct time: the pass queues every campaign due by then.
        scheduler.add_job(
            background.campaign_pass,
            CronTrigger(hour=t.hour, minute=t.minute, timezone=tz),
            id=f"campaigns-{t.hour:02d}{t.minute:02d}",
            name="campaign messages",
            replace_existing=True,
            **options,
        )
    return scheduler


async def run_background(
    rt: Runtime,
    senders: dict[str, ProactiveSender],
    stop: asyncio.Event,
    *,
    on_ready: Callable[[Background, AsyncIOScheduler], Awaitable[None] | None] | None = None,
) -> None:
    """Start the scheduler, run the start-up catch-up, and send from the outbox until `stop`."""
    sender = OutboxSender(OutboxStore(rt.store), senders, limits_from_settings(rt.settings))
    background = Background(rt, sender)
    scheduler = build_scheduler(background)
    scheduler.start()
    try:
        logger.info("outbox sender for: %s", ", ".join(sorted(senders)) or "no channel")
        for job in scheduler.get_jobs():
            logger.info("scheduled %s (%s), next run %s", job.id, job.name, job.next_run_time)
        await background.catch_up()
        if on_ready is not None:
            ready = on_ready(background, scheduler)
            if ready is not None:
                await ready
        await sender.run(stop)
    finally:
        with contextlib.suppress(Exception):
            scheduler.shutdown(wait=False)
