"""Matching quality on a held-out set of realistic questions (tests/data/faq_questions.yaml)."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content import Content
from bot.core.matcher import Matcher
from bot.text import fold, normalize
from tests.conftest import shipped_content

QUESTIONS = yaml.safe_load(Path("tests/data/faq_questions.yaml").read_text(encoding="utf-8"))

#: The share of on-topic questions that must be answered with the right topic directly.
MIN_TOP1 = 0.85
#: The share where the right topic is at least among the three offered.
MIN_TOP3 = 0.95
#: Off-topic questions answered as if they were on a topic: at most this share.
MAX_FALSE_ANSWER = 0.10


def test_matcher_accuracy_on_held_out_questions(content: Content) -> None:
    matcher = Matcher(content.topics)
    on_topic = [q for q in QUESTIONS if q["topic"]]
    off_topic = [q for q in QUESTIONS if not q["topic"]]
    assert len(on_topic) >= 5 * len(content.topics)
    wrong, not_top3 = [], []
    for q in on_topic:
        m = matcher.match(q["text"])
        if m.topic != q["topic"]:
            wrong.append(f"{q['text']!r}: want {q['topic']}, got {m.topic} {m.candidates}")
        if q["topic"] not in [t for t, _ in m.candidates]:
            not_top3.append(q["text"])
    false_answers = [q["text"] for q in off_topic if matcher.match(q["text"]).topic]
    top1 = 1 - len(wrong) / len(on_topic)
    top3 = 1 - len(not_top3) / len(on_topic)
    assert top1 >= MIN_TOP1, f"top-1 {top1:.2%}:\n" + "\n".join(wrong)
    assert top3 >= MIN_TOP3, f"top-3 {top3:.2%}: {not_top3}"
    assert len(false_answers) <= MAX_FALSE_ANSWER * len(off_topic), false_answers


def test_diacritics_do_not_change_the_answer(content: Content) -> None:
    matcher = Matcher(content.topics)
    for q in QUESTIONS:
        if q["topic"] and q["lang"] == "vi":
            assert matcher.match(q["text"]).topic == matcher.match(fold(q["text"])).topic


def test_normalize_folds_vietnamese_and_shorthand() -> None:
    assert normalize("Chồng ĐÁNH vợ có bị phạt ko?") == "chong danh vo co bi phat khong"
    assert normalize("đc k bn") == "duoc khong ban"
    assert normalize("  \x00\t") == ""


_MATCHER = Matcher(shipped_content().topics)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_matcher_never_raises(text: str) -> None:
    m = _MATCHER.match(text)
    assert m.topic is None or m.topic in shipped_content().topics
