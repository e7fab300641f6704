"""Outbox fan-out against the fake Telegram Bot API on 127.0.0.1.

Usage::

    .venv/bin/python bench/bench_outbox.py [--db postgresql]

On SQLite by default; ``--db postgresql`` runs the same on a fresh PostgreSQL database per run
(BOT_BENCH_POSTGRES_URL, an admin URL, or an embedded server as the tests start one), and adds
the 50/150 ms runs with two processes sending from the same outbox (their pace shared through
the `outbox_pacing` row). Prints ``name: value`` lines:

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

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
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
from tests import postgres_server  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

logger = logging.getLogger("bench_outbox")

BACKENDS = ("sqlite", "postgresql")
#: An existing PostgreSQL server for benches (an admin URL); else an embedded one is started.
POSTGRES_ENV = "BOT_BENCH_POSTGRES_URL"
#: Telegram's limits for proactive messages: 30/s in total, 1/s per chat.
TOTAL_PER_S, PER_CHAT_PER_S = 30.0, 1.0


def postgres_admin_url() -> str:
    """BOT_BENCH_POSTGRES_URL, or the admin URL of an embedded server started for this run."""
    url = os.environ.get(POSTGRES_ENV, "").strip() or postgres_server.server_url()
    if not url:
        raise SystemExit(f"no PostgreSQL server ({POSTGRES_ENV} unset and "
                         f"{postgres_server.why_unavailable()})")  # fmt: skip
    return url


class Databases:
    """A fresh database per run: a SQLite file in `folder`, or a new PostgreSQL database."""

    def __init__(self, backend: str, folder: Path) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = backend
        self.folder = folder

    async def new(self, name: str) -> Path | str:
        """Where the run `name` keeps its outbox (a path or a postgresql:// URL)."""
        if self.backend == "sqlite":
            return self.folder / f"{name}.sqlite3"
        return await postgres_server.fresh_database(postgres_admin_url())

    async def discard(self, target: Path | str) -> None:
        """Drop a PostgreSQL database made by `new` (SQLite files go with the folder)."""
        if isinstance(target, str):
            await postgres_server.drop_database(target)


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


async def built_reminders(folder: Path, count: int) -> list[OutboxMessage]:
    """`count` reminders, built with a scratch SQLite store in `folder`."""
    scratch = await Store.open(folder / "scratch.sqlite3")
    try:
        return await reminder_messages(scratch, count)
    finally:
        await scratch.close()


def paced_messages(reminders: list[OutboxMessage], count: int) -> list[OutboxMessage]:
    """`count` broadcast messages to 300 chats (several per chat, so the per-chat pace holds)."""
    return [
        OutboxMessage(f"bench:{i}", "broadcast", f"telegram:{2_000_000 + i % 300}",
                      reminders[i % len(reminders)].reply)
        for i in range(count)
    ]  # fmt: skip


async def run(
    dbs: Databases,
    name: str,
    messages: list[OutboxMessage],
    limits: ChannelLimits,
    *,
    latency_ms: float = 0.0,
    in_flight: int = 1,
    processes: int = 1,
) -> tuple[float, FakeTelegramAPI]:
    """Queue `messages` in a fresh database and drain them to the fake: in this process, or
    from `processes` child processes at once (each with `in_flight` messages in flight)."""
    target = await dbs.new(name)
    store = await Store.open(target)
    try:
        await store.outbox.enqueue(messages, time.time())
        async with FakeTelegramAPI(latency_ms=latency_ms) as fake:
            fake.total_limit_per_s = min(limits.total_per_s, 1e6)
            fake.per_chat_limit_per_s = min(limits.per_chat_per_s, 1e6)
            started = time.perf_counter()
            if processes == 1:
                left = await drain(store, fake.token, fake.base_url, limits, in_flight)
            else:
                left = await drain_in_children(target, fake, limits, in_flight, processes)
            elapsed = time.perf_counter() - started
        if left or len(fake.sent()) != len(messages):
            raise SystemExit(f"{name}: {len(fake.sent())} of {len(messages)} delivered")
        return elapsed, fake
    finally:
        await store.close()
        await dbs.discard(target)


async def drain(
    store: Store, token: str, base_url: str, limits: ChannelLimits, in_flight: int
) -> int:
    """Send the whole outbox through PTB to `base_url`; the messages left unsent."""
    # One HTTP connection per message in flight, as the serving bot's pool allows.
    request = HTTPXRequest(connection_pool_size=in_flight)
    async with Bot(token, base_url=base_url, request=request) as bot:
        sender = OutboxSender(
            store.outbox,
            {"telegram": TelegramSender(bot)},
            {"telegram": limits},
            in_flight=in_flight,
        )
        left = await sender.drain(within=600)
    return left["telegram"]


async def drain_in_children(
    target: Path | str,
    fake: FakeTelegramAPI,
    limits: ChannelLimits,
    in_flight: int,
    processes: int,
) -> int:
    """Run `processes` copies of this script's `--send-from` mode on one outbox; rows left."""
    argv = [
        __file__, "--send-from", str(target), "--token", fake.token, "--base-url",
        fake.base_url, "--total", str(limits.total_per_s), "--per-chat",
        str(limits.per_chat_per_s), "--in-flight", str(in_flight),
    ]  # fmt: skip
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, *argv, stdout=asyncio.subprocess.PIPE, cwd=ROOT
        )
        for _ in range(processes)
    ]
    left = 0
    try:
        for proc in procs:
            out, _ = await asyncio.wait_for(proc.communicate(), 600)
            if proc.returncode != 0:
                raise SystemExit(f"a sending process ended with {proc.returncode}")
            left = max(left, int(out.decode().strip().rsplit(" ", 1)[-1]))
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
    return left


