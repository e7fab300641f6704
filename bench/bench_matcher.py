"""Matcher speed and accuracy: shipped content and 1,000 synthetic topics.

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


def main() -> None:
    content = load_content()
    data = yaml.safe_load((ROOT / "tests/data/faq_questions.yaml").read_text(encoding="utf-8"))
    queries = [q["text"] for q in data]
    matcher = Matcher(content.topics)
    on = [q for q in data if q["topic"]]
    off = [q for q in data if not q["topic"]]
    top1 = sum(matcher.match(q["text"]).topic == q["topic"] for q in on) / len(on)
    top3 = sum(q["topic"] in dict(matcher.match(q["text"]).candidates) for q in on) / len(on)
    false = sum(matcher.match(q["text"]).topic is not None for q in off)
    print(f"config: {len(content.topics)} shipped topics, {len(queries)} test questions")
    print(f"matcher_top1_accuracy: {top1:.3f}")
    print(f"matcher_top3_accuracy: {top3:.3f}")
    print(f"matcher_off_topic_answered: {false}/{len(off)}")
    print(f"matcher_median_ms_shipped: {median_ms(matcher, queries):.3f}")
    big = Matcher(synthetic_topics(1000, random.Random(1)))
    print(f"matcher_median_ms_1000_topics: {median_ms(big, queries, repeat=1):.3f}")


if __name__ == "__main__":
    main()
