"""The fake Bot API speaks Telegram as the real PTB Bot and Application use it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from tests.fakes import BOT_USER, FakeTelegramAPI, Upload

USER = 4201

# PTB itself reads RetryAfter.retry_after while building the error, which warns about its
# coming switch to timedelta (opt in with PTB_TIMEDELTA=1); nothing for these tests to change.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


async def test_get_me_answers_the_test_bot(fake: FakeTelegramAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name) == (777000111, "bdg_test_bot", "BDG Test")
    assert fake.calls[0].method == "getMe"
    assert fake.calls[0].status == 200


async def test_wrong_token_is_unauthorized(fake: FakeTelegramAPI) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=fake.base_url):
            pass


async def test_user_message_is_a_realistic_private_update(fake: FakeTelegramAPI) -> None:
    raw = fake.user_message(USER, "/start now", first_name="Lan")
    update = Update.de_json(raw, None)
    assert update.update_id == 1
    assert update.effective_chat is not None and update.effective_chat.type == "private"
    assert update.effective_user is not None
    assert (update.effective_user.first_name, update.effective_user.language_code) == (
        "Lan",
        "vi",
    )
    message = update.effective_message
    assert message is not None and message.text == "/start now"
    assert message.parse_entities() == {message.entities[0]: "/start"}
    plain = fake.user_message(USER, "hello", language_code=None)["message"]
    assert "entities" not in plain and "language_code" not in plain["from"]
    assert plain["message_id"] == 2


async def test_application_echoes_a_queued_message_and_a_duplicate(
    fake: FakeTelegramAPI,
) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Repeats the user's text."""
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        first = fake.user_message(USER, "xin chào")
        assert await fake.wait_sent(USER, 1)
        fake.user_message(USER, "lần hai")
        await fake.wait_sent(USER, 2)
        fake.add_raw_update(first)  # Telegram re-delivers an update it already handed out
        await fake.wait_sent(USER, 3)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert fake.texts(USER) == ["xin chào", "lần hai", "xin chào"]
    sent = fake.sent(USER)
    assert [m["message_id"] for m in sent] == [2, 4, 5]  # ids shared with the user's messages
    assert sent[0]["from"] == BOT_USER and sent[0]["chat"]["type"] == "private"
    assert fake.calls_of("deleteWebhook")


async def test_get_updates_offset_drops_confirmed_updates(fake: FakeTelegramAPI, bot: Bot) -> None:
    for text in ("a", "b", "c"):
        fake.user_message(USER, text)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [1, 2, 3]
    assert [u.update_id for u in await bot.get_updates()] == [1, 2, 3]  # not yet confirmed
    assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]
    assert [u.update_id for u in await bot.get_updates(offset=1, limit=5)] == [3]
    assert await bot.get_updates(offset=4) == ()
    fake.add_raw_update(updates[0].to_dict())  # a duplicate below the offset is still handed out
    assert [u.update_id for u in await bot.get_updates(offset=4)] == [1]
    assert await bot.get_updates(offset=2) == ()


async def test_long_poll_returns_when_an_update_arrives(fake: FakeTelegramAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    fake.user_message(USER, "hi")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates if u.message] == ["hi"]
    assert time.monotonic() - started < 1


