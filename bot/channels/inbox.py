"""Several workers on one PostgreSQL database: webhook updates go through a durable inbox.

A webhook answers the platform only once the update is committed to the inbox (a failed write
answers 503, so the platform sends it again), then any worker handles it: one chat's updates
one at a time and in order, across workers (see `bot.storage.inbox`). A worker killed with
`kill -9` stops beating; after `DEAD_AFTER` seconds another takes its rows over.

A citizen's text is never written to disk in clear (privacy rules): the payload is encrypted
with a key from BOT_INBOX_KEY (or one made by `bdg-bot run --workers N` for its workers), which
the database never sees, and the row is deleted as soon as the update is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from bot.storage import StorageError, Store
from bot.storage.inbox import MAX_ATTEMPTS, InboxRow

logger = logging.getLogger(__name__)

#: How often a worker says it is alive (s).
HEARTBEAT = 2.0
#: A worker silent this long is taken for dead and its rows are handled by others (s).
DEAD_AFTER = 10.0
#: How often an idle worker looks for rows accepted by others or left by a dead worker (s).
POLL = 0.2
#: Updates one worker handles at once (one per chat).
CONCURRENCY = 64
#: How long a stopping worker lets the updates it holds finish (s).
STOP_GRACE = 20.0

Handler = Callable[[dict[str, Any]], Awaitable[None]]


def new_inbox_key() -> str:
    """A fresh key for BOT_INBOX_KEY."""
    return Fernet.generate_key().decode("ascii")


def worker_name() -> str:
    """host:pid:random — new at every start, so a restarted worker never owns old rows."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class InboxWorker:
    """Accepts webhook updates into the inbox and handles the inbox's rows."""

    def __init__(
        self,
        store: Store,
        key: str,
        *,
        name: str | None = None,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.name = name or worker_name()
        self.concurrency = concurrency
        self.handlers: dict[str, Handler] = {}
        self._cipher = Fernet(key.encode("ascii"))
        self._clock = clock
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        #: Set once `run` takes no more rows (stopping) and what it held has ended.
        self._drained = asyncio.Event()

    async def accept(
        self, channel: str, update_key: str, chat: str, payload: dict[str, Any]
    ) -> bool:
        """Keep an update durably; False for one already waiting. Raises StorageError when it
        could not be kept (the webhook then answers 503 and the platform sends it again)."""
        token = self._cipher.encrypt(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        added = await self.store.inbox.add(
            channel, update_key, chat, token.decode("ascii"), self._clock()
        )
        self._wake.set()
        return added

    async def run(self, stop: asyncio.Event) -> None:
        """Handle inbox rows until `stop`; then finish (briefly) and give the rest back."""
        logger.info("inbox worker %s started", self.name)
        with contextlib.suppress(StorageError):
            # Heartbeats of workers gone for a day (restarts leave one each).
            await self.store.inbox.forget_workers(self._clock() - 86400)
        last_beat = 0.0
        try:
            while not stop.is_set():
                now = self._clock()
                if now - last_beat >= HEARTBEAT:
                    with contextlib.suppress(StorageError):
                        await self.store.inbox.beat(self.name, now)
                        last_beat = now
                await self._claim(now)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), POLL)
        finally:
            if self._running:
                await asyncio.wait(set(self._running), timeout=STOP_GRACE)
            for task in self._running:
                task.cancel()
            self._drained.set()
            with contextlib.suppress(StorageError):
                await self.store.inbox.leave(self.name)
            logger.info("inbox worker %s stopped", self.name)

    async def drained(self, within: float) -> None:
        """Wait (at most `within` s) until a stopping worker has finished the updates it held:
        a channel closes its connections only after that, or their answers would be lost."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), within)

    async def _wait(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _claim(self, now: float) -> None:
        free = self.concurrency - len(self._running)
        # Only the channels whose handler is registered: a channel still starting (Telegram
        # asks who it is first) must not hold rows it cannot handle yet.
        channels = sorted(self.handlers)
        if free <= 0 or not channels:
            return
        try:
            rows = await self.store.inbox.claim(
                self.name, now, alive_since=now - DEAD_AFTER, limit=free, channels=channels
            )
        except StorageError as exc:
            logger.warning("inbox: claiming failed (%s); trying again", exc)
            return
        for row in rows:
            task = asyncio.create_task(self._handle(row))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()  # the chat's next update may be waiting

    async def _handle(self, row: InboxRow) -> None:
        if row.attempts > MAX_ATTEMPTS:
            logger.error(
                "inbox: a %s update was tried %d times and is dropped", row.channel, MAX_ATTEMPTS
            )
            await self._done(row)
            return
        try:
            payload = json.loads(self._cipher.decrypt(row.payload.encode("ascii")))
        except (InvalidToken, ValueError):
            logger.error(
                "inbox: a %s update cannot be decrypted (was BOT_INBOX_KEY changed, or the "
                "workers given different keys?); dropped",
                row.channel,
            )
            await self._done(row)
            return
        handler = self.handlers.get(row.channel)
        if handler is None:  # claimed only for registered channels; never left held
            with contextlib.suppress(StorageError):
                await self.store.inbox.release(row.id)
            return
        try:
            await handler(payload)
        except Exception:
            # Logged without the update (it holds a citizen's words).
            logger.exception("inbox: handling a %s update failed", row.channel)
        await self._done(row)

    async def _done(self, row: InboxRow) -> None:
        """Delete the handled row, insisting a while: while it stays, the chat waits."""
        for pause in (0.1, 0.5, 1.0, 2.0, 5.0, 10.0):
            try:
                await self.store.inbox.done(row.id)
                return
            except StorageError as exc:
                logger.warning("inbox: a handled update could not be removed (%s)", exc)
                await asyncio.sleep(pause)
        logger.error("inbox: a handled update stays in the inbox; it is given back at stop")
