"""The shipped content is complete in both languages, sourced, and consistent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.content import Content, ContentError, load_content, load_topics, valid_phone

REQUIRED_TOPICS = """gender_equality gender_stereotype gender_equality_law gbv domestic_violence
dv_signs what_to_do help_others hotlines hotline_111 trusted_address find_trusted_address
child_abuse sexual_harassment workplace_equality child_marriage trafficking_forced_marriage
victim_rights protection_order legal_penalties legal_aid action_month women_leadership men_role
counseling privacy_bot about_bot""".split()


def test_every_required_topic_is_there_with_both_languages(content: Content) -> None:
    missing = [t for t in REQUIRED_TOPICS if t not in content.topics]
    assert not missing
    for topic in content.topics.values():
        assert topic.answer.vi and topic.answer.en, topic.id
        assert topic.title.vi and topic.title.en, topic.id
        assert topic.source, topic.id
        assert len(topic.questions["vi"]) >= 3 and topic.questions["en"], topic.id
        # Short enough for a phone screen.
        assert len(topic.answer.vi) <= 900, topic.id


def test_legal_penalties_cite_the_current_decrees(content: Content) -> None:
    topic = content.topics["legal_penalties"]
    text = topic.answer.vi + topic.source
    assert "282/2025" in text and "125/2021" in text
    assert "144/2021" not in topic.source


def test_hotlines_are_the_known_numbers_only(content: Content) -> None:
    numbers = {h.number.replace(" ", "") for h in content.hotlines}
    assert {"111", "113", "115"} <= numbers
    assert numbers <= {"111", "112", "113", "114", "115", "1900969680"}
    shelter = next(h for h in content.hotlines if h.number.replace(" ", "") == "1900969680")
    assert shelter.free is False
    assert next(h for h in content.hotlines if h.number == "111").free is True


def test_units_are_langson_since_2025(content: Content) -> None:
    reporting = content.reporting_units()
    assert len(reporting) == 65
    assert sum(u.kind == "phuong" for u in reporting) == 4
    for code in ("tam-thanh", "dong-dang", "that-khe"):
        assert code in content.units
    for unit in reporting:
        assert unit.parent == "lang-son"
        assert unit.lat is not None and 21.3 <= unit.lat <= 22.5, unit.code


def test_sample_places_are_marked_and_have_no_invented_phones(content: Content) -> None:
    assert content.places_sample is True
    assert len(content.places) >= 10
    for place in content.places:
        assert "minh họa" in place.name.vi, place.id
        assert place.phone is None, place.id
        assert place.unit in content.units


def test_ids_are_unique_in_the_files() -> None:
    data = yaml.safe_load(Path("content/faq.yaml").read_text(encoding="utf-8"))
    ids = [t["id"] for t in data["topics"]]
    assert len(ids) == len(set(ids))


def test_loader_names_file_entry_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "faq.yaml"
    bad.write_text(
        "topics:\n  - id: x\n    title: {vi: a, en: b}\n    answer: {vi: a}\n"
        "    source: s\n    questions: {vi: [q], en: [q]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match=r"faq.yaml, entry x, field 'answer.en'"):
        load_topics(bad)


def test_broken_content_dir_fails_with_file_name(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match=r"units\.yaml"):
        load_content(tmp_path)


@pytest.mark.parametrize(
    ("phone", "ok"),
    [("113", True), ("0205 3812 345", True), ("+84 205 3812345", True), ("1900 969 680", True),
     ("12345", False), ("abc", False), ("02053812345678", False)],
)  # fmt: skip
def test_phone_format(phone: str, ok: bool) -> None:
    assert valid_phone(phone) is ok
