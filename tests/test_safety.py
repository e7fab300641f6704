"""The emergency check (bot/core/safety) and its reply (bot/core/safety_reply) — DESIGN §3.5.

Recall first: every positive phrasing in tests/data/emergency_phrases.yaml must trigger, with
or without diacritics, with its situation flags; its negatives must not. The precision set,
tests/data/not_emergency_phrases.yaml (ordinary questions), must be left alone at least 95 %
of the time. The reply must fit the situation: a victim, a witness, someone who hurts and
wants to stop, someone thinking of self-harm, a child, an injury, a sexual assault.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal, cast

import pytest
import yaml
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.i18n
from bot.content import Content
from bot.core.engine import Context, Engine
from bot.core.safety import Assessment, _assess, assess
from bot.core.safety_reply import safety_replies
from bot.i18n import use_language
from bot.messages import Channel, Incoming, Reply
from bot.text import clean, fold, normalize
from tests.conftest import all_text, button_data, say, shipped_content

HERE = Path(__file__).parent
DATA: dict[str, Any] = yaml.safe_load(
    (HERE / "data" / "emergency_phrases.yaml").read_text(encoding="utf-8")
)
POSITIVE: list[dict[str, Any]] = DATA["positive"]
NEGATIVE: list[str] = DATA["negative"]
NOT_EMERGENCY: list[str] = yaml.safe_load(
    (HERE / "data" / "not_emergency_phrases.yaml").read_text(encoding="utf-8")
)["phrases"]
FLAGS = ("child", "injury", "self_harm", "trafficking", "bystander", "abuser", "sexual_assault")
# Words that mark a phrase as English (none of them is a folded Vietnamese word).
_ENGLISH = {"i", "my", "he", "she", "they", "help", "please", "the", "was", "is", "am", "save"}
# Characters that show nothing: zero-width space / non-joiner / joiner, soft hyphen, word
# joiner, BOM, variation selector 16.
_INVISIBLE = "\u200b\u200c\u200d\u00ad\u2060\ufeff\ufe0f"


def _is_ascii(text: str) -> bool:
    return fold(text) == text.lower()


def _wrong_flags(phrase: dict[str, Any], found: Assessment) -> list[str]:
    """Flags the phrase names (true or false) that the assessment gets wrong."""
    return [flag for flag in FLAGS if flag in phrase and getattr(found, flag) != phrase[flag]]


# --- the phrase sets -------------------------------------------------------------------------


def test_phrase_sets_are_big_and_varied() -> None:
    assert len(POSITIVE) >= 200
    assert len(NEGATIVE) >= 45
    assert len(NOT_EMERGENCY) >= 150
    assert len(set(NOT_EMERGENCY)) == len(NOT_EMERGENCY)
    assert sum(_is_ascii(p["text"]) for p in POSITIVE) * 2 >= len(POSITIVE)
    english = [p for p in POSITIVE if _ENGLISH & set(fold(p["text"]).replace("'", " ").split())]
    assert len(english) >= 30
    assert all(set(p) <= {"text", *FLAGS} for p in POSITIVE)
    # Every situation is exercised both ways (set and, somewhere, deliberately not set).
    for flag in ("bystander", "abuser"):
        assert any(p.get(flag) is True for p in POSITIVE), flag
        assert any(p.get(flag) is False for p in POSITIVE), flag
    assert sum(bool(p.get("sexual_assault")) for p in POSITIVE) >= 10


def test_every_positive_triggers_with_its_flags() -> None:
    misses = []
    for phrase in POSITIVE:
        for text in (phrase["text"], fold(phrase["text"])):
            found = assess(text)
            wrong = _wrong_flags(phrase, found)
            if not found.emergency or wrong:
                misses.append(f"{text!r}: {found.reasons} (wrong {wrong})")
    assert not misses, f"{len(misses)} missed:\n" + "\n".join(misses)


def test_no_negative_triggers() -> None:
    false_alarms = [f"{t!r}: {assess(t).reasons}" for t in NEGATIVE if assess(t).emergency]
    assert not false_alarms, f"{len(false_alarms)} false alarms:\n" + "\n".join(false_alarms)


def test_recall_and_precision_figures() -> None:
    texts = [t for p in POSITIVE for t in dict.fromkeys((p["text"], fold(p["text"])))]
    recalled = sum(assess(t).emergency for t in texts)
    left_alone = [t for t in NOT_EMERGENCY if not assess(t).emergency]
    recall = recalled / len(texts)
    precision = len(left_alone) / len(NOT_EMERGENCY)
    print(
        f"\nemergency check: recall {recall:.3f} ({recalled}/{len(texts)} emergency phrasings), "
        f"precision {precision:.3f} ({len(left_alone)}/{len(NOT_EMERGENCY)} ordinary "
        "questions left alone)"
    )
    assert recall == 1.0
    assert precision >= 0.95, [t for t in NOT_EMERGENCY if t not in left_alone]


def test_flags_only_with_an_emergency() -> None:
    for text in NEGATIVE + NOT_EMERGENCY:
        found = assess(text)
        if not found.emergency:
            assert not any(getattr(found, flag) for flag in FLAGS), text


def test_reasons_name_rules_not_user_text() -> None:
    found = assess("chong dang danh em")
    assert found.reasons and all("chong" not in reason for reason in found.reasons)


# --- one class at a time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["cứ\u200bu em với", "chồng đá\u00adnh em", "ｃｕｕ ｅｍ", "c\u200cứ\u200du tôi",
     "\ufeffchong dang danh em", "bị đ\u2060ánh", "cứu\ufe0f em", "ＨＥＬＰ ＭＥ",
     "сứu em"],  # the last with a Cyrillic "с"
)  # fmt: skip
def test_invisible_and_compatibility_characters_are_folded_first(text: str) -> None:
    assert assess(text).emergency


def test_the_normaliser_folds_them_for_every_matcher() -> None:
    assert normalize("đá\u200bnh ｃｕｕ e\u2060m") == normalize("đánh cuu em") == "danh cuu em"
    assert clean("plain ascii") == "plain ascii"
    assert clean("ｂｉ\u00adｎｈ") == "binh"


@pytest.mark.parametrize(
    "text",
    ["em bị đánh, sợ về nhà", "em bi danh, so ve nha", "chị bị chồng đánh sợ bị lộ",
     "chi bi chong danh so bi lo", "chồng đánh, sợ lắm"],
)  # fmt: skip
def test_an_exemption_never_reaches_across_punctuation(text: str) -> None:
    assert assess(text).emergency


def test_numbering_pages_is_still_not_violence() -> None:
    for text in ("đánh số trang", "cách đánh số trang trong word", "đánh số thứ tự"):
        assert not assess(text).emergency, text


@pytest.mark.parametrize(
    "text", ["cuong hiep", "hiep dam", "bi hiep", "rape", "bi danh", "hiếp dâm", "raped"]
)
def test_one_or_two_word_disclosures_count(text: str) -> None:
    assert assess(text).emergency


def test_a_question_about_the_same_word_is_information() -> None:
    for text in ("hiếp dâm là gì", "what is rape law", "tội hiếp dâm theo luật hình sự"):
        assert not assess(text).emergency, text


@pytest.mark.parametrize(
    "text",
    ["em học lớp 8 bị bố đánh", "con 10 tuoi bi danh", "cháu bị dượng sờ mó", "be bi bo danh",
     "i am 14 and my dad hits me"],
)  # fmt: skip
def test_a_child_named_by_grade_age_or_kinship(text: str) -> None:
    found = assess(text)
    assert found.emergency and found.child


def test_a_witness_is_a_bystander_and_a_victim_is_not() -> None:
    assert assess("hàng xóm đang đánh vợ").bystander
    assert assess("my neighbour is beating his wife").bystander
    assert assess("mẹ em bị bố đánh, em sợ quá").bystander
    for text in ("chồng đánh em", "hàng xóm đánh em", "he is beating me", "tôi bị chồng đánh"):
        found = assess(text)
        assert found.emergency and not found.bystander, text


def test_a_writer_who_hurts_someone_is_an_abuser_and_an_emergency() -> None:
    for text in ("tôi đánh vợ, muốn bỏ", "I hit my wife and want to stop", "muốn bỏ tật đánh vợ"):
        found = assess(text)
        assert found.emergency and found.abuser and not found.bystander, text
    # "bố đánh con" is a father hitting a child, not "bỏ" (quit) hitting.
    for text in ("bo danh con chay mau", "tôi bị chồng đánh", "chồng em có thói đánh vợ"):
        assert not assess(text).abuser, text


def test_sexual_assault_is_named() -> None:
    for text in ("em vừa bị hiếp", "he raped me last night", "nó ép em quan hệ tối qua"):
        found = assess(text)
        assert found.emergency and found.sexual_assault, text
    assert not assess("chồng đánh em").sexual_assault


def test_self_harm_alone_is_not_violence() -> None:
    found = assess("tôi muốn chết")
    assert found.self_harm and not found.violence
    both = assess("chồng đánh em, em muốn chết")
    assert both.self_harm and both.violence


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
    assert assess("H\u200bELP").emergency


def test_empty_and_blank() -> None:
    assert assess("") == Assessment(emergency=False)
    assert not assess(" \x00\t\n🙂\u200b\ufeff").emergency


# --- property tests ----------------------------------------------------------------------------

_ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x2FF), min_size=2000, max_size=10_000),
    st.lists(
        st.sampled_from(
            [p["text"] for p in POSITIVE] + NEGATIVE + ["\x00", "🙂", "\u202e", ",", "\u200b"]
        ),
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
        assert not any(getattr(found, flag) for flag in FLAGS)


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


@st.composite
def _disguised(draw: st.DrawFn) -> str:
    """A positive with invisible characters slipped in, some letters fullwidth."""
    phrase: str = draw(st.sampled_from([p["text"] for p in POSITIVE]))
    out = []
    for ch in unicodedata.normalize("NFC", phrase):
        if "a" <= ch <= "z" and draw(st.integers(0, 4)) == 0:
            ch = chr(ord(ch) - ord("a") + ord("ａ"))
        out.append(ch)
        if draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(_INVISIBLE)))
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(_disguised())
def test_invisible_or_fullwidth_characters_keep_a_positive_positive(text: str) -> None:
    assert assess(text).emergency, ascii(text)


# --- the safety reply --------------------------------------------------------------------------


def _ctx(
    channel: Channel = "telegram", lang: str = "en", content: Content | None = None
) -> Context:
    """A context for `safety_replies`: it only reads the content and the channel."""
    engine = cast(Engine, SimpleNamespace(content=content or shipped_content()))
    inc = Incoming(channel, "1", text="x")
    return Context(inc=inc, engine=engine, user=None, lang=lang, now=datetime(2026, 11, 28))


def _reply(text: str, channel: Channel = "telegram", lang: str = "en") -> list[Reply]:
    found = assess(text)
    assert found.emergency, text
    with use_language(lang):
        return safety_replies(_ctx(channel, lang), found)


def test_violence_113_first_not_your_fault_and_three_buttons() -> None:
    replies = _reply("chồng đang đánh em")
    assert len(replies) == 1
    lines = replies[0].text.splitlines()
    assert "113" in lines[0] and "police" in lines[0]
    assert "It is not your fault." in lines
    assert button_data(replies) == ["place:start", "faq:what_to_do", "hot"]
    assert "cannot call or alert anyone" in replies[0].text


def test_every_reply_says_how_to_erase_on_its_channel() -> None:
    telegram = all_text(_reply("cứu em với", "telegram"))
    zalo = all_text(_reply("cứu em với", "zalo"))
    console = all_text(_reply("cứu em với", "console"))
    assert "/xoa deletes this chat's messages" in telegram
    assert "delete the chat in the Zalo app" in zalo and "/xoa erases what the bot keeps" in zalo
    assert "/xoa erases what the bot keeps." in console and "Zalo" not in console
    for text in (telegram, zalo, console):
        assert "cannot call or alert anyone" in text


def test_self_harm_care_first_then_115_and_113_no_victim_advice_no_place() -> None:
    for phrase in ("tôi muốn chết", "em muon tu tu", "i want to kill myself"):
        replies = _reply(phrase)
        text = all_text(replies)
        lines = text.splitlines()
        assert "not alone" in lines[0] and "113" not in lines[0], phrase
        assert "115 (medical emergency)" in lines[1] and "113 (police)" in lines[1], phrase
        assert "place:start" not in button_data(replies), phrase
        assert "not your fault" not in text and "person hurting you" not in text, phrase
        assert button_data(replies) == ["faq:counseling", "hot"], phrase


def test_self_harm_with_violence_also_offers_the_safe_place() -> None:
    replies = _reply("chồng đánh em, em muốn chết")
    lines = replies[0].text.splitlines()
    assert "not alone" in lines[0] and "113" in lines[1]
    assert "place:start" in button_data(replies)


def test_a_child_adds_111_and_an_injury_115() -> None:
    child = all_text(_reply("con tôi bị đánh"))
    assert "111" in child and "free, 24/7" in child
    injured = all_text(_reply("chong danh gay tay em"))
    assert "115" in injured and "111" not in injured


def test_a_bystander_gets_the_help_others_guidance() -> None:
    replies = _reply("hàng xóm đang đánh vợ")
    text = all_text(replies)
    assert "113" in text.splitlines()[0] and "someone is in danger" in text
    assert "Do not put yourself in danger" in text
    assert "not your fault" not in text
    assert "faq:help_others" in button_data(replies)
    with_child = all_text(_reply("tôi thấy hàng xóm đánh con"))
    assert "111" in with_child


def test_an_abuser_is_told_to_step_away_and_call_113_if_someone_may_be_hurt() -> None:
    replies = _reply("tôi đánh vợ, muốn bỏ")
    text = all_text(replies)
    assert "113" in text.splitlines()[0] and "may be hurt" in text
    assert "Step away now" in text
    assert "not your fault" not in text and "place:start" not in button_data(replies)
    # The topic of its own where the content has it (see the fallback test below).
    topic = "abuser_help" if "abuser_help" in shipped_content().topics else "counseling"
    assert button_data(replies) == [f"faq:{topic}", "hot"]


def test_sexual_assault_113_115_medical_care_and_its_topic() -> None:
    replies = _reply("em vừa bị hiếp")
    text = all_text(replies)
    assert "113" in text.splitlines()[0]
    assert "115" in text and "right to medical care" in text
    topic = "sexual_assault" if "sexual_assault" in shipped_content().topics else "what_to_do"
    assert f"faq:{topic}" in button_data(replies)
    assert "111" in all_text(_reply("con gái tôi vừa bị hiếp"))


def test_trafficking_keeps_its_line() -> None:
    assert "border guard post" in all_text(_reply("bị bán sang trung quốc"))


def test_a_missing_topic_falls_back_and_never_leaves_a_dead_button() -> None:
    content = shipped_content()
    topics = {
        k: v for k, v in content.topics.items() if k not in {"abuser_help", "sexual_assault"}
    }
    bare = dataclasses.replace(content, topics=topics)
    with use_language("en"):
        abuser = safety_replies(_ctx(content=bare), assess("tôi đánh vợ"))
        raped = safety_replies(_ctx(content=bare), assess("em vừa bị hiếp"))
    assert "faq:counseling" in button_data(abuser)
    assert "faq:what_to_do" in button_data(raped)


def test_numbers_come_from_the_content_hotlines() -> None:
    content = shipped_content()
    renumbered = tuple(
        dataclasses.replace(h, number="999") if "child" in h.tags else h for h in content.hotlines
    )
    changed = dataclasses.replace(content, hotlines=renumbered)
    with use_language("en"):
        replies = safety_replies(_ctx(content=changed), assess("con tôi bị đánh"))
    assert "call 999 (child protection" in all_text(replies)


_SITUATIONS = (
    "chồng đang đánh em", "tôi muốn chết", "chồng đánh em, em muốn chết", "con tôi bị đánh",
    "hàng xóm đang đánh vợ", "tôi thấy hàng xóm đánh con chảy máu", "tôi đánh con, muốn bỏ",
    "em vừa bị hiếp", "con gái tôi vừa bị hiếp, chảy máu nhiều", "bị bán sang trung quốc",
    "con em bi bat coc roi", "bạn em vừa bị hiếp",
)  # fmt: skip


def _catalog_with_pending(tmp_path: Path) -> NullTranslations:
    """The Vietnamese catalog with this task's pending translations merged in."""
    with Path("locales/vi/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    with Path("locales/vi/pending/safety.po").open("rb") as fh:
        for message in read_po(fh):
            if message.id:
                catalog[message.id] = message
    out = tmp_path / "vi" / "LC_MESSAGES"
    out.mkdir(parents=True)
    with (out / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return Translations.load(str(tmp_path), ["vi"], "messages")


@pytest.fixture
def vietnamese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    merged = _catalog_with_pending(tmp_path)
    real = bot.i18n.translations
    monkeypatch.setattr(
        bot.i18n, "translations", lambda lang, *a: merged if lang == "vi" else real(lang)
    )


def test_every_reply_string_has_a_vietnamese_translation() -> None:
    known: dict[str, str] = {}
    for path in ("locales/vi/LC_MESSAGES/messages.po", "locales/vi/pending/safety.po"):
        with Path(path).open("rb") as fh:
            known |= {str(m.id): str(m.string) for m in read_po(fh) if m.id}
    # (line, message, comments, context) for every `_()` call.
    msgids = [m[1] for m in extract_from_file("python", "bot/core/safety_reply.py")]
    assert msgids
    assert [m for m in msgids if not known.get(str(m))] == []


@pytest.mark.usefixtures("vietnamese")
def test_vietnamese_reply_is_translated_and_short() -> None:
    replies = _reply("chồng đang đánh em", "zalo", "vi")
    text = all_text(replies)
    assert text.splitlines()[0].startswith("🚨 Nếu bạn đang gặp nguy hiểm")
    assert "Bạn không có lỗi." in text and "not your fault" not in text
    assert "ứng dụng Zalo" in text
    labels = [b.label for row in replies[0].buttons for b in row]
    assert "Tìm địa chỉ tin cậy gần nhất" in labels


@pytest.mark.usefixtures("vietnamese")
@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("channel", ["telegram", "zalo", "console"])
def test_every_safety_reply_is_short(lang: str, channel: Channel) -> None:
    for phrase in _SITUATIONS:
        replies = _reply(phrase, channel, lang)
        assert len(replies) == 1
        assert len(replies[0].text) <= 600, (phrase, len(replies[0].text), replies[0].text)
        assert 2 <= len(button_data(replies)) <= 4, phrase


# --- through the engine -------------------------------------------------------------------------


async def test_the_engine_gives_the_fitting_reply(engine: Engine) -> None:
    victim = await say(engine, "em bị đánh, sợ về nhà", user="s1")
    assert "113" in victim[0].text.splitlines()[0]
    assert "place:start" in button_data(victim)
    witness = await say(engine, "hàng xóm đang đánh vợ", user="s2")
    assert "faq:help_others" in button_data(witness)
    english = await say(engine, "my neighbour is beating his wife", user="s3", lang="en")
    assert "faq:help_others" in button_data(english)
