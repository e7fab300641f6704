"""The outbox: dedupe keys, atomic claims, Telegram outcomes, retries, rate limits, crashes."""

from __future__ import annotations

import asyncio
import collections
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypedDict

import pytest
from telegram import Bot

from bot.channels.telegram.sender import TelegramSender
from bot.messages import Button, Delivery, ProactiveSender, Reply
from bot.proactive.outbox import OutboxSender
from bot.proactive.ratelimit import Backoff, ChannelLimits
from bot.settings import OUTBOX_IN_FLIGHT
from bot.storage import Store
from bot.storage.outbox import (
    OutboxMessage,
    OutboxStore,
    next_slot,
    reply_from_json,
    reply_to_json,
)
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent


class Pacing(TypedDict):
    """The pacing keywords of `OutboxStore.claim`, typed so a test can pass them as **kw."""

    total_gap: float
    per_chat_gap: float
    stale_after: float


# PTB reads RetryAfter.retry_after itself while building the error, which warns about its
# coming switch to timedelta; nothing for these tests to change.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

FAST = {
    "backoff": Backoff(base=0.05, cap=0.2),
    "channel_backoff": Backoff(base=0.05, cap=0.2),
    "idle_poll": 0.05,
}


def message(i: int, chat: int, **kw: object) -> OutboxMessage:
    return OutboxMessage(
        dedupe_key=f"test:{i}:telegram:{chat}",
        purpose=str(kw.pop("purpose", "broadcast")),
        address=f"telegram:{chat}",
        reply=Reply(f"m{i}"),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def outbox(store: Store) -> OutboxStore:
    return store.outbox


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


def texts(fake: FakeTelegramAPI) -> list[str]:
    return [str(m.get("text")) for m in fake.sent()]


def sender_for(outbox: OutboxStore, bot: Bot, limits: ChannelLimits | None = None,
               **kw: object) -> OutboxSender:  # fmt: skip
    options = {**FAST, **kw}
    return OutboxSender(
        outbox,
        {"telegram": TelegramSender(bot)},
        {"telegram": limits or ChannelLimits()},
        **options,  # type: ignore[arg-type]
    )


# --- the queue -------------------------------------------------------------------------------


async def test_a_dedupe_key_is_queued_once(outbox: OutboxStore) -> None:
    now = time.time()
    assert await outbox.enqueue([message(1, 10), message(2, 10)], now) == 2
    assert await outbox.enqueue([message(1, 10), message(3, 10)], now) == 1
    assert await outbox.counts() == {"queued": 3}
    assert await outbox.existing_keys(["test:1:telegram:10", "nope"]) == {"test:1:telegram:10"}


def test_reply_survives_the_round_trip_as_json() -> None:
    reply = Reply("Nhắc hạn", buttons=[[Button("Bắt đầu", "rep:start:2026-6T")]])
    back = reply_from_json(reply_to_json(reply))
    assert back.text == reply.text
    assert back.buttons == reply.buttons
    assert back.track is False


def test_slots_have_no_burst() -> None:
    slot, following = next_slot(None, 100.0, 0.1)
    assert (slot, following) == (100.0, 100.1)
    # After an idle spell the next send goes at once, then the gap applies again.
    assert next_slot(50.0, 100.0, 0.1) == (100.0, 100.1)
    slot, following = next_slot(100.1, 100.0, 0.1)
    assert slot == 100.1 and following == pytest.approx(100.2)


async def test_a_claim_is_exclusive_and_one_per_chat_in_flight(outbox: OutboxStore) -> None:
    now = time.time()
    await outbox.enqueue([message(1, 10), message(2, 10), message(3, 11)], now)
    kw: Pacing = {"total_gap": 0.0, "per_chat_gap": 0.0, "stale_after": 60.0}
    first = (await outbox.claim("telegram", now, worker="a", **kw)).row
    second = (await outbox.claim("telegram", now, worker="b", **kw)).row
    third = await outbox.claim("telegram", now, worker="c", **kw)
    assert first is not None and second is not None
    assert (first.address, second.address) == ("telegram:10", "telegram:11")
    # The second row of chat 10 waits until the first is finished.
    assert third.row is None and third.paced


async def test_a_late_sender_takes_the_next_free_slot(outbox: OutboxStore) -> None:
    """A process that wakes too late for its slot must not send among the slots other
    processes reserved meanwhile: it takes the channel's next free one."""
    now = time.time()
    await outbox.enqueue([message(i, 20 + i) for i in range(3)], now)
    kw: Pacing = {"total_gap": 0.1, "per_chat_gap": 0.0, "stale_after": 60.0}
    late = (await outbox.claim("telegram", now, worker="a", **kw)).row
    others = [(await outbox.claim("telegram", now, worker="b", **kw)).row for _ in range(2)]
    assert late is not None and all(others)
    assert [r.slot for r in others if r] == pytest.approx([now + 0.1, now + 0.2])
    # "a" wakes 0.25 s after its slot: the slots 0.1 and 0.2 are the other process's.
    slot = await outbox.reslot(late.id, "telegram", now + 0.25, 0.1)
    assert slot == pytest.approx(now + 0.3)
    assert await outbox.next_free("telegram") == pytest.approx(now + 0.4)


async def test_a_stale_claim_is_taken_over(outbox: OutboxStore) -> None:
    now = time.time()
    await outbox.enqueue([message(1, 10)], now - 20)
    kw: Pacing = {"total_gap": 0.0, "per_chat_gap": 0.0, "stale_after": 5.0}
    dead = (await outbox.claim("telegram", now - 10, worker="dead", **kw)).row
    assert dead is not None
    again = (await outbox.claim("telegram", now, worker="alive", **kw)).row
    assert again is not None and again.id == dead.id and again.attempts == 2


async def test_expired_rows_are_skipped_not_sent(outbox: OutboxStore) -> None:
    now = time.time()
    await outbox.enqueue([message(1, 10, expires_at=now - 1)], now)
    claim = await outbox.claim(
        "telegram", now, worker="w", total_gap=0, per_chat_gap=0, stale_after=60
    )
    assert claim.row is None
    assert await outbox.counts() == {"skipped": 1}


# --- delivery through the fake Bot API ----------------------------------------------------------


async def test_everything_is_delivered_once_in_order_per_chat(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    await outbox.enqueue([message(i, 100 + i % 5) for i in range(50)], time.time())
    left = await sender_for(outbox, bot).drain(within=30)
    assert left == {"telegram": 0}
    assert sorted(texts(fake)) == sorted(f"m{i}" for i in range(50))
    for chat in range(100, 105):
        assert fake.texts(chat) == [f"m{i}" for i in range(50) if 100 + i % 5 == chat]
    assert await outbox.counts() == {"sent": 50}


async def test_buttons_reach_telegram_as_an_inline_keyboard(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    reply = Reply("Nhắc hạn", buttons=[[Button("Bắt đầu", "rep:start:2026-6T")]])
    await outbox.enqueue([OutboxMessage("k", "remind", "telegram:7", reply)], time.time())
    await sender_for(outbox, bot).drain(within=10)
    [sent] = fake.sent(7)
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "rep:start:2026-6T"


@pytest.mark.slow
async def test_429_on_a_fifth_of_sends_all_delivered_none_twice_pauses_honoured(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    count = 24
    await outbox.enqueue([message(i, 200 + i % 12) for i in range(count)], time.time())
    # Seed 1: 7 refusals in 31 calls, close to the 20 % asked for.
    fake.fail_randomly({"sendMessage"}, p429=0.2, retry_after=1, seed=1)
    left = await sender_for(outbox, bot).drain(within=60)
    assert left == {"telegram": 0}
    delivered = collections.Counter(texts(fake))
    assert set(delivered) == {f"m{i}" for i in range(count)}
    assert max(delivered.values()) == 1
    calls = fake.calls_of("sendMessage")
    refused = [c.at for c in calls if c.status == 429]
    assert refused, "the seed should have produced some 429 answers"
    # After every 429 the whole channel waited retry_after (1 s) before the next send.
    for at in refused:
        later = [c.at for c in calls if c.at > at and c.status == 200]
        assert not later or min(later) - at >= 0.95


async def test_network_errors_are_retried_with_backoff(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    await outbox.enqueue([message(1, 300)], time.time())
    fake.fail_next("sendMessage", 502, times=3)
    await sender_for(outbox, bot).drain(within=20)
    assert fake.texts(300) == ["m1"]
    assert await outbox.state_of("test:1:telegram:300") == ("sent", 4)


async def test_a_blocked_recipient_is_marked_inactive_and_not_retried(
    store: Store, outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    now = time.time()
    await store.set_subscribed("telegram:400", True, __import__("datetime").datetime.now())
    await outbox.enqueue([message(1, 400), message(2, 401)], now)
    fake.block_user(400)
    await sender_for(outbox, bot).drain(within=10)
    assert await outbox.state_of("test:1:telegram:400") == ("blocked", 1)
    assert len([c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == 400]) == 1
    assert await outbox.blocked() == {"telegram:400"}
    user = await store.get_user("telegram:400")
    assert user is not None and not user.subscribed  # blocking is the strongest opt-out
    assert fake.texts(401) == ["m2"]


async def test_a_bad_request_fails_once_with_the_reason(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    await outbox.enqueue([message(1, 500)], time.time())
    fake.fail_next("sendMessage", 400)
    await sender_for(outbox, bot).drain(within=10)
    assert await outbox.state_of("test:1:telegram:500") == ("failed", 1)
    row = await outbox.store.fetchone("SELECT detail FROM outbox")
    assert row is not None and "injected failure" in row[0].lower()


class Outside:
    """A channel that cannot deliver now (Zalo outside its 48-hour window)."""

    channel = "zalo"

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        return Delivery("undeliverable", detail="outside the 48 h window")


async def test_undeliverable_is_recorded_apart_and_not_retried(outbox: OutboxStore) -> None:
    await outbox.enqueue(
        [OutboxMessage("z", "broadcast", "zalo:123456789012345678", Reply("x"))], time.time()
    )
    sender = OutboxSender(outbox, {"zalo": Outside()}, {"zalo": ChannelLimits()}, **FAST)  # type: ignore[arg-type]
    await sender.drain(within=5)
    assert await outbox.state_of("z") == ("undeliverable", 1)
    assert sender.stats == {"undeliverable": 1}


# --- rate limits ---------------------------------------------------------------------------------


def achieved_rate(fake: FakeTelegramAPI) -> float:
    times = sorted(c.at for c in fake.calls_of("sendMessage") if c.status == 200)
    return (len(times) - 1) / (times[-1] - times[0])


@pytest.mark.slow
async def test_the_measured_rate_stays_within_the_limits(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    fake.total_limit_per_s, fake.per_chat_limit_per_s = 20.0, 1.0
    # 30 chats x 2: the total limit binds, and each chat gets a second message.
    await outbox.enqueue([message(i, 600 + i % 30) for i in range(60)], time.time())
    await sender_for(outbox, bot, ChannelLimits(20.0, 1.0)).drain(within=30)
    assert len(fake.sent()) == 60
    assert fake.limit_violations() == 0
    assert 0.8 * 20 <= achieved_rate(fake) <= 20 * 1.02


@pytest.mark.slow
async def test_two_processes_share_one_budget_and_never_send_a_row_twice(
    database: Path | str, store: Store, outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    """A running bot and `bdg-bot reminders run` drain the same outbox at once."""
    fake.total_limit_per_s, fake.per_chat_limit_per_s = 20.0, 1.0
    await outbox.enqueue([message(i, 700 + i % 40) for i in range(80)], time.time())
    other = await Store.open(database)  # a second connection, as another process has
    try:
        limits = ChannelLimits(20.0, 1.0)
        a = sender_for(outbox, bot, limits)
        b = sender_for(other.outbox, bot, limits)
        await asyncio.gather(a.drain(within=30), b.drain(within=30))
    finally:
        await other.close()
    delivered = collections.Counter(texts(fake))
    assert len(delivered) == 80 and max(delivered.values()) == 1
    assert a.stats.get("sent", 0) > 0 and b.stats.get("sent", 0) > 0
    assert fake.limit_violations() == 0


async def test_several_in_flight_keep_each_chat_in_order_and_send_once(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    fake.latency_ms = 20  # a round trip, so the four loops really overlap
    await outbox.enqueue([message(i, 800 + i % 10) for i in range(60)], time.time())
    sender = sender_for(outbox, bot, in_flight=4)
    started = time.perf_counter()
    assert await sender.drain(within=30) == {"telegram": 0}
    assert time.perf_counter() - started < 60 * 0.020  # faster than one at a time
    for chat in range(800, 810):
        assert fake.texts(chat) == [f"m{i}" for i in range(60) if 800 + i % 10 == chat]


async def test_a_channel_that_comes_up_later_is_served_by_the_running_sender(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    """serve_telegram registers its sender once the application is up."""
    await outbox.enqueue([message(1, 900)], time.time())
    senders: dict[str, ProactiveSender] = {}
    sender = OutboxSender(outbox, senders, {"telegram": ChannelLimits()}, **FAST)  # type: ignore[arg-type]
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0.1)
    assert fake.sent() == []
    senders["telegram"] = TelegramSender(bot)
    await fake.wait_sent(900, 1)
    stop.set()
    await asyncio.wait_for(running, 5)


async def test_the_bot_token_never_reaches_the_detail_column(bot: Bot) -> None:
    from telegram.error import NetworkError

    class Leaky:
        token = bot.token

        async def send_message(self, *args: object, **kwargs: object) -> None:
            raise NetworkError(f"connect to https://api.telegram.org/bot{bot.token}/x failed")

    delivery = await TelegramSender(Leaky()).deliver("1", Reply("x"))  # type: ignore[arg-type]
    assert delivery.status == "retry"
    assert bot.token not in delivery.detail and "<token>" in delivery.detail


# --- crash safety ------------------------------------------------------------------------------

WORKER = """
import asyncio, sys
from telegram import Bot
from telegram.request import HTTPXRequest
from bot.proactive.ratelimit import ChannelLimits
from bot.proactive.outbox import OutboxSender
from bot.storage.outbox import OutboxStore
from bot.channels.telegram.sender import TelegramSender
from bot.storage import Store

async def main(db, base_url, token, in_flight):
    store = await Store.open(db)
    request = HTTPXRequest(connection_pool_size=int(in_flight))
    async with Bot(token, base_url=base_url, request=request) as bot:
        sender = OutboxSender(store.outbox, {"telegram": TelegramSender(bot)},
                              {"telegram": ChannelLimits()}, stale_after=1.0,
                              in_flight=int(in_flight))
        await sender.drain()
    await store.close()

asyncio.run(main(*sys.argv[1:5]))
"""


async def _worker(
    db: Path | str, fake: FakeTelegramAPI, in_flight: int
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, str(db), fake.base_url, fake.token, str(in_flight), cwd=ROOT
    )


@pytest.mark.slow
@pytest.mark.parametrize("in_flight", [1, OUTBOX_IN_FLIGHT])
async def test_sigkill_mid_fan_out_loses_nothing_and_duplicates_at_most_those_in_flight(
    database: Path | str, outbox: OutboxStore, fake: FakeTelegramAPI, in_flight: int
) -> None:
    total = 2000
    await outbox.enqueue([message(i, 10_000 + i % 500) for i in range(total)], time.time())
    first = await _worker(database, fake, in_flight)
    try:
        await fake.wait_for(lambda: len(fake.sent()) >= 500, timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    assert first.returncode == -signal.SIGKILL
    killed_at = len(fake.sent())
    assert killed_at < total, "the worker finished before it was killed"
    second = await _worker(database, fake, in_flight)
    assert await asyncio.wait_for(second.wait(), 180) == 0
    delivered = collections.Counter(texts(fake))
    assert set(delivered) == {f"m{i}" for i in range(total)}, "a message was lost"
    duplicates = sum(n - 1 for n in delivered.values())
    assert duplicates <= in_flight
    assert await outbox.counts() == {"sent": total}


@pytest.mark.slow
async def test_429_for_a_fifth_and_5xx_for_a_twentieth_nothing_lost_nothing_doubled(
    outbox: OutboxStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    count = 40
    await outbox.enqueue([message(i, 400 + i % 20) for i in range(count)], time.time())
    fake.fail_randomly({"sendMessage"}, p429=0.2, p5xx=0.05, retry_after=1, seed=7)
    left = await sender_for(outbox, bot).drain(within=120)
    assert left == {"telegram": 0}
    calls = fake.calls_of("sendMessage")
    assert any(c.status == 429 for c in calls) and any(c.status >= 500 for c in calls)
    delivered = collections.Counter(texts(fake))
    assert set(delivered) == {f"m{i}" for i in range(count)}
    assert max(delivered.values()) == 1