@dataclass(frozen=True, slots=True)
class PacedRun:
    """A run at Telegram's limits: the rate reached over the one configured, violations."""

    rtt_ms: int
    processes: int
    in_flight: int
    messages: int
    achieved_over_configured: float
    limit_violations: int


def achieved_rate(fake: FakeTelegramAPI) -> float:
    """Successful sends per second, from the first to the last."""
    times = sorted(c.at for c in fake.calls_of("sendMessage") if c.status == 200)
    return (len(times) - 1) / (times[-1] - times[0])


async def paced_runs(
    dbs: Databases,
    messages: list[OutboxMessage],
    *,
    rtts: tuple[int, ...] = (50, 150),
    processes: int = 1,
    in_flight: int = OUTBOX_IN_FLIGHT,
) -> list[PacedRun]:
    """`messages` at Telegram's limits over each round trip, from `processes` processes."""
    out = []
    for rtt in rtts:
        _elapsed, fake = await run(
            dbs,
            f"latency{rtt}x{processes}",
            messages,
            ChannelLimits(TOTAL_PER_S, PER_CHAT_PER_S),
            latency_ms=rtt,
            in_flight=in_flight,
            processes=processes,
        )
        out.append(
            PacedRun(rtt, processes, in_flight, len(messages),
                     achieved_rate(fake) / TOTAL_PER_S, fake.limit_violations())
        )  # fmt: skip
    return out


def show_paced(run: PacedRun) -> None:
    """Print a paced run as `name: value` lines."""
    prefix = f"latency_{run.rtt_ms}ms" + (f"_{run.processes}_processes" * (run.processes > 1))
    print(f"{prefix}_in_flight_{run.in_flight}_messages: {run.messages}")
    print(f"{prefix}_achieved_over_configured_rate: {run.achieved_over_configured:.3f}")
    print(f"{prefix}_limit_violations: {run.limit_violations}")


async def main(backend: str) -> None:
    """Every section of the bench on `backend`."""
    print(f"database: {backend}")
    with tempfile.TemporaryDirectory() as tmp:
        dbs = Databases(backend, Path(tmp))
        reminders = await built_reminders(Path(tmp), 10_000)

        elapsed, _fake = await run(dbs, "unlimited", reminders, ChannelLimits())
        print(f"unlimited_messages: {len(reminders)}")
        print(f"unlimited_seconds: {elapsed:.1f}")
        print(f"unlimited_msgs_per_s: {len(reminders) / elapsed:.0f}")

        total, per_chat = TOTAL_PER_S, PER_CHAT_PER_S
        paced = paced_messages(reminders, 900)
        elapsed, fake = await run(dbs, "paced", paced, ChannelLimits(total, per_chat))
        achieved = achieved_rate(fake)
        print(f"paced_messages: {len(paced)} to 300 chats")
        print(f"paced_configured_msgs_per_s: {total:.0f} total, {per_chat:.0f} per chat")
        print(f"paced_achieved_msgs_per_s: {achieved:.2f}")
        print(f"achieved_over_configured_rate: {achieved / total:.3f}")
        print(f"limit_violations: {fake.limit_violations()}")

        slow = paced[:200]
        elapsed, fake = await run(dbs, "latency", slow, ChannelLimits(), latency_ms=50)
        print("latency_50ms_messages: 200")
        print(f"latency_50ms_msgs_per_s: {len(slow) / elapsed:.1f}")
        # The serving bot's default messages in flight (BOT_OUTBOX_IN_FLIGHT) at Telegram's
        # limits, over a 50 and a 150 ms round trip: the rate reached against the one set.
        for paced_run in await paced_runs(dbs, paced[:600]):
            show_paced(paced_run)
        if backend == "postgresql":
            # Two workers' senders on one outbox: the pace is one, shared through the database.
            for paced_run in await paced_runs(dbs, paced[:600], processes=2):
                show_paced(paced_run)
    print(f"date: {date.today().isoformat()}")


async def send_from(args: argparse.Namespace) -> None:
    """`--send-from TARGET`: one sending process of a multi-process run; prints rows left."""
    store = await Store.open(args.send_from)
    try:
        limits = ChannelLimits(args.total, args.per_chat)
        left = await drain(store, args.token, args.base_url, limits, args.in_flight)
    finally:
        await store.close()
    print(f"left: {left}", flush=True)


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=BACKENDS, default="sqlite")
    # The child mode of a run with several sending processes.
    parser.add_argument("--send-from", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=float, default=TOTAL_PER_S, help=argparse.SUPPRESS)
    parser.add_argument("--per-chat", type=float, default=PER_CHAT_PER_S, help=argparse.SUPPRESS)
    parser.add_argument("--in-flight", type=int, default=OUTBOX_IN_FLIGHT, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    cli = arguments()
    asyncio.run(send_from(cli) if cli.send_from else main(cli.db))
