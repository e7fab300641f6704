"""Fakes of external services for the offline tests: they speak real HTTP on 127.0.0.1."""

from .telegram_api import BOT_USER, Call, FakeTelegramAPI, Upload

__all__ = ["BOT_USER", "Call", "FakeTelegramAPI", "Upload"]
