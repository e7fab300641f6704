"""Storage for the Zalo channel: the rotating token pair and the users' messaging windows.

Times are stored as unix seconds (REAL, like every moment in the database). Nothing here
ever holds a message's text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from bot.settings import Secret
from bot.storage.database import Database, _moment, _seconds


def fingerprint(refresh_token: str) -> str:
    """SHA-256 of a refresh token: recognises the environment's pair without keeping it twice."""
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An access token, the single-use refresh token that replaces it, and its expiry."""

    access_token: Secret = field(repr=False)
    refresh_token: Secret = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Interaction:
    """When a Zalo user last wrote to us, and how many messages we sent them since."""

    last_at: datetime
    sent_since: int


# --- tokens -----------------------------------------------------------------------------------


async def load_tokens(store: Database) -> TokenPair | None:
    """The stored token pair, if any."""
    row = await store.fetchone(
        "SELECT access_token, refresh_token, expires_at FROM zalo_tokens WHERE id = 1"
    )
    if row is None:
        return None
    return TokenPair(Secret(row[0]), Secret(row[1]), _moment(row[2]))


async def seed_tokens(store: Database, access: str, refresh: str, now: datetime) -> bool:
    """Store the environment's pair unless that very pair was stored before; True if stored.

    Its age is unknown, so it is marked as expiring now: the first use refreshes it, which
    also proves at start-up that the credentials work.
    """
    seed = fingerprint(refresh)
    async with store.transaction() as db:
        row = await db.fetchone("SELECT seed_hash FROM zalo_tokens WHERE id = 1")
        if row is not None and row[0] == seed:
            return False
        await db.execute(
            "INSERT INTO zalo_tokens (id, access_token, refresh_token, expires_at, updated_at, "
            "seed_hash) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "access_token = excluded.access_token, refresh_token = excluded.refresh_token, "
            "expires_at = excluded.expires_at, updated_at = excluded.updated_at, "
            "seed_hash = excluded.seed_hash",
            (access, refresh, _seconds(now), _seconds(now), seed),
        )
    return True


async def save_rotated(
    store: Database, previous_refresh: str, fresh: TokenPair, now: datetime
) -> bool:
    """Store the pair Zalo just issued in place of the one whose refresh token it spent.

    A short write after the HTTP call, never around it (the refresh is serialised by the
    caller's locks), so no writer waits on Zalo. The commit is durable: after a power cut the
    old pair would be useless, Zalo having spent it. False when the stored pair is no longer
    the one refreshed (the admin put a new one meanwhile): that one is kept.
    """
    async with store.transaction(durable=True) as db:
        changed = await db.execute(
            "UPDATE zalo_tokens SET access_token = ?, refresh_token = ?, expires_at = ?, "
            "updated_at = ? WHERE id = 1 AND refresh_token = ?",
            (
                str(fresh.access_token),
                str(fresh.refresh_token),
                _seconds(fresh.expires_at),
                _seconds(now),
                str(previous_refresh),
            ),
        )
        return changed == 1


# --- messaging windows --------------------------------------------------------------------------


async def record_interaction(store: Database, user_id: str, at: datetime) -> None:
    """The user wrote to us at `at`: their window starts again and our count resets."""
    async with store.transaction() as db:
        # A late re-delivery must not move the window backwards.
        await db.execute(
            "INSERT INTO zalo_interactions (user_id, last_at, sent_since) VALUES (?, ?, 0) "
            "ON CONFLICT (user_id) DO UPDATE SET last_at = excluded.last_at, sent_since = 0 "
            "WHERE excluded.last_at >= zalo_interactions.last_at",
            (user_id, _seconds(at)),
        )


async def get_interaction(store: Database, user_id: str) -> Interaction | None:
    """When the user last wrote to us (None if not within what we keep)."""
    row = await store.fetchone(
        "SELECT last_at, sent_since FROM zalo_interactions WHERE user_id = ?", (user_id,)
    )
    if row is None:
        return None
    return Interaction(_moment(row[0]), int(row[1]))


async def forget_interaction(store: Database, user_id: str) -> None:
    """Drop what is kept about the user's window (unfollow, /xoa)."""
    async with store.transaction() as db:
        await db.execute("DELETE FROM zalo_interactions WHERE user_id = ?", (user_id,))


async def purge_interactions(store: Database, before: datetime) -> int:
    """Drop windows that ended before `before`; return how many."""
    async with store.transaction() as db:
        return await db.execute(
            "DELETE FROM zalo_interactions WHERE last_at < ?", (_seconds(before),)
        )
