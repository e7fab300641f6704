"""Proactive sends on Telegram: a PTB `Bot` behind the outbox's `ProactiveSender` contract."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.channels.telegram.adapter import inline_markup
from bot.messages import Delivery, Reply

__all__ = ["TelegramSender"]

logger = logging.getLogger(__name__)


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 holds it as a timedelta)."""
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    # Reading the public attribute warns about PTB's coming switch to timedelta.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = exc.retry_after
    return raw.total_seconds() if isinstance(raw, timedelta) else float(raw)


class TelegramSender:
    """Sends one outbox message with `bot.send_message` and maps Telegram's answer."""

    channel = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def _detail(self, exc: TelegramError, prefix: str = "") -> str:
        """The error for the outbox's `detail` column: short, and never the bot token."""
        text = f"{prefix}{exc.message}".replace(self.bot.token, "<token>")
        return text[:200]

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        """Send `reply` to the private chat `user_key`; never raises for Telegram errors."""
        try:
            chat_id = int(user_key)
        except ValueError:
            return Delivery("failed", detail="not a Telegram chat id")
        try:
            await self.bot.send_message(
                chat_id,
                reply.text,
                reply_markup=inline_markup(reply.buttons),
                parse_mode=ParseMode.HTML if reply.html else None,
                disable_web_page_preview=True,
            )
        except RetryAfter as exc:
            return Delivery("retry", retry_after=retry_after_seconds(exc), detail="429")
        except Forbidden as exc:
            # Blocked, deactivated, or never started the bot: retrying cannot help.
            return Delivery("blocked", detail=self._detail(exc))
        except BadRequest as exc:  # before NetworkError: PTB derives it from NetworkError
            return Delivery("failed", detail=self._detail(exc))
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            return Delivery("retry", detail=self._detail(exc, f"{type(exc).__name__}: "))
        except InvalidToken:
            # The deployment's token is wrong: keep the messages until it is fixed.
            logger.error("Telegram rejected the bot token; outbox messages wait")
            return Delivery("retry", detail="invalid token")
        except ChatMigrated as exc:
            return Delivery("failed", detail=self._detail(exc, "chat migrated: "))
        except TelegramError as exc:
            return Delivery("failed", detail=self._detail(exc, f"{type(exc).__name__}: "))
        return Delivery("sent")
