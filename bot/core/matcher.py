"""FAQ matching: a linear classifier over word and character n-grams of the folded text.

Both the examples and the question go through `bot.text.normalize`, so diacritics, case,
punctuation and chat shorthand don't matter. The features are TF-IDF weights of
  - words and pairs of neighbouring words ("bi danh", "danh vo"): what a question is about;
  - character 2–5-grams inside each word, padded (" da", "anh "): typos and missing
    diacritics still share most of them with the example they stand for;
  - character 3–5-grams across the whole text: words run together ("baoluc") still match;
  - concepts from `concepts.yaml` (spouse, hit, child...) and pairs of them: one feature for
    "chồng", "ck" and "husband", so what is learnt in one language carries over to the other.
LIBLINEAR (L2-regularised logistic regression, one-vs-rest) learns a weight per feature and
class from `faq.yaml` (titles, questions, keywords) and `examples/*.yaml`, at start-up (the
shipped 6,200 examples take about 4 s, `bench/bench_matcher.py`). Two classes are not topics:
`_greeting` (thanks, hello) and `_offtopic` (weather, football...). They are learnt like the
topics, so a word that topics share ("tuổi", "đánh") is not enough to answer.

The weights are copied into one numpy matrix: answering a question is a sum of the rows of
its n-grams, so it costs the same whatever the number of examples. The thresholds and C are
chosen by cross-validation on the examples (`bench/eval_matcher.py`), never on the frozen
test file.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing
import multiprocessing.process
import pickle
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from bot.content import NON_TOPIC_CLASSES, Topic
from bot.text import normalize

#: At or above this probability the best topic is answered directly.
ANSWER_THRESHOLD = 30.0
#: Between this and ANSWER_THRESHOLD the bot asks "did you mean"; below, it still offers the
#: closest topics, but says it did not understand.
SUGGEST_THRESHOLD = 12.0
#: A greeting or a thanks at least this likely gets a short friendly reply.
SMALL_TALK_THRESHOLD = 45.0
#: LIBLINEAR's cost parameter (inverse regularisation), chosen by cross-validation
#: (`bench/eval_matcher.py --grid`): from 16 to 64 it gains about 3 points of cross-validated
#: top-1 for one more off-topic message in a hundred answered; beyond 64 the two only trade.
COST = 64.0
#: N-grams seen in fewer examples than this are not features.
MIN_DF = 2
#: LIBLINEAR's solver: 7 is L2-regularised logistic regression solved in the dual. It learns
#: the same model as the primal solver (0) with the same cross-validated figures, in 60 % of the
#: time (2.7 s against 4.6 s on the shipped examples): every worker trains at start-up.
SOLVER = 7
GREETING = "_greeting"
OFF_TOPIC = "_offtopic"
#: Letters only Vietnamese uses: a message with one of them is Vietnamese.
_VIETNAMESE_LETTERS = re.compile(
    "[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE
)
#: How sure the language model must be before a message's language overrides the default.
LANGUAGE_CONFIDENCE = 0.75


#: Words shorter than this are never taken for a typo of a concept's word: one letter off a
#: three-letter word is another word ("toi", "tot", "tôn").
_TYPO_MIN = 4
#: Each concept feature counts as this many occurrences: a message has a handful of concepts
#: beside a few hundred n-grams, and at weight 1 they barely move the answer. Chosen by
#: cross-validation (1, 2, 4, 8, 20: 4 best), like C.
CONCEPT_WEIGHT = 4


class Concepts:
    """Finds the concepts of `concepts.yaml` in normalised text: phrase -> concept names."""

    def __init__(self, phrases: Mapping[str, Mapping[str, Iterable[str]]] | None = None) -> None:
        table: dict[tuple[str, ...], set[str]] = {}
        for concept, by_lang in (phrases or {}).items():
            for texts in by_lang.values():
                for text in texts:
                    if words := tuple(normalize(text).split()):
                        table.setdefault(words, set()).add(concept)
        self._table = {words: tuple(sorted(names)) for words, names in table.items()}
        self._longest = max(map(len, table), default=0)
        self._words = sorted({w for words in table for w in words if len(w) >= _TYPO_MIN})
        self._word_set = frozenset(self._words)
        #: Words of the training texts: spelt as someone meant them, so never "corrected".
        self.known: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self._table)

    def found(self, words: list[str]) -> list[str]:
        """The concepts whose phrases occur in `words`, once per occurrence.

        A word nobody wrote in training that is one typo (a letter added, dropped, changed or
        two swapped) from a concept's word counts as that word: "dinh kein" is "dinh kien".
        """
        words = [self._spelt(w) for w in words]
        out: list[str] = []
        for i in range(len(words)):
            for n in range(1, self._longest + 1):
                out += self._table.get(tuple(words[i : i + n]), ())
        return out

    def _spelt(self, word: str) -> str:
        if len(word) < _TYPO_MIN or word in self._word_set or word in self.known:
            return word
        best = process.extractOne(
            word, self._words, scorer=DamerauLevenshtein.distance, score_cutoff=1
        )
        return str(best[0]) if best else word


def ngrams(normalized: str, concepts: Concepts | None = None) -> list[str]:
    """The n-gram features of already-normalised text (with repeats: they count as tf)."""
    words = normalized.split()
    grams = [f"w {w}" for w in words]
    grams += [f"b {a} {b}" for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f" {word} "
        for n in (2, 3, 4, 5):
            grams += [f"c{padded[i : i + n]}" for i in range(len(padded) - n + 1)]
    joined = normalized.replace(" ", "")
    for n in (3, 4, 5):
        grams += [f"j{joined[i : i + n]}" for i in range(len(joined) - n + 1)]
    if concepts:
        found = concepts.found(words)
        # Pairs tell "spouse+hit" (I am hurt) from "child+hit" and "others+hit".
        distinct = sorted(set(found))
        grams += [f"k {c}" for c in found] * CONCEPT_WEIGHT
        grams += [f"kk {a} {b}" for a, b in itertools.combinations(distinct, 2)] * CONCEPT_WEIGHT
    return grams


def _hashes(normalized: str, concepts: Concepts | None = None) -> np.ndarray:
    """The 64-bit hashes of a text's n-grams (with repeats), as a numpy array."""
    grams = ngrams(normalized, concepts)
    return np.fromiter((hash(g) for g in grams), dtype=np.int64, count=len(grams))


