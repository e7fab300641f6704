"""AiohttpRequest: a real `telegram.Bot` on it against the fake Bot API, offline."""

from __future__ import annotations

import asyncio
import io
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.app import open_runtime
from bot.channels.telegram.adapter import build_application
from bot.channels.telegram.request import AiohttpRequest, _redact
from bot.clock import FakeClock
from bot.settings import Secret, Settings
from tests.fakes.telegram_api import BOT_USER, FakeTelegramAPI, Upload

CHAT = 4242


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


def make_bot(fake: FakeTelegramAPI, **request_kwargs: Any) -> Bot:
    return Bot(
        fake.token,
        base_url=fake.base_url,
        request=AiohttpRequest(**request_kwargs),
        get_updates_request=AiohttpRequest(connection_pool_size=1, read_timeout=2.0),
    )


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with make_bot(fake) as b:  # initialize() is getMe, through the transport already
        yield b


def assert_no_token(exc: BaseException, token: str) -> None:
    """Neither the message nor the printed traceback (with its causes) shows the token."""
    printed = "".join(traceback.format_exception(exc))
    assert token not in printed
    assert token.split(":")[1] not in printed


async def test_get_me(bot: Bot, fake: FakeTelegramAPI) -> None:
    me = await bot.get_me()
    assert me.id == BOT_USER["id"]
    assert me.username == "bdg_test_bot"
    assert fake.calls_of("getMe")[-1].status == 200


async def test_send_message_with_inline_keyboard_is_a_form(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Đường dây nóng", callback_data="hot")],
            [InlineKeyboardButton("Luật", url="https://example.org/luat?a=1&b=2")],
        ]
    )
    text = 'Xin chào & cảm ơn: 100% = 123 + "trích"'
    message = await bot.send_message(CHAT, text, reply_markup=markup)
    assert message.text == text
    assert message.reply_markup == markup
    [call] = fake.calls_of("sendMessage")
    # Form fields as PTB's httpx transport sends them: strings verbatim, the rest JSON.
    assert call.params["text"] == text
    assert call.params["chat_id"] == CHAT
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0] == {"text": "Đường dây nóng", "callback_data": "hot"}
    assert keyboard[1][0]["url"] == "https://example.org/luat?a=1&b=2"
    assert fake.texts(CHAT) == [text]


@pytest.mark.parametrize("content", [b"id;ngay\n1;2026-11-28\n", io.BytesIO(b"a;b\n")])
async def test_send_document_is_a_multipart_upload(
    bot: Bot, fake: FakeTelegramAPI, content: bytes | io.BytesIO
) -> None:
    expected = content if isinstance(content, bytes) else content.getvalue()
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    message = await bot.send_document(
        CHAT,
        document=content,
        filename="báo cáo 2026.csv",
        caption="Xuất dữ liệu",
        reply_markup=markup,
    )
    assert message.document is not None
    assert message.caption == "Xuất dữ liệu"
    [call] = fake.calls_of("sendDocument")
    upload = call.params["document"]
    assert isinstance(upload, Upload)
    assert upload.data == expected
    # The UTF-8 file name arrives as it is, not percent-encoded (httpx sends it raw too).
    assert upload.filename == "báo cáo 2026.csv"
    assert upload.content_type == "text/csv"
    # The other parameters travel in the same multipart body.
    assert call.params["caption"] == "Xuất dữ liệu"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
    assert message.document.file_name == "báo cáo 2026.csv"


async def test_send_document_from_a_path(bot: Bot, fake: FakeTelegramAPI, tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    await bot.send_document(CHAT, document=path)
    upload = fake.calls_of("sendDocument")[0].params["document"]
    assert upload.data == path.read_bytes()
    assert upload.filename == "export.xlsx"


# PTB 22's RetryAfter warns about its coming timedelta attribute as it is built.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_is_retry_after(bot: Bot, fake: FakeTelegramAPI) -> None:
    fake.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "một")
    assert "retry in 1" in str(caught.value).lower()
    await bot.send_message(CHAT, "hai")  # the next one goes through on the same pool
    assert fake.texts(CHAT) == ["hai"]


async def test_blocked_user_is_forbidden(bot: Bot, fake: FakeTelegramAPI) -> None:
    fake.block_user(CHAT)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(CHAT, "xin chào")


async def test_bad_delete_is_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, 987654)


async def test_5xx_is_network_error(bot: Bot, fake: FakeTelegramAPI) -> None:
    fake.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "xin chào")


