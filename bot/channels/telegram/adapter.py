"""The Telegram channel on python-telegram-bot 22: long polling, or a webhook with a secret.

Different chats are handled concurrently (bounded), one chat's updates strictly in order, so
a report dialog never sees its messages race (DESIGN.md §5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)

from bot.channels.inbox import InboxWorker
from bot.channels.lanes import Lanes
from bot.core.engine import Engine
from bot.core.runtime import Runtime
from bot.messages import Button, Incoming, Location, Reply

logger = logging.getLogger(__name__)

#: Chats handled at once. Measured on these machines (DESIGN.md §5): 16–32 is the sweet spot.
CONCURRENCY = 32
#: Updates fetched but not yet handed to a handler (long polling waits beyond this).
UPDATES_WAITING = 200
#: How long a stopping bot keeps answering the updates it had already fetched (s).
SHUTDOWN_GRACE = 20.0
#: Telegram lets a bot delete up to 100 messages in one deleteMessages call.
DELETE_BATCH = 100
#: The updates the bot asks Telegram for (by long polling or webhook).
ALLOWED_UPDATES = ["message", "callback_query"]

COMMANDS = {
    "vi": [
        ("start", "Bắt đầu, menu chính"),
        ("duongdaynong", "Các đường dây nóng"),
        ("diachi", "Địa chỉ tin cậy gần tôi"),
        ("ngonngu", "Đổi ngôn ngữ (Tiếng Việt / English)"),
        ("dangky", "Nhận tin chiến dịch"),
        ("huy", "Ngừng nhận tin chiến dịch"),
        ("xoa", "Xóa cuộc trò chuyện"),
        ("trogiup", "Các lệnh bạn dùng được"),
    ],
    "en": [
        ("start", "Start, main menu"),
        ("hotlines", "Hotlines"),
        ("places", "Trusted address near me"),
        ("lang", "Switch language"),
        ("subscribe", "Receive campaign news"),
        ("unsubscribe", "Stop campaign news"),
        ("delete", "Erase this chat"),
        ("help", "Commands you can use"),
    ],
}


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Bounded concurrency across chats, strict order within a chat."""

    def __init__(self, max_concurrent_updates: int = CONCURRENCY) -> None:
        super().__init__(max_concurrent_updates)
        # PTB bounds the concurrency across chats; the lanes keep each chat in order.
        self._lanes = Lanes()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run `coroutine` after every earlier update of the same chat."""
        async with self._lanes.turn(_chat_key(update)):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


class BoundedUpdateQueue(asyncio.Queue[object]):
    """PTB's update queue, handing out at most `in_progress` updates not yet processed.

    PTB turns every update it takes from the queue into a task at once, so a backlog (a bot
    back after downtime with thousands of updates waiting) would become thousands of tasks in
    memory. Here `get` waits while `in_progress` updates are unfinished (PTB calls `task_done`
    after each), and `maxsize` makes long polling wait before fetching more: the backlog stays
    with Telegram. One chat's updates still come out in order.
    """

    def __init__(self, in_progress: int, maxsize: int) -> None:
        super().__init__(maxsize)
        self._slots = asyncio.Semaphore(in_progress)

    async def get(self) -> object:
        """The next update, once fewer than `in_progress` are being processed."""
        await self._slots.acquire()
        try:
            return await super().get()
        except BaseException:
            self._slots.release()
            raise

    def task_done(self) -> None:
        """One update processed: its slot is free again."""
        super().task_done()
        self._slots.release()


def _chat_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0


def to_incoming(update: Update) -> Incoming | None:
    """Translate a Telegram update into an `Incoming` (None for what the bot ignores)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None  # groups and channels are out of scope: the bot is a private helper
    base = {
        "channel": "telegram",
        "user_key": str(user.id),
        "locale_hint": user.language_code,
        "chat_key": str(chat.id),
        # Kept only if this person registers as an officer, so exports name a person.
        "display_name": (user.full_name or user.username or "").strip()[:80] or None,
    }
    if update.callback_query is not None:
        return Incoming(**base, button=update.callback_query.data or "")  # type: ignore[arg-type]
    message = update.message
    if message is None:
        return None
    if message.location is not None:
        loc = Location(message.location.latitude, message.location.longitude)
        return Incoming(**base, location=loc, message_id=message.message_id)  # type: ignore[arg-type]
    text = message.text or message.caption
    if text is None:
        # A sticker, photo or voice note: answer with the menu rather than silence.
        text = ""
    return Incoming(**base, text=text, message_id=message.message_id)  # type: ignore[arg-type]