class Vectorizer:
    """TF-IDF (sublinear tf, smoothed idf, L2-normalised) over `ngrams`.

    N-grams are kept as their hashes in one sorted numpy array, not as a dictionary of
    strings: tens of thousands of short strings would cost more memory than the whole
    model. (Python's string hash is salted per process; the vocabulary is built in the
    process that uses it, so that does not matter.)
    """

    def __init__(
        self, documents: Iterable[str], min_df: int = 1, concepts: Concepts | None = None
    ) -> None:
        self.concepts = concepts
        per_doc = [np.unique(_hashes(doc, concepts)) for doc in documents]
        count = len(per_doc)
        hashes, doc_freq = np.unique(
            np.concatenate(per_doc or [np.zeros(0, np.int64)]), return_counts=True
        )
        # An n-gram of one example only can't generalise to a new question: dropping them
        # halves the vocabulary (and the weight matrix) at no cost in cross-validated accuracy.
        keep = doc_freq >= min_df
        self.hashes = hashes[keep]
        self.idf = (np.log((1 + count) / (1 + doc_freq[keep])) + 1.0).astype(np.float32)

    def __len__(self) -> int:
        return int(self.hashes.size)

    def vector(self, normalized: str) -> tuple[np.ndarray, np.ndarray]:
        """Feature indices and weights of a normalised text (unknown n-grams dropped)."""
        grams, tf = np.unique(_hashes(normalized, self.concepts), return_counts=True)
        if not self.hashes.size or not grams.size:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        pos = np.minimum(np.searchsorted(self.hashes, grams), self.hashes.size - 1)
        known = self.hashes[pos] == grams
        idx = pos[known].astype(np.intp)
        if not idx.size:
            return idx, np.zeros(0, dtype=np.float32)
        values = ((1.0 + np.log(tf[known])) * self.idf[idx]).astype(np.float32)
        values /= np.linalg.norm(values)
        return idx, values


