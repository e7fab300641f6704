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
from datetime import tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.proactive.broadcasts import Broadcasts
from bot.proactive.outbox import OutboxSender
from bot.proactive.reminders import Reminders
from bot.storage import Store

__all__ = ["PURGE_JOB_ID", "REMINDER_JOB_ID", "ScheduledPasses", "build_scheduler", "run_passes"]

logger = logging.getLogger(__name__)

REMINDER_JOB_ID = "reminders-daily"
PURGE_JOB_ID = "purge-hourly"
#: A job that could not run on time (the loop was busy, the machine asleep) still runs if it
#: is at most this late; after a real downtime the start-up catch-up covers the day instead.
MISFIRE_GRACE_S = 6 * 3600


class ScheduledPasses:
    """The reminder, campaign and purge passes of one process, and the sender they feed."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        reminders: Reminders,
        broadcasts: Broadcasts,
        sender: OutboxSender,
        restart_notices: Callable[[float], Awaitable[int]] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.reminders = reminders
        self.broadcasts = broadcasts
        self.sender = sender
        #: What the officers' feature queues at start-up about a crash (given by the app, so
        #: this layer needs nothing of the engine): called with the wall clock, returns a count.
        self.restart_notices = restart_notices

    async def purge(self) -> None:
        """Drop what is past its keeping time (message ids, update ids, dialogs)."""
        try:
            await self.store.purge_expired(self.clock.now())
        except Exception:
            logger.exception("purge failed; it runs again in an hour")

    async def reminder_pass(self) -> None:
        """Queue today's reminders and digests if their time has come (idempotent)."""
        try:
            result = await self.reminders.run(self.clock.now())
        except Exception:
            # A failing pass must not take the bot down; the next run (or restart) retries it.
            logger.exception("reminder pass failed")
            return
        if result.queued:
            self.sender.wake()

    async def campaign_pass(self) -> None:
        """Queue today's campaign messages whose time has come (idempotent)."""
        try:
            created = await self.broadcasts.run_campaigns(self.clock.now())
        except Exception:
            logger.exception("campaign pass failed")
            return
        if any(new for _b, new in created):
            self.sender.wake()

    async def restart_pass(self) -> None:
        """Tell officers what a crash left unsaid: owed "saved" replies, unconfirmed drafts."""
        if self.restart_notices is None:
            return
        try:
            queued = await self.restart_notices(self.sender.wall())
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


def build_scheduler(passes: ScheduledPasses, tz: tzinfo) -> AsyncIOScheduler:
    """The scheduler with the daily reminder job and one job per campaign time (not started)."""
    scheduler = AsyncIOScheduler(timezone=tz)
    options = {"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S, "max_instances": 1}
    at = passes.reminders.calendar.reminders.time
    scheduler.add_job(
        passes.reminder_pass,
        CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
        id=REMINDER_JOB_ID,
        name="deadline reminders and escalation",
        replace_existing=True,
        **options,
    )
    # Message ids older than 48 h, old update ids and expired dialogs go every hour: what is
    # kept about a citizen must not outlive DESIGN.md §3.4's limits in a long-running bot.
    scheduler.add_job(
        passes.purge,
        IntervalTrigger(hours=1, timezone=tz),
        id=PURGE_JOB_ID,
        name="purge expired ids and dialogs",
        replace_existing=True,
        **options,
    )
    times = sorted({c.time for c in passes.broadcasts.campaigns})
    for t in times:
        # One job per distinct time: the pass queues every campaign due by then.
        scheduler.add_job(
            passes.campaign_pass,
            CronTrigger(hour=t.hour, minute=t.minute, timezone=tz),
            id=f"campaigns-{t.hour:02d}{t.minute:02d}",
            name="campaign messages",
            replace_existing=True,
            **options,
        )
    return scheduler


async def run_passes(
    passes: ScheduledPasses,
    scheduler: AsyncIOScheduler,
    stop: asyncio.Event,
    *,
    on_ready: Callable[[ScheduledPasses, AsyncIOScheduler], Awaitable[None] | None] | None = None,
) -> None:
    """Start `scheduler`, run the start-up catch-up, and send from the outbox until `stop`."""
    scheduler.start()
    try:
        for job in scheduler.get_jobs():
            logger.info("scheduled %s (%s), next run %s", job.id, job.name, job.next_run_time)
        await passes.catch_up()
        if on_ready is not None:
            ready = on_ready(passes, scheduler)
            if ready is not None:
                await ready
        await passes.sender.run(stop)
    finally:
        with contextlib.suppress(Exception):
            scheduler.shutdown(wait=False)


#: How often a worker that does not run the schedule asks again (s): a dead leader's lock is
#: released by the server at once, so its schedule resumes within this.
LEAD_RETRY = 15.0

Leadership = Callable[[], contextlib.AbstractAsyncContextManager[asyncio.Event | None]]


async def lead_passes(
    passes: ScheduledPasses,
    make_scheduler: Callable[[], AsyncIOScheduler],
    stop: asyncio.Event,
    leadership: Leadership,
    *,
    on_ready: Callable[[ScheduledPasses, AsyncIOScheduler], Awaitable[None] | None] | None = None,
    retry: float = LEAD_RETRY,
) -> None:
    """Run the schedule (and its start-up catch-up) only while this worker leads.

    With several workers exactly one runs the schedule; when it dies another takes over and
    runs the catch-up, whose dedupe keys make it send nothing the dead one already queued.
    Every worker sends from the outbox (`OutboxSender.run`, called by the caller).
    """
    while not stop.is_set():
        async with leadership() as lost:
            if lost is not None:
                logger.info("this worker runs the reminder and campaign schedule")
                scheduler = make_scheduler()
                scheduler.start()
                try:
                    await passes.catch_up()
                    if on_ready is not None:
                        ready = on_ready(passes, scheduler)
                        if ready is not None:
                            await ready
                    await _first(stop.wait(), lost.wait())
                finally:
                    with contextlib.suppress(Exception):
                        scheduler.shutdown(wait=False)
                if lost.is_set():
                    logger.warning("the schedule's database lock was lost; asking again")
                continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), retry)


async def _first(*waits: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
