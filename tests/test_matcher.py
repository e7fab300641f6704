"""Matching quality on a held-out set of realistic questions (tests/data/faq_questions.yaml)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content import Content, Localized, Topic
from bot.core import matcher
from bot.core.matcher import ANSWER_THRESHOLD, Match, Matcher
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


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("bao lucc gia dihn la gi", "domestic_violence"),
        ("baoluc gia dinh la gi", "domestic_violence"),
        ("Bạo lưc gia đinh là gi", "domestic_violence"),
        ("dinh kein gioi la j", "gender_stereotype"),
        ("luat binh dangg gioi", "gender_equality_law"),
        ("what is domestic violance", "domestic_violence"),
    ],
)
def test_typos_and_missing_diacritics_still_find_the_topic(
    content: Content, text: str, topic: str
) -> None:
    # The shortlist looks words up by close spelling: a typo must not hide the right phrases.
    assert Matcher(content.topics).match(text).topic == topic


def test_shortlist_gives_the_answers_of_scoring_every_candidate(
    content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = [q["text"] for q in QUESTIONS]
    queries += [fold(q).replace(" ", "", 1) for q in queries]  # and with two words run together
    shortlisted = Matcher(content.topics)
    monkeypatch.setattr(matcher, "SHORTLIST", 10**9)
    exhaustive = Matcher(content.topics)
    same_candidates = 0
    for text in queries:
        short, full = shortlisted.match(text), exhaustive.match(text)
        assert short.topic == full.topic, text
        # Candidates that could be answers are the same; weak ones may differ, seldom.
        assert _strong(short) == _strong(full), text
        same_candidates += short.candidates == full.candidates
    assert same_candidates >= 0.95 * len(queries)


def _strong(m: Match) -> list[tuple[str, float]]:
    """The candidates of `m` that score at least the answer threshold."""
    return [c for c in m.candidates if c[1] >= ANSWER_THRESHOLD]


def test_large_content_still_finds_an_example_question() -> None:
    # 1,000 topics whose questions all draw on the same few syllables: every phrase shares
    # words with every other, so only the IDF-weighted ranking can keep the right one.
    rng = random.Random(3)
    syllables = "bao luc gia dinh binh dang gioi quyen tre em phu nu chong vo con luat".split()
    topics = {}
    for i in range(1000):
        questions = tuple(" ".join(rng.choices(syllables, k=rng.randint(3, 8))) for _ in range(6))
        topics[f"t{i}"] = Topic(
            id=f"t{i}",
            title=Localized(questions[0], questions[0]),
            answer=Localized("a", "a"),
            source="s",
            questions={"vi": questions, "en": ()},
            keywords={"vi": (), "en": ()},
        )
    big = Matcher(topics)
    for topic in rng.sample(list(topics.values()), 20):
        question = topic.questions["vi"][3]
        m = big.match(question)
        assert m.score == 100.0
        # Other topics may hold the same words: then they tie, and any three may be shown.
        assert topic.id in dict(m.candidates) or all(s == 100.0 for _, s in m.candidates)


def test_spelling_cache_is_bounded(content: Content, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher, "_CACHE_SIZE", 10)
    m = Matcher(content.topics)
    for i in range(50):
        m.match(f"bao luc gia dinh x{i}y")
    assert len(m._index._spellings) <= 10
    assert m.match("bao luc gia dinh la gi").topic == "domestic_violence"


def test_a_vocabulary_beyond_the_code_space_does_not_break(
    content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Words then share shortlist characters: a coarser shortlist, but still an answer.
    monkeypatch.setattr(matcher, "_CODE_SPACE", 7)
    m = Matcher(content.topics)
    assert m.match("luat binh dang gioi nam 2006").candidates
    assert m.match("").candidates == ()
