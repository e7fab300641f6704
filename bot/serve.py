"""Run the configured channels together under one stop signal (what `bdg-bot run` does)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from bot.core.app import Runtime
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
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(rt: Runtime, channels: list[str], stop: asyncio.Event) -> None:
    """Serve every channel in `channels` until `stop`; one failing stops the others."""
    servers: list[Serve] = []
    if "telegram" in channels:
        from bot.channels.telegram import serve_telegram

        servers.append(serve_telegram)
    if "zalo" in channels:
        from bot.channels.zalo import serve_zalo

        servers.append(serve_zalo)

    async def guarded(run: Serve) -> None:
        try:
            await run(rt, stop)
        finally:
            # A channel that dies takes the process down with it, so the service manager
            # restarts the whole bot instead of leaving it half alive.
            stop.set()

    await asyncio.gather(*(guarded(s) for s in servers))
