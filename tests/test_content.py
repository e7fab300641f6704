"""The shipped content is complete in both languages, sourced, and consistent."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.content import (
    Content,
    ContentError,
    load_action_month_themes,
    load_content,
    load_topics,
    valid_phone,
)
from bot.settings import DEFAULT_CONTENT_DIR

#: Topic ids are a contract with the department's statistics: never renamed or dropped.
REQUIRED_TOPICS = """gender_equality gender_stereotype gender_equality_law gbv domestic_violence
dv_signs what_to_do help_others hotlines hotline_111 trusted_address find_trusted_address
child_abuse sexual_harassment workplace_equality child_marriage trafficking_forced_marriage
victim_rights protection_order legal_penalties legal_aid action_month women_leadership men_role
counseling privacy_bot about_bot
marriage_age abuser_help after_reporting online_abuse dating_violence sexual_assault
nowhere_to_stay elder_disability_neglect dv_hotline_national phone_safety""".split()


def test_every_required_topic_is_there_with_both_languages(content: Content) -> None:
    missing = [t for t in REQUIRED_TOPICS if t not in content.topics]
    assert not missing
    for topic in content.topics.values():
        assert topic.answer.vi and topic.answer.en, topic.id
        assert topic.title.vi and topic.title.en, topic.id
        assert topic.source, topic.id
        assert len(topic.questions["vi"]) >= 3 and topic.questions["en"], topic.id
        # Short enough for a phone screen (the editor rule in faq.yaml).
        assert len(topic.answer.vi) <= 650 and len(topic.answer.en) <= 650, topic.id


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


# --- sources and honesty -----------------------------------------------------------------------

#: Internal working files that citizen-facing content must never point to.
_INTERNAL = re.compile(r"FACTS|DESIGN|\.\./shared|/work/")


def test_no_content_file_points_to_internal_files() -> None:
    files = [*Path("content").rglob("*.yaml"), Path("docs/sources.md")]
    assert len(files) >= 8
    offending = [
        f"{path}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _INTERNAL.search(line)
    ]
    assert not offending


def test_citizens_are_never_sent_to_a_project_file_as_a_source(content: Content) -> None:
    # A source is something a citizen can look up: a law, a decree, a public page; not a file
    # of this project ("README, Privacy and safety" meant nothing to the person reading it).
    named = {t.id: t.source for t in content.topics.values()
             if re.search(r"README|\.md\b|\.py\b|\.yaml\b", t.source)}  # fmt: skip
    assert not named


def test_every_topic_is_offered_by_another_topic(content: Content) -> None:
    # A find_place topic shows a location prompt instead of its related buttons.
    offered = {r for topic in content.topics.values() if topic.action != "find_place"
               for r in topic.related}  # fmt: skip
    assert not [topic_id for topic_id in content.topics if topic_id not in offered]
    assert "nowhere_to_stay" in content.topics["what_to_do"].related
    assert "phone_safety" in content.topics["privacy_bot"].related
    assert "marriage_age" in content.topics["child_marriage"].related


def test_the_shelter_line_is_never_called_free(content: Content) -> None:
    for topic in content.topics.values():
        for text in (topic.answer.vi, topic.answer.en):
            for line in text.splitlines():
                if "1900" in line:
                    assert "miễn phí" not in line and "free" not in line, topic.id


def test_no_answer_gives_a_shelter_stay_length(content: Content) -> None:
    stay = re.compile(r"\d+\s*(ngày|đêm|days?|nights?)", re.IGNORECASE)
    for topic_id in ("nowhere_to_stay", "trusted_address", "find_trusted_address"):
        answer = content.topics[topic_id].answer
        assert not stay.search(answer.vi + answer.en), topic_id
    numbers = set(re.findall(r"\d+", content.topics["nowhere_to_stay"].answer.vi))
    assert numbers <= {"111", "113", "24", "7"}


def test_national_dv_hotline_gives_no_unconfirmed_number(content: Content) -> None:
    topic = content.topics["dv_hotline_national"]
    assert "76/2023" in topic.answer.vi + topic.source
    short_numbers = set(re.findall(r"(?<![\d/])\d{3}(?![\d/ ])", topic.answer.vi))
    assert short_numbers <= {"111", "113"}
    assert "chưa" in topic.answer.vi  # says honestly that no number is confirmed


def test_the_gbv_answer_defines_nothing_the_law_does_not(content: Content) -> None:
    answer = content.topics["gbv"].answer
    assert "không định nghĩa" in answer.vi and "does not define" in answer.en
    assert "hiểu đơn giản" not in answer.vi


def test_marriage_ages_and_harassment_rest_on_the_right_laws(content: Content) -> None:
    for topic_id in ("marriage_age", "child_marriage"):
        topic = content.topics[topic_id]
        assert "52/2014" in topic.source and "Điều 8" in topic.source, topic_id
        assert "20 tuổi" in topic.answer.vi and "18 tuổi" in topic.answer.vi, topic_id
    harassment = content.topics["sexual_harassment"]
    assert "45/2019" in harassment.source and "145/2020" in harassment.source
    assert "cùng giới" in harassment.answer.vi


def test_protection_order_is_asked_of_the_commune_chairman(content: Content) -> None:
    answer = content.topics["protection_order"].answer.vi
    assert "12 giờ" in answer and "03 ngày" in answer and "04 tháng" in answer
    assert "Chủ tịch UBND xã" in answer.splitlines()[-2]
    assert "công an xã" not in answer


# --- the Action Month theme, per year ----------------------------------------------------------


def test_action_month_theme_is_claimed_only_for_its_year(content: Content) -> None:
    theme = content.action_month_theme(2025)
    assert theme is not None and "kỷ nguyên số" in theme.vi and "digital era" in theme.en
    assert content.action_month_theme(2026) is None  # no 2026 theme is known
    assert content.action_month_theme(2015) is None
    # The static answer names no year's theme: it would be wrong the next year.
    answer = content.topics["action_month"].answer
    for text in (answer.vi, answer.en):
        assert "kỷ nguyên số" not in text and "digital era" not in text
        # No year but "since 2016" and the resolution's date (03/3/2021).
        assert not re.search(r"(?<!/)20(1[7-9]|[2-9]\d)", text)
        assert "15/11" in text and "28/NQ-CP" in text


def test_theme_years_come_with_a_source(content: Content) -> None:
    assert content.action_month_themes
    for year, theme in content.action_month_themes.items():
        assert theme.year == year and theme.source and theme.text.vi and theme.text.en


def _themes_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "campaigns.yaml"
    path.write_text("campaigns: []\naction_month_themes:\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("  abc: {vi: a, en: b, source: s}\n", r"entry action_month_themes abc: .*year"),
        ("  1999: {vi: a, en: b, source: s}\n", r"entry action_month_themes 1999: .*year"),
        ("  2027: {vi: a, source: s}\n", r"entry action_month_themes 2027, field 'en'"),
        ("  2027: {vi: a, en: b}\n", r"entry action_month_themes 2027, field 'source'"),
        ("  2027: {vi: a, en: b, source: s, theme: x}\n", r"2027, field 'theme': unknown field"),
        ("  2027: {vi: '', en: b, source: s}\n", r"2027, field 'vi': must be a non-empty text"),
        ("  2027: just a text\n", r"entry action_month_themes 2027: must be a mapping"),
        ('  2027: {vi: a, en: b, source: s}\n  "2027": {vi: a, en: b, source: s}\n',
         r"entry action_month_themes 2027: duplicate year"),
        (f"  2027: {{vi: {'x' * 301}, en: b, source: s}}\n", r"2027, field 'vi': is over 300"),
    ],
)  # fmt: skip
def test_bad_theme_entries_name_the_entry_and_field(tmp_path: Path, body: str, error: str) -> None:
    with pytest.raises(ContentError, match=r"campaigns\.yaml, .*" + error):
        load_action_month_themes(_themes_file(tmp_path, body))


def test_a_quoted_year_and_a_missing_file_are_fine(tmp_path: Path) -> None:
    path = _themes_file(tmp_path, '  "2027": {vi: Chủ đề, en: Theme, source: s}\n')
    assert load_action_month_themes(path)[2027].text.en == "Theme"
    assert load_action_month_themes(tmp_path / "none.yaml") == {}


def test_concepts_load_per_language_and_name_a_bad_entry(tmp_path: Path) -> None:
    assert {"spouse", "hit", "child"} <= set(load_content().concepts)
    shutil.copytree(DEFAULT_CONTENT_DIR, tmp_path / "c")
    path = tmp_path / "c" / "concepts.yaml"
    path.write_text("spouse:\n  vi: [chong]\n  tay: [phua]\n  en: [113]\n", encoding="utf-8")
    assert load_content(tmp_path / "c").concepts["spouse"] == {
        "vi": ("chong",),
        "tay": ("phua",),
        "en": ("113",),
    }
    path.write_text("spouse:\n  vi: [chong, '  ']\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"concepts\.yaml, entry spouse, field 'vi'"):
        load_content(tmp_path / "c")
    path.unlink()
    assert load_content(tmp_path / "c").concepts == {}
