"""Citizen throughput against a stock PTB echo bot, and memory, on the fake Bot API.

The fake (tests/fakes/telegram_api.py) runs in this process; each bot runs in a child
process, so its CPU time is measured alone. 5,000 free-text questions from 500 users are
queued before the bot starts. Prints `name: value` lines; timings are ratios against the
reference run in the same invocation, because the machine is shared and noisy.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "5000"))
USERS = 500


@dataclass
class Run:
    """Figures of one bot run."""

    rate: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_update: float
    rss_start_mb: float
    rss_end_mb: float


def questions() -> list[str]:
    """The held-out test questions, cycled (all of them are on the citizen path)."""
    data = yaml.safe_load((ROOT / "tests/data/eval/frozen.yaml").read_text(encoding="utf-8"))
    return [q["text"] for q in data]


async def one_run(kind: str, latency_ms: float, concurrency: int = 1) -> Run:
    """Queue the messages, start the bot, wait for every reply, stop it."""
    fake = FakeTelegramAPI(latency_ms=latency_ms)
    await fake.start()
    texts = questions()
    enqueued: dict[int, list[float]] = {}
    for i in range(MESSAGES):
        user = 10_000 + i % USERS
        fake.user_message(user, texts[i % len(texts)])
        enqueued.setdefault(user, []).append(time.monotonic())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench/_bot_runner.py"), kind, "--token", fake.token,
        "--base-url", fake.base_url, "--concurrency", str(concurrency),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    sends = lambda: len(fake.calls_of("sendMessage"))  # noqa: E731
    await fake.wait_for(lambda: sends() >= MESSAGES, timeout=600)
    elapsed = time.monotonic() - start
    proc.send_signal(signal.SIGTERM)
    out, _ = await proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    replies: dict[int, list[float]] = {}
    for call in fake.calls_of("sendMessage"):
        if call.status == 200:
            replies.setdefault(int(call.params["chat_id"]), []).append(call.at)
    latencies = sorted(
        (r - q) * 1000
        for chat, times in replies.items()
        for q, r in zip(enqueued.get(chat, []), sorted(times), strict=False)
    )
    figures = dict(line.split(": ", 1) for line in out.decode().splitlines() if ": " in line)
    await fake.stop()
    return Run(
        rate=MESSAGES / elapsed,
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[int(len(latencies) * 0.99)],
        cpu_ms_per_update=cpu * 1000 / MESSAGES,
        rss_start_mb=float(figures.get("rss_start_mb", "nan")),
        rss_end_mb=float(figures.get("rss_end_mb", "nan")),
    )


def show(prefix: str, run: Run) -> None:
    """Print one run's figures."""
    print(f"{prefix}_updates_per_s: {run.rate:.0f}")
    print(f"{prefix}_p50_ms: {run.p50_ms:.0f}")
    print(f"{prefix}_p99_ms: {run.p99_ms:.0f}")
    print(f"{prefix}_cpu_ms_per_update: {run.cpu_ms_per_update:.2f}")


async def main() -> None:
    print(f"config: {MESSAGES} messages from {USERS} users, queued before start; fake Bot API "
          f"on 127.0.0.1; bot in a child process")  # fmt: skip
    bare = await one_run("bare", 0.0)
    show("bare_ptb_sequential", bare)
    bot = await one_run("bot", 0.0)
    show("bot", bot)
    print(f"throughput_ratio_vs_bare_ptb: {bot.rate / bare.rate:.2f}")
    print(f"memory_rss_idle_mb: {bot.rss_start_mb:.1f}")
    print(f"memory_rss_after_{MESSAGES}_messages_mb: {bot.rss_end_mb:.1f}")
    print("config: 50 ms injected round trip; bare PTB concurrent_updates=32, pool 32")
    bare50 = await one_run("bare", 50.0, concurrency=32)
    show("bare_ptb_c32_50ms", bare50)
    bot50 = await one_run("bot", 50.0)
    show("bot_50ms", bot50)
    print(f"throughput_ratio_at_50ms_rtt: {bot50.rate / bare50.rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
