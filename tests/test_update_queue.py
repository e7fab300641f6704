"""A backlog of Telegram updates does not become thousands of tasks (BoundedUpdateQueue)."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram.adapter import BoundedUpdateQueue


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
