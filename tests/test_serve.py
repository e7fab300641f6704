"""`bdg-bot run` as a whole: channels, scheduler and outbox together under one stop event."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from bot.app import channels_for, missing_setting, open_runtime, serve
from bot.clock import FakeClock
from bot.settings import Secret, Settings, ZaloSettings
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


async def test_running_bot_answers_and_reminds_an_officer_at_start_up(tmp_path: Path) -> None:
    fake = FakeTelegramAPI()
    await fake.start()
    # Seven days before the annual deadline, after the 08:00 reminder time: the start-up
    # catch-up pass must remind the unit's officer, through the outbox, exactly once.
    clock = FakeClock(datetime(2026, 12, 8, 9, 30))
    settings = Settings(
        telegram_token=Secret(fake.token),
        telegram_api_base_url=fake.base_url,
        db_path=tmp_path / "bot.sqlite3",
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
