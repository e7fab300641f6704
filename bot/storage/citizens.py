"""SQL of the citizens' state: users, de-duplication, counters, dialogs, numbered menus.

What is kept about a citizen is only what the privacy rules allow: the address, the chosen
language, the opt-in to campaign news, the ids of the conversation's messages for 48 hours,
the update ids already answered, anonymous counters, and a dialog or menu in progress.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.storage.database import (
    MESSAGE_ID_TTL,
    UPDATE_ID_TTL,
    Database,
    _moment,
    _seconds,
)


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


@dataclass(slots=True)
class Bookkeeping:
    """What is kept after one answered message, written together in ONE transaction.

    The update id (so a re-delivery is not answered twice), the anonymous counter, the
    numbered options just offered, the ids of the messages of the exchange (for /xoa).
    """

    address: str
    at: datetime
    update: tuple[str, str] | None = None
    counter: tuple[date, str, str, bool] | None = None
    #: None leaves the menu as it is; a list replaces it ([] clears it).
    menu: list[str] | None = None
    chat_key: str = ""
    message_ids: list[int] = field(default_factory=list)

    def empty(self) -> bool:
        """Whether there is nothing to write."""
        return (
            self.update is None
            and self.counter is None
            and self.menu is None
            and not self.message_ids
        )


class CitizenState(Database):
    """The citizens' tables, on the database itself (they are the per-message hot path)."""

    # --- de-duplication -------------------------------------------------------------------------
    async def first_time(self, channel: str, update_key: str, now: datetime) -> bool:
        """Record an incoming update id; False when it was handled before.

        Callers bound it with `within(..., default=True)`: a check that cannot be made lets
        the message through (a rare duplicate answer is better than silence).
        """
        inserted = await self.write(
            "INSERT INTO processed_updates (channel, update_key, seen_at) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, update_key, _seconds(now)),
            best_effort=True,
        )
        return inserted == 1

    async def seen(self, channel: str, update_key: str) -> bool:
        """Whether an update id was answered before (a read: never waits for a writer).

        Callers bound it with `within(..., default=False)`: a check that cannot be made lets
        the message through (a rare duplicate answer is better than silence). The id itself
        is written with the rest of the exchange (`record_exchange`).
        """
        row = await self.fetchone(
            "SELECT 1 FROM processed_updates WHERE channel = ? AND update_key = ?",
            (channel, update_key),
        )
        return row is not None

    async def record_exchange(self, book: Bookkeeping) -> None:
        """Write what follows one answered message in one best-effort transaction."""
        if book.empty():
            return
        async with self.transaction(best_effort=True) as db:
            if book.update is not None:
                await db.execute(
                    "INSERT INTO processed_updates (channel, update_key, seen_at) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (*book.update, _seconds(book.at)),
                )
            if book.counter is not None:
                day, channel, topic, emergency = book.counter
                await db.execute(
                    "INSERT INTO counters (day, channel, topic, emergency, n) "
                    "VALUES (?, ?, ?, ?, 1) ON CONFLICT (day, channel, topic, emergency) "
                    "DO UPDATE SET n = counters.n + 1",
                    (day.isoformat(), channel, topic, int(emergency)),
                )
            if book.menu:
                await db.execute(
                    "INSERT INTO menus (address, options, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (address) DO UPDATE SET options = excluded.options, "
                    "created_at = excluded.created_at",
                    (book.address, json.dumps(book.menu), _seconds(book.at)),
                )
            elif book.menu is not None:
                await db.execute("DELETE FROM menus WHERE address = ?", (book.address,))
            if book.message_ids:
                await db.executemany(
                    "INSERT INTO tracked_messages (address, chat_key, message_id, sent_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        (book.address, book.chat_key, m, _seconds(book.at))
                        for m in book.message_ids
                    ],
                )

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
            (address, lang, _seconds(now)),
        )

    async def set_subscribed(self, address: str, subscribed: bool, now: datetime) -> None:
        """Opt a person in or out of campaign messages."""
        await self.write(
            "INSERT INTO users (address, subscribed, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET subscribed = excluded.subscribed",
            (address, int(subscribed), _seconds(now)),
        )

    async def forget_user(self, address: str) -> list[tuple[str, int]]:
        """Delete everything kept about a citizen; return the message ids to delete."""
        async with self.transaction() as db:
            rows = await db.fetchall(
                "SELECT chat_key, message_id FROM tracked_messages WHERE address = ? "
                "ORDER BY message_id",
                (address,),
            )
            messages = [(str(r[0]), int(r[1])) for r in rows]
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

    async def purge_expired(self, now: datetime) -> None:
        """Drop message ids past 48 h, old update ids and expired dialogs."""
        async with self.transaction() as db:
            await db.execute(
                "DELETE FROM tracked_messages WHERE sent_at < ?", (_seconds(now - MESSAGE_ID_TTL),)
            )
            await db.execute(
                "DELETE FROM processed_updates WHERE seen_at < ?", (_seconds(now - UPDATE_ID_TTL),)
            )
            await db.execute("DELETE FROM dialogs WHERE expires_at < ?", (_seconds(now),))

    # --- anonymous counters -----------------------------------------------------------------

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
        if row["expires_at"] < _seconds(now):
            return None
        return DialogRow(row["kind"], json.loads(row["state"]), _moment(row["expires_at"]))

    async def set_dialog(
        self, address: str, kind: str, state: dict[str, Any], expires_at: datetime
    ) -> None:
        """Save the conversation in progress."""
        await self.write(
            "INSERT INTO dialogs (address, kind, state, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET kind = excluded.kind, "
            "state = excluded.state, expires_at = excluded.expires_at",
            (address, kind, json.dumps(state, ensure_ascii=False), _seconds(expires_at)),
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
                (address, json.dumps(options), _seconds(now)),
                best_effort=True,
            )
        else:
            await self.write("DELETE FROM menus WHERE address = ?", (address,), best_effort=True)

    async def get_menu(self, address: str) -> list[str]:
        """The options last offered as numbers."""
        row = await self.fetchone("SELECT options FROM menus WHERE address = ?", (address,))
        return list(json.loads(row["options"])) if row else []
