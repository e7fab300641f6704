"""SQL of the durable inbox: webhook updates kept until a worker has handled them.

Any worker may accept an update (the platform is answered once the row is committed) and any
worker may handle it. A chat's rows are handled one at a time and in order: only the oldest
row of a chat can be claimed, and it stays in place, `working`, until it is handled and
deleted. A row claimed by a worker whose heartbeat stopped is claimed again by another (a
`kill -9` loses nothing; the update may be answered twice only if the dead worker had sent
the answer but not yet recorded the update id, see `Store.record_exchange`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.database import Database

#: A row handled this many times without success is dropped (a poison update), logged.
MAX_ATTEMPTS = 3

# The oldest row of its chat, not held by a live worker. On PostgreSQL the row is locked too,
# and rows another worker is claiming at this moment are passed over.
_CLAIMABLE = """
    SELECT i.id, i.channel, i.update_key, i.chat, i.payload, i.attempts, i.received_at
    FROM inbox i
    WHERE i.id = (SELECT MIN(q.id) FROM inbox q WHERE q.chat = i.chat)
      AND i.channel IN (SELECT value FROM json_each(:channels))
      AND (i.state = 'queued'
           OR (i.claimed_by != :me AND NOT EXISTS (
                 SELECT 1 FROM workers w
                 WHERE w.name = i.claimed_by AND w.seen_at >= :alive_since)))
      {chat}
    ORDER BY i.id
    LIMIT :limit"""
_ROW_LOCK = {"postgresql": " FOR UPDATE OF i SKIP LOCKED"}


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A claimed update: this worker handles it, then calls `done`."""

    id: int
    channel: str
    update_key: str
    chat: str
    payload: str
    attempts: int  # including this one
    received_at: float


class InboxStore:
    """The inbox and worker heartbeat tables."""

    def __init__(self, store: Database) -> None:
        self.store = store

    async def add(
        self, channel: str, update_key: str, chat: str, payload: str, now: float
    ) -> bool:
        """Keep an accepted update; False when the same update is already waiting."""
        changed = await self.store.write(
            "INSERT INTO inbox (channel, update_key, chat, payload, received_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, update_key, chat, payload, now),
        )
        return changed == 1

    async def beat(self, worker: str, now: float) -> None:
        """This worker is alive."""
        await self.store.write(
            "INSERT INTO workers (name, seen_at) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at",
            (worker, now),
        )

    async def leave(self, worker: str) -> None:
        """This worker stops: its unfinished rows go back to the queue at once."""
        async with self.store.transaction() as tx:
            await tx.execute(
                "UPDATE inbox SET state = 'queued', claimed_by = NULL WHERE claimed_by = ?",
                (worker,),
            )
            await tx.execute("DELETE FROM workers WHERE name = ?", (worker,))

    async def claim(
        self,
        worker: str,
        now: float,
        *,
        alive_since: float,
        limit: int,
        channels: Sequence[str],
        chat: str | None = None,
    ) -> list[InboxRow]:
        """Claim up to `limit` chats' oldest rows of `channels` (of `chat` only, when given)."""
        sql = _CLAIMABLE.format(chat="AND i.chat = :chat" if chat is not None else "")
        params: dict[str, object] = {
            "me": worker,
            "alive_since": alive_since,
            "limit": limit,
            "channels": json.dumps(list(channels)),
        }
        if chat is not None:
            params["chat"] = chat
        async with self.store.transaction() as tx:
            rows = await tx.fetchall(sql + _ROW_LOCK.get(tx.kind, ""), params)
            for row in rows:
                await tx.execute(
                    "UPDATE inbox SET state = 'working', claimed_by = ?, claimed_at = ?, "
                    "attempts = attempts + 1 WHERE id = ?",
                    (worker, now, row["id"]),
                )
        return [
            InboxRow(
                id=int(r["id"]),
                channel=str(r["channel"]),
                update_key=str(r["update_key"]),
                chat=str(r["chat"]),
                payload=str(r["payload"]),
                attempts=int(r["attempts"]) + 1,
                received_at=float(r["received_at"]),
            )
            for r in rows
        ]

    async def release(self, row_id: int) -> None:
        """Give a claimed row back to every worker (this one cannot handle it)."""
        await self.store.write(
            "UPDATE inbox SET state = 'queued', claimed_by = NULL WHERE id = ?", (row_id,)
        )

    async def done(self, row_id: int) -> None:
        """The update was handled (or dropped): its row, and the text in it, go."""
        await self.store.write("DELETE FROM inbox WHERE id = ?", (row_id,))

    async def waiting(self) -> int:
        """Rows not handled yet (queued or being handled)."""
        row = await self.store.fetchone("SELECT COUNT(*) FROM inbox")
        return int(row[0]) if row else 0

    async def forget_workers(self, before: float) -> None:
        """Drop the heartbeats of workers gone since before `before`."""
        await self.store.write("DELETE FROM workers WHERE seen_at < ?", (before,))
