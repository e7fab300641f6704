"""What a running bot holds open, built once at start-up by `bot.app.open_runtime`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.content import Content
from bot.core.engine import Engine
from bot.proactive.broadcasts import Broadcasts
from bot.proactive.reminders import Reminders
from bot.reporting.service import Reporting
from bot.settings import Settings
from bot.storage import Store


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings, storage, content, clock, the services and the engine of one process.

    Everything here is built once (content and its files read once, services constructed
    once) and handed to the channels, the scheduler and the command line.
    """

    settings: Settings
    store: Store
    content: Content
    clock: Clock
    reporting: Reporting
    reminders: Reminders
    broadcasts: Broadcasts
    engine: Engine
