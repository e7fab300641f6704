"""Shared fixtures: a temp-file database, the shipped content, a clock that stands still."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.clock import FakeClock
from bot.content import Content, load_content
from bot.core.engine import Engine
from bot.messages import Incoming, Location, Reply
from bot.settings import Settings
from bot.storage import Store

ADMIN = "telegram:9001"


@cache
def shipped_content() -> Content:
    """The content in content/, loaded once per test session."""
    return load_content()


@pytest.fixture
def content() -> Content:
    return shipped_content()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 28, 9, 0))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.sqlite3"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(db_path=db_path, admins=frozenset({ADMIN, "console:admin"}))


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path)
    yield s
    await s.close()


@pytest.fixture
async def engine(settings: Settings, store: Store, content: Content, clock: FakeClock) -> Engine:
    return build_engine(settings, store, content, clock)


async def say(
    engine: Engine,
    text: str | None = None,
    *,
    user: str = "100",
    channel: str = "console",
    button: str | None = None,
    location: tuple[float, float] | None = None,
    lang: str | None = "vi",
    message_id: int | None = None,
) -> list[Reply]:
    """Send one thing to the engine as a user and return the replies."""
    inc = Incoming(
        channel,  # type: ignore[arg-type]
        user,
        text=text,
        button=button,
        location=Location(*location) if location else None,
        locale_hint=lang,
        message_id=message_id,
    )
    return await engine.handle(inc)


def all_text(replies: list[Reply]) -> str:
    """Every reply's text, joined."""
    return "\n".join(r.text for r in replies)


def button_data(replies: list[Reply]) -> list[str]:
    """Every button's data, in order."""
    return [b.data for r in replies for row in r.buttons for b in row]