def inline_markup(buttons: list[list[Button]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for the callback and URL buttons of a reply."""
    rows = []
    for row in buttons:
        cells = []
        for b in row:
            if b.kind == "url" and b.url:
                cells.append(InlineKeyboardButton(b.label, url=b.url))
            elif b.kind == "callback":
                # Telegram caps callback data at 64 bytes; ours are short prefixed ids.
                cells.append(InlineKeyboardButton(b.label, callback_data=b.data[:64]))
        if cells:
            rows.append(cells)
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramChannel:
    """Sends replies through a PTB bot and feeds updates to the engine."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], engine: Engine):
        self.app = application
        self.engine = engine
        self._background: set[asyncio.Task[None]] = set()

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update: de-duplicate, answer buttons, run the engine, send the replies.

        What is kept of the exchange (its update id, the counter, the message ids) is written
        once, after the replies went out: one write transaction per message.
        """
        engine = self.engine
        store = engine.store
        inc = to_incoming(update)
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer()
        if inc is None or update.effective_chat is None:
            return
        # The sender's previous exchange is written first, so its update id is seen. Telegram
        # already counts the update as received: a check that cannot be made (a locked or
        # full database) lets it through, since a rare duplicate beats silence.
        await store.settle(inc.address)
        key = str(update.update_id)
        if await store.within(store.seen("telegram", key), False, "de-duplication"):
            logger.info("duplicate update %s ignored", update.update_id)
            return
        outcome = await engine.respond(inc, hold=True, update=("telegram", key))
        chat_id = update.effective_chat.id
        sent_ids: list[int] = []
        for reply in outcome.replies:
            sent_ids.extend(await self.send(chat_id, reply, lang=inc.locale_hint))
        # After /xoa nothing of this exchange is kept, not even the id of the /xoa message.
        keep = all(reply.track for reply in outcome.replies)
        await engine.sent(inc, str(chat_id), sent_ids, outcome.bookkeeping, keep_ids=keep)

    async def send(self, chat_id: int, reply: Reply, lang: str | None = None) -> list[int]:
        """Send one reply; return the ids of the messages it produced that should be kept."""
        bot = self.app.bot
        if reply.delete_messages:
            await self._delete(chat_id, reply.delete_messages)
        sent: list[Message] = []
        if reply.document is not None:
            sent.append(
                await bot.send_document(
                    chat_id,
                    document=reply.document.content,
                    filename=reply.document.filename,
                    caption=reply.document.caption or reply.text or None,
                )
            )
        elif reply.text:
            sent.append(
                await bot.send_message(
                    chat_id,
                    reply.text,
                    reply_markup=inline_markup(reply.buttons),
                    disable_web_page_preview=True,
                )
            )
        if reply.location is not None:
            sent.append(await bot.send_location(chat_id, reply.location.lat, reply.location.lon))
        location_buttons = [b for row in reply.buttons for b in row if b.kind == "location"]
        if location_buttons:
            # A location request lives on a reply keyboard, which cannot share a message with
            # the inline buttons: it comes as a short second message.
            keyboard = ReplyKeyboardMarkup(
                [[KeyboardButton(location_buttons[0].label, request_location=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
            sent.append(await bot.send_message(chat_id, "👇", reply_markup=keyboard))
        if reply.delete_after is not None:
            ids = [m.message_id for m in sent]
            self._later(self._delete_after(chat_id, ids, reply.delete_after))
        return [m.message_id for m in sent] if reply.track else []

    async def _delete(self, chat_id: int, message_ids: list[int]) -> None:
        for start in range(0, len(message_ids), DELETE_BATCH):
            batch = message_ids[start : start + DELETE_BATCH]
            try:
                await self.app.bot.delete_messages(chat_id, batch)
            except (BadRequest, Forbidden):
                # Too old (48 h) or already gone: nothing more we can do for those.
                logger.info("some messages in chat could not be deleted")

    async def _delete_after(self, chat_id: int, message_ids: list[int], delay: float) -> None:
        await asyncio.sleep(delay)
        await self._delete(chat_id, message_ids)

    def _later(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def set_commands(self) -> None:
        """Publish the command menu in Vietnamese (default) and English."""
        for lang, items in COMMANDS.items():
            commands = [BotCommand(name, desc) for name, desc in items]
            await self.app.bot.set_my_commands(
                commands, language_code=None if lang == "vi" else lang
            )


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    logger.error("unhandled error in a Telegram handler", exc_info=context.error)


def build_application(
    rt: Runtime,
) -> tuple[Application[Any, Any, Any, Any, Any, Any], TelegramChannel]:
    """The PTB application for this runtime, wired to the engine (tests build the same one)."""
    s = rt.settings
    from bot.channels.telegram.request import AiohttpRequest

    application = (
        ApplicationBuilder()
        .token(s.telegram_token)
        .base_url(s.telegram_api_base_url)
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENCY))
        .update_queue(BoundedUpdateQueue(in_progress=4 * CONCURRENCY, maxsize=UPDATES_WAITING))
        # aiohttp, not PTB's httpx: httpcore's pool is the CPU ceiling (DESIGN.md §5). Pools of
        # 40-256 benched alike (aiohttp's cost does not grow with the limit), so there is room
        # beyond the CONCURRENCY handlers for background deletes and callback answers.
        .request(AiohttpRequest(connection_pool_size=2 * CONCURRENCY))
        # One long poll at a time; PTB adds the poll's timeout to this read timeout.
        .get_updates_request(AiohttpRequest(connection_pool_size=2, read_timeout=10.0))
        .build()
    )
    channel = TelegramChannel(application, rt.engine)
    application.add_handler(TypeHandler(Update, channel.on_update))
    application.add_error_handler(_on_error)
    return application, channel


async def serve_telegram(
    rt: Runtime, stop: asyncio.Event, inbox: InboxWorker | None = None
) -> None:
    """Serve until `stop` is set: long polling, or the configured webhook (through `inbox`,
    when given: several workers)."""
    application, channel = build_application(rt)
    s = rt.settings
    async with application:
        me = await application.bot.get_me()
        rt.engine.bot_username = me.username or rt.engine.bot_username
        with contextlib.suppress(TelegramError):
            await channel.set_commands()
        await application.start()
        try:
            if s.telegram_webhook_url:
                await _serve_webhook(rt, application, stop, inbox)
            else:
                assert application.updater is not None
                await application.updater.start_polling(
                    poll_interval=0.0, timeout=10, allowed_updates=ALLOWED_UPDATES
                )
                logger.info("Telegram long polling started as @%s", me.username)
                try:
                    await stop.wait()
                finally:
                    await application.updater.stop()
        finally:
            # Nothing new arrives now: answer what was already fetched (Telegram counts it as
            # delivered) before PTB stops taking updates from its queue.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(application.update_queue.join(), SHUTDOWN_GRACE)
            await application.stop()


async def _serve_webhook(
    rt: Runtime,
    application: Application[Any, Any, Any, Any, Any, Any],
    stop: asyncio.Event,
    inbox: InboxWorker | None,
) -> None:
    """Serve the webhook on TELEGRAM_WEBHOOK_LISTEN, then tell Telegram where it is."""
    from bot.channels.telegram.webhook import MAX_CONNECTIONS, TelegramWebhook, start_webhook

    s = rt.settings
    host, port = s.telegram_webhook_listen
    path = urlsplit(s.telegram_webhook_url).path
    webhook = TelegramWebhook(application, path, str(s.telegram_webhook_secret), inbox=inbox)
    if inbox is not None:

        async def handle(data: dict[str, Any]) -> None:
            update = Update.de_json(data, application.bot)
            await application.process_update(update)

        inbox.handlers["telegram"] = handle
    runner = await start_webhook(webhook, host, port, shared_port=s.shared_port)
    try:
        # Listening first: what Telegram sends as soon as it knows the URL is not lost.
        await application.bot.set_webhook(
            s.telegram_webhook_url,
            secret_token=str(s.telegram_webhook_secret),
            allowed_updates=ALLOWED_UPDATES,
            max_connections=MAX_CONNECTIONS,
        )
        logger.info("Telegram webhook listening on %s:%s%s", host, port, webhook.path)
        await stop.wait()
    finally:
        await runner.cleanup()
        if inbox is not None:
            # The updates the inbox worker still holds are answered before PTB stops.
            await inbox.drained(SHUTDOWN_GRACE)
