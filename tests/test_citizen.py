"""The citizen features through the transport-free engine (no network, no fake needed)."""

from __future__ import annotations

from bot.core.engine import Engine
from bot.messages import Incoming
from bot.storage import Store
from tests.conftest import all_text, button_data, say


async def test_start_welcomes_in_vietnamese_with_menu_and_privacy(engine: Engine) -> None:
    replies = await say(engine, "/start")
    text = all_text(replies)
    assert "/xoa" in text
    assert "113" in text and "111" in text
    assert "không" in text.lower()  # "không lưu" – nothing is stored, said in Vietnamese
    data = button_data(replies)
    for expected in ("faq:gender_equality", "faq:domestic_violence", "hot", "place:start",
                     "faq:victim_rights", "faq:action_month", "lang"):  # fmt: skip
        assert expected in data


async def test_english_platform_language_gets_english(engine: Engine) -> None:
    replies = await say(engine, "/start", lang="en-US")
    assert "Nothing you type is stored" in all_text(replies)


async def test_question_without_diacritics_is_answered_with_source(engine: Engine) -> None:
    replies = await say(engine, "binh dang gioi la gi")
    text = all_text(replies)
    assert "Luật Bình đẳng giới" in text or "73/2006" in text
    assert any(d.startswith("faq:") for d in button_data(replies))


async def test_unmatched_question_offers_three_topics_and_hotline(engine: Engine) -> None:
    replies = await say(engine, "gia vang hom nay bao nhieu")
    data = [d for d in button_data(replies) if d.startswith("faq:")]
    assert len(data) == 3
    assert "113" in all_text(replies)


async def test_hotlines_command_lists_free_numbers_and_paid_shelter_line(engine: Engine) -> None:
    text = all_text(await say(engine, "/duongdaynong"))
    assert "111" in text and "113" in text
    assert "miễn phí" in text
    shelter_line = next(line for line in text.splitlines() if "1900" in line)
    assert "miễn phí" not in shelter_line


async def test_location_gives_three_nearest_with_distance_and_sample_warning(
    engine: Engine,
) -> None:
    replies = await say(engine, location=(21.85, 106.76))
    text = all_text(replies)
    assert text.count(" km") == 3
    assert "maps.google.com" in text
    assert "minh họa" in text  # the shipped list is sample data, and says so


async def test_choose_commune_flow(engine: Engine) -> None:
    replies = await say(engine, button="place:start")
    assert "place:units:0" in button_data(replies)
    page = await say(engine, button="place:units:0")
    units = [d for d in button_data(page) if d.startswith("place:unit:")]
    assert len(units) == 10
    assert "place:units:1" in button_data(page)
    answer = await say(engine, button=units[0])
    assert " km" in all_text(answer)


async def test_language_switch_is_remembered(engine: Engine, store: Store) -> None:
    await say(engine, "/ngonngu", user="7")
    user = await store.get_user("console:7")
    assert user is not None and user.lang == "en"
    replies = await say(engine, "/start", user="7", lang="vi")
    assert "Nothing you type is stored" in all_text(replies)
    await say(engine, button="lang:vi", user="7")
    assert "Nothing you type" not in all_text(await say(engine, "/start", user="7"))


async def test_emergency_leads_with_113_and_offers_trusted_address(engine: Engine) -> None:
    for phrase in ("chong dang danh em", "cứu tôi với", "help me he is beating me"):
        replies = await say(engine, phrase)
        first_line = replies[0].text.splitlines()[0]
        assert "113" in first_line, phrase
        assert "place:start" in button_data(replies), phrase


async def test_emergency_with_child_mentions_111(engine: Engine) -> None:
    replies = await say(engine, "con tôi bị đánh")
    assert "111" in all_text(replies)


async def test_numbered_option_picks_the_offered_button(engine: Engine) -> None:
    replies = await say(engine, "/start")
    data = button_data(replies)
    hot = data.index("hot") + 1
    answer = await say(engine, str(hot))
    assert "113" in all_text(answer) and "111" in all_text(answer)


async def test_stale_button_gets_menu(engine: Engine) -> None:
    replies = await say(engine, button="faq:no_such_topic")
    assert "faq:gender_equality" in button_data(replies)
    replies = await say(engine, button="zzz:1")
    assert "faq:gender_equality" in button_data(replies)


async def test_erase_forgets_user_and_lists_messages_to_delete(
    engine: Engine, store: Store
) -> None:
    await say(engine, "/dangky", user="55", channel="telegram")
    await engine.sent(Incoming("telegram", "55", text="x", message_id=10), "55", [11, 12])
    replies = await say(engine, "/xoa", user="55", channel="telegram", message_id=13)
    assert replies[0].delete_messages == [10, 11, 12, 13]
    assert replies[0].delete_after is not None
    assert await store.get_user("telegram:55") is None
    rows = await store.fetchall("SELECT * FROM tracked_messages WHERE address = 'telegram:55'")
    assert rows == []


async def test_subscribe_and_unsubscribe(engine: Engine, store: Store) -> None:
    await say(engine, "/dangky", user="8")
    assert (await store.get_user("console:8")).subscribed  # type: ignore[union-attr]
    await say(engine, "/huy", user="8")
    assert not (await store.get_user("console:8")).subscribed  # type: ignore[union-attr]


async def test_counters_are_anonymous(engine: Engine, store: Store) -> None:
    await say(engine, "binh dang gioi la gi")
    await say(engine, "chong dang danh em")
    rows = await store.counters()
    topics = {(r[2], r[3]) for r in rows}
    assert ("gender_equality", False) in topics
    assert ("_emergency", True) in topics


async def test_empty_and_sticker_messages_get_an_answer(engine: Engine) -> None:
    replies = await say(engine, "")
    assert replies and replies[0].buttons


async def test_disclosure_question_gets_safety_first_then_the_answer(engine: Engine) -> None:
    replies = await say(engine, "bị bạo lực gia đình nên làm gì")
    assert "113" in replies[0].text.splitlines()[0]
    assert len(replies) >= 2 and "Nguồn" in replies[1].text


async def test_admin_composing_a_broadcast_is_not_an_emergency(engine: Engine) -> None:
    await say(engine, "/guitin", user="admin")
    replies = await say(engine, "Nếu bị chồng đánh, hãy gọi ngay 113", user="admin")
    assert "🚨" not in replies[0].text
    # ...while the same text from anyone else gets the safety reply.
    citizen = await say(engine, "chồng đánh tôi, cứu tôi với", user="someone")
    assert "113" in citizen[0].text.splitlines()[0]
