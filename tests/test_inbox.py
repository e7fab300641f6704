"""The durable inbox on PostgreSQL: several workers, one chat in order, a dead worker's
updates taken over, duplicates kept once, nothing readable at rest."""

from __future__ import annotations

import asyncio
import random
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.channels import inbox as inbox_module
from bot.channels.inbox import InboxWorker, new_inbox_key
from bot.storage import Store
from tests import postgres_server


@pytest.fixture
async def pg_url(postgres_admin_url: str) -> AsyncIterator[str]:
    url = await postgres_server.fresh_database(postgres_admin_url)
    yield url
    await postgres_server.drop_database(url)


async def until(done: Callable[[], bool], within: float) -> None:
    """Wait until `done()` holds (checked every 50 ms), failing after `within` s."""
    async with asyncio.timeout(within):
        while not done():  # noqa: ASYNC110 (a condition on plain data, no event to wait on)
            await asyncio.sleep(0.05)


async def until_async(count: Callable[[], Awaitable[int]], within: float) -> None:
    """Wait until `count()` is 0, failing after `within` s."""
    async with asyncio.timeout(within):
        while await count():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


class Recorder:
    """A channel handler that records what it handled, per chat, and checks overlap."""

    def __init__(self, name: str, handled: dict[str, list[int]], busy: set[str]) -> None:
        self.name = name
        self.handled = handled
        self.busy = busy
        self.overlaps = 0
        self.count = 0

    async def __call__(self, payload: dict[str, Any]) -> None:
        chat = payload["chat"]
        if chat in self.busy:
            self.overlaps += 1
        self.busy.add(chat)
        await asyncio.sleep(random.uniform(0, 0.005))
        self.handled[chat].append(payload["n"])
        self.busy.discard(chat)
        self.count += 1


async def test_two_workers_handle_every_update_once_and_each_chat_in_order(
    pg_url: str,
) -> None:
    key = new_inbox_key()
    a_store, b_store = await Store.open(pg_url), await Store.open(pg_url)
    handled: dict[str, list[int]] = defaultdict(list)
    busy: set[str] = set()
    a, b = InboxWorker(a_store, key, name="a"), InboxWorker(b_store, key, name="b")
    a.handlers["telegram"] = ra = Recorder("a", handled, busy)
    b.handlers["telegram"] = rb = Recorder("b", handled, busy)
    stop = asyncio.Event()
    runs = [asyncio.create_task(w.run(stop)) for w in (a, b)]
    try:
        sent: dict[str, list[int]] = defaultdict(list)
        for n in range(300):
            chat = f"telegram:{n % 20}"
            worker = a if n % 2 else b  # the webhook request lands on either
            assert await worker.accept("telegram", str(n), chat, {"chat": chat, "n": n})
            sent[chat].append(n)
        # A platform retry of an update still waiting is kept once.
        assert not await a.accept("telegram", "299", "telegram:19", {"chat": "x", "n": -1})
        await until(lambda: sum(map(len, handled.values())) >= 300, 30)
        await asyncio.sleep(0.3)
        assert dict(handled) == dict(sent)  # each once, each chat in order
        assert ra.overlaps == rb.overlaps == 0
        assert ra.count > 0 and rb.count > 0  # both worked
        assert await a_store.inbox.waiting() == 0
    finally:
        stop.set()
        await asyncio.gather(*runs)
        await a_store.close()
        await b_store.close()


