"""SQL of the outbox: queueing, atomic claims with shared send slots, outcomes, broadcasts.

Every proactive message is a row with a unique dedupe key. A sender claims one row at a time
in a `BEGIN IMMEDIATE` transaction (so a running bot and a CLI drain never claim the same
row), sends it, and records the outcome in the next transaction. A row left `sending` by a
killed process is given back after `stale_after` seconds: that row is the only message a
crash can duplicate.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.messages import Button, Reply
from bot.storage.database import Database, Row, Tx

__all__ = [
    "BroadcastRow",
    "Claim",
    "Claimed",
    "OutboxMessage",
    "OutboxStore",
    "Outcome",
    "reply_from_json",
    "reply_to_json",
]

State = Literal["queued", "sending", "sent", "blocked", "undeliverable", "failed", "skipped"]
STATES: tuple[State, ...] = (
    "queued",
    "sending",
    "sent",
    "blocked",
    "undeliverable",
    "failed",
    "skipped",
)
#: Candidates read per claim query; rows skipped on the way are marked in the same transaction.
CLAIM_BATCH = 8
#: Rows per INSERT batch when queueing.
INSERT_BATCH = 500


def next_slot(next_free: float | None, now: float, gap: float) -> tuple[float, float]:
    """The slot of the next send and the channel's next free time after it.

    There is no burst allowance: after an idle spell the first send goes at once and the
    following ones are `gap` apart, so no one-second window ever holds more than the limit.
    """
    slot = now if next_free is None else max(next_free, now)
    return slot, slot + gap


def reply_to_json(reply: Reply) -> str:
    """The stored form of a proactive reply: its text and buttons only."""
    buttons = [
        [{"label": b.label, "data": b.data, "kind": b.kind, "url": b.url} for b in row]
        for row in reply.buttons
    ]
    return json.dumps({"text": reply.text, "buttons": buttons}, ensure_ascii=False)


def reply_from_json(raw: str) -> Reply:
    """The reply stored by `reply_to_json`."""
    data = json.loads(raw)
    buttons = [
        [Button(label=b["label"], data=b["data"], kind=b.get("kind", "callback"), url=b.get("url"))
         for b in row]
        for row in data.get("buttons", [])
    ]  # fmt: skip
    # A proactive message is not part of a citizen's conversation: nothing to track for /xoa.
    return Reply(text=data["text"], buttons=buttons, track=False)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message to queue."""

    dedupe_key: str
    purpose: str
    address: str
    reply: Reply
    priority: int = 1
    due_at: float | None = None  # None: due at once
    expires_at: float | None = None
    broadcast_id: int | None = None
    only_subscribed: bool = False
    report_unit: str | None = None
    report_period: str | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this worker now owns until it records the outcome."""

    id: int
    dedupe_key: str
    purpose: str
    channel: str
    user_key: str
    address: str
    reply: Reply
    attempts: int
    slot: float  # when it may be sent (Unix seconds)


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim attempt found: a row, or whether due rows wait only for chat pacing."""

    row: Claimed | None
    paced: bool = False
    wait_until: float | None = None  # the channel is paused (429) until then


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a claimed row."""

    id: int
    channel: str
    address: str
    worker: str
    state: State  # sent | queued (retry) | blocked | undeliverable | failed
    at: float
    due_at: float | None = None  # the retry time when state == "queued"
    detail: str = ""
    pause_until: float | None = None  # the platform asked the whole channel to wait


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    """An admin broadcast or a campaign occurrence."""

    id: int
    key: str
    audience: str
    text_vi: str
    text_en: str
    created_by: str
    created_at: float
    due_at: float
    recipients: int


# Why a due row must not be sent any more; checked inside the claim transaction, so /huy or a
# report filed a moment before the send still counts.
_SKIP_REASON = """
    CASE
      WHEN o.expires_at IS NOT NULL AND o.expires_at <= :now THEN 'expired'
      WHEN o.only_subscribed = 1 AND NOT EXISTS (
          SELECT 1 FROM users u WHERE u.address = o.address AND u.subscribed = 1)
        THEN 'unsubscribed'
      WHEN o.report_unit IS NOT NULL AND EXISTS (
          SELECT 1 FROM reports r
          WHERE r.unit_code = o.report_unit AND r.period_id = o.report_period)
        THEN 'reported'
      WHEN o.report_unit IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM officers f
          WHERE f.address = o.address AND f.unit_code = o.report_unit AND f.revoked_at IS NULL)
        THEN 'not_officer'
    END"""

# Due rows of the channel whose chat is free: nothing in flight to it and no send in the last
# per-chat gap (claimed_at holds the reserved slot, so the gap holds between actual sends).
_CANDIDATES = f"""
    SELECT o.id, o.dedupe_key, o.purpose, o.user_key, o.address, o.reply, o.attempts,
           {_SKIP_REASON} AS skip
    FROM outbox o
    WHERE o.channel = :channel AND o.state = 'queued' AND o.due_at <= :now
      AND NOT EXISTS (
          SELECT 1 FROM outbox p
          WHERE p.address = o.address AND p.id != o.id
            AND (p.state = 'sending' OR p.claimed_at > :chat_cutoff))
    ORDER BY o.priority, o.due_at, o.id
    LIMIT :batch"""


# On PostgreSQL a candidate being changed elsewhere (an outcome, a /xoa) is passed over rather
# than waited for; SQLite has one writer at a time and no row locks.
_ROW_LOCK = {"postgresql": " FOR UPDATE OF o SKIP LOCKED"}


def _broadcast(row: Row) -> BroadcastRow:
    return BroadcastRow(
        id=int(row["id"]),
        key=row["key"],
        audience=row["audience"],
        text_vi=row["text_vi"],
        text_en=row["text_en"],
        created_by=row["created_by"],
        created_at=float(row["created_at"]),
        due_at=float(row["due_at"]),
        recipients=int(row["recipients"]),
    )


class OutboxStore:
    """The outbox tables over the shared `Store` connection."""

    def __init__(self, store: Database) -> None:
        self.store = store

    # --- queueing ------------------------------------------------------------------------------

    @staticmethod
    async def _insert(db: Tx, messages: Iterable[OutboxMessage], now: float) -> int:
        rows: list[tuple[Any, ...]] = []
        for m in messages:
            channel, _sep, user_key = m.address.partition(":")
            if not channel or not user_key:
                raise ValueError(f"not a channel:user address: {m.address!r}")
            rows.append(
                (
                    m.dedupe_key,
                    m.purpose,
                    channel,
                    user_key,
                    m.address,
                    reply_to_json(m.reply),
                    m.priority,
                    m.broadcast_id,
                    int(m.only_subscribed),
                    m.report_unit,
                    m.report_period,
                    now if m.due_at is None else m.due_at,
                    m.expires_at,
                    now,
                )
            )
        added = 0
        for start in range(0, len(rows), INSERT_BATCH):
            # The rows changed, summed: an ignored duplicate key changes none.
            added += await db.executemany(
                "INSERT INTO outbox (dedupe_key, purpose, channel, user_key, address, "
                "reply, priority, broadcast_id, only_subscribed, report_unit, report_period, "
                "due_at, expires_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                rows[start : start + INSERT_BATCH],
            )
        return added

    async def enqueue(self, messages: Iterable[OutboxMessage], now: float) -> int:
        """Queue messages in one transaction; return how many were new (not already keyed)."""
        async with self.store.transaction() as db:
            return await self._insert(db, messages, now)

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are already in the outbox (in any state)."""
        rows = await self.store.fetchall(
            "SELECT dedupe_key FROM outbox WHERE dedupe_key IN (SELECT value FROM json_each(?))",
            (json.dumps(list(keys)),),
        )
        return {str(r[0]) for r in rows}

    # --- claiming and outcomes -----------------------------------------------------------------

    async def claim(
        self,
        channel: str,
        now: float,
        *,
        worker: str,
        total_gap: float,
        per_chat_gap: float,
        stale_after: float,
        max_wait: float = 1.0,
        reclaim: bool = True,
        previous: Outcome | None = None,
    ) -> Claim:
        """Record `previous` (if any), then claim the next due row and reserve its send slot.

        One transaction does both, so a steady drain costs one commit per message. Rows found
        on the way that must no longer be sent (opted out, reported, expired) are marked
        `skipped` with the reason. When the channel's next slot is more than `max_wait` away
        (the platform asked us to pause) nothing is claimed: a row claimed now would be sent
        long after its opt-out check.
        """
        async with self.store.transaction() as db:
            # The channel's pace is shared by every process that sends: one claim at a time.
            # Taken before any row is touched, so every claim locks in the same order (a
            # claim that updated rows first and then waited here deadlocked on PostgreSQL).
            await db.lock(f"outbox:{channel}")
            if previous is not None:
                await self._record(db, previous)
            if reclaim:
                # A row left `sending` longer than any send can take: its process died.
                await db.execute(
                    "UPDATE outbox SET state = 'queued' "
                    "WHERE channel = ? AND state = 'sending' AND claimed_at < ?",
                    (channel, now - stale_after),
                )
            pacing = await db.fetchone(
                "SELECT next_at FROM outbox_pacing WHERE channel = ?", (channel,)
            )
            next_at = float(pacing[0]) if pacing else None
            if next_at is not None and next_at > now + max_wait:
                return Claim(None, wait_until=next_at)
            claimed = await self._claim_next(
                db, channel, now, next_at, worker, total_gap, per_chat_gap
            )
            if claimed is not None:
                return Claim(claimed)
            # Nothing claimable: say whether that is because a chat's pace holds rows back.
            paced = (
                await db.fetchone(
                    "SELECT 1 FROM outbox WHERE channel = ? AND state = 'queued' "
                    "AND due_at <= ? LIMIT 1",
                    (channel, now),
                )
            ) is not None
        return Claim(None, paced=paced)

    async def _claim_next(
        self,
        db: Tx,
        channel: str,
        now: float,
        next_at: float | None,
        worker: str,
        total_gap: float,
        per_chat_gap: float,
    ) -> Claimed | None:
        """Inside the claim's transaction: skip rows no longer to send, claim the first other."""
        params = {
            "channel": channel,
            "now": now,
            "chat_cutoff": now - per_chat_gap,
            "batch": CLAIM_BATCH,
        }
        while True:
            rows = await db.fetchall(_CANDIDATES + _ROW_LOCK.get(db.kind, ""), params)
            for row in rows:
                if row["skip"] is not None:
                    await db.execute(
                        "UPDATE outbox SET state = 'skipped', detail = ?, finished_at = ? "
                        "WHERE id = ?",
                        (row["skip"], now, row["id"]),
                    )
                    continue
                slot, following = next_slot(next_at, now, total_gap)
                await db.execute(
                    "INSERT INTO outbox_pacing (channel, next_at) VALUES (?, ?) "
                    "ON CONFLICT (channel) DO UPDATE SET next_at = excluded.next_at",
                    (channel, following),
                )
                await db.execute(
                    "UPDATE outbox SET state = 'sending', claimed_at = ?, claimed_by = ?, "
                    "attempts = attempts + 1 WHERE id = ?",
                    (slot, worker, row["id"]),
                )
                return Claimed(
                    id=int(row["id"]),
                    dedupe_key=row["dedupe_key"],
                    purpose=row["purpose"],
                    channel=channel,
                    user_key=row["user_key"],
                    address=row["address"],
                    reply=reply_from_json(row["reply"]),
                    attempts=int(row["attempts"]) + 1,
                    slot=slot,
                )
            if len(rows) < CLAIM_BATCH:
                return None

    async def reslot(self, row_id: int, channel: str, now: float, total_gap: float) -> float:
        """A new send slot for a claimed row whose sender woke too late for its own: the
        channel's next free one (the other processes keep the slots they reserved)."""
        async with self.store.transaction() as db:
            await db.lock(f"outbox:{channel}")
            pacing = await db.fetchone(
                "SELECT next_at FROM outbox_pacing WHERE channel = ?", (channel,)
            )
            slot, following = next_slot(float(pacing[0]) if pacing else None, now, total_gap)
            await db.execute(
                "INSERT INTO outbox_pacing (channel, next_at) VALUES (?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET next_at = excluded.next_at",
                (channel, following),
            )
            await db.execute("UPDATE outbox SET claimed_at = ? WHERE id = ?", (slot, row_id))
        return slot

    async def record(self, outcome: Outcome) -> None:
        """Record what happened to a claimed row, in its own transaction."""
        async with self.store.transaction() as db:
            await db.lock(f"outbox:{outcome.channel}")  # the claims' lock order (see `claim`)
            await self._record(db, outcome)

    @staticmethod
    async def _record(db: Tx, o: Outcome) -> None:
        # Only the worker that still owns the row may finish it: if the claim went stale and
        # another process took the row over, that one decides.
        await db.execute(
            "UPDATE outbox SET state = ?, detail = ?, due_at = COALESCE(?, due_at), "
            "finished_at = ? WHERE id = ? AND state = 'sending' AND claimed_by = ?",
            (
                o.state,
                o.detail[:200],
                o.due_at if o.state == "queued" else None,
                None if o.state == "queued" else o.at,
                o.id,
                o.worker,
            ),
        )
        if o.state == "sent":
            await db.execute("DELETE FROM outbox_blocked WHERE address = ?", (o.address,))
        elif o.state == "blocked":
            await db.execute(
                "INSERT INTO outbox_blocked (address, blocked_at) VALUES (?, ?) "
                "ON CONFLICT (address) DO UPDATE SET blocked_at = excluded.blocked_at",
                (o.address, o.at),
            )
            # Blocking the bot is the strongest opt-out: campaign news resumes only after a
            # new /dangky (which needs the person to unblock the bot first).
            await db.execute("UPDATE users SET subscribed = 0 WHERE address = ?", (o.address,))
        if o.pause_until is not None:
            await db.execute(
                "INSERT INTO outbox_pacing (channel, next_at) VALUES (?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET next_at = CASE "
                "WHEN excluded.next_at > outbox_pacing.next_at THEN excluded.next_at "
                "ELSE outbox_pacing.next_at END",
                (o.channel, o.pause_until),
            )

    async def next_free(self, channel: str) -> float | None:
        """When the channel's next send slot opens (None before its first send)."""
        row = await self.store.fetchone(
            "SELECT next_at FROM outbox_pacing WHERE channel = ?", (channel,)
        )
        return None if row is None else float(row[0])

    async def pending(self, channel: str, now: float) -> int:
        """Rows of the channel still to send now: due, in flight, or waiting for a retry."""
        row = await self.store.fetchone(
            "SELECT COUNT(*) FROM outbox WHERE channel = ? AND (state = 'sending' "
            "OR (state = 'queued' AND (due_at <= ? OR attempts > 0)))",
            (channel, now),
        )
        return int(row[0]) if row else 0

    async def queued_channels(self) -> dict[str, int]:
        """Queued or in-flight rows by channel."""
        rows = await self.store.fetchall(
            "SELECT channel, COUNT(*) FROM outbox WHERE state IN ('queued', 'sending') "
            "GROUP BY channel"
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # --- broadcasts ----------------------------------------------------------------------------

    async def create_broadcast(
        self,
        *,
        key: str,
        audience: str,
        text_vi: str,
        text_en: str,
        created_by: str,
        now: float,
        due_at: float,
        messages_for: Callable[[int], list[OutboxMessage]],
    ) -> tuple[BroadcastRow, bool]:
        """Create a broadcast and queue its messages in one transaction.

        Returns the broadcast and whether it is new: an existing `key` queues nothing.
        """
        async with self.store.transaction() as db:
            created = (
                await db.execute(
                    "INSERT INTO broadcasts (key, audience, text_vi, text_en, created_by, "
                    "created_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (key, audience, text_vi, text_en, created_by, now, due_at),
                )
                == 1
            )
            row = await db.fetchone("SELECT * FROM broadcasts WHERE key = ?", (key,))
            assert row is not None
            broadcast = _broadcast(row)
            if not created:
                return broadcast, False
            added = await self._insert(db, messages_for(broadcast.id), now)
            await db.execute(
                "UPDATE broadcasts SET recipients = ? WHERE id = ?", (added, broadcast.id)
            )
        return dataclasses.replace(broadcast, recipients=added), True

    async def broadcast(self, broadcast_id: int) -> BroadcastRow | None:
        """One broadcast by id."""
        row = await self.store.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return _broadcast(row) if row else None

    async def broadcast_by_key(self, key: str) -> BroadcastRow | None:
        """One broadcast by its key."""
        row = await self.store.fetchone("SELECT * FROM broadcasts WHERE key = ?", (key,))
        return _broadcast(row) if row else None

    async def broadcasts(self, limit: int = 10) -> list[BroadcastRow]:
        """The latest broadcasts, newest first."""
        rows = await self.store.fetchall(
            "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_broadcast(r) for r in rows]

    async def broadcast_counts(self, broadcast_id: int) -> dict[str, int]:
        """Messages of a broadcast by state."""
        rows = await self.store.fetchall(
            "SELECT state, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY state",
            (broadcast_id,),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # --- reminders -----------------------------------------------------------------------------

    async def reminder_counts(self, period_id: str) -> dict[tuple[str, str], int]:
        """Reminders of a period by (unit, state), every occasion together."""
        rows = await self.store.fetchall(
            "SELECT report_unit, state, COUNT(*) FROM outbox "
            "WHERE purpose = 'remind' AND report_period = ? GROUP BY report_unit, state",
            (period_id,),
        )
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    # --- recipients ----------------------------------------------------------------------------

    async def subscribers(self) -> list[tuple[str, str | None]]:
        """(address, chosen language) of everyone opted in to campaign news."""
        rows = await self.store.fetchall(
            "SELECT address, lang FROM users WHERE subscribed = 1 ORDER BY address"
        )
        return [(str(r[0]), r[1]) for r in rows]

    async def languages(self, addresses: Sequence[str]) -> dict[str, str]:
        """The language each of `addresses` chose, where one did."""
        rows = await self.store.fetchall(
            "SELECT address, lang FROM users WHERE lang IS NOT NULL "
            "AND address IN (SELECT value FROM json_each(?))",
            (json.dumps(list(addresses)),),
        )
        return {str(r[0]): str(r[1]) for r in rows}

    async def blocked(self) -> set[str]:
        """Recipients whose last message came back 'blocked by the user'."""
        rows = await self.store.fetchall("SELECT address FROM outbox_blocked")
        return {str(r[0]) for r in rows}

    async def state_of(self, dedupe_key: str) -> tuple[str, int] | None:
        """(state, attempts) of one row, for tests and the CLI."""
        row = await self.store.fetchone(
            "SELECT state, attempts FROM outbox WHERE dedupe_key = ?", (dedupe_key,)
        )
        return None if row is None else (str(row[0]), int(row[1]))

    async def counts(self, purpose: str | None = None) -> dict[str, int]:
        """Rows by state, optionally of one purpose."""
        rows = await self.store.fetchall(
            "SELECT state, COUNT(*) FROM outbox WHERE (CAST(? AS TEXT) IS NULL OR purpose = ?) "
            "GROUP BY state",
            (purpose, purpose),
        )
        return {str(r[0]): int(r[1]) for r in rows}