class LinearModel:
    """One-vs-rest logistic regression trained by LIBLINEAR, kept as a weight matrix."""

    def __init__(self, vectors: list[tuple[np.ndarray, np.ndarray]], labels: list[int],
                 n_features: int, n_classes: int, cost: float) -> None:  # fmt: skip
        # Imported here: a process that got its matcher from a child (`_trained_in_child`)
        # never loads them, and scipy alone is 18 MB of resident memory.
        from liblinear import liblinearutil
        from scipy import sparse

        # A CSR matrix, not a dict per row: far fewer Python objects while training.
        indptr = np.cumsum([0] + [idx.size for idx, _ in vectors])
        indices = np.concatenate([idx for idx, _ in vectors] or [np.zeros(0, np.intp)])
        data = np.concatenate([val for _, val in vectors] or [np.zeros(0, np.float32)])
        matrix = sparse.csr_matrix(
            (data.astype(np.float64), indices, indptr), shape=(len(vectors), n_features)
        )
        model = liblinearutil.train(labels, matrix, f"-s {SOLVER} -c {cost} -B 1 -q")
        trained = list(model.get_labels())
        nr_w = 1 if model.get_nr_class() == 2 else model.get_nr_class()
        size = (model.get_nr_feature() + 1) * nr_w
        raw = np.ctypeslib.as_array(model.w, shape=(size,)).reshape(-1, nr_w)
        # LIBLINEAR numbers the features it saw; a feature never seen gets no row there.
        weights = np.zeros((n_features + 1, n_classes), dtype=np.float32)
        if nr_w == 1:  # two classes: one weight vector for the first label
            weights[: raw.shape[0] - 1, trained[0]] = raw[:-1, 0]
            weights[: raw.shape[0] - 1, trained[1]] = -raw[:-1, 0]
            weights[n_features, trained[0]] = raw[-1, 0]
            weights[n_features, trained[1]] = -raw[-1, 0]
        else:
            for column, label in enumerate(trained):
                weights[: raw.shape[0] - 1, label] = raw[:-1, column]
                weights[n_features, label] = raw[-1, column]
        self.weights = weights
        self.bias_row = n_features

    def probabilities(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Probability of each class (LIBLINEAR's one-vs-rest sigmoids, normalised)."""
        scores = values @ self.weights[idx] + self.weights[self.bias_row]
        sig = 1.0 / (1.0 + np.exp(-scores))
        total = float(sig.sum())
        result: np.ndarray = sig / total if total > 0 else sig
        return result


@dataclass(frozen=True, slots=True)
class Match:
    """The best topic (None when not confident) and the closest candidates.

    `small_talk` is True for a greeting or thanks, which deserves a friendly word, not a topic.
    Scores are probabilities in percent.
    """

    topic: str | None
    score: float
    candidates: tuple[tuple[str, float], ...]
    small_talk: bool = False


def training_examples(
    topics: Mapping[str, Topic], examples: Mapping[str, Mapping[str, Iterable[str]]]
) -> list[tuple[str, str, str]]:
    """(class id, language, text) of every example: faq.yaml first, then examples/*.yaml."""
    out: list[tuple[str, str, str]] = []
    for topic in topics.values():
        out += [(topic.id, "vi", topic.title.vi), (topic.id, "en", topic.title.en)]
        for source in (topic.questions, topic.keywords):
            out += [(topic.id, lang, text) for lang, texts in source.items() for text in texts]
    for class_id, by_lang in examples.items():
        out += [(class_id, lang, text) for lang, texts in by_lang.items() for text in texts]
    return out


class Matcher:
    """Ranks FAQ topics for a free-text question, and tells its language."""

    def __init__(
        self,
        topics: Mapping[str, Topic],
        examples: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        concepts: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        *,
        cost: float = COST,
        min_df: int = MIN_DF,
        answer_threshold: float = ANSWER_THRESHOLD,
    ) -> None:
        #: Kept per matcher so that the evaluation can try thresholds on one trained model.
        self.answer_threshold = answer_threshold
        rows = training_examples(topics, examples or {})
        self.topics = frozenset(topics)
        self.classes = list(dict.fromkeys([*topics, *NON_TOPIC_CLASSES]))
        numbers = {c: i for i, c in enumerate(self.classes)}
        texts = [normalize(text) for _c, _l, text in rows]
        kept = [i for i, t in enumerate(texts) if t]
        found = Concepts(concepts)
        found.known = frozenset(w for text in texts for w in text.split())
        self.vectorizer = Vectorizer((texts[i] for i in kept), min_df, found)
        vectors = [self.vectorizer.vector(texts[i]) for i in kept]
        labels = [numbers[rows[i][0]] for i in kept]
        self.model = LinearModel(vectors, labels, len(self.vectorizer), len(self.classes), cost)
        langs = [0 if rows[i][1] == "vi" else 1 for i in kept]
        self.language_model = LinearModel(vectors, langs, len(self.vectorizer), 2, 1.0)
        del vectors, texts, rows
        _return_freed_memory()

    @classmethod
    def for_content(
        cls,
        topics: Mapping[str, Topic],
        examples: Mapping[str, Mapping[str, Iterable[str]]],
        concepts: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    ) -> Matcher:
        """A matcher for these topics, examples and concepts, trained once per process for each.

        Every engine (each CLI command, each test) would otherwise train again on the same
        examples; the examples themselves are the key, so edited content trains anew.
        """
        return cls.train_ahead(topics, examples, concepts).finish()

    @classmethod
    def train_ahead(
        cls,
        topics: Mapping[str, Topic],
        examples: Mapping[str, Mapping[str, Iterable[str]]],
        concepts: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    ) -> TrainingAhead:
        """Start training the matcher `for_content` will return, in a child when possible."""
        return TrainingAhead(topics, examples, concepts)

    def match(self, text: str) -> Match:
        """Score the likeliest topics for `text` and pick the best if it clears the threshold."""
        normalized = normalize(text[:500])
        idx, values = self.vectorizer.vector(normalized)
        if not idx.size:
            return Match(None, 0.0, ())
        probs = self.model.probabilities(idx, values)
        order = np.argsort(-probs)
        best = self.classes[order[0]]
        best_score = round(float(probs[order[0]]) * 100, 1)
        ranked = tuple(
            (self.classes[i], round(float(probs[i]) * 100, 1))
            for i in order[:6]
            if self.classes[i] in self.topics
        )[:3]
        if best == GREETING and best_score >= SMALL_TALK_THRESHOLD:
            return Match(None, best_score, ranked, small_talk=True)
        if best not in self.topics:
            return Match(None, best_score, ranked)
        topic = best if best_score >= self.answer_threshold else None
        return Match(topic, best_score, ranked)

    def language(self, text: str) -> str | None:
        """'vi' or 'en' when the message clearly is in it, else None."""
        if _VIETNAMESE_LETTERS.search(text):
            return "vi"
        idx, values = self.vectorizer.vector(normalize(text[:500]))
        if idx.size < 6:  # "ok", "113": too little to tell
            return None
        p_vi, p_en = self.language_model.probabilities(idx, values)
        if p_en >= LANGUAGE_CONFIDENCE:
            return "en"
        if p_vi >= LANGUAGE_CONFIDENCE:
            return "vi"
        return None


#: Seconds a training child may take (4 s here, ten times that on a small board) before it
#: is taken for stuck and the matcher is trained in the process itself.
CHILD_TIMEOUT = 120.0


class TrainingAhead:
    """A matcher being trained, in a forked child where possible, for `Matcher.for_content`.

    Training leaves its libraries (scipy, LIBLINEAR) and ~10 MB of fragmented heap in the
    process that trains: a serving process would pay for them all its life. A child made by
    fork has the same string hashes as this process (the n-gram ids), so the vectoriser it
    sends back works here. Forking is only safe while this process has a single thread (a
    thread holding a lock at the fork would leave the child stuck): with threads, or without
    fork, `finish` trains here. Started early, the child trains while the caller opens its
    database, and a start-up that fails on the database need not wait for it (`cancel`).
    """

    def __init__(
        self,
        topics: Mapping[str, Topic],
        examples: Mapping[str, Mapping[str, Iterable[str]]],
        concepts: Mapping[str, Mapping[str, Iterable[str]]] | None,
    ) -> None:
        self._content = (topics, examples, concepts)
        self._key = (
            tuple(topics),
            tuple(training_examples(topics, examples)),
            tuple(
                (c, lang, tuple(texts))
                for c, by_lang in (concepts or {}).items()
                for lang, texts in by_lang.items()
            ),
        )
        self._child: tuple[multiprocessing.process.BaseProcess, Connection] | None = None
        if self._key in _TRAINED or threading.active_count() > 1:
            return
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_train_and_send, args=(sender, *self._content), daemon=True)
        try:
            child.start()
        except OSError:  # no fork allowed here (a sandbox, a process limit)
            receiver.close()
            return
        finally:
            sender.close()
        self._child = (child, receiver)

    @property
    def in_child(self) -> bool:
        """Whether a child process is training (else `finish` trains here, or had it already)."""
        return self._child is not None

    def finish(self) -> Matcher:
        """The trained matcher: the child's when it sent one, else trained here."""
        matcher = _TRAINED.get(self._key) or self._received()
        if matcher is None:
            matcher = Matcher(*self._content)
        if self._key not in _TRAINED:
            if len(_TRAINED) >= 4:
                _TRAINED.clear()
            _TRAINED[self._key] = matcher
        return matcher

    def cancel(self) -> None:
        """Stop the child: the caller will not need the matcher."""
        if self._child is not None:
            child, receiver = self._child
            self._child = None
            child.kill()
            child.join()
            receiver.close()

    def _received(self) -> Matcher | None:
        if self._child is None:
            return None
        child, receiver = self._child
        self._child = None
        try:
            if not receiver.poll(CHILD_TIMEOUT):  # stuck: train here rather than wait on
                child.kill()
                return None
            data = receiver.recv_bytes()
        except (OSError, EOFError):  # the child died (out of memory, killed)
            return None
        finally:
            receiver.close()
            child.join()
        matcher = pickle.loads(data)
        return matcher if isinstance(matcher, Matcher) else None


def _train_and_send(
    sender: Connection,
    topics: Mapping[str, Topic],
    examples: Mapping[str, Mapping[str, Iterable[str]]],
    concepts: Mapping[str, Mapping[str, Iterable[str]]] | None,
) -> None:
    sender.send_bytes(pickle.dumps(Matcher(topics, examples, concepts)))
    sender.close()


def _return_freed_memory() -> None:
    """Hand the memory freed after training back to the system (glibc keeps it otherwise)."""
    # Not glibc: the memory is reused, just not returned.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


#: Matchers already trained in this process, by their training examples (see `for_content`).
_TRAINED: dict[tuple[object, ...], Matcher] = {}
