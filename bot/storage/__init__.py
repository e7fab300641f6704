"""Storage: typed async functions over SQLite or PostgreSQL. SQL lives here and nowhere else.

`Store` is the bot's database (`bot.storage.database.Database`) with the citizens' state
(`citizens.py`: users, dialogs, menus, counters, de-duplication) and the repositories of the
other table groups, built once with it: `store.reports` (officers, invites, reports),
`store.outbox` (proactive messages and broadcasts), `store.inbox` (webhook updates waiting
for a worker) and `store.places` (the imported trusted addresses). Services take them from the
store they are given; nothing outside this package sees a connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from bot.storage.backends import open_database
from bot.storage.citizens import Bookkeeping, CitizenState, DialogRow, UserRow
from bot.storage.database import (
    BUSY_TIMEOUT_MS,
    CLOSE_WAIT,
    DURABLE_WAIT,
    LOCK_WAIT,
    LOOKUP_WAIT,
    MESSAGE_ID_TTL,
    SETTLE_WAIT,
    UNWRITABLE_PAUSE,
    UPDATE_ID_TTL,
    Backend,
    StorageError,
    Unwritable,
    is_server_url,
    migrations,
)
from bot.storage.inbox import InboxStore
from bot.storage.outbox import OutboxStore
from bot.storage.places import PlacesStore
from bot.storage.reports import ReportStore

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CLOSE_WAIT",
    "DURABLE_WAIT",
    "LOCK_WAIT",
    "LOOKUP_WAIT",
    "MESSAGE_ID_TTL",
    "SETTLE_WAIT",
    "UNWRITABLE_PAUSE",
    "UPDATE_ID_TTL",
    "Bookkeeping",
    "DialogRow",
    "StorageError",
    "Store",
    "Unwritable",
    "UserRow",
    "is_server_url",
    "migrations",
]


class Store(CitizenState):
    """The bot's database: the citizens' state on it, the other table groups as repositories."""

    @classmethod
    async def open(cls, target: Path | str) -> Self:
        """Open (creating if needed) the database and bring its schema up to date.

        `target` is a SQLite file (or ":memory:") or a `postgresql://` URL.
        """
        return await open_database(cls, target)

    def __init__(self, backend: Backend):
        super().__init__(backend)
        self.reports = ReportStore(self)
        self.outbox = OutboxStore(self)
        self.inbox = InboxStore(self)
        self.places = PlacesStore(self)