async def test_stopped_server_is_network_error_without_the_token(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    await fake.stop()
    with pytest.raises(NetworkError) as caught:
        await bot.get_me()
    assert not isinstance(caught.value, TimedOut)
    assert str(caught.value).startswith("aiohttp.")
    assert_no_token(caught.value, fake.token)


async def test_slow_server_is_timed_out(fake: FakeTelegramAPI) -> None:
    async with make_bot(fake, read_timeout=0.2) as slow_bot:
        fake.latency_ms = 1500
        with pytest.raises(TimedOut) as caught:
            await slow_bot.send_message(CHAT, "xin chào")
        assert_no_token(caught.value, fake.token)
        # A per-call timeout overrides the default (DEFAULT_NONE means "use the default").
        fake.latency_ms = 400
        message = await slow_bot.send_message(CHAT, "lần nữa", read_timeout=3)
        assert message.text == "lần nữa"


async def test_per_call_timeout_is_honoured(bot: Bot, fake: FakeTelegramAPI) -> None:
    fake.latency_ms = 1500
    with pytest.raises(TimedOut):
        await bot.get_me(read_timeout=0.2)


async def test_none_means_no_read_limit(fake: FakeTelegramAPI) -> None:
    async with make_bot(fake, read_timeout=None) as patient_bot:
        fake.latency_ms = 300
        assert (await patient_bot.get_me()).id == BOT_USER["id"]


async def test_long_poll_longer_than_read_timeout(bot: Bot, fake: FakeTelegramAPI) -> None:
    # PTB adds the long-poll time to the read timeout: a 3 s poll against 2 s does not time out.
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=3) == ()
    assert loop.time() - started >= 2.9


async def test_full_pool_is_a_pool_timeout(fake: FakeTelegramAPI) -> None:
    async with make_bot(fake, connection_pool_size=1, pool_timeout=0.1) as small:
        fake.latency_ms = 500
        first = asyncio.create_task(small.get_me())
        await asyncio.sleep(0.05)  # the only connection is now taken
        with pytest.raises(TimedOut, match="Pool timeout"):
            await small.get_me()
        assert (await first).id == BOT_USER["id"]
        # Unbounded wait when pool_timeout is None: the second request queues, then succeeds.
        both = await asyncio.gather(small.get_me(), small.get_me(pool_timeout=None))
        assert [me.id for me in both] == [BOT_USER["id"]] * 2


async def test_lifecycle(fake: FakeTelegramAPI) -> None:
    request = AiohttpRequest(read_timeout=7.5)
    assert request.read_timeout == 7.5
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{fake.base_url}{fake.token}/getMe", "POST")
    async with request:
        status, payload = await request.do_request(f"{fake.base_url}{fake.token}/getMe", "POST")
        assert status == 200
        assert b"bdg_test_bot" in payload
        await request.initialize()  # twice is harmless
    await request.shutdown()  # and so is shutting down twice
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{fake.base_url}{fake.token}/getMe", "POST")
    await request.initialize()  # and it can start again
    assert (await request.do_request(f"{fake.base_url}{fake.token}/getMe", "POST"))[0] == 200
    await request.shutdown()


async def test_error_status_is_returned_for_ptb_to_map(fake: FakeTelegramAPI) -> None:
    async with AiohttpRequest() as request:
        status, payload = await request.do_request(f"{fake.base_url}0:WRONG/getMe", "POST")
    assert status == 401
    assert b"Unauthorized" in payload


def test_redact_masks_url_and_token() -> None:
    url = "https://api.telegram.org/bot123456:AAE-secret_x/sendMessage"
    message = f"Connection timeout to host {url}"
    assert "AAE-secret_x" not in _redact(message, url)
    other = "Can not write request body for https://x/bot123456%3AAAE-secret_x/getMe"
    assert "AAE-secret_x" not in _redact(other, url)
    assert _redact("Cannot connect to host 127.0.0.1:8443 ssl:default", url).endswith(
        "8443 ssl:default"
    )


async def test_application_uses_the_aiohttp_transport(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(telegram_token=Secret("123456:TEST-TOKEN"), db_path=tmp_path / "b.db")
    async with open_runtime(settings, clock) as rt:
        application, _channel = build_application(rt)
        assert isinstance(application.bot.request, AiohttpRequest)
        # Bot keeps (get_updates_request, request); PTB has no public getter for the first.
        get_updates_request = application.bot._request[0]
        assert isinstance(get_updates_request, AiohttpRequest)
        # Room for the long poll: PTB adds the poll time to this read timeout.
        assert (get_updates_request.read_timeout or 0) >= 5
