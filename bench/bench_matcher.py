"""Matcher speed: shipped content and 1,000 synthetic topics (accuracy is `make eval`).

Prints `name: value` lines. Run with `make bench` or `.venv/bin/python bench/bench_matcher.py`.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.content import Localized, Topic, load_content  # noqa: E402
from bot.core.matcher import Matcher  # noqa: E402


def median_ms(matcher: Matcher, queries: list[str], repeat: int = 3) -> float:
    """Median wall time of one match, in milliseconds."""
    times = []
    for _ in range(repeat):
        for q in queries:
            start = time.perf_counter()
            matcher.match(q)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def synthetic_topics(n: int, rng: random.Random) -> dict[str, Topic]:
    """`n` topics with Vietnamese-looking example questions (random syllables)."""
    syllables = ("bao luc gia dinh binh dang gioi quyen tre em phu nu nam chong vo con lao dong "
                 "phap luat xu phat tu van ho tro dia chi tin cay tam lanh").split()  # fmt: skip
    topics = {}
    for i in range(n):
        qs = tuple(" ".join(rng.choices(syllables, k=rng.randint(3, 8))) for _ in range(8))
        topics[f"t{i}"] = Topic(
            id=f"t{i}",
            title=Localized(qs[0], qs[0]),
            answer=Localized("a", "a"),
            source="s",
            questions={"vi": qs[:6], "en": qs[6:]},
            keywords={"vi": (), "en": ()},
        )
    return topics


def rss_mb() -> float:
    """This process's resident memory now, in MB."""
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def main() -> None:
    content = load_content()
    frozen = ROOT / "tests/data/eval/frozen.yaml"
    data = yaml.safe_load(frozen.read_text(encoding="utf-8")) if frozen.exists() else []
    queries = [q["text"] for q in data] or ["bao luc gia dinh la gi", "what is gender equality"]
    start = time.perf_counter()
    matcher = Matcher(content.topics, content.examples, content.concepts)
    train_s = time.perf_counter() - start
    print(f"config: {len(content.topics)} shipped topics, {len(queries)} questions timed")
    print(f"matcher_training_s_shipped: {train_s:.2f}")
    print(f"matcher_median_ms_shipped: {median_ms(matcher, queries):.3f}")
    before = rss_mb()
    start = time.perf_counter()
    big = Matcher(synthetic_topics(1000, random.Random(1)))
    print(f"matcher_training_s_1000_topics: {time.perf_counter() - start:.2f}")
    print(f"matcher_median_ms_1000_topics: {median_ms(big, queries, repeat=1):.3f}")
    print(f"matcher_rss_mb_added_by_1000_topics: {rss_mb() - before:.0f}")
    print("(accuracy: `make eval`)")


if __name__ == "__main__":
    main()
