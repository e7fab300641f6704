"""The application: the runtime built once, every feature registered in ONE place, serving.

`open_runtime` reads the settings' content once, opens the database, builds the services
(reporting, reminders, broadcasts) and the engine, and closes the database after. `serve` runs
the configured channels and the proactive loop (scheduler + outbox) in one task group under
one stop signal: when one part ends or fails, the others are stopped and waited for before
the senders and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channels.console import DRAIN_WITHIN, ConsoleOut, ConsolePrinter, run_console
from bot.channels.inbox import InboxWorker, new_inbox_key
from bot.clock import Clock, SystemClock
from bot.content import Content, load_content
from bot.content.places_import import apply_imported_places
from bot.core.engine import Engine
from bot.core.handlers import admin, broadcast, citizen, officer, places, report
from bot.core.handlers.officer import restart_notices
from bot.core.matcher import Matcher
from bot.core.runtime import Runtime
from bot.messages import ProactiveSender
from bot.proactive.broadcasts import Broadcasts, load_campaigns
from bot.proactive.outbox import OutboxSender, outbox_sender
from bot.proactive.ratelimit import limits_from_settings
from bot.proactive.reminders import Reminders
from bot.proactive.scheduler import ScheduledPasses, build_scheduler, lead_passes, run_passes
from bot.reporting.service import Reporting
from bot.settings import Settings, SettingsError
from bot.storage import StorageError, Store

__all__ = [
    "Runtime",
    "build_engine",
    "build_runtime",
    "channels_for",
    "missing_setting",
    "open_runtime",
    "open_senders",
    "run_background",
    "serve",
    "serve_console",
    "stop_on_signals",
]

logger = logging.getLogger(__name__)

#: One part of a serving bot: a channel, or the proactive loop.
Serve = Callable[[Runtime, asyncio.Event], Awaitable[None]]


def broadcasts_for(settings: Settings, store: Store, content: Content) -> Broadcasts:
    """The broadcast service, with the campaigns of the content folder (read now, once)."""
    campaigns = load_campaigns(settings.content_dir / "campaigns.yaml", content.units)
    return Broadcasts(
        store=store,
        units=content.units,
        admins=settings.admins,
        tz=settings.tz,
        campaigns=campaigns,
    )


def build_engine(
    settings: Settings,
    store: Store,
    content: Content,
    clock: Clock,
    *,
    reporting: Reporting | None = None,
    broadcasts: Broadcasts | None = None,
) -> Engine:
    """Create the engine and register every feature on it (services built here when not given)."""
    reporting = reporting or Reporting.load(settings.content_dir, store)
    broadcasts = broadcasts or broadcasts_for(settings, store, content)
    engine = Engine(
        content=content,
        store=store,
        clock=clock,
        admins=settings.admins,
        bot_username=settings.telegram_bot_username,
    )
    # Order matters: officer hooks (a dialog in progress, an invite code, a report line) must
    # see a text before the citizen FAQ fallback does.
    # Citizens: commands, buttons, locations, the emergency reply and the FAQ fallback.
    citizen.register(engine)
    # Officers: invite registration, one-line and guided reports, their own status.
    officer.register(engine, reporting)
    # Citizens: trusted addresses near a location or in a commune named in a message (after
    # the officers' hooks, so a report line is never read as a commune).
    places.register(engine)
    # The department: reporting rate, totals, Excel export, invites (admins only).
    admin.register(engine, reporting)
    # The department: /guitin broadcasts and /trangthai (admins only).
    broadcast.register(engine, broadcasts)
    # The department: the report draft (Word) and its charts (admins only).
    report.register(engine, reporting)
    return engine


def build_runtime(settings: Settings, store: Store, content: Content, clock: Clock) -> Runtime:
    """The services and the engine over an open database and loaded content."""
    reporting = Reporting.load(settings.content_dir, store)
    broadcasts = broadcasts_for(settings, store, content)
    reminders = Reminders(
        store=store,
        content=content,
        calendar=reporting.calendar,
        indicators=reporting.indicators,
        admins=settings.admins,
        tz=settings.tz,
    )
    engine = build_engine(
        settings, store, content, clock, reporting=reporting, broadcasts=broadcasts
    )
    return Runtime(settings, store, content, clock, reporting, reminders, broadcasts, engine)


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """Open the database, load the content, build the services and the engine; close after."""
    clock = clock or SystemClock(settings.tz)
    content = load_content(settings.content_dir)
    # Started now, while the process has no other thread yet: the matcher is trained in a
    # child process while the database opens, and this one never holds the training's memory.
    training = Matcher.train_ahead(content.topics, content.examples, content.concepts)
    try:
        store = await Store.open(settings.database)
    except (OSError, StorageError, sqlite3.Error) as exc:
        training.cancel()
        where = settings.database_label
        raise SettingsError(f"BOT_DB cannot be opened ({where}): {exc}") from None
    except BaseException:
        training.cancel()
        raise
    training.finish()
    try:
        content = await apply_imported_places(store, content)
        await store.purge_expired(clock.now())
        yield build_runtime(settings, store, content, clock)
    finally:
        await store.close()


# --- serving -------------------------------------------------------------------------------------


def channels_for(settings: Settings, requested: str) -> list[str]:
    """Which channels to serve: `auto` = every configured one (console when none is)."""
    if requested == "auto":
        chosen = []
        if settings.telegram_token:
            chosen.append("telegram")
        if settings.zalo is not None:
            chosen.append("zalo")
        return chosen or ["console"]
    return [requested]


def missing_setting(settings: Settings, channel: str) -> str | None:
    """The variable a requested channel lacks, if any."""
    if channel == "telegram" and not settings.telegram_token:
        return "TELEGRAM_BOT_TOKEN"
    if channel == "zalo" and settings.zalo is None:
        return (
            "ZALO_APP_ID, ZALO_OA_SECRET, ZALO_APP_SECRET, ZALO_ACCESS_TOKEN, ZALO_REFRESH_TOKEN"
        )
    return None


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if sys.platform != "win32":  # Windows event loops have no signal handlers
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    return stop


@contextlib.asynccontextmanager
async def open_senders(
    rt: Runtime, out: TextIO | None = None
) -> AsyncIterator[dict[str, ProactiveSender]]:
    """The proactive senders of every configured channel (the outbox hands messages to them).

    Console addresses (an admin trying the bot locally) get their messages printed.
    """
    senders: dict[str, ProactiveSender] = {
        "console": ConsolePrinter(ConsoleOut(out or sys.stdout))
    }
    settings = rt.settings
    async with contextlib.AsyncExitStack() as stack:
        if settings.telegram_token:
            from telegram import Bot

            from bot.channels.telegram.request import AiohttpRequest
            from bot.channels.telegram.sender import TelegramSender

            # One connection per message in flight, or the sends would queue for the pool.
            request = AiohttpRequest(connection_pool_size=settings.outbox_in_flight)
            bot = Bot(
                str(settings.telegram_token),
                base_url=settings.telegram_api_base_url,
                request=request,
            )
            try:
                await stack.enter_async_context(bot)
            except Exception as exc:  # network down, token revoked: the messages stay queued
                print(
                    f"Telegram is not reachable ({type(exc).__name__}); its messages stay "
                    "queued in the outbox.",
                    file=sys.stderr,
                )
            else:
                senders["telegram"] = TelegramSender(bot)
        if settings.zalo is not None:
            from bot.channels.zalo.adapter import open_zalo_sender

            senders["zalo"] = await stack.enter_async_context(open_zalo_sender(rt))
        yield senders


def scheduled_passes(rt: Runtime, sender: OutboxSender) -> ScheduledPasses:
    """The daily passes of `rt`, feeding `sender`."""

    async def notices(wall: float) -> int:
        return await restart_notices(rt.engine, rt.reporting, wall)

    return ScheduledPasses(
        rt.store, rt.clock, rt.reminders, rt.broadcasts, sender, restart_notices=notices
    )


async def run_background(
    rt: Runtime,
    senders: dict[str, ProactiveSender],
    stop: asyncio.Event,
    *,
    on_ready: Callable[[ScheduledPasses, AsyncIOScheduler], Awaitable[None] | None] | None = None,
) -> None:
    """Start the scheduler, run the start-up catch-up, and send from the outbox until `stop`."""
    sender = outbox_sender(rt.store.outbox, senders, rt.settings)
    passes = scheduled_passes(rt, sender)
    logger.info("outbox sender for: %s", ", ".join(sorted(senders)) or "no channel")
    if rt.store.kind != "postgresql":
        await run_passes(passes, build_scheduler(passes, rt.settings.tz), stop, on_ready=on_ready)
        return
    # Several workers may share the database: each sends from the outbox (claims are
    # serialised per channel, so the platform's pace holds across them), one runs the schedule.
    async with asyncio.TaskGroup() as group:
        group.create_task(sender.run(stop))
        group.create_task(
            lead_passes(
                passes,
                lambda: build_scheduler(passes, rt.settings.tz),
                stop,
                lambda: rt.store.leadership("schedule"),
                on_ready=on_ready,
            )
        )


def open_inbox(rt: Runtime, channels: list[str]) -> InboxWorker | None:
    """The durable inbox, when webhooks are served on PostgreSQL (one or several workers)."""
    s = rt.settings
    webhooks = ("telegram" in channels and bool(s.telegram_webhook_url)) or "zalo" in channels
    if rt.store.kind != "postgresql" or not webhooks:
        return None
    key = str(s.inbox_key)
    if not key:
        # Rows this worker leaves behind when it dies cannot be read by another worker or by
        # its own restart: say so once, at start.
        logger.warning(
            "BOT_INBOX_KEY is not set: a key was made for this process only; updates waiting "
            "when it dies are lost. Set BOT_INBOX_KEY (the same for every worker)."
        )
        key = new_inbox_key()
    return InboxWorker(rt.store, key)


async def serve(rt: Runtime, channels: list[str], stop: asyncio.Event) -> None:
    """Serve every channel in `channels` and the outbox/scheduler until `stop`."""
    parts: list[Serve] = []
    inbox = open_inbox(rt, channels)
    if "telegram" in channels:
        from bot.channels.telegram.adapter import serve_telegram

        parts.append(functools.partial(serve_telegram, inbox=inbox))
    if "zalo" in channels:
        from bot.channels.zalo.adapter import serve_zalo

        parts.append(functools.partial(serve_zalo, inbox=inbox))
    if inbox is not None:
        worker = inbox

        async def handle_inbox(rt: Runtime, stop: asyncio.Event) -> None:
            await worker.run(stop)

        parts.append(handle_inbox)

    async def guarded(run: Serve) -> None:
        try:
            await run(rt, stop)
        finally:
            # A part that ends takes the others down with it (first gently, through `stop`),
            # so the service manager restarts the whole bot instead of a half-alive one.
            stop.set()

    async with open_senders(rt) as senders:

        async def background(rt: Runtime, stop: asyncio.Event) -> None:
            await run_background(rt, senders, stop)

        parts.append(background)
        # The task group waits for every part, even after one failed (and cancels the rest),
        # before the senders and the database close: nothing runs on a closed database.
        try:
            async with asyncio.TaskGroup() as group:
                for part in parts:
                    group.create_task(guarded(part))
        except BaseExceptionGroup as failed:
            for extra in failed.exceptions[1:]:
                logger.error("another part failed too: %r", extra)
            raise failed.exceptions[0] from None


async def serve_console(
    rt: Runtime,
    user: str = "local",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    files: Path | None = None,
) -> None:
    """The console, with the outbox served as `bdg-bot run` serves it (see the module doc)."""
    out = ConsoleOut(stdout or sys.stdout)
    printer = ConsolePrinter(out)
    outbox = rt.store.outbox
    limits = limits_from_settings(rt.settings)
    async with open_senders(rt) as senders:
        senders["console"] = printer
        # One sender for every reachable channel, in the background (what arrives while the
        # console waits for input), and one for the console alone, drained after each line:
        # a scripted `/guitin ... ok` then `/trangthai` sees its console messages sent.
        background = outbox_sender(outbox, senders, rt.settings)
        console = OutboxSender(outbox, {"console": printer}, limits, worker=background.worker)
        stop = asyncio.Event()
        task = asyncio.create_task(background.run(stop))

        draining: set[asyncio.Task[dict[str, int]]] = set()

        async def deliver_console() -> None:
            # Shielded, and waited for below: Ctrl-C during a drain must not leave its
            # sending loops running against a database that is being closed.
            drain = asyncio.ensure_future(console.drain(within=DRAIN_WITHIN))
            draining.add(drain)
            drain.add_done_callback(draining.discard)
            await asyncio.shield(drain)

        try:
            await run_console(rt.engine, stdin, out, user, after_each=deliver_console, files=files)
        finally:
            stop.set()
            background.wake()
            await asyncio.gather(task, *draining, return_exceptions=True)
