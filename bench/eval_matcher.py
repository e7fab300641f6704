"""How well the FAQ classifier answers questions it has not seen: `make eval`.

Prints `name: value` lines:
- frozen_* (and frozen_b_*, ...): trained on everything in content/, tested on each
  tests/data/eval/frozen*.yaml file in turn (the prefix is the file's name), files written
  separately from the examples and never used to tune anything (C, thresholds, features):
  they are the honest figures. A frozen message that is also, once normalised, a training
  text is left out of them (and counted);
- cv_*: k-fold cross-validation over content/examples/*.yaml (faq.yaml's own titles, questions
  and keywords always stay in training; a held-out example that is also a training text is left
  out). This is what the settings are chosen on;
- the most confused topic pairs, and how often off-topic text or a greeting is answered as a
  topic.

Options: `--folds K` (default 5), `--cost C`, `--min-df N`, `--threshold T`, `--quiet`
(figures only), `--grid` (cross-validated top-1 and off-topic answered for a range of C and
answer thresholds: how the shipped values were chosen; the frozen files are not read).

In the confused pairs, "(unsure)" means the right topic was not answered because no topic was
likely enough, "(off-topic/greeting)" that the message was taken for one of those.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.core.matcher import (  # noqa: E402
    ANSWER_THRESHOLD,
    COST,
    GREETING,
    MIN_DF,
    OFF_TOPIC,
    Matcher,
    training_examples,
)
from bot.text import normalize  # noqa: E402

EVAL_DIR = ROOT / "tests" / "data" / "eval"
FROZEN = EVAL_DIR / "frozen.yaml"


def frozen_files() -> list[Path]:
    """Every frozen test file (frozen.yaml, frozen_b.yaml, ...), in name order."""
    return sorted(EVAL_DIR.glob("frozen*.yaml"))


def load_frozen(path: Path = FROZEN) -> list[dict[str, str | None]]:
    """The frozen test questions: text, lang, topic (a topic id, `_greeting` or None)."""
    items: list[dict[str, str | None]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return items


def _answered(matcher: Matcher, text: str, topic: str | None) -> str:
    """What a wrong answer was, for the confused pairs: a topic or why none was given."""
    if topic is not None:
        return topic
    ranked = matcher.match(text)
    best = ranked.candidates[0][1] if ranked.candidates else 0.0
    return "(unsure)" if best >= ranked.score else "(off-topic/greeting)"


def score(matcher: Matcher, items: Iterable[tuple[str, str | None]]) -> dict[str, object]:
    """Top-1 / top-3 on topic questions, answers given to off-topic text and greetings."""
    on = off = greet = top1 = top3 = off_answered = greet_answered = greet_friendly = 0
    confused: Counter[tuple[str, str]] = Counter()
    misses: list[tuple[str, str, str | None]] = []
    for text, expected in items:
        m = matcher.match(text)
        if expected is None or expected == OFF_TOPIC:
            off += 1
            off_answered += m.topic is not None
        elif expected == GREETING:
            greet += 1
            greet_answered += m.topic is not None
            greet_friendly += m.small_talk
        else:
            on += 1
            top1 += m.topic == expected
            top3 += expected in dict(m.candidates)
            if m.topic != expected:
                confused[(expected, _answered(matcher, text, m.topic))] += 1
                misses.append((text, expected, m.topic))
    return {
        "n": on,
        "top1": top1 / max(on, 1),
        "top3": top3 / max(on, 1),
        "off": off,
        "off_answered": off_answered,
        "greetings": greet,
        "greetings_answered": greet_answered,
        "greetings_friendly": greet_friendly,
        "confused": confused,
        "misses": misses,
    }


def folds(
    examples: Mapping[str, Mapping[str, tuple[str, ...]]], k: int, seed: int = 2026
) -> list[list[tuple[str, str, str]]]:
    """Split every class's examples into `k` folds (stratified, fixed seed)."""
    out: list[list[tuple[str, str, str]]] = [[] for _ in range(k)]
    rng = random.Random(seed)
    for class_id, by_lang in sorted(examples.items()):
        rows = [(class_id, lang, t) for lang, texts in sorted(by_lang.items()) for t in texts]
        rng.shuffle(rows)
        for i, row in enumerate(rows):
            out[i % k].append(row)
    return out


def cross_validate(
    k: int, cost: float, min_df: int = MIN_DF, thresholds: Iterable[float] = (ANSWER_THRESHOLD,)
) -> dict[float, dict[str, object]]:
    """k-fold accuracy over the examples, faq.yaml always in training, per answer threshold."""
    content = load_content()
    parts = folds(content.examples, k)
    totals: dict[float, Counter[str]] = {t: Counter() for t in thresholds}
    confused: dict[float, Counter[tuple[str, str]]] = {t: Counter() for t in thresholds}
    for i in range(k):
        train: dict[str, dict[str, list[str]]] = {}
        for j, part in enumerate(parts):
            if j != i:
                for class_id, lang, text in part:
                    train.setdefault(class_id, {}).setdefault(lang, []).append(text)
        matcher = Matcher(content.topics, train, content.concepts, cost=cost, min_df=min_df)
        # A held-out example whose normalised text is also in training is a copy, not a
        # question the matcher has not seen: it is left out (and counted), as in the frozen files.
        seen = {normalize(t) for _c, _l, t in training_examples(content.topics, train)}
        held_out = [(c, lg, t) for c, lg, t in parts[i] if normalize(t) not in seen]
        for threshold in thresholds:
            totals[threshold]["left_out"] += len(parts[i]) - len(held_out)
            matcher.answer_threshold = threshold
            for lang in ("vi", "en"):
                rows = [(t, c) for c, lg, t in held_out if lg == lang]
                result = score(matcher, rows)
                n = int(result["n"])  # type: ignore[call-overload]
                hits = round(float(result["top1"]) * n)  # type: ignore[arg-type]
                total = totals[threshold]
                for key in ("n", "off", "off_answered", "greetings", "greetings_answered"):
                    total[key] += int(result[key])  # type: ignore[call-overload]
                total["top1"] += hits
                total["top3"] += round(float(result["top3"]) * n)  # type: ignore[arg-type]
                total[f"n_{lang}"] += n
                total[f"top1_{lang}"] += hits
                confused[threshold].update(result["confused"])  # type: ignore[call-overload]
    return {t: {**totals[t], "confused": confused[t]} for t in thresholds}


