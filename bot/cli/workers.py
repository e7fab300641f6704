"""`bdg-bot run --workers N`: N worker processes on one PostgreSQL database and one address.

Each worker is a whole `bdg-bot run` (webhooks, inbox, outbox; one of them the schedule),
listening on the same webhook ports (BOT_SHARED_PORT=1: the kernel spreads the connections)
and encrypting the inbox with the same BOT_INBOX_KEY (made here when none is set, so a
worker's unfinished updates can be read by the others). A worker that dies is started
again; SIGTERM or Ctrl-C stops them all, each finishing what it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time

from bot.channels.inbox import new_inbox_key
from bot.settings import Settings

logger = logging.getLogger(__name__)

#: A worker that exits sooner than this after starting has failed to start.
START_FAILURE = 5.0
#: Start failures in a row (any worker) after which the whole run gives up.
GIVE_UP_AFTER = 3
#: How long stopping workers get to finish before they are killed (s).
STOP_GRACE = 30.0


def workers_problem(settings: Settings, channels: list[str]) -> str | None:
    """Why `--workers N` (N > 1) cannot serve these channels (None: it can)."""
    if not settings.db_url:
        return (
            "several workers need a database they can share: set BOT_DB=postgresql://… "
            "(SQLite serves one process)"
        )
    if "console" in channels:
        return "the console is one terminal: run it without --workers"
    if "telegram" in channels and not settings.telegram_webhook_url:
        return (
            "Telegram long polling allows one getUpdates consumer: set TELEGRAM_WEBHOOK_URL "
            "for several workers, or run one worker"
        )
    return None


async def supervise(count: int, channel: str) -> int:
    """Run `count` workers until SIGINT/SIGTERM; restart one that dies. The exit status."""
    env = dict(os.environ)
    env["BOT_SHARED_PORT"] = "1"
    if not env.get("BOT_INBOX_KEY", "").strip():
        env["BOT_INBOX_KEY"] = new_inbox_key()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    failures = 0
    status = 0

    async def start(index: int) -> tuple[asyncio.subprocess.Process, float]:
        env["BOT_WORKER"] = str(index)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--channel", channel, env=env
        )
        logger.info("worker %d started (pid %d)", index, proc.pid)
        return proc, time.monotonic()

    procs = {i: await start(i) for i in range(count)}
    try:
        while not stop.is_set():
            waits = {asyncio.ensure_future(p.wait()): i for i, (p, _t) in procs.items()}
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait([*waits, stopping], return_when=asyncio.FIRST_COMPLETED)
            for task in (*waits, stopping):
                if task not in done:
                    task.cancel()
            if stop.is_set():
                break
            for task in done:
                if task is stopping:
                    continue
                index = waits[task]
                proc, started = procs[index]
                code = proc.returncode
                if time.monotonic() - started < START_FAILURE and code:
                    failures += 1
                    if failures >= GIVE_UP_AFTER:
                        logger.error("workers keep failing to start (exit %s); giving up", code)
                        status = code or 1
                        return status
                else:
                    failures = 0
                logger.warning("worker %d (pid %d) ended with %s; starting it again",
                               index, proc.pid, code)  # fmt: skip
                await asyncio.sleep(min(1.0 * failures, 5.0))
                procs[index] = await start(index)
        return status
    finally:
        await _stop_all([p for p, _t in procs.values()])


async def _stop_all(procs: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM every worker, wait for them to finish, kill the ones that do not."""
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    waits = [asyncio.ensure_future(p.wait()) for p in procs]
    if waits:
        _done, late = await asyncio.wait(waits, timeout=STOP_GRACE)
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        if late:
            await asyncio.wait(late)
