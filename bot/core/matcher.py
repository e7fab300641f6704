"""FAQ matching: rank topics by their example questions and keywords with rapidfuzz.

Both sides go through `bot.text.normalize`, so diacritics, case, punctuation and chat
shorthand don't matter. Function words are dropped before scoring: they are what every
question shares ("là gì", "như thế nào", "what is") and they would make unrelated questions
look alike. The thresholds are tuned on tests/data/faq_questions.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.content import Topic
from bot.text import normalize

#: At or above this score the best topic is answered directly.
ANSWER_THRESHOLD = 65.0
#: Between this and ANSWER_THRESHOLD the bot asks "did you mean"; below, it still offers the
#: closest topics, but says it did not understand.
SUGGEST_THRESHOLD = 50.0

# Only words that carry no topic: real syllables such as "dang" (đẳng), "chi" (chỉ) or "nha"
# (nhà) must stay, or "địa chỉ" and "bình đẳng" lose half their letters.
STOPWORDS = frozenset(
    """
    la gi the nao nhu vay a ah oi nhe nhi ha hay khong co duoc minh toi em anh ban cho hoi xin
    va voi cua thi neu o tai nay do kia cai nhung cac mot rat qua
    what is are the a an of to for in on and or how do does can i me my you your please tell
    about which who where when why with be it this that there any
    """.split()
)


def content_words(text: str) -> str:
    """Normalise and drop function words (keeping them if nothing else is left)."""
    words = normalize(text).split()
    kept = [w for w in words if w not in STOPWORDS]
    return " ".join(kept or words)


@dataclass(frozen=True, slots=True)
class Match:
    """The best topic (None when not confident) and the closest candidates."""

    topic: str | None
    score: float
    candidates: tuple[tuple[str, float], ...]


class Matcher:
    """Ranks FAQ topics for a free-text question."""

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self._choices: list[str] = []
        self._owners: list[str] = []
        self._keywords: list[tuple[str, str]] = []
        for topic in topics.values():
            phrases = [topic.title.vi, topic.title.en]
            for lang_phrases in topic.questions.values():
                phrases.extend(lang_phrases)
            for lang_keywords in topic.keywords.values():
                phrases.extend(lang_keywords)
                self._keywords.extend(
                    (f" {normalize(k)} ", topic.id) for k in lang_keywords if normalize(k)
                )
            for phrase in dict.fromkeys(content_words(p) for p in phrases):
                if phrase:
                    self._choices.append(phrase)
                    self._owners.append(topic.id)

    def match(self, text: str) -> Match:
        """Score every topic for `text` and pick the best one if it clears the threshold."""
        query = content_words(text[:500])
        if not query:
            return Match(None, 0.0, ())
        # Mean of two order-insensitive scores: token_sort rewards the same words overall,
        # token_set rewards a question that contains an example whole. Either alone scored
        # worse on the test set (WRatio's partial matching made off-topic questions match).
        # token_sort_ratio <= token_set_ratio, so a phrase whose set score is under the
        # cutoff can't reach the suggestion band: only the few above it get the second score.
        best: dict[str, float] = {}
        for choice, set_score, index in process.extract_iter(
            query, self._choices, scorer=fuzz.token_set_ratio, processor=None, score_cutoff=45
        ):
            combined = (set_score + fuzz.token_sort_ratio(query, choice)) / 2
            owner = self._owners[index]
            if combined > best.get(owner, 0.0):
                best[owner] = combined
        # A distinctive keyword found whole in the question is strong evidence for its topic.
        padded = f" {normalize(text[:500])} "
        for keyword, owner in self._keywords:
            if keyword in padded:
                best[owner] = min(100.0, max(best.get(owner, 0.0), 80.0) + 5.0)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:3]
        if not ranked:
            return Match(None, 0.0, ())
        top_id, top_score = ranked[0]
        topic = top_id if top_score >= ANSWER_THRESHOLD else None
        return Match(topic, round(top_score, 1), tuple((t, round(s, 1)) for t, s in ranked))
