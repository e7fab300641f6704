"""Run the configured channels together under one stop signal (what `bdg-bot run` does)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TextIO

from bot.app import Runtime
from bot.core.delivery import ProactiveSender
from bot.settings import Settings

logger = logging.getLogger(__name__)

Serve = Callable[[Runtime, asyncio.Event], Awaitable[None]]


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
    from bot.proactive.outbox import PrintSender

    senders: dict[str, ProactiveSender] = {"console": PrintSender("console", out)}
    settings = rt.settings
    async with contextlib.AsyncExitStack() as stack:
        if settings.telegram_token:
            from telegram import Bot

            from bot.channels.telegram.sender import TelegramSender

            bot = Bot(str(settings.telegram_token), base_url=settings.telegram_api_base_url)
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


async def serve(rt: Runtime, channels: list[str], stop: asyncio.Event) -> None:
    """Serve every channel in `channels` and the outbox/scheduler until `stop`."""
    from bot.proactive.scheduler import run_background

    servers: list[Serve] = []
    if "telegram" in channels:
        from bot.channels.telegram.adapter import serve_telegram

        servers.append(serve_telegram)
    if "zalo" in channels:
        from bot.channels.zalo.adapter import serve_zalo

        servers.append(serve_zalo)

    async def guarded(run: Serve) -> None:
        try:
            await run(rt, stop)
        finally:
            # A channel that dies takes the process down with it, so the service manager
            # restarts the whole bot instead of leaving it half alive.
            stop.set()

    async with open_senders(rt) as senders:

        async def background(rt: Runtime, stop: asyncio.Event) -> None:
            await run_background(rt, senders, stop)

        servers.append(background)
        # Every part is waited for, even after one failed (its `stop` ends the others): the
        # senders and the database close after them, never under a part still running.
        results = await asyncio.gather(*(guarded(s) for s in servers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
