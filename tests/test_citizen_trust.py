"""Issue 9 through the engine: language per message, one numbered list, the emergency that
puts a report aside, greetings, and what `ask --json` reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.clock import FakeClock
from bot.core.engine import Engine, merge_options
from bot.messages import Button, Incoming, Reply
from bot.storage import Store
from tests.conftest import all_text, button_data, say
from tests.test_officer import invite


async def test_an_english_message_gets_english_even_in_an_emergency(engine: Engine) -> None:
    replies = await say(engine, "I am scared, he is coming to kill me", lang="vi")
    text = all_text(replies)
    assert "call 113" in text.lower()
    assert "gọi" not in text


async def test_an_english_question_gets_an_english_answer(engine: Engine) -> None:
    text = all_text(await say(engine, "what is the legal age to get married", lang="vi"))
    assert "20" in text and "18" in text
    assert "Source:" in text


async def test_a_vietnamese_message_gets_vietnamese_on_an_english_phone(engine: Engine) -> None:
    text = all_text(await say(engine, "chong em hay danh em, em phai lam sao", lang="en"))
    assert "113" in text and "Bạn không có lỗi" in text


async def test_a_chosen_language_wins_over_the_message(engine: Engine) -> None:
    await say(engine, "/ngonngu en", user="5")
    text = all_text(await say(engine, "bạo lực gia đình là gì", user="5"))
    assert "Source:" in text


async def test_the_numbered_hint_follows_the_language(engine: Engine) -> None:
    from bot.channels.console import render

    en = await say(engine, "I am scared, he is coming to kill me")
    vi = await say(engine, "cứu tôi với")
    assert "(Reply with a number.)" in render(en[-1])
    assert "(Trả lời bằng một số.)" in render(vi[-1])


async def test_one_numbered_list_after_a_safety_reply_and_an_answer(engine: Engine) -> None:
    replies = await say(engine, "chong em hay danh em, em phai lam sao")
    assert len(replies) >= 2  # the safety reply, then the answer asked for
    options = button_data(replies)
    assert all(not r.buttons for r in replies[:-1])  # one list, at the end
    assert options[0] == "place:start"
    assert len(options) == len(set(options))
    # "1" is the nearest trusted address, as shown first.
    nxt = await say(engine, "1")
    assert "địa chỉ tin cậy" in all_text(nxt).lower()


def test_merge_options_keeps_links_and_order() -> None:
    a = Reply("a", buttons=[[Button("x", "p:1")], [Button("site", "", kind="url", url="u")]])
    b = Reply("b", buttons=[[Button("y", "p:2")], [Button("x", "p:1")]])
    merged = merge_options([a, b])
    assert merged[0].buttons == [[Button("site", "", kind="url", url="u")]]
    assert [row[0].data for row in merged[1].buttons] == ["p:1", "p:2"]


def test_the_answer_just_given_is_not_offered_again() -> None:
    safety = Reply(
        "113", buttons=[[Button("place", "place:start")], [Button("do", "faq:what_to_do")]]
    )
    answer = Reply("what to do", buttons=[[Button("rights", "faq:victim_rights")]])
    merged = merge_options([safety, answer], shown="faq:what_to_do")
    assert [row[0].data for row in merged[-1].buttons] == ["place:start", "faq:victim_rights"]
    only = merge_options(
        [Reply("x", buttons=[[Button("do", "faq:what_to_do")]])], "faq:what_to_do"
    )
    assert only[-1].buttons == []


def test_two_options_with_one_label_are_offered_once() -> None:
    # The safety reply's button and the FAQ topic of the same name read as one choice.
    safety = Reply("113", buttons=[[Button("Nearest trusted address", "place:start")]])
    answer = Reply(
        "what to do",
        buttons=[
            [Button("Nearest trusted address", "faq:find_trusted_address")],
            [Button("Hotlines", "faq:hotlines")],
        ],
    )
    merged = merge_options([safety, answer])
    assert [row[0].data for row in merged[-1].buttons] == ["place:start", "faq:hotlines"]


async def test_the_reply_to_a_disclosure_numbers_each_choice_once(engine: Engine) -> None:
    replies = await say(engine, "chong e hay danh e, e phai lam sao")
    labels = [b.label for r in replies for row in r.buttons for b in row]
    assert labels and len(labels) == len(set(labels))


async def test_a_disclosure_with_a_question_does_not_offer_its_own_answer(engine: Engine) -> None:
    replies = await say(engine, "he hits me every day, what can I do?", lang="en")
    assert "faq:what_to_do" not in button_data(replies)


async def test_an_emergency_inside_a_guided_report_puts_it_aside(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    code = await invite(store, "that-khe", clock)
    await say(engine, f"/dangky_canbo {code}", user="c7")
    await say(engine, "BC", user="c7")
    await say(engine, "3", user="c7")  # tt = 3, now at step 2
    danger = await say(engine, "cứu tôi với", user="c7")
    assert "113" in all_text(danger)
    assert "dialog:resume" in button_data(danger)
    # "1" is the first safety option, not the next report value.
    picked = await say(engine, "1", user="c7")
    assert "(3/11)" not in all_text(picked)
    assert "địa chỉ tin cậy" in all_text(picked).lower()
    # Back to the report: the step that was pending is asked again, with tt kept.
    back = await say(engine, button="dialog:resume", user="c7")
    assert "(2/11)" in all_text(back)
    nxt = await say(engine, "120", user="c7")
    assert "(3/11)" in all_text(nxt)


async def test_greeting_and_thanks_get_a_friendly_word(engine: Engine) -> None:
    thanks = all_text(await say(engine, "cảm ơn nhiều"))
    hello = all_text(await say(engine, "chào bot"))
    assert "Không có gì" in thanks
    assert "Xin chào" in hello
    assert "Bình đẳng giới là nam và nữ" not in thanks + hello


async def test_zalo_welcome_does_not_promise_deleting_the_messages(engine: Engine) -> None:
    text = all_text(await say(engine, "/start", channel="zalo"))
    assert "xóa cuộc trò chuyện này trong Zalo" in text
    telegram = all_text(await say(engine, "/start", channel="telegram", user="9"))
    assert "xóa cuộc trò chuyện này" in telegram


async def test_outcome_names_the_topic_answered_after_a_safety_reply(engine: Engine) -> None:
    out = await engine.respond(
        Incoming("console", "55", text="chồng em hay đánh em, em phải làm sao")
    )
    assert out.emergency
    assert out.answer_topic == "what_to_do"
    plain = await engine.respond(Incoming("console", "55", text="chồng đang đánh tôi"))
    assert plain.emergency and plain.answer_topic is None


def test_ask_json_reports_the_topic_after_the_safety_reply(tmp_path: Path) -> None:
    env = {"BOT_DB": str(tmp_path / "ask.sqlite3"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "my husband beats me, what can I do"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    out = json.loads(run.stdout)
    assert set(out) == {"topic", "score", "emergency", "reply"}
    assert out["emergency"] is True
    assert out["topic"] == "what_to_do"
    assert "113" in out["reply"] and "If you are being abused" in out["reply"]


async def test_a_number_and_a_location_follow_the_last_message_language(engine: Engine) -> None:
    await say(engine, "what is a trusted address", user="en1")
    picked = await say(engine, "1", user="en1")
    assert "Source:" in all_text(picked) or "trusted" in all_text(picked).lower()
    where = await say(engine, location=(48.85, 2.35), user="en1")
    assert "Viet Nam" in all_text(where)
    await say(engine, "/xoa", user="en1")
    assert engine.recent_languages.get("console:en1") is None
