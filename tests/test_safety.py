"""The emergency check (bot/core/safety.py) on tests/data/emergency_phrases.yaml — DESIGN §3.5.

Recall first: every positive phrasing must trigger, with or without diacritics; the negatives
(general questions, greetings, menu words, officer report lines) must not.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.safety import Assessment, _assess, assess
from bot.text import fold

DATA: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "data" / "emergency_phrases.yaml").read_text(encoding="utf-8")
)
POSITIVE: list[dict[str, Any]] = DATA["positive"]
NEGATIVE: list[str] = DATA["negative"]
FLAGS = ("child", "injury", "self_harm", "trafficking")
# Words that mark a phrase as English (none of them is a folded Vietnamese word).
_ENGLISH = {"i", "my", "he", "she", "they", "help", "please", "the", "was", "is", "am", "save"}


def _is_ascii(text: str) -> bool:
    return fold(text) == text.lower()


def test_phrase_set_is_big_and_varied() -> None:
    assert len(POSITIVE) >= 90
    assert len(NEGATIVE) >= 45
    assert sum(_is_ascii(p["text"]) for p in POSITIVE) * 2 >= len(POSITIVE)
    english = [p for p in POSITIVE if _ENGLISH & set(fold(p["text"]).replace("'", " ").split())]
    assert len(english) >= 15
    assert all(set(p) <= {"text", *FLAGS} for p in POSITIVE)


def test_every_positive_triggers_with_its_flags() -> None:
    misses = []
    for phrase in POSITIVE:
        for text in (phrase["text"], fold(phrase["text"])):
            found = assess(text)
            wanted = [flag for flag in FLAGS if phrase.get(flag)]
            lacking = [flag for flag in wanted if not getattr(found, flag)]
            if not found.emergency or lacking:
                misses.append(f"{text!r}: {found} (lacking {lacking})")
    assert not misses, f"{len(misses)} missed:\n" + "\n".join(misses)


def test_no_negative_triggers() -> None:
    false_alarms = [f"{t!r}: {assess(t).reasons}" for t in NEGATIVE if assess(t).emergency]
    assert not false_alarms, f"{len(false_alarms)} false alarms:\n" + "\n".join(false_alarms)


def test_flags_only_with_an_emergency() -> None:
    for text in NEGATIVE:
        found = assess(text)
        assert not any(getattr(found, flag) for flag in FLAGS), text


def test_reasons_name_rules_not_user_text() -> None:
    found = assess("chong dang danh em")
    assert found.reasons and all("chong" not in reason for reason in found.reasons)


def test_question_about_a_fine_is_information_unless_the_writer_is_the_victim() -> None:
    # Decided: a general question (no first person) gets the FAQ answer; a victim asking the
    # same thing gets the emergency reply.
    assert not assess("mức phạt đánh vợ là bao nhiêu").emergency
    assert assess("chồng đánh em thì bị phạt bao nhiêu").emergency
    assert assess("chong danh toi co bi phat khong").emergency


def test_help_alone_is_the_menu_word_but_shouted_help_is_not() -> None:
    assert not assess("help").emergency
    assert assess("help!").emergency
    assert assess("HELP").emergency


def test_empty_and_blank() -> None:
    assert assess("") == Assessment(emergency=False)
    assert not assess(" \x00\t\n🙂").emergency


_ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x2FF), min_size=2000, max_size=10_000),
    st.lists(
        st.sampled_from([p["text"] for p in POSITIVE] + NEGATIVE + ["\x00", "🙂", "\u202e"]),
        max_size=400,
    ).map(" ".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_any_text_returns_an_assessment(text: str) -> None:
    # `_assess` has no safety net, so a crash in a rule shows up here.
    found = _assess(text)
    assert isinstance(found, Assessment)
    assert assess(text) == found
    if not found.emergency:
        assert not (found.child or found.injury or found.self_harm or found.trafficking)


# Combining marks Vietnamese uses: grave, acute, tilde, hook, dot below, circumflex, breve,
# horn. Typed on any letter they fold away again, so they must not change the verdict.
_MARKS = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"


@st.composite
def _rediacritised(draw: st.DrawFn) -> str:
    phrase: str = draw(st.sampled_from([p["text"] for p in POSITIVE]))
    base = fold(phrase)
    out = []
    for ch in base:
        if ch == "d" and draw(st.booleans()):
            ch = "đ"
        out.append(ch.upper() if draw(st.booleans()) else ch)
        if ch.isalpha() and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(_MARKS)))
    form: Literal["NFC", "NFD"] = draw(st.sampled_from(["NFC", "NFD"]))
    return unicodedata.normalize(form, "".join(out))


@settings(max_examples=400, deadline=None)
@given(_rediacritised())
def test_adding_or_removing_diacritics_keeps_a_positive_positive(text: str) -> None:
    assert assess(text).emergency, text
    assert assess(fold(text)).emergency, fold(text)
