"""Outbox fan-out against the fake Telegram Bot API on 127.0.0.1.

Usage::

    .venv/bin/python bench/bench_outbox.py

Prints ``name: value`` lines:

- 10,000 reminders with the rate limit lifted: messages per second through the whole path
  (claim in SQLite, PTB ``send_message`` over HTTP, record the outcome);
- 900 messages to 300 chats at 30/s in total and 1/s per chat (Telegram's limits): the
  achieved rate over the configured one, and the fake server's count of limit violations;
- 200 messages with a 50 ms round trip injected and one message in flight: the rate is bounded
  by the round trip;
- 600 messages at Telegram's limits with the serving bot's default messages in flight
  (`BOT_OUTBOX_IN_FLIGHT`), over a 50 and a 150 ms round trip: the rate reached over the one
  configured, and limit violations (a `kill -9` can send at most that many twice).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.channels.telegram.sender import TelegramSender  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.proactive.outbox import OutboxSender  # noqa: E402
from bot.proactive.ratelimit import ChannelLimits  # noqa: E402
from bot.proactive.reminders import Occasion, Reminders  # noqa: E402
from bot.reporting.indicators import load_indicators  # noqa: E402
from bot.reporting.periods import load_calendar  # noqa: E402
from bot.settings import OUTBOX_IN_FLIGHT  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.outbox import OutboxMessage  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

logger = logging.getLogger("bench_outbox")


async def reminder_messages(store: Store, count: int) -> list[OutboxMessage]:
    """`count` reminders as the pass builds them, one per chat."""
    content = load_content()
    calendar = load_calendar()
    reminders = Reminders(
        store=store,
        content=content,
        calendar=calendar,
        indicators=load_indicators(),
        admins=(),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
    )
    period = calendar.period_of("6T", 2026)
    occasion = Occasion(period, "before-7", 7, escalate=False)
    units = content.reporting_units()
    out = []
    for i in range(count):
        unit = units[i % len(units)]
        reply = reminders.reminder_reply(unit, occasion, "vi")
        address = f"telegram:{1_000_000 + i}"
        out.append(
            OutboxMessage(f"remind:{period.id}:before-7:{address}", "remind", address, reply, 0)
        )
    return out


async def run(
    db_dir: Path,
    name: str,
    messages: list[OutboxMessage],
    limits: ChannelLimits,
    *,
    latency_ms: float = 0.0,
    in_flight: int = 1,
) -> tuple[float, FakeTelegramAPI]:
    store = await Store.open(db_dir / f"{name}.sqlite3")
    outbox = store.outbox
    await outbox.enqueue(messages, time.time())
    try:
        async with FakeTelegramAPI(latency_ms=latency_ms) as fake:
            fake.total_limit_per_s = min(limits.total_per_s, 1e6)
            fake.per_chat_limit_per_s = min(limits.per_chat_per_s, 1e6)
            # One HTTP connection per message in flight, as the serving bot's pool allows.
            request = HTTPXRequest(connection_pool_size=in_flight)
            async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
                sender = OutboxSender(
                    outbox,
                    {"telegram": TelegramSender(bot)},
                    {"telegram": limits},
                    in_flight=in_flight,
                )
                started = time.perf_counter()
                left = await sender.drain(within=600)
                elapsed = time.perf_counter() - started
            if left["telegram"] or len(fake.sent()) != len(messages):
                raise SystemExit(f"{name}: {len(fake.sent())} of {len(messages)} delivered")
            return elapsed, fake
    finally:
        await store.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_dir = Path(tmp)
        scratch = await Store.open(db_dir / "scratch.sqlite3")
        reminders = await reminder_messages(scratch, 10_000)
        await scratch.close()

        elapsed, _fake = await run(db_dir, "unlimited", reminders, ChannelLimits())
        print(f"unlimited_messages: {len(reminders)}")
        print(f"unlimited_seconds: {elapsed:.1f}")
        print(f"unlimited_msgs_per_s: {len(reminders) / elapsed:.0f}")

        total, per_chat = 30.0, 1.0
        paced = [
            OutboxMessage(f"bench:{i}", "broadcast", f"telegram:{2_000_000 + i % 300}",
                          reminders[i].reply)
            for i in range(900)
        ]  # fmt: skip
        elapsed, fake = await run(db_dir, "paced", paced, ChannelLimits(total, per_chat))
        times = sorted(c.at for c in fake.calls_of("sendMessage") if c.status == 200)
        achieved = (len(times) - 1) / (times[-1] - times[0])
        print(f"paced_messages: {len(paced)} to 300 chats")
        print(f"paced_configured_msgs_per_s: {total:.0f} total, {per_chat:.0f} per chat")
        print(f"paced_achieved_msgs_per_s: {achieved:.2f}")
        print(f"achieved_over_configured_rate: {achieved / total:.3f}")
        print(f"limit_violations: {fake.limit_violations()}")

        slow = paced[:200]
        elapsed, fake = await run(db_dir, "latency", slow, ChannelLimits(), latency_ms=50)
        print("latency_50ms_messages: 200")
        print(f"latency_50ms_msgs_per_s: {len(slow) / elapsed:.1f}")
        # The serving bot's default messages in flight (BOT_OUTBOX_IN_FLIGHT) at Telegram's
        # limits, over a 50 and a 150 ms round trip: the rate reached against the one set.
        many = paced[:600]
        for rtt in (50, 150):
            elapsed, fake = await run(
                db_dir,
                f"latency{rtt}",
                many,
                ChannelLimits(total, per_chat),
                latency_ms=rtt,
                in_flight=OUTBOX_IN_FLIGHT,
            )
            times = sorted(c.at for c in fake.calls_of("sendMessage") if c.status == 200)
            achieved = (len(times) - 1) / (times[-1] - times[0])
            print(f"latency_{rtt}ms_in_flight_{OUTBOX_IN_FLIGHT}_messages: {len(many)}")
            print(f"latency_{rtt}ms_achieved_over_configured_rate: {achieved / total:.3f}")
            print(f"latency_{rtt}ms_limit_violations: {fake.limit_violations()}")
    print(f"date: {date.today().isoformat()}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
