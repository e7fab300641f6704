"""The Telegram webhook, served by aiohttp (as the Zalo one is) instead of PTB's own server.

PTB's server reads a request body (up to 100 MB) before it looks at the secret, so a few large
anonymous POSTs cost gigabytes. Here everything that can be decided from the headers is: the
path and the secret (compared in constant time) first, then the announced length; only then
is the body read, bounded in size and time, by at most `MAX_IN_PROGRESS` requests at once
(503 beyond). A valid update goes to PTB's `update_queue`, like one fetched by long polling,
or, with several workers, into the durable inbox (`bot.channels.inbox`) before the 200.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Final

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.channels.inbox import InboxWorker
from bot.storage import StorageError

logger = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram updates are a few kilobytes; 1 MB is generous.
MAX_BODY: Final = 1024 * 1024
#: Requests being read or handed over at once; Telegram itself opens at most 40 connections.
MAX_IN_PROGRESS: Final = 64
#: The longest a body may take to arrive (a slow sender holds a slot no longer).
READ_TIMEOUT: Final = 10.0
#: How many connections Telegram may open to us (setWebhook's max_connections).
MAX_CONNECTIONS: Final = 40


class _TooLarge(Exception):
    """The body grew past the limit while being read."""


def _refusal(status: int, reason: str) -> web.Response:
    # No keep-alive after a refusal: the unread rest of the body is not worth receiving.
    response = web.json_response({"error": reason}, status=status)
    response.force_close()
    return response


class TelegramWebhook:
    """An aiohttp application that checks Telegram's requests and queues their updates."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        path: str,
        secret: str,
        *,
        max_body: int = MAX_BODY,
        max_in_progress: int = MAX_IN_PROGRESS,
        read_timeout: float = READ_TIMEOUT,
        inbox: InboxWorker | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the webhook needs a secret (TELEGRAM_WEBHOOK_SECRET)")
        self.application = application
        self.path = "/" + path.lstrip("/")
        self._secret = secret.encode("utf-8")
        self.max_body = max_body
        self.max_in_progress = max_in_progress
        self.read_timeout = read_timeout
        self._in_progress = 0
        self.inbox = inbox

    def app(self) -> web.Application:
        """The aiohttp application (every path and method reaches `handle`, which decides)."""
        app = web.Application(client_max_size=self.max_body)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        """Check one request from its headers, then read, parse and queue its update."""
        if request.path != self.path:
            return _refusal(404, "not found")
        if request.method != "POST":
            return _refusal(405, "method not allowed")
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            logger.warning("Telegram webhook request refused: missing or wrong secret")
            return _refusal(403, "forbidden")
        if request.content_length is not None and request.content_length > self.max_body:
            logger.warning("Telegram webhook request refused: body over %d bytes", self.max_body)
            return _refusal(413, "body too large")
        if self._in_progress >= self.max_in_progress:
            return _refusal(503, "busy")
        self._in_progress += 1
        try:
            try:
                async with asyncio.timeout(self.read_timeout):
                    raw = await self._read(request)
            except TimeoutError:
                return _refusal(408, "body too slow")
            except _TooLarge:
                logger.warning("Telegram webhook request refused: body over %d bytes",
                               self.max_body)  # fmt: skip
                return _refusal(413, "body too large")
            return await self._queue(raw)
        finally:
            self._in_progress -= 1

    async def _read(self, request: web.Request) -> bytes:
        """The body, refused as soon as it grows past `max_body` (a chunked body has no length)."""
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(64 * 1024):
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def _queue(self, raw: bytes) -> web.Response:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            logger.warning("Telegram webhook request refused: not JSON")
            return _refusal(400, "invalid JSON")
        if not isinstance(data, dict):
            return _refusal(400, "invalid update")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:
            # Logged without the update (a citizen's words) and answered 200: Telegram would
            # otherwise send the same unreadable update again and again.
            logger.warning("a Telegram update could not be read (%s); dropped",
                           type(exc).__name__)  # fmt: skip
            return web.json_response({"ok": True})
        if self.inbox is None:
            await self.application.update_queue.put(update)
            return web.json_response({"ok": True})
        try:
            await self.inbox.accept("telegram", str(update.update_id), _chat(update), data)
        except StorageError as exc:
            # Not kept: Telegram must not count it as delivered, and sends it again.
            logger.warning("a Telegram update could not be kept (%s); answered 503", exc)
            return _refusal(503, "try again")
        return web.json_response({"ok": True})


def _chat(update: Update) -> str:
    """The inbox's chat of an update: its chat, else its sender (one lane per person)."""
    if update.effective_chat is not None:
        return f"telegram:{update.effective_chat.id}"
    if update.effective_user is not None:
        return f"telegram:{update.effective_user.id}"
    return "telegram:"


async def start_webhook(
    webhook: TelegramWebhook, host: str, port: int, *, shared_port: bool = False
) -> web.AppRunner:
    """Serve `webhook` on host:port; the caller cleans the returned runner up.

    `shared_port`: several workers listen on the same port (SO_REUSEPORT; the kernel spreads
    the connections among them).
    """
    # lingering_time=0: after a refusal the connection is closed at once, never drained.
    runner = web.AppRunner(
        webhook.app(),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=5.0,
        lingering_time=0.0,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=shared_port or None).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
