"""FAQ matching: rank topics by their example questions and keywords with rapidfuzz.

Both sides go through `bot.text.normalize`, so diacritics, case, punctuation and chat
shorthand don't matter. Function words are dropped before scoring: they are what every
question shares ("là gì", "như thế nào", "what is") and they would make unrelated questions
look alike. The thresholds are tuned on tests/data/faq_questions.yaml.

Scoring every example phrase with the fuzzy scorers costs about 2 µs a phrase: fine for
the shipped content, not for thousands of phrases. So a match has two stages:

1. Shortlist. Each query word stands for itself and its closest spellings in the phrases'
   vocabulary (a typo "lucc" finds "luc"), and the phrases are ranked by the IDF-weighted
   Dice overlap of their words with those. Only the best `SHORTLIST` go on; a phrase that
   shares no spelling with the question is never scored.
2. Score. The shortlisted phrases get the same fuzzy score as before, so the scores and
   thresholds mean what they did.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

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

#: Phrases that get the full fuzzy score. On the shipped content (135 of 488 phrases share
#: a spelling with a test question in the median) 100 answers every test question, typo'd
#: or not, as scoring all of them does, and offers the same three topics for 97%; 50 changed
#: an answer. With 1,000 look-alike synthetic topics it keeps 98% of the answers.
SHORTLIST = 100
#: A vocabulary word within this fuzz.ratio of a query word counts as a spelling of it. 66
#: admits one changed letter in a three-letter syllable ("bao"/"bai"); 75 lost typo queries.
TYPO_CUTOFF = 66.0
#: At most this many vocabulary words (the word itself included) stand for one query word:
#: Vietnamese syllables are short, so "bao" is within the cutoff of a dozen real ones.
TYPO_SPELLINGS = 4
#: Each vocabulary word is a run of private characters in the shortlist (see `_Index`), as
#: long as its IDF rounded, within these bounds. At least three, so that one character is a
#: small share of any word.
_MIN_RUN = 3
_MAX_RUN = 12
#: Query words whose spellings are remembered; the cache is dropped whole when full.
_CACHE_SIZE = 20_000
#: Code points available for runs: all but the surrogates, which a str may not hold.
_CODE_SPACE = 0x110000 - 0x800


def content_words(text: str) -> str:
    """Normalise and drop function words (keeping them if nothing else is left)."""
    return _content_words(normalize(text))


def _content_words(normalized: str) -> str:
    """`content_words` for text that is already normalised."""
    words = normalized.split()
    kept = [w for w in words if w not in STOPWORDS]
    return " ".join(kept or words)


def _code_char(position: int) -> str:
    """The `position`-th shortlist character, skipping the surrogates."""
    # The lowest code points first: strings of them are stored narrower, and rapidfuzz
    # compares them faster (about 40% on the shipped content) than supplementary ones.
    position %= _CODE_SPACE
    return chr(position if position < 0xD800 else position + 0x800)


@dataclass(frozen=True, slots=True)
class Match:
    """The best topic (None when not confident) and the closest candidates."""

    topic: str | None
    score: float
    candidates: tuple[tuple[str, float], ...]


class _Index:
    """Word-overlap shortlist, computed by rapidfuzz in C rather than in a Python loop.

    Every vocabulary word gets a run of distinct characters, as many as its IDF (rare words
    weigh more); a phrase is the sorted string of its words' runs. For two such strings the
    longest common subsequence is exactly the characters they share, so rapidfuzz's
    normalised Indel similarity, 2·LCS / (len a + len b), is the IDF-weighted Dice overlap
    of the two word sets. A query word stands for itself and its closest spellings in the
    vocabulary (`_spelling_code`), which is what makes the shortlist typo-tolerant.
    """

    def __init__(self, phrases: list[str]) -> None:
        doc_freq: dict[str, int] = {}
        for phrase in phrases:
            for word in set(phrase.split()):
                doc_freq[word] = doc_freq.get(word, 0) + 1
        self._vocab = list(doc_freq)
        self._runs: dict[str, str] = {}
        offset = 0
        for word, freq in doc_freq.items():
            length = max(_MIN_RUN, min(_MAX_RUN, round(math.log(1 + len(phrases) / freq))))
            # Beyond a million characters runs wrap around and share characters: the
            # shortlist gets coarser, nothing breaks.
            self._runs[word] = "".join(_code_char(offset + i) for i in range(length))
            offset += length
        self.codes = [
            "".join(sorted("".join(self._runs[w] for w in set(p.split())))) for p in phrases
        ]
        self._spellings: dict[str, str] = {}

    def _spelling_code(self, word: str) -> str:
        """The characters standing for `word`: its own run and its closest spellings'."""
        code = self._spellings.get(word)
        if code is None:
            spellings = process.extract(
                word,
                self._vocab,
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=TYPO_CUTOFF,
                limit=TYPO_SPELLINGS,
            )
            if word in self._runs:
                # A known word is most likely meant, but a typo can make another real word
                # ("gio" for "gioi"): the others get one character each. Runs are at least
                # three long, so a phrase can't outrank the exact question just by holding
                # these alternatives.
                code = "".join(self._runs[k][:1] for k, _, _ in spellings if k != word)
                code += self._runs[word]
            else:
                # An unknown word is a typo: each spelling weighs as much as it is alike.
                code = "".join(
                    self._runs[k][: max(1, round(len(self._runs[k]) * similarity / 100))]
                    for k, similarity, _ in spellings
                )
            if len(self._spellings) >= _CACHE_SIZE:
                self._spellings.clear()
            self._spellings[word] = code
        return code

    def shortlist(self, words: list[str], size: int) -> list[int]:
        """Indices of the `size` phrases sharing most (weighted) words, in phrase order."""
        code = "".join(sorted(set("".join(self._spelling_code(w) for w in set(words)))))
        if not code:
            return []
        found = process.extract(
            code,
            self.codes,
            scorer=Indel.normalized_similarity,
            processor=None,
            limit=size,
            score_cutoff=1e-9,
        )
        # Phrase order, as when every phrase was scored: equal scores rank the same way.
        return sorted(index for _, _, index in found)


