"""End to end: the real PTB Application, long polling a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import Runtime, open_runtime
from bot.channels.telegram.adapter import serve_telegram
from bot.clock import FakeClock
from bot.settings import Secret, Settings
from tests.conftest import db_settings, stored_bytes
from tests.fakes.telegram_api import FakeTelegramAPI


@dataclass
class Running:
    fake: FakeTelegramAPI
    rt: Runtime
    database: Path | str


@pytest.fixture
async def running(database: Path | str, clock: FakeClock) -> AsyncIterator[Running]:
    fake = FakeTelegramAPI()
    await fake.start()
    settings = Settings(
        telegram_token=Secret(fake.token),
        telegram_api_base_url=fake.base_url,
        **db_settings(database),
        admins=frozenset({"telegram:9001"}),
    )
    stop = asyncio.Event()
    async with open_runtime(settings, clock) as rt:
        task = asyncio.create_task(serve_telegram(rt, stop))
        await fake.wait_for(lambda: bool(fake.calls_of("getUpdates")), timeout=10)
        try:
            yield Running(fake, rt, database)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            await fake.stop()


async def test_start_question_button_and_location(running: Running) -> None:
    fake = running.fake
    fake.user_message(501, "/start")
    [welcome] = await fake.wait_sent(501, 1)
    assert "/xoa" in welcome["text"]
    keyboard = welcome["reply_markup"]["inline_keyboard"]
    assert any(b["callback_data"] == "place:start" for row in keyboard for b in row)

    fake.user_message(501, "bao luc gia dinh la gi")
    await fake.wait_sent(501, 2)
    assert "Luật" in fake.texts(501)[1] or "Nguồn" in fake.texts(501)[1]

    fake.user_callback(501, "hot")
    await fake.wait_sent(501, 3)
    assert "111" in fake.texts(501)[2]
    assert fake.calls_of("answerCallbackQuery")

    fake.user_callback(501, "place:start")
    sent = await fake.wait_sent(501, 5)
    # The location request comes as a reply keyboard with request_location (visible only in
    # the request: PTB's Message keeps inline keyboards alone).
    assert len(sent) == 5
    markups = [str(c.params.get("reply_markup")) for c in fake.calls_of("sendMessage")]
    assert any("request_location" in m for m in markups)
    fake.user_location(501, 21.85, 106.76)
    await fake.wait_sent(501, 6)
    assert fake.texts(501)[5].count(" km") == 3


async def test_emergency_text_first_reply_leads_with_113(running: Running) -> None:
    running.fake.user_message(502, "ck đang đánh e, cứu em")
    [reply] = await running.fake.wait_sent(502, 1)
    assert "113" in reply["text"].splitlines()[0]


async def test_language_switch(running: Running) -> None:
    fake = running.fake
    fake.user_message(503, "/ngonngu")
    await fake.wait_sent(503, 1)
    fake.user_message(503, "/start")
    await fake.wait_sent(503, 2)
    assert "Nothing you type is stored" in fake.texts(503)[1]


async def test_erase_deletes_messages_and_rows(running: Running) -> None:
    fake = running.fake
    fake.user_message(504, "/dangky")
    fake.user_message(504, "binh dang gioi la gi")
    await fake.wait_sent(504, 2)
    fake.user_message(504, "/xoa")
    await fake.wait_sent(504, 3)
    bot_ids = {m["message_id"] for m in fake.sent(504)[:2]}
    await fake.wait_for(lambda: bot_ids <= {mid for chat, mid in fake.deleted if chat == 504})
    # The neutral confirmation disappears by itself after a few seconds.
    confirmation = fake.sent(504)[2]["message_id"]
    await fake.wait_for(lambda: (504, confirmation) in fake.deleted, timeout=10)
    rows = await running.rt.store.fetchall(
        "SELECT address FROM users WHERE address = 'telegram:504' "
        "UNION ALL SELECT address FROM tracked_messages WHERE address = 'telegram:504'"
    )
    assert rows == []


async def test_duplicated_update_is_answered_once(running: Running) -> None:
    fake = running.fake
    update = fake.user_message(505, "/duongdaynong")
    await fake.wait_sent(505, 1)
    fake.add_raw_update(update)
    fake.user_message(505, "/start")
    await fake.wait_sent(505, 2)
    await asyncio.sleep(0.2)
    assert len(fake.sent(505)) == 2


async def test_one_chat_is_answered_in_order(running: Running) -> None:
    fake = running.fake
    for i in range(20):
        fake.user_message(506, f"/ngonngu {'en' if i % 2 else 'vi'}")
    await fake.wait_sent(506, 20, timeout=20)
    texts = fake.texts(506)
    assert all(("English" in t) == bool(i % 2) for i, t in enumerate(texts)), texts


async def test_no_citizen_text_reaches_the_database(running: Running) -> None:
    fake = running.fake
    secret = "toi bi chong danh o thon Khau Phuc hom qua 0987654321"
    fake.user_message(507, secret)
    fake.user_message(507, "tôi muốn hỏi về quyền nuôi con của tôi Zyxq")
    await fake.wait_sent(507, 2)
    blob = await stored_bytes(running.database)
    assert b"telegram:507" in blob  # the search sees what is stored: ids are kept
    for needle in ("Khau Phuc", "0987654321", "Zyxq", "quyền nuôi con"):
        assert needle.encode() not in blob, needle
