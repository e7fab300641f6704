"""Opening a database: which backend a BOT_DB value names (a SQLite file or a PostgreSQL
server), connected and migrated."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from bot.storage.database import Backend, Database, is_server_url

D = TypeVar("D", bound=Database)


async def open_backend(target: Path | str) -> Backend:
    """The connections for `target` (a path, ":memory:" or a postgresql:// URL), unmigrated."""
    if is_server_url(target):
        from bot.storage.postgres import PostgresBackend

        return await PostgresBackend.connect(str(target))
    from bot.storage.sqlite import SqliteBackend

    return await SqliteBackend.connect(target)


async def open_database(kind: type[D], target: Path | str) -> D:
    """Open (creating if needed) the database `target` as a `kind` and migrate it."""
    store = kind(await open_backend(target))
    try:
        await store.migrate()
        await store.opened()
    except BaseException:
        # Not a database, a full disk: each connection is a thread or a socket that would
        # keep the process alive after the error, so close what was opened.
        await store.close()
        raise
    return store