class Matcher:
    """Ranks FAQ topics for a free-text question."""

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self._choices: list[str] = []
        self._owners: list[str] = []
        # Keywords by their first word: only those whose first word is in the question can
        # be in it, which keeps the check cheap however many keywords there are. The number
        # keeps content order, which decides between topics that end up with equal scores.
        self._keywords: dict[str, list[tuple[int, str, str]]] = {}
        keyword_count = 0
        for topic in topics.values():
            phrases = [topic.title.vi, topic.title.en]
            for lang_phrases in topic.questions.values():
                phrases.extend(lang_phrases)
            for lang_keywords in topic.keywords.values():
                phrases.extend(lang_keywords)
                for keyword in lang_keywords:
                    if normalized := normalize(keyword):
                        self._keywords.setdefault(normalized.split()[0], []).append(
                            (keyword_count, f" {normalized} ", topic.id)
                        )
                        keyword_count += 1
            for phrase in dict.fromkeys(content_words(p) for p in phrases):
                if phrase:
                    self._choices.append(phrase)
                    self._owners.append(topic.id)
        # token_sort_ratio is fuzz.ratio of the words sorted: sort the phrases once.
        self._sorted = [" ".join(sorted(c.split())) for c in self._choices]
        self._index = _Index(self._choices)
        # Read once, so that matchers built with different sizes can be compared.
        self._shortlist = SHORTLIST

    def match(self, text: str) -> Match:
        """Score the likeliest topics for `text` and pick the best if it clears the threshold."""
        normalized = normalize(text[:500])
        query = _content_words(normalized)
        if not query:
            return Match(None, 0.0, ())
        words = query.split()
        sorted_query = " ".join(sorted(words))
        shortlist = self._index.shortlist(words, self._shortlist)
        # Mean of two order-insensitive scores: token_sort rewards the same words overall,
        # token_set rewards a question that contains an example whole. Either alone scored
        # worse on the test set (WRatio's partial matching made off-topic questions match).
        # token_sort_ratio <= token_set_ratio, so a phrase whose set score is under the
        # cutoff can't reach the suggestion band: only the few above it get the second score.
        best: dict[str, float] = {}
        for _, set_score, position in process.extract_iter(
            query,
            [self._choices[i] for i in shortlist],
            scorer=fuzz.token_set_ratio,
            processor=None,
            score_cutoff=45,
        ):
            index = shortlist[position]
            combined = (set_score + fuzz.ratio(sorted_query, self._sorted[index])) / 2
            owner = self._owners[index]
            if combined > best.get(owner, 0.0):
                best[owner] = combined
        # A distinctive keyword found whole in the question is strong evidence for its topic.
        padded = f" {normalized} "
        found = sorted(
            (position, owner)
            for word in set(normalized.split())
            for position, keyword, owner in self._keywords.get(word, ())
            if keyword in padded
        )
        for _, owner in found:
            best[owner] = min(100.0, max(best.get(owner, 0.0), 80.0) + 5.0)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:3]
        if not ranked:
            return Match(None, 0.0, ())
        top_id, top_score = ranked[0]
        topic = top_id if top_score >= ANSWER_THRESHOLD else None
        return Match(topic, round(top_score, 1), tuple((t, round(s, 1)) for t, s in ranked))
