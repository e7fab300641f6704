"""Child process for bench_throughput.py: runs one bot against the fake Bot API until SIGTERM.

`bare` is a stock PTB 22 echo bot (one MessageHandler replying the same text); `bot` is this
project's bot through its real Telegram channel. Prints `rss_start_mb` and `rss_end_mb`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    return float(psutil.Process(os.getpid()).memory_info().rss) / 2**20


async def run_bare(token: str, base_url: str, concurrency: int, stop: asyncio.Event) -> None:
    """A stock PTB echo bot."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    builder = ApplicationBuilder().token(token).base_url(base_url)
    if concurrency > 1:
        builder = builder.concurrent_updates(concurrency).connection_pool_size(concurrency)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        print(f"rss_start_mb: {rss_mb():.1f}", flush=True)
        await stop.wait()
        await app.updater.stop()
        await app.stop()


async def run_bot(token: str, base_url: str, stop: asyncio.Event) -> None:
    """This project's bot, exactly as `bdg-bot run` starts it (temp database)."""
    from bot.app import open_runtime
    from bot.channels.telegram.adapter import serve_telegram
    from bot.settings import Secret, Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            telegram_token=Secret(token),
            telegram_api_base_url=base_url,
            db_path=Path(tmp) / "bench.sqlite3",
        )
        async with open_runtime(settings) as rt:
            print(f"rss_start_mb: {rss_mb():.1f}", flush=True)
            await serve_telegram(rt, stop)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["bare", "bot"])
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if args.kind == "bare":
        await run_bare(args.token, args.base_url, args.concurrency, stop)
    else:
        await run_bot(args.token, args.base_url, stop)
    print(f"rss_end_mb: {rss_mb():.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
