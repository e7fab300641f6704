"""The outbox sender: drains queued messages through each channel at its rate limit.

One loop per channel sends one message at a time: claim a row (atomically, with a send slot
shared by every process), wait for the slot, hand the reply to the channel's
`ProactiveSender`, record the `Delivery`. Only one message is in flight per channel, so a
crash (`kill -9`) can duplicate at most that one; everything else is either recorded as sent
or still queued.

With a long round trip to the platform one in flight caps the rate at about 1/RTT (50 ms:
~16/s, under Telegram's 30/s). `in_flight=N` runs N loops per channel, which reaches the
limit again but widens the crash window to N possible duplicates: a deployment's choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.messages import Delivery, ProactiveSender
from bot.proactive.ratelimit import Backoff, ChannelLimits, limits_for, limits_from_settings
from bot.settings import Settings
from bot.storage.outbox import Claimed, OutboxStore, Outcome

__all__ = ["MAX_ATTEMPTS", "OutboxSender", "outbox_sender", "worker_id"]

logger = logging.getLogger(__name__)

#: A row that keeps failing with network errors is given up after this many attempts.
MAX_ATTEMPTS = 50
#: How long a claim may stay `sending` before another process may take the row over. Longer
#: than any send can take (PTB's own timeouts are a few seconds), so a live sender never
#: loses its row.
STALE_AFTER = 60.0


#: A send starting more than this many gaps after its slot takes a new slot (`_await_slot`),
#: at most `RESLOTS` times. One gap: a stricter bound wastes slots (a quarter gap cost one
#: process 5 % of its rate) while two processes kept 0 violations with this one
#: (bench/bench_workers.py part 3).
LATE_TOLERANCE = 1.0
RESLOTS = 3


def worker_id() -> str:
    """A name for this sending process, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class OutboxSender:
    """Drains the outbox through the channels' `ProactiveSender`s."""

    def __init__(
        self,
        outbox: OutboxStore,
        senders: Mapping[str, ProactiveSender],
        limits: Mapping[str, ChannelLimits],
        *,
        wall: Callable[[], float] = time.time,
        stale_after: float = STALE_AFTER,
        idle_poll: float = 1.0,
        send_timeout: float = 30.0,
        backoff: Backoff | None = None,
        channel_backoff: Backoff | None = None,
        worker: str | None = None,
        in_flight: int = 1,
    ) -> None:
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        self.outbox = outbox
        # Kept by reference: a channel that comes up later (the Telegram application, the Zalo
        # client) adds its sender to the same dict and `run` starts sending on it.
        self.senders = senders
        self.limits = dict(limits)
        # Wall-clock seconds, not the injectable `Clock`: send slots are shared with other
        # processes and retry_after is real time even when reminders are planned for a test date.
        self.wall = wall
        self.stale_after = stale_after
        self.idle_poll = idle_poll
        self.send_timeout = min(send_timeout, stale_after / 2)
        self.backoff = backoff or Backoff(base=1.0, cap=300.0)
        self.channel_backoff = channel_backoff or Backoff(base=0.5, cap=30.0)
        self.worker = worker or worker_id()
        self.in_flight = in_flight
        #: When this process last started a send, per channel (see `_space`).
        self._last_start: dict[str, float] = {}
        self._wake: list[asyncio.Event] = []  # one per sending loop
        #: Deliveries by status since start (for the CLI summary and tests).
        self.stats: dict[str, int] = {}

    def wake(self) -> None:
        """New rows were queued: stop idling."""
        for event in self._wake:
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set, on every channel whose sender is (or gets) registered."""
        loops: dict[str, list[asyncio.Task[None]]] = {}
        try:
            while not stop.is_set():
                for channel in list(self.senders):
                    if channel not in loops:
                        logger.info("outbox: sending on %s", channel)
                        loops[channel] = [
                            asyncio.create_task(self._guarded(channel, stop))
                            for _ in range(self.in_flight)
                        ]
                await _wait(stop, None, self.idle_poll)
        finally:
            tasks = [t for lane in loops.values() for t in lane]
            if not stop.is_set():  # cancelled: take the loops down with us
                for task in tasks:
                    task.cancel()
            self.wake()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _guarded(self, channel: str, stop: asyncio.Event) -> None:
        """One sending loop that survives database hiccups (a locked database, a full disk)."""
        failures = 0
        while not stop.is_set():
            try:
                await self._loop(channel, stop, drain=False)
                return
            except Exception:
                # The bot keeps answering people; the outbox tries again a little later.
                failures += 1
                logger.exception("outbox loop for %s failed; restarting it", channel)
                await _wait(stop, None, self.channel_backoff.delay(failures))

    async def drain(self, within: float | None = None) -> dict[str, int]:
        """Send everything due now (waiting for retries); return what is left per channel."""
        stop = asyncio.Event()
        loops = asyncio.gather(*(self._loop(ch, stop, drain=True) for ch in self._lanes()))
        try:
            await asyncio.wait_for(asyncio.shield(loops), within)
        except TimeoutError:
            stop.set()
            self.wake()
            await loops
        now = self.wall()
        return {ch: await self.outbox.pending(ch, now) for ch in self.senders}

    def _lanes(self) -> list[str]:
        """One entry per sending loop: each channel `in_flight` times."""
        return [channel for channel in self.senders for _ in range(self.in_flight)]

    # --- one channel ---------------------------------------------------------------------------

    async def _loop(self, channel: str, stop: asyncio.Event, *, drain: bool) -> None:
        sender = self.senders[channel]
        limits = limits_for(self.limits, channel)
        wake = asyncio.Event()
        self._wake.append(wake)
        max_wait = max(0.5, 3 * limits.total_gap)
        previous: Outcome | None = None
        errors_in_a_row = 0
        paused_until = 0.0
        reclaim_at = 0.0  # look for rows of dead processes at once, then now and then
        try:
            while not stop.is_set():
                now = self.wall()
                if paused_until > now:
                    # Network trouble: let it settle before trying the next row.
                    if previous is not None:
                        await self.outbox.record(previous)
                        previous = None
                    await _wait(stop, wake, paused_until - now)
                    continue
                claim = await self.outbox.claim(
                    channel,
                    now,
                    worker=self.worker,
                    total_gap=limits.total_gap,
                    per_chat_gap=limits.per_chat_gap,
                    stale_after=self.stale_after,
                    max_wait=max_wait,
                    reclaim=now >= reclaim_at,
                    previous=previous,
                )
                if now >= reclaim_at:
                    reclaim_at = now + min(5.0, self.stale_after / 4)
                previous = None
                row = claim.row
                if row is None:
                    if claim.wait_until is not None:
                        await _wait(stop, None, claim.wait_until - now)
                    elif drain and await self.outbox.pending(channel, self.wall()) == 0:
                        return
                    else:
                        # Due rows held back only by the per-chat gap free up soon.
                        delay = min(self.idle_poll, 0.05) if claim.paced else self.idle_poll
                        if drain and not claim.paced:
                            delay = min(delay, 0.2)  # a retry may fall due any moment
                        await _wait(stop, wake, delay)
                    continue
                await self._await_slot(channel, row, limits.total_gap)
                delivery = await self._deliver(sender, row)
                self.stats[delivery.status] = self.stats.get(delivery.status, 0) + 1
                done = self.wall()
                outcome = self._outcome(row, delivery, done)
                if delivery.status == "retry" and delivery.retry_after is None:
                    errors_in_a_row += 1
                    paused_until = done + self.channel_backoff.delay(errors_in_a_row)
                elif delivery.status != "retry":
                    errors_in_a_row = 0
                if row.slot + limits.total_gap <= done and outcome.pause_until is None:
                    # The next send may go at once: record this one in the next claim's
                    # transaction (one commit per message at full speed).
                    previous = outcome
                else:
                    await self.outbox.record(outcome)
        finally:
            self._wake.remove(wake)
            if previous is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.outbox.record(previous))

    async def _await_slot(self, channel: str, row: Claimed, gap: float) -> None:
        """Wait for the row's send slot; a sender that wakes too late for it takes a new one.

        Slots are shared by every process sending on the channel: a send that starts late
        (a busy CPU) would land among the next process's on-time sends and exceed the
        platform's rate in that second. Taking the next free slot instead keeps the sends of
        all processes `gap` apart. After `RESLOTS` tries it goes anyway (its own sends stay
        spaced by `_space`).
        """
        slot = row.slot
        for attempt in range(RESLOTS + 1):
            now = self.wall()
            if slot > now:
                await asyncio.sleep(slot - now)
            await self._space(channel, gap)
            # No await from the end of `_space` to here: this loop's start is recorded before
            # another loop of this process can check the spacing.
            if self.wall() - slot <= LATE_TOLERANCE * gap or attempt == RESLOTS:
                self._last_start[channel] = self.wall()
                return
            slot = await self.outbox.reslot(row.id, channel, self.wall(), gap)

    async def _space(self, channel: str, gap: float) -> None:
        """Wait until this process's last send start is `gap` ago (the caller records the
        new start).

        The slots reserved in the database already are; but with several loops in flight a
        loop that wakes late would start right before the next one. (No await between the
        last check and the update, so loops of one event loop cannot interleave there.)
        """
        while True:
            wait = self._last_start.get(channel, 0.0) + gap - self.wall()
            if wait <= 0:
                break
            await asyncio.sleep(wait)

    async def _deliver(self, sender: ProactiveSender, row: Claimed) -> Delivery:
        try:
            return await asyncio.wait_for(
                sender.deliver(row.user_key, row.reply), self.send_timeout
            )
        except TimeoutError:
            return Delivery("retry", detail="timed out")
        except Exception as exc:
            # The contract says senders never raise; one that does is retried, not lost.
            # The message text stays out of the log.
            logger.exception("%s sender raised on outbox row %s", row.channel, row.id)
            return Delivery("retry", detail=type(exc).__name__)

    def _outcome(self, row: Claimed, delivery: Delivery, now: float) -> Outcome:
        base: dict[str, Any] = {"id": row.id, "channel": row.channel, "address": row.address}
        worker, detail = self.worker, delivery.detail
        if delivery.status == "sent":
            return Outcome(**base, worker=worker, state="sent", at=now)
        if delivery.status != "retry":
            if delivery.status != "blocked":
                logger.info(
                    "outbox row %s (%s) %s: %s", row.id, row.purpose, delivery.status, detail
                )
            return Outcome(**base, worker=worker, state=delivery.status, at=now, detail=detail)
        if delivery.retry_after is not None:
            # 429: the platform's flood control covers the whole bot, so the whole channel
            # waits (as PTB's own rate limiter does), and this row goes again after it.
            wait = max(0.0, delivery.retry_after)
            return Outcome(
                **base,
                worker=worker,
                state="queued",
                at=now,
                due_at=now + wait,
                detail=detail or "rate limited",
                pause_until=now + wait,
            )
        if row.attempts >= MAX_ATTEMPTS:
            logger.warning("outbox row %s given up after %s attempts", row.id, row.attempts)
            return Outcome(
                **base,
                worker=worker,
                state="failed",
                at=now,
                detail=f"gave up after {row.attempts} attempts: {detail}",
            )
        return Outcome(
            **base,
            worker=worker,
            state="queued",
            at=now,
            due_at=now + self.backoff.delay(row.attempts),
            detail=detail or "network error",
        )


async def _wait(stop: asyncio.Event, wake: asyncio.Event | None, delay: float) -> None:
    """Sleep up to `delay` seconds, or less if stopped or woken."""
    if delay <= 0:
        return
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        if wake is not None:
            wake.clear()


def outbox_sender(
    outbox: OutboxStore,
    senders: Mapping[str, ProactiveSender],
    settings: Settings,
    **options: Any,
) -> OutboxSender:
    """The sender a running bot or a command uses: the configured rates and messages in flight."""
    return OutboxSender(
        outbox,
        senders,
        limits_from_settings(settings),
        in_flight=settings.outbox_in_flight,
        **options,
    )