async def test_long_poll_waits_at_most_the_timeout(fake: FakeTelegramAPI, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2


async def test_stop_ends_a_waiting_long_poll(bot: Bot) -> None:
    api = FakeTelegramAPI()
    await api.start()
    async with Bot(api.token, base_url=api.base_url) as other:
        poll = asyncio.create_task(other.get_updates(timeout=30))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await api.stop()
        assert await asyncio.wait_for(poll, 3) == ()  # answered empty, not left hanging
        assert time.monotonic() - started < 2


async def test_fail_next_429_raises_retry_after(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "one")
    assert caught.value.retry_after == 3
    assert fake.sent() == []
    assert fake.calls[-1].status == 429
    await bot.send_message(USER, "two")
    assert fake.texts(USER) == ["two"]


async def test_fail_next_5xx_and_several_times(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", 502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "y")
    assert fake.texts(USER) == ["y"]


async def test_fail_randomly_is_deterministic_for_a_seed(bot: Bot) -> None:
    async def outcomes(seed: int) -> list[str]:
        async with FakeTelegramAPI() as api, Bot(api.token, base_url=api.base_url) as client:
            api.fail_randomly({"sendMessage"}, p429=0.3, p5xx=0.2, seed=seed)
            result = []
            for index in range(20):
                try:
                    await client.send_message(USER, str(index))
                    result.append("ok")
                except RetryAfter:
                    result.append("429")
                except NetworkError:
                    result.append("5xx")
            await client.get_me()  # methods not listed never fail
            assert len(api.sent()) == result.count("ok")
            return result

    first = await outcomes(7)
    assert first == await outcomes(7)
    assert {"ok", "429", "5xx"} <= set(first)


async def test_blocked_user_is_forbidden(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.block_user(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "hello?")
    assert fake.sent() == []
    await bot.send_message(USER + 1, "others still get it")
    assert len(fake.sent()) == 1


async def test_delete_message_once_and_not_when_old(fake: FakeTelegramAPI, bot: Bot) -> None:
    message = await bot.send_message(USER, "panic text")
    assert await bot.delete_message(USER, message.message_id)
    assert (USER, message.message_id) in fake.deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, 999)
    old = await bot.send_message(USER, "old")
    fake.now_offset = 48 * 3600 + 1
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, old.message_id)
    fresh = await bot.send_message(USER, "fresh")
    assert await bot.delete_messages(USER, [old.message_id, fresh.message_id, 999])
    assert (USER, fresh.message_id) in fake.deleted
    assert (USER, old.message_id) not in fake.deleted


async def test_send_document_uploads_multipart(fake: FakeTelegramAPI, bot: Bot) -> None:
    payload = b"PK\x03\x04 fake xlsx bytes"
    message = await bot.send_document(
        USER, InputFile(payload, filename="report.xlsx"), caption="Báo cáo"
    )
    assert message.document is not None
    assert message.document.file_name == "report.xlsx"
    assert message.caption == "Báo cáo"
    assert fake.uploads[message.document.file_id].data == payload
    upload = fake.calls[-1].params["document"]
    assert isinstance(upload, Upload) and upload.filename == "report.xlsx"
    assert fake.texts(USER) == ["Báo cáo"]
    again = await bot.send_document(USER, message.document.file_id)
    assert again.document is not None and again.document.file_name == "report.xlsx"


async def test_location_keyboard_callback_and_edits(fake: FakeTelegramAPI, bot: Bot) -> None:
    location = await bot.send_location(USER, 21.0278, 105.8342)
    assert location.location is not None and location.location.latitude == 21.0278
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="faq:yes")]])
    menu = await bot.send_message(
        USER, "<b>Chọn</b> &amp; gửi", parse_mode="HTML", reply_markup=keyboard
    )
    assert menu.text == "Chọn & gửi"  # Telegram parses the markup away
    assert menu.reply_markup == keyboard
    update = Update.de_json(fake.user_callback(USER, "faq:yes"), bot)
    assert update.callback_query is not None
    assert update.callback_query.data == "faq:yes"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == menu.message_id
    assert await bot.answer_callback_query(update.callback_query.id)
    edited = await bot.edit_message_text("Đã chọn", USER, menu.message_id)
    assert isinstance(edited, type(menu)) and edited.reply_markup is None
    assert fake.message(USER, menu.message_id)["text"] == "Đã chọn"
    assert fake.texts(USER) == ["", "Chọn & gửi"]  # sent() keeps what was sent
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Đã chọn", USER, menu.message_id)
    await bot.edit_message_reply_markup(USER, menu.message_id, reply_markup=keyboard)
    assert fake.message(USER, menu.message_id)["reply_markup"] == keyboard.to_dict()
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "bad", reply_markup=too_long)


async def test_json_requests_are_accepted(fake: FakeTelegramAPI) -> None:
    url = f"{fake.base_url}{fake.token}/sendMessage"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"chat_id": USER, "text": "123"}) as response,
    ):
        body = await response.json()
    assert body["ok"] and body["result"]["text"] == "123"
    assert fake.calls[-1].params == {"chat_id": USER, "text": "123"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}{fake.token}/setSomethingNew", json={"x": 1}) as response,
    ):
        assert await response.json() == {"ok": True, "result": True}
    assert fake.calls[-1].method == "setSomethingNew"


async def test_settings_methods(fake: FakeTelegramAPI, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu")], language_code="vi")
    assert [c.command for c in await bot.get_my_commands(language_code="vi")] == ["start"]
    assert fake.my_commands("vi") == [{"command": "start", "description": "Bắt đầu"}]
    assert await bot.get_my_commands() == ()
    await bot.delete_my_commands(language_code="vi")
    assert fake.my_commands("vi") == []
    assert await bot.set_chat_menu_button()
    await bot.send_chat_action(USER, "typing")
    await bot.set_webhook("https://example.invalid/hook")
    assert fake.webhook_url == "https://example.invalid/hook"
    assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    await bot.delete_webhook()
    assert fake.webhook_url is None
    assert await bot.close() and await bot.log_out()


async def test_limit_violations(fake: FakeTelegramAPI, bot: Bot) -> None:
    await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")  # well within 1 s of the first
    assert fake.limit_violations() == 1

    spaced = FakeTelegramAPI()
    spaced.per_chat_limit_per_s = 20  # 50 ms apart is allowed: keeps the test fast
    async with spaced, Bot(spaced.token, base_url=spaced.base_url) as client:
        for index in range(3):
            await client.send_message(USER, str(index))
            await asyncio.sleep(0.06)
        assert spaced.limit_violations() == 0

    async with FakeTelegramAPI() as burst, Bot(burst.token, base_url=burst.base_url) as client:
        burst.total_limit_per_s = 3
        for chat in range(10, 15):
            await client.send_message(chat, "burst")  # 5 chats at once: 2 over 3 per second
        assert burst.limit_violations() == 2


async def test_latency_delays_every_answer(bot: Bot) -> None:
    async with (
        FakeTelegramAPI(latency_ms=60) as slow,
        Bot(slow.token, base_url=slow.base_url) as client,
    ):
        started = time.monotonic()
        await client.get_me()
        assert time.monotonic() - started >= 0.055


async def test_wait_for_explains_a_timeout(fake: FakeTelegramAPI, bot: Bot) -> None:
    await bot.send_message(USER, "only one")
    with pytest.raises(AssertionError, match=r"expected >= 2 messages.*'only one'.*sendMessage"):
        await fake.wait_sent(USER, 2, timeout=0.05)
    with pytest.raises(AssertionError, match="still false"):
        await fake.wait_for(lambda: False, timeout=0.02)