def grid(k: int, min_df: int) -> None:
    """Cross-validated top-1 and off-topic answered for a range of C and thresholds."""
    print("cost threshold cv_top1 cv_off_topic_answered")
    for cost in (16.0, 32.0, 64.0, 128.0, 256.0):
        results = cross_validate(k, cost, min_df, (20.0, 30.0, 40.0, 50.0))
        for threshold, cv in results.items():
            n = int(cv["n"])  # type: ignore[call-overload]
            off = int(cv["off"])  # type: ignore[call-overload]
            top1 = int(cv["top1"]) / n  # type: ignore[call-overload]
            rate = int(cv["off_answered"]) / max(off, 1)  # type: ignore[call-overload]
            print(f"{cost:g} {threshold:g} {top1:.3f} {rate:.3f}", flush=True)


def report_frozen(
    matcher: Matcher, path: Path, trained: set[str], *, quiet: bool, misses: bool
) -> None:
    """Print the figures of one frozen file, each name prefixed with the file's stem.

    A frozen message whose normalised text is also a training text ("bình đẳng giới là gì"
    written by both authors) would measure memory, not generalisation: it is left out and
    counted.
    """
    name = path.stem
    every = [(str(q["text"]), q["topic"]) for q in load_frozen(path)]
    items = [(text, topic) for text, topic in every if normalize(text) not in trained]
    fr = score(matcher, items)
    off = int(fr["off"])  # type: ignore[call-overload]
    print(f"{name}_file: {path.relative_to(ROOT)}")
    print(f"{name}_left_out_as_also_in_training: {len(every) - len(items)}/{len(every)}")
    print(f"{name}_questions: {fr['n']}")
    print(f"{name}_top1: {float(fr['top1']):.3f}")  # type: ignore[arg-type]
    print(f"{name}_top3: {float(fr['top3']):.3f}")  # type: ignore[arg-type]
    rate = int(fr["off_answered"]) / max(off, 1)  # type: ignore[call-overload]
    print(f"{name}_off_topic_answered: {fr['off_answered']}/{off} ({rate:.1%})")
    print(f"{name}_greetings_answered_as_topic: {fr['greetings_answered']}/{fr['greetings']}")
    print(f"{name}_greetings_friendly: {fr['greetings_friendly']}/{fr['greetings']}")
    if not quiet:
        print(f"{name}_most_confused (expected -> answered: count):")
        for (exp, got), c in fr["confused"].most_common(10):  # type: ignore[attr-defined]
            print(f"  {exp} -> {got}: {c}")
    if misses:
        for text, exp, got in fr["misses"]:  # type: ignore[attr-defined]
            print(f"  MISS {exp} -> {got}: {text}")


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cost", type=float, default=COST)
    parser.add_argument("--min-df", type=int, default=MIN_DF)
    parser.add_argument("--threshold", type=float, default=ANSWER_THRESHOLD)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--grid", action="store_true", help="choose C and threshold by CV")
    parser.add_argument("--misses", action="store_true", help="list every frozen file's misses")
    args = parser.parse_args()

    if args.grid:
        grid(args.folds, args.min_df)
        return 0
    content = load_content()
    cv = cross_validate(args.folds, args.cost, args.min_df, (args.threshold,))[args.threshold]
    n = int(cv["n"])  # type: ignore[call-overload]
    print(f"cv_folds: {args.folds}")
    print(f"cv_questions: {n}")
    print(f"cv_left_out_as_also_in_training: {cv['left_out']}")
    print(f"cv_top1: {int(cv['top1']) / n:.3f}")  # type: ignore[call-overload]
    print(f"cv_top3: {int(cv['top3']) / n:.3f}")  # type: ignore[call-overload]
    for lang in ("vi", "en"):
        hits, count = int(cv[f"top1_{lang}"]), int(cv[f"n_{lang}"])  # type: ignore[call-overload]
        print(f"cv_top1_{lang}: {hits / max(count, 1):.3f} ({count} questions)")
    print(f"cv_off_topic_answered: {cv['off_answered']}/{cv['off']}")
    print(f"cv_greetings_answered_as_topic: {cv['greetings_answered']}/{cv['greetings']}")

    paths = frozen_files()
    if paths:
        # One matcher trained on all of content/, scored on each file separately: the files
        # were written by different people, so each figure is reported on its own.
        matcher = Matcher(
            content.topics,
            content.examples,
            content.concepts,
            cost=args.cost,
            min_df=args.min_df,
            answer_threshold=args.threshold,
        )
        rows = training_examples(content.topics, content.examples)
        trained = {normalize(text) for _c, _l, text in rows}
        for path in paths:
            report_frozen(matcher, path, trained, quiet=args.quiet, misses=args.misses)
    if not args.quiet:
        print("cv_most_confused (expected -> answered: count):")
        for (exp, got), c in cv["confused"].most_common(15):  # type: ignore[attr-defined]
            print(f"  {exp} -> {got}: {c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
