"""Every frozen test file is well formed: a typo in a label would silently lower its figures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.content import load_content

EVAL_DIR = Path(__file__).parent / "data" / "eval"
FILES = sorted(EVAL_DIR.glob("frozen*.yaml"))


def test_there_are_two_frozen_files_at_least() -> None:
    """frozen.yaml and frozen_b.yaml are both picked up by `make eval`'s glob."""
    assert {p.name for p in FILES} >= {"frozen.yaml", "frozen_b.yaml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_items_have_a_text_a_language_and_a_known_label(path: Path) -> None:
    """Each item is {text, lang, topic}: lang vi|en, topic a topic id, _greeting or null."""
    topic_ids = set(load_content().topics)
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert items
    for item in items:
        assert set(item) == {"text", "lang", "topic"}, item
        assert isinstance(item["text"], str) and item["text"].strip(), item
        assert item["lang"] in ("vi", "en"), item
        assert item["topic"] is None or item["topic"] == "_greeting" or item["topic"] in topic_ids
    texts = [str(i["text"]).strip().lower() for i in items]
    assert len(texts) == len(set(texts)), "a text appears twice"


def test_frozen_b_has_five_questions_per_topic() -> None:
    """frozen_b covers every topic equally, plus 40 off-topic messages and 20 greetings."""
    topic_ids = list(load_content().topics)
    items = yaml.safe_load((EVAL_DIR / "frozen_b.yaml").read_text(encoding="utf-8"))
    labels = [i["topic"] for i in items]
    assert {t: labels.count(t) for t in topic_ids} == dict.fromkeys(topic_ids, 5)
    assert labels.count(None) == 40
    assert labels.count("_greeting") == 20
