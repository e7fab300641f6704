"""One user's events in order, different users at the same time: what every channel needs.

A report dialog must never see two of its messages race, so each key (a chat, a Zalo user)
has a lane: its events run one after another, in arrival order (asyncio's locks wake their
waiters first come, first served). Different lanes run concurrently, bounded by `limit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Lanes:
    """Runs jobs in order per key, and at most `limit` jobs at once across keys."""

    def __init__(self, limit: int | None = None, *, name: str = "an event") -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(limit) if limit else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._name = name

    @contextlib.asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for every earlier holder of `key`'s lane, hold it for the block."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            # The last one out removes the lane, so idle users cost nothing.
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._locks.pop(key, None)

    def submit(self, key: Hashable, job: Job) -> None:
        """Run `job` after the jobs already submitted under `key` (a failure is logged)."""
        task = asyncio.ensure_future(self._run(key, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: Hashable, job: Job) -> None:
        async with self.turn(key):
            try:
                if self._slots is None:
                    await job()
                else:
                    async with self._slots:
                        await job()
            except Exception:
                logger.exception("%s failed", self._name)

    async def idle(self) -> None:
        """Wait until every submitted job has ended (jobs submitted meanwhile included)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def drain(self, grace: float) -> None:
        """Wait for submitted jobs (at most `grace` seconds), then cancel what is left."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("%d %s(s) still running at shutdown", len(pending), self._name)
            await asyncio.gather(*pending, return_exceptions=True)
