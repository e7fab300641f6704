"""Wires the engine: every feature registered in ONE place, in the order that matters."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.content import Content, load_content
from bot.content.places_import import apply_imported_places
from bot.core.engine import Engine
from bot.core.handlers import admin, citizen, officer
from bot.core.handlers import broadcast as broadcast_chat
from bot.core.handlers import places as place_chat
from bot.core.handlers import report as report_chat
from bot.reporting.indicators import load_indicators
from bot.reporting.periods import load_calendar
from bot.settings import Settings, SettingsError
from bot.storage import Store
from bot.storage.reports import ReportStore


def build_engine(settings: Settings, store: Store, content: Content, clock: Clock) -> Engine:
    """Create the engine and register every feature on it."""
    engine = Engine(
        content=content,
        store=store,
        clock=clock,
        admins=settings.admins,
        bot_username=settings.telegram_bot_username,
    )
    # Order matters: officer hooks (a dialog in progress, an invite code, a report line) must
    # see a text before the citizen FAQ fallback does.
    reporting = officer.Reporting(
        indicators=load_indicators(settings.content_dir / "indicators.yaml"),
        calendar=load_calendar(settings.content_dir / "periods.yaml"),
        reports=ReportStore(store),
    )
    engine.reporting = reporting
    # Citizens: commands, buttons, locations, the emergency reply and the FAQ fallback.
    citizen.register(engine)
    # Officers: invite registration, one-line and guided reports, their own status.
    officer.register(engine, reporting)
    # Citizens: trusted addresses near a location or in a commune named in a message (after
    # the officers' hooks, so a report line is never read as a commune).
    place_chat.register(engine)
    # The department: reporting rate, totals, Excel export, invites (admins only).
    admin.register(engine, reporting)
    # The department: /guitin broadcasts and /trangthai (admins only).
    broadcast_chat.register(engine)
    # The department: the report draft (Word) and its charts (admins only).
    report_chat.register(engine)
    return engine


@dataclass
class Runtime:
    """What a running bot (or one CLI command) holds open."""

    settings: Settings
    store: Store
    content: Content
    clock: Clock
    engine: Engine

    @property
    def reporting(self) -> officer.Reporting:
        """Indicators, periods and report storage, loaded once with the engine."""
        assert self.engine.reporting is not None  # build_engine always sets it
        return self.engine.reporting


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """Open the database, load the content, build the engine; close everything after."""
    clock = clock or SystemClock(settings.tz)
    content = load_content(settings.content_dir)
    try:
        store = await Store.open(settings.db_path)
    except (OSError, sqlite3.Error) as exc:
        raise SettingsError(f"BOT_DB cannot be opened ({settings.db_path}): {exc}") from None
    try:
        content = await apply_imported_places(store, content)
        await store.purge_expired(clock.now())
        engine = build_engine(settings, store, content, clock)
        yield Runtime(settings, store, content, clock, engine)
    finally:
        await store.close()
