"""Per-message time of the citizen path: `engine.handle` in process, and one `bdg-bot ask` run.

Prints `name: value` lines. Run with `make bench` or `.venv/bin/python bench/bench_ask.py`.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.app import build_engine  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.messages import Incoming  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage import Store  # noqa: E402


async def engine_times(db: Path, questions: list[str]) -> list[float]:
    """Wall time of `engine.handle` for each question, from 50 different users."""
    store = await Store.open(db)
    engine = build_engine(Settings(db_path=db), store, load_content(), SystemClock())
    times = []
    for i, text in enumerate(questions * 3):
        start = time.perf_counter()
        await engine.handle(Incoming("console", str(i % 50), text=text))
        times.append(time.perf_counter() - start)
    await store.close()
    return times


def main() -> None:
    data = yaml.safe_load((ROOT / "tests/data/eval/frozen.yaml").read_text(encoding="utf-8"))
    questions = [q["text"] for q in data]
    with tempfile.TemporaryDirectory() as tmp:
        times = asyncio.run(engine_times(Path(tmp) / "b.sqlite3", questions))
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--json", "bao luc gia dinh la gi"],
            check=True,
            capture_output=True,
            env={"BOT_DB": str(Path(tmp) / "ask.sqlite3"), "PATH": "/usr/bin:/bin"},
            cwd=ROOT,
        )
        ask_s = time.perf_counter() - start
    times.sort()
    print(f"config: {len(times)} messages through engine.handle, SQLite file DB, 50 users")
    print(f"engine_handle_median_ms: {statistics.median(times) * 1000:.2f}")
    print(f"engine_handle_p99_ms: {times[int(len(times) * 0.99)] * 1000:.2f}")
    print(f"ask_cli_wall_s: {ask_s:.2f}")


if __name__ == "__main__":
    main()
