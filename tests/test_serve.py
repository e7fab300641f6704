"""`bdg-bot run` as a whole: channels, scheduler and outbox together under one stop event."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import channels_for, missing_setting, open_runtime, serve
from bot.clock import FakeClock
from bot.proactive import scheduler
from bot.settings import Secret, Settings, ZaloSettings
from tests import postgres_server
from tests.conftest import db_settings
from tests.fakes.telegram_api import FakeTelegramAPI


def test_channel_choice() -> None:
    none = Settings()
    assert channels_for(none, "auto") == ["console"]
    tg = Settings(telegram_token=Secret("1:x"))
    assert channels_for(tg, "auto") == ["telegram"]
    zalo = ZaloSettings("1", Secret("a"), Secret("b"), Secret("c"), Secret("d"))
    both = Settings(telegram_token=Secret("1:x"), zalo=zalo)
    assert channels_for(both, "auto") == ["telegram", "zalo"]
    assert missing_setting(none, "zalo") is not None
    assert missing_setting(none, "telegram") == "TELEGRAM_BOT_TOKEN"


async def test_running_bot_answers_and_reminds_an_officer_at_start_up(
    database: Path | str,
) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    # Seven days before the annual deadline, after the 08:00 reminder time: the start-up
    # catch-up pass must remind the unit's officer, through the outbox, exactly once.
    clock = FakeClock(datetime(2026, 12, 8, 9, 30))
    settings = Settings(
        telegram_token=Secret(fake.token),
        telegram_api_base_url=fake.base_url,
        **db_settings(database),
        telegram_rate_total=1000.0,
        telegram_rate_per_chat=1000.0,
    )
    async with open_runtime(settings, clock) as rt:
        reports = rt.store.reports
        await reports.create_invite("cb-test000001", "that-khe", clock.now() + timedelta(days=9),
                                    "test", clock.now())  # fmt: skip
        await reports.redeem_invite("cb-test000001", "telegram:801", clock.now())
        stop = asyncio.Event()
        task = asyncio.create_task(serve(rt, ["telegram"], stop))
        try:
            [reminder] = await fake.wait_sent(801, 1, timeout=20)
            assert "Thất Khê" in reminder["text"] and "15 tháng 12, 2026" in reminder["text"]
            keyboard = reminder["reply_markup"]["inline_keyboard"]
            assert keyboard[0][0]["callback_data"] == "rep:start:2026-N"
            fake.user_message(802, "/duongdaynong")
            await fake.wait_sent(802, 1, timeout=10)
            await asyncio.sleep(0.5)
            assert len(fake.sent(801)) == 1
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
    await fake.stop()


async def test_two_workers_run_the_schedule_once_and_the_survivor_takes_it_over(
    postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL: of two serving processes one runs the schedule; when it stops the other
    takes over, and its catch-up pass queues nothing the first one already queued."""
    monkeypatch.setattr(scheduler, "LEAD_RETRY", 0.3)
    caplog.set_level(logging.INFO, logger="bot.proactive.scheduler")
    url = await postgres_server.fresh_database(postgres_admin_url)
    clock = FakeClock(datetime(2026, 12, 8, 9, 30))
    settings = Settings(db_url=Secret(url))
    try:
        async with open_runtime(settings, clock) as first, open_runtime(settings, clock) as second:
            reports = first.store.reports
            expires = clock.now() + timedelta(days=9)
            await reports.create_invite("cb-test000002", "that-khe", expires, "test", clock.now())
            await reports.redeem_invite("cb-test000002", "telegram:803", clock.now())
            leading = "this worker runs the reminder and campaign schedule"

            async def leaders(count: int) -> None:
                async with asyncio.timeout(20):
                    while caplog.text.count(leading) < count:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)

            stop_first, stop_second = asyncio.Event(), asyncio.Event()
            task_first = asyncio.create_task(serve(first, [], stop_first))
            await leaders(1)  # the first process leads...
            task_second = asyncio.create_task(serve(second, [], stop_second))
            await asyncio.sleep(1.5)
            assert caplog.text.count(leading) == 1  # ...and the second does not
            queued = await first.store.outbox.counts("remind")
            assert sum(queued.values()) == 1  # the officer's reminder, queued once
            # The leader stops; the survivor leads and runs the catch-up again.
            stop_first.set()
            await task_first
            await leaders(2)
            await asyncio.sleep(0.5)
            assert await second.store.outbox.counts("remind") == queued
            stop_second.set()
            await task_second
    finally:
        await postgres_server.drop_database(url)
