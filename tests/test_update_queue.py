"""A backlog of Telegram updates does not become thousands of tasks (BoundedUpdateQueue)."""

from __future__ import annotations

import asyncio
import warnings
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import open_runtime
from bot.channels.telegram.adapter import BoundedUpdateQueue, serve_telegram
from bot.clock import FakeClock
from bot.settings import Secret, Settings
from tests.fakes.telegram_api import FakeTelegramAPI


async def test_no_more_updates_are_handed_out_than_may_be_in_progress() -> None:
    queue = BoundedUpdateQueue(in_progress=2, maxsize=10)
    for i in range(5):
        queue.put_nowait(i)
    assert [await queue.get(), await queue.get()] == [0, 1]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.05)  # two in progress: the third waits
    queue.task_done()  # one of them finished
    assert await asyncio.wait_for(queue.get(), 1) == 2  # in order
    queue.task_done()
    queue.task_done()
    assert [await queue.get(), await queue.get()] == [3, 4]


async def test_a_full_queue_makes_the_fetcher_wait() -> None:
    queue = BoundedUpdateQueue(in_progress=1, maxsize=2)
    queue.put_nowait("a")
    queue.put_nowait("b")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.put("c"), 0.05)  # long polling waits; Telegram keeps it
    assert await queue.get() == "a"
    await asyncio.wait_for(queue.put("c"), 1)


async def test_a_cancelled_get_gives_its_slot_back() -> None:
    queue = BoundedUpdateQueue(in_progress=1, maxsize=0)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.05)  # empty: cancelled while waiting
    queue.put_nowait("x")
    assert await asyncio.wait_for(queue.get(), 1) == "x"


async def test_updates_fetched_before_a_stop_are_all_answered(tmp_path: Path) -> None:
    """A stop while a backlog is being worked through: every update the bot took from
    Telegram (and so confirmed) is answered before it stops; the rest stay with Telegram."""
    fake = FakeTelegramAPI()
    await fake.start()
    chats = range(20_000, 20_600)
    for chat in chats:
        fake.user_message(chat, "bao luc gia dinh la gi")
    settings = Settings(
        telegram_token=Secret(fake.token),
        telegram_api_base_url=fake.base_url,
        db_path=tmp_path / "bot.sqlite3",
    )
    stop = asyncio.Event()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            async with open_runtime(settings, FakeClock(datetime(2026, 12, 7, 9, 0))) as rt:
                task = asyncio.create_task(serve_telegram(rt, stop))
                await fake.wait_for(lambda: len(fake.calls_of("sendMessage")) >= 20, timeout=60)
                stop.set()
                await asyncio.wait_for(task, 60)
    finally:
        await fake.stop()
    # PTB warns when it starts an update after it stopped: that update is awaited by nobody.
    assert not [w for w in caught if "not running" in str(w.message)]
    answered = {int(c.params["chat_id"]) for c in fake.calls_of("sendMessage")}
    taken = set(chats) - fake.unconfirmed()
    assert taken - answered == set()
    assert len(answered) < len(chats)  # the stop came in the middle of the backlog
