"""SQL of the imported trusted-address list (`bdg-bot places import`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.storage.database import Database, _seconds


class PlacesStore:
    """The imported places over the shared database."""

    def __init__(self, store: Database) -> None:
        self.store = store

    async def replace(
        self, entries: list[dict[str, Any]], source_file: str, now: datetime
    ) -> None:
        """Replace the imported trusted-address list in one transaction."""
        async with self.store.transaction() as db:
            await db.execute("DELETE FROM places")
            await db.executemany(
                "INSERT INTO places (id, data, imported_at, source_file) VALUES (?, ?, ?, ?)",
                [
                    (e["id"], json.dumps(e, ensure_ascii=False), _seconds(now), source_file)
                    for e in entries
                ],
            )

    async def signature(self) -> tuple[Any, ...] | None:
        """How many imported places, when imported, how many bytes: changes with the list."""
        row = await self.store.fetchone(
            "SELECT count(*), max(imported_at), COALESCE(SUM(length(data)), 0) FROM places"
        )
        return (row[0], row[1], row[2]) if row else None

    async def imported(self) -> list[dict[str, Any]]:
        """The imported trusted addresses (empty until an import)."""
        rows = await self.store.fetchall("SELECT data FROM places ORDER BY rowid")
        return [json.loads(r["data"]) for r in rows]
