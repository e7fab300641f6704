"""Storage: typed async functions over SQLite (WAL). SQL lives here and nowhere else.

One `Store` wraps one aiosqlite connection. Writes that belong together run in one
`BEGIN IMMEDIATE` transaction under a lock, so concurrent handlers never interleave them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

logger = logging.getLogger(__name__)

#: How long message ids are kept for /xoa (Telegram lets a bot delete for 48 h).
MESSAGE_ID_TTL = timedelta(hours=48)
#: How long processed update ids are remembered (re-deliveries come within minutes).
UPDATE_ID_TTL = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class UserRow:
    """What is kept about a person."""

    address: str
    lang: str | None
    subscribed: bool


@dataclass(frozen=True, slots=True)
class DialogRow:
    """A conversation in progress."""

    kind: str
    state: dict[str, Any]
    expires_at: datetime


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def migrations() -> list[tuple[int, str, str]]:
    """The migration scripts shipped with the package, in order: (version, name, sql)."""
    folder = resources.files("bot.storage") / "migrations"
    out = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(out)


class Store:
    """The bot's database."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._write_lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database and bring its schema up to date."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (kill -9) on every commit; the writes
        # that must also survive power loss (confirmed reports) ask for `durable=True`.
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=10000")
        store = cls(db)
        await store.migrate()
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self.db.close()

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; return the schema version."""
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for number, name, sql in migrations():
            if number <= version:
                continue
            logger.info("applying migration %s", name)
            async with self.transaction():
                # executescript would commit on its own; run statement by statement instead.
                for statement in _split_sql(sql):
                    await self.db.execute(statement)
                await self.db.execute(f"PRAGMA user_version={number:d}")
            version = number
        return version

    @contextlib.asynccontextmanager
    async def transaction(self, *, durable: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one write transaction, serialised with every other writer.

        `durable=True` syncs the commit to disk before returning (power-loss safe); it costs
        an fsync, so only what a person confirmed asks for it.
        """
        async with self._write_lock:
            if durable:
                await self.db.execute("PRAGMA synchronous=FULL")
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                except BaseException:
                    await self.db.execute("ROLLBACK")
                    raise
                await self.db.execute("COMMIT")
            finally:
                if durable:
                    await self.db.execute("PRAGMA synchronous=NORMAL")

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run ONE write statement atomically; return the number of rows it changed.

        A single statement is its own transaction in SQLite, so it needs no BEGIN/COMMIT:
        one trip to the database thread instead of three (this is the per-message hot path).
        """
        async with self._write_lock:
            cursor = await self.db.execute(sql, params)
            return int(cursor.rowcount)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """Run a read and return its first row."""
        rows = await self.db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Run a read and return all rows."""
        return list(await self.db.execute_fetchall(sql, params))

    # --- de-duplication -------------------------------------------------------------------------

    async def first_time(self, channel: str, update_key: str, now: datetime) -> bool:
        """Record an incoming update id; False when it was handled before."""
        inserted = await self.write(
            "INSERT OR IGNORE INTO processed_updates (channel, update_key, seen_at) "
            "VALUES (?, ?, ?)",
            (channel, update_key, _iso(now)),
        )
        return inserted == 1

    # --- users ---------------------------------------------------------------------------

    async def get_user(self, address: str) -> UserRow | None:
        """The kept settings of a person, if any."""
        row = await self.fetchone(
            "SELECT address, lang, subscribed FROM users WHERE address = ?", (address,)
        )
        if row is None:
            return None
        return UserRow(row["address"], row["lang"], bool(row["subscribed"]))

    async def set_language(self, address: str, lang: str, now: datetime) -> None:
        """Remember the language a person chose."""
        await self.write(
            "INSERT INTO users (address, lang, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET lang = excluded.lang",
            (address, lang, _iso(now)),
        )

    async def set_subscribed(self, address: str, subscribed: bool, now: datetime) -> None:
        """Opt a person in or out of campaign messages."""
        await self.write(
            "INSERT INTO users (address, subscribed, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET subscribed = excluded.subscribed",
            (address, int(subscribed), _iso(now)),
        )

    async def forget_user(self, address: str) -> list[tuple[str, int]]:
        """Delete everything kept about a citizen; return the message ids to delete."""
        async with self.transaction() as db:
            async with db.execute(
                "SELECT chat_key, message_id FROM tracked_messages WHERE address = ? "
                "ORDER BY message_id",
                (address,),
            ) as cur:
                messages = [(str(r[0]), int(r[1])) for r in await cur.fetchall()]
            for table in ("users", "tracked_messages", "dialogs", "menus"):
                await db.execute(f"DELETE FROM {table} WHERE address = ?", (address,))
            # Campaign messages sent or queued for them, and a "blocked the bot" mark; a row
            # in flight is left to finish (deleting it could send it twice after a crash).
            await db.execute(
                "DELETE FROM outbox WHERE address = ? AND purpose IN ('broadcast', 'campaign') "
                "AND state != 'sending'",
                (address,),
            )
            await db.execute("DELETE FROM outbox_blocked WHERE address = ?", (address,))
            channel, _sep, user_key = address.partition(":")
            if channel == "zalo":
                # The time of the user's last message (Zalo's 48 h window) goes too.
                await db.execute("DELETE FROM zalo_interactions WHERE user_id = ?", (user_key,))
        return messages

    # --- message ids for /xoa ------------------------------------------------------------------

    async def track_messages(
        self, address: str, chat_key: str, message_ids: Iterable[int], now: datetime
    ) -> None:
        """Keep conversation message ids (for at most 48 hours) so /xoa can delete them."""
        rows = [(address, chat_key, mid, _iso(now)) for mid in message_ids]
        if not rows:
            return
        async with self._write_lock:
            await self.db.executemany(
                "INSERT OR IGNORE INTO tracked_messages (address, chat_key, message_id, sent_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    async def purge_expired(self, now: datetime) -> None:
        """Drop message ids past 48 h, old update ids and expired dialogs."""
        async with self.transaction() as db:
            await db.execute(
                "DELETE FROM tracked_messages WHERE sent_at < ?", (_iso(now - MESSAGE_ID_TTL),)
            )
            await db.execute(
                "DELETE FROM processed_updates WHERE seen_at < ?", (_iso(now - UPDATE_ID_TTL),)
            )
            await db.execute("DELETE FROM dialogs WHERE expires_at < ?", (_iso(now),))

    # --- anonymous counters -----------------------------------------------------------------

    async def count(self, day: date, channel: str, topic: str, emergency: bool) -> None:
        """Add one to the anonymous counter of (day, channel, topic, emergency)."""
        await self.write(
            "INSERT INTO counters (day, channel, topic, emergency, n) VALUES (?, ?, ?, ?, 1) "
            "ON CONFLICT (day, channel, topic, emergency) DO UPDATE SET n = n + 1",
            (day.isoformat(), channel, topic, int(emergency)),
        )

    async def counters(self, since: date | None = None) -> list[tuple[str, str, str, bool, int]]:
        """The counters as (day, channel, topic, emergency, n) rows."""
        rows = await self.fetchall(
            "SELECT day, channel, topic, emergency, n FROM counters WHERE day >= ? "
            "ORDER BY day, channel, topic",
            ((since or date.min).isoformat(),),
        )
        return [(r[0], r[1], r[2], bool(r[3]), int(r[4])) for r in rows]

    # --- dialogs and numbered menus ------------------------------------------------------------

    async def get_dialog(self, address: str, now: datetime) -> DialogRow | None:
        """The conversation in progress for `address`, unless it has expired."""
        row = await self.fetchone(
            "SELECT kind, state, expires_at FROM dialogs WHERE address = ?", (address,)
        )
        if row is None:
            return None
        expires = datetime.fromisoformat(row["expires_at"])
        if expires < now:
            return None
        return DialogRow(row["kind"], json.loads(row["state"]), expires)

    async def set_dialog(
        self, address: str, kind: str, state: dict[str, Any], expires_at: datetime
    ) -> None:
        """Save the conversation in progress."""
        await self.write(
            "INSERT INTO dialogs (address, kind, state, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET kind = excluded.kind, "
            "state = excluded.state, expires_at = excluded.expires_at",
            (address, kind, json.dumps(state, ensure_ascii=False), _iso(expires_at)),
        )

    async def clear_dialog(self, address: str) -> None:
        """End the conversation in progress."""
        await self.write("DELETE FROM dialogs WHERE address = ?", (address,))

    async def set_menu(self, address: str, options: list[str], now: datetime) -> None:
        """Remember the options offered as numbers (channels without buttons)."""
        if options:
            await self.write(
                "INSERT INTO menus (address, options, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET options = excluded.options, "
                "created_at = excluded.created_at",
                (address, json.dumps(options), _iso(now)),
            )
        else:
            await self.write("DELETE FROM menus WHERE address = ?", (address,))

    async def get_menu(self, address: str) -> list[str]:
        """The options last offered as numbers."""
        row = await self.fetchone("SELECT options FROM menus WHERE address = ?", (address,))
        return list(json.loads(row["options"])) if row else []

    # --- imported places ------------------------------------------------------------------------

    async def replace_places(
        self, entries: list[dict[str, Any]], source_file: str, now: datetime
    ) -> None:
        """Replace the imported trusted-address list in one transaction."""
        async with self.transaction() as db:
            await db.execute("DELETE FROM places")
            await db.executemany(
                "INSERT INTO places (id, data, imported_at, source_file) VALUES (?, ?, ?, ?)",
                [
                    (e["id"], json.dumps(e, ensure_ascii=False), _iso(now), source_file)
                    for e in entries
                ],
            )

    async def imported_places(self) -> list[dict[str, Any]]:
        """The imported trusted addresses (empty until an import)."""
        rows = await self.fetchall("SELECT data FROM places ORDER BY rowid")
        return [json.loads(r["data"]) for r in rows]


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, letting SQLite say where each one is complete."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise ValueError("a migration ends with an incomplete statement")
    return statements