DYING_WORKER = """
import asyncio, sys
from bot.channels.inbox import InboxWorker
from bot.storage import Store

async def main(url, key):
    store = await Store.open(url)
    worker = InboxWorker(store, key, name="dying")

    async def stuck(payload):
        await asyncio.Event().wait()  # handling when the process is killed

    worker.handlers["zalo"] = stuck
    for n in range(10):
        chat = f"zalo:{n % 2}"
        await worker.accept("zalo", f"msg:{n}", chat, {"chat": chat, "n": n})
    run = asyncio.create_task(worker.run(asyncio.Event()))
    while len(worker._running) < 2:  # it holds the first update of each chat
        await asyncio.sleep(0.02)
    print("holding", flush=True)
    await run

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_a_killed_workers_updates_are_taken_over_in_order(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "DEAD_AFTER", 2.0)
    key = new_inbox_key()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DYING_WORKER, pg_url, key, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    async with asyncio.timeout(30):
        assert (await proc.stdout.readline()).strip() == b"holding"
    proc.kill()  # kill -9: no stop, nothing given back
    await proc.wait()
    store = await Store.open(pg_url)
    try:
        working = await store.fetchall("SELECT chat FROM inbox WHERE state = 'working'")
        assert sorted(r[0] for r in working) == ["zalo:0", "zalo:1"]
        handled: dict[str, list[int]] = defaultdict(list)
        live = InboxWorker(store, key, name="live")
        live.handlers["zalo"] = Recorder("live", handled, set())
        stop = asyncio.Event()
        run = asyncio.create_task(live.run(stop))
        await until(lambda: sum(map(len, handled.values())) >= 10, 20)
        stop.set()
        await run
        # Taken over after the dead worker's heartbeat went stale, each chat still in order.
        assert handled["zalo:0"] == [0, 2, 4, 6, 8]
        assert handled["zalo:1"] == [1, 3, 5, 7, 9]
        assert await store.inbox.waiting() == 0
    finally:
        await store.close()


async def test_the_stored_update_is_not_readable_and_goes_once_handled(pg_url: str) -> None:
    store = await Store.open(pg_url)
    try:
        worker = InboxWorker(store, new_inbox_key(), name="w")
        text = "chong em danh em, em so lam"
        await worker.accept("telegram", "1", "telegram:5", {"chat": "telegram:5", "t": text})
        rows = await store.fetchall("SELECT payload FROM inbox")
        assert len(rows) == 1 and "danh" not in rows[0][0] and "chong" not in rows[0][0]
        # Another key (a misconfigured worker) cannot read it: dropped, not answered wrongly.
        other = InboxWorker(store, new_inbox_key(), name="x")
        seen: list[dict[str, Any]] = []

        async def record(payload: dict[str, Any]) -> None:
            seen.append(payload)

        other.handlers["telegram"] = record
        stop = asyncio.Event()
        run = asyncio.create_task(other.run(stop))
        await until_async(lambda: store.inbox.waiting(), 5)
        stop.set()
        await run
        assert seen == []
        worker.handlers["telegram"] = record
        await worker.accept("telegram", "2", "telegram:5", {"chat": "telegram:5", "t": text})
        stop = asyncio.Event()
        run = asyncio.create_task(worker.run(stop))
        await until(lambda: bool(seen), 5)
        stop.set()
        await run
        assert seen[0]["t"] == text
        assert await store.inbox.waiting() == 0
    finally:
        await store.close()


async def test_one_process_leads_the_schedule_and_another_takes_over(pg_url: str) -> None:
    first, second = await Store.open(pg_url), await Store.open(pg_url)
    try:
        async with first.leadership("schedule") as lost:
            assert lost is not None and not lost.is_set()
            async with second.leadership("schedule") as other:
                assert other is None  # one leader at a time
        # The leader gone (its lock released, or its process dead): the other leads.
        async with second.leadership("schedule") as other:
            assert other is not None
            # A connection broken under the leader: the loss is noticed.
            terminate = await first.fetchall(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE '%pg_try_advisory_lock%'"
            )
            assert terminate
            await until(other.is_set, 15)
        async with first.leadership("schedule") as again:
            assert again is not None  # free again
    finally:
        await first.close()
        await second.close()


async def test_a_channel_not_ready_yet_leaves_its_updates_to_be_handled_once_it_is(
    pg_url: str,
) -> None:
    """A restarted worker's inbox loop runs before Telegram is set up: the waiting Telegram
    updates are neither held by it nor lost, and are handled once the handler is there."""
    store = await Store.open(pg_url)
    try:
        worker = InboxWorker(store, new_inbox_key(), name="w")
        for n in range(3):
            await worker.accept("telegram", str(n), "telegram:1", {"chat": "telegram:1", "n": n})
        handled: dict[str, list[int]] = defaultdict(list)
        worker.handlers["zalo"] = Recorder("zalo", handled, set())
        stop = asyncio.Event()
        run = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(0.5)
        held = await store.fetchall("SELECT 1 FROM inbox WHERE state = 'working'")
        assert held == [] and handled == {}
        worker.handlers["telegram"] = Recorder("telegram", handled, set())
        await until(lambda: len(handled["telegram:1"]) == 3, 5)
        stop.set()
        await run
        assert handled["telegram:1"] == [0, 1, 2]
    finally:
        await store.close()


async def test_a_database_out_of_reach_never_makes_leadership_raise(pg_url: str) -> None:
    """The schedule's lock asked for while the database cannot be reached: not held (asked
    again later); the serving process is not stopped by it."""
    store = await Store.open(pg_url)
    await store._backend._pool.close()  # type: ignore[attr-defined]  # no connection to be had
    try:
        async with store.leadership("schedule") as lost:
            assert lost is None
    finally:
        await store.close()
