"""Storage of officers, invites and versioned reports (SQL for the reporting feature)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.storage.database import Database, Tx, _aware, _moment, _moment_or_none, _seconds
from bot.storage.outbox import OutboxMessage

#: Wrong invite codes a sender may try within THROTTLE_WINDOW before having to wait.
THROTTLE_ATTEMPTS = 5
THROTTLE_WINDOW = timedelta(minutes=10)


def unsaved_notice_key(address: str, nonce: str) -> str:
    """The outbox key of "your draft was not saved" for one draft (told once, ever)."""
    return f"report-unsaved:{address}:{nonce}"


def saved_notice_key(report_id: int) -> str:
    """The outbox key of a "saved" reply sent again after a restart (once per version)."""
    return f"report-saved:{report_id}"


class InviteError(Exception):
    """An invite code that cannot be used.

    `reason` is unknown, used, expired, revoked, bound (the code is for another address),
    blocked (the address was revoked as an officer) or throttled (`wait` says how long).
    """

    def __init__(self, reason: str, wait: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class NotAllowed(Exception):
    """The officer may not do this for that unit."""


class DraftGone(Exception):
    """The draft to confirm no longer exists (already confirmed, cancelled or expired)."""


@dataclass(frozen=True, slots=True)
class Officer:
    """A registered commune officer."""

    address: str
    unit_code: str
    registered_at: datetime
    active: bool
    display_name: str | None = None

    def label(self) -> str:
        """'Name (telegram:123)', or the address alone when no name is known."""
        return f"{self.display_name} ({self.address})" if self.display_name else self.address


InviteState = str  # "open", "used", "expired" or "revoked"


@dataclass(frozen=True, slots=True)
class Invite:
    """A one-time registration code for a unit."""

    code: str
    unit_code: str
    expires_at: datetime
    used_by: str | None
    created_at: datetime | None = None
    created_by: str = ""
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    bound_to: str | None = None

    def state(self, now: datetime) -> InviteState:
        """Whether the code can still be used, and if not, why."""
        if self.revoked_at is not None:
            return "revoked"
        if self.used_by is not None:
            return "used"
        return "expired" if self.expires_at < _aware(now) else "open"


def _invite(r: object) -> Invite:
    return Invite(
        code=r["code"],  # type: ignore[index]
        unit_code=r["unit_code"],  # type: ignore[index]
        expires_at=_moment(r["expires_at"]),  # type: ignore[index]
        used_by=r["used_by"],  # type: ignore[index]
        created_at=_moment_or_none(r["created_at"]),  # type: ignore[index]
        created_by=r["created_by"],  # type: ignore[index]
        used_at=_moment_or_none(r["used_at"]),  # type: ignore[index]
        revoked_at=_moment_or_none(r["revoked_at"]),  # type: ignore[index]
        bound_to=r["bound_to"],  # type: ignore[index]
    )


@dataclass(frozen=True, slots=True)
class Report:
    """One confirmed version of a unit's report for a period."""

    id: int
    unit_code: str
    period_id: str
    version: int
    values: dict[str, int]
    officer: str
    created_at: datetime
    late: bool


def _report(row: object) -> Report:
    r = row  # a storage Row
    return Report(
        id=int(r["id"]),  # type: ignore[index]
        unit_code=r["unit_code"],  # type: ignore[index]
        period_id=r["period_id"],  # type: ignore[index]
        version=int(r["version"]),  # type: ignore[index]
        values={k: int(v) for k, v in json.loads(r["vals"]).items()},  # type: ignore[index]
        officer=r["officer"],  # type: ignore[index]
        created_at=_moment(r["created_at"]),  # type: ignore[index]
        late=bool(r["late"]),  # type: ignore[index]
    )


class ReportStore:
    """Officers, invites and reports over the shared `Store` connection."""

    def __init__(self, store: Database) -> None:
        self.store = store

    # --- invites and officers --------------------------------------------------------------

    async def create_invite(
        self,
        code: str,
        unit_code: str,
        expires_at: datetime,
        created_by: str,
        now: datetime,
        *,
        bound_to: str | None = None,
    ) -> None:
        """Store a new one-time invite (usable only by `bound_to` when given)."""
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO invites (code, unit_code, created_at, expires_at, created_by, "
                "bound_to) VALUES (?, ?, ?, ?, ?, ?)",
                (code, unit_code, _seconds(now), _seconds(expires_at), created_by, bound_to),
            )

    async def invites(self, *, include_closed: bool = False, now: datetime) -> list[Invite]:
        """The invites, newest first: only those still usable unless `include_closed`."""
        rows = await self.store.fetchall("SELECT * FROM invites ORDER BY created_at DESC, code")
        found = [_invite(r) for r in rows]
        return [i for i in found if include_closed or i.state(now) == "open"]

    async def invite(self, code: str) -> Invite | None:
        """One invite by its code."""
        row = await self.store.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
        return _invite(row) if row else None

    async def revoke_invite(self, code: str, now: datetime) -> Invite | None:
        """Make an unused invite unusable; the invite as it was (None when unknown)."""
        async with self.store.transaction() as db:
            row = await db.fetchone("SELECT * FROM invites WHERE code = ?", (code,))
            if row is None:
                return None
            found = _invite(row)
            if found.used_by is None and found.revoked_at is None:
                await db.execute(
                    "UPDATE invites SET revoked_at = ? WHERE code = ?", (_seconds(now), code)
                )
            return found

    async def redeem_invite(
        self, code: str, address: str, now: datetime, display_name: str | None = None
    ) -> Officer:
        """Register `address` as an officer of the invite's unit; the code is then spent.

        Refused while the sender has tried THROTTLE_ATTEMPTS wrong codes in THROTTLE_WINDOW
        (every refusal counts), and for an address revoked as an officer unless the invite is
        bound to it: a revoked officer comes back only when an admin invites them on purpose.
        """
        failure: InviteError | None = None
        async with self.store.transaction() as db:
            since = now - THROTTLE_WINDOW
            await db.execute("DELETE FROM invite_failures WHERE at < ?", (_seconds(since),))
            failures = [
                _moment(r[0])
                for r in await db.fetchall(
                    "SELECT at FROM invite_failures WHERE address = ? ORDER BY at", (address,)
                )
            ]
            if len(failures) >= THROTTLE_ATTEMPTS:
                # Free again when the oldest failure that still counts leaves the window.
                oldest = failures[len(failures) - THROTTLE_ATTEMPTS]
                raise InviteError("throttled", wait=oldest + THROTTLE_WINDOW - _aware(now))
            failure = await self._check_invite(db, code, address, now)
            if failure is not None:
                await db.execute(
                    "INSERT INTO invite_failures (address, at) VALUES (?, ?)",
                    (address, _seconds(now)),
                )
            else:
                return await self._register(db, code, address, now, display_name)
        raise failure

    async def _check_invite(
        self, db: Tx, code: str, address: str, now: datetime
    ) -> InviteError | None:
        row = await db.fetchone(
            "SELECT unit_code, expires_at, used_by, revoked_at, bound_to FROM invites "
            "WHERE code = ?",
            (code,),
        )
        if row is None:
            return InviteError("unknown")
        if row["revoked_at"] is not None:
            return InviteError("revoked")
        if row["used_by"] is not None:
            return InviteError("used")
        if row["expires_at"] < _seconds(now):
            return InviteError("expired")
        if row["bound_to"] is not None and row["bound_to"] != address:
            return InviteError("bound")
        officer = await db.fetchone(
            "SELECT revoked_at FROM officers WHERE address = ?", (address,)
        )
        if officer is not None and officer[0] is not None and row["bound_to"] != address:
            return InviteError("blocked")
        return None

    async def _register(
        self,
        db: Tx,
        code: str,
        address: str,
        now: datetime,
        display_name: str | None,
    ) -> Officer:
        row = await db.fetchone("SELECT unit_code FROM invites WHERE code = ?", (code,))
        assert row is not None  # checked in the same transaction
        name = (display_name or "").strip()[:80] or None
        await db.execute(
            "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ?",
            (_seconds(now), address, code),
        )
        await db.execute(
            "INSERT INTO officers (address, unit_code, registered_at, invite_code, display_name) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET "
            "unit_code = excluded.unit_code, registered_at = excluded.registered_at, "
            "invite_code = excluded.invite_code, revoked_at = NULL, "
            "display_name = COALESCE(excluded.display_name, officers.display_name)",
            (address, row["unit_code"], _seconds(now), code, name),
        )
        await db.execute("DELETE FROM invite_failures WHERE address = ?", (address,))
        return Officer(address, row["unit_code"], now, True, name)

    async def officer(self, address: str) -> Officer | None:
        """The active officer registration of `address`, if any."""
        row = await self.store.fetchone(
            "SELECT address, unit_code, registered_at, revoked_at, display_name FROM officers "
            "WHERE address = ? AND revoked_at IS NULL",
            (address,),
        )
        if row is None:
            return None
        return Officer(row[0], row[1], _moment(row[2]), True, row[4])

    async def officers(self, unit_code: str | None = None) -> list[Officer]:
        """Every officer (active and revoked), optionally of one unit."""
        rows = await self.store.fetchall(
            "SELECT address, unit_code, registered_at, revoked_at, display_name FROM officers "
            "WHERE (CAST(? AS TEXT) IS NULL OR unit_code = ?) ORDER BY unit_code, registered_at",
            (unit_code, unit_code),
        )
        return [Officer(r[0], r[1], _moment(r[2]), r[3] is None, r[4]) for r in rows]

    async def display_names(self) -> dict[str, str]:
        """Address -> the display name given at registration, for officers that have one."""
        rows = await self.store.fetchall(
            "SELECT address, display_name FROM officers WHERE display_name IS NOT NULL"
        )
        return {r[0]: r[1] for r in rows}

    async def revoke_officer(self, address: str, now: datetime) -> bool:
        """Revoke an officer; False when there was no active one."""
        async with self.store.transaction() as db:
            changed = await db.execute(
                "UPDATE officers SET revoked_at = ? WHERE address = ? AND revoked_at IS NULL",
                (_seconds(now), address),
            )
            return changed == 1

    # --- reports -------------------------------------------------------------------------------

    async def save_report(
        self,
        *,
        officer: str,
        unit_code: str,
        period_id: str,
        values: dict[str, int],
        late: bool,
        now: datetime,
        draft_of: str | None = None,
        draft_nonce: str | None = None,
        ack_owed: bool = False,
    ) -> Report:
        """Store a new version, in one transaction with consuming the officer's draft.

        The officer must be active for `unit_code`. When `draft_nonce` is given the draft
        dialog of `draft_of` must still hold it, so a double tap on "confirm" saves once.
        `ack_owed` records, with the version itself, that the "saved" reply has not been
        delivered yet (see `acknowledged` and `queue_restart_notices`).
        """
        async with self.store.transaction(durable=True) as db:
            # Two officers of a unit confirming at once: the second reads the first's version.
            # Taken first, before any row is touched (one lock order for every writer).
            await db.lock(f"report:{unit_code}:{period_id}")
            row = await db.fetchone(
                "SELECT unit_code FROM officers WHERE address = ? AND revoked_at IS NULL",
                (officer,),
            )
            if row is None or row[0] != unit_code:
                raise NotAllowed(unit_code)
            if draft_nonce is not None:
                dialog = await db.fetchone(
                    "SELECT state FROM dialogs WHERE address = ?", (draft_of or officer,)
                )
                if dialog is None or json.loads(dialog[0]).get("nonce") != draft_nonce:
                    raise DraftGone()
                await db.execute("DELETE FROM dialogs WHERE address = ?", (draft_of or officer,))
                # A "not saved yet" notice queued after a restart and not sent yet is now
                # untrue: the officer must not read it after the "saved" reply.
                await db.execute(
                    "UPDATE outbox SET state = 'skipped', detail = 'confirmed', finished_at = ? "
                    "WHERE dedupe_key = ? AND state = 'queued'",
                    (_seconds(now), unsaved_notice_key(draft_of or officer, draft_nonce)),
                )
            latest = await db.fetchone(
                "SELECT COALESCE(MAX(version), 0) FROM reports "
                "WHERE unit_code = ? AND period_id = ?",
                (unit_code, period_id),
            )
            version = int(latest[0]) + 1 if latest else 1
            inserted = await db.fetchone(
                "INSERT INTO reports "
                "(unit_code, period_id, version, vals, officer, created_at, late, ack_owed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (unit_code, period_id, version, json.dumps(values), officer, _seconds(now),
                 int(late), int(ack_owed)),
            )  # fmt: skip
            report_id = int(inserted[0]) if inserted else 0
        return Report(report_id, unit_code, period_id, version, dict(values), officer, now, late)

    # --- what a crash may have left unsaid ------------------------------------------------------

    async def acknowledged(self, report_ids: list[int]) -> None:
        """The "saved" replies of these versions were delivered: nothing is owed any more."""
        async with self.store.transaction() as db:
            await db.executemany(
                "UPDATE reports SET ack_owed = 0 WHERE id = ? AND ack_owed = 1",
                [(i,) for i in report_ids],
            )

    async def owed_acks(self) -> list[Report]:
        """Versions whose "saved" reply may never have reached the officer, oldest first."""
        rows = await self.store.fetchall("SELECT * FROM reports WHERE ack_owed = 1 ORDER BY id")
        return [_report(r) for r in rows]

    async def drafts_awaiting_confirmation(
        self, now: datetime
    ) -> list[tuple[str, dict[str, Any]]]:
        """(address, dialog state) of every unexpired report draft shown for confirmation."""
        rows = await self.store.fetchall(
            "SELECT address, state FROM dialogs WHERE kind = 'report' AND expires_at >= ? "
            "AND json_extract(state, '$.mode') = 'confirm' ORDER BY address",
            (_seconds(now),),
        )
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    async def queue_restart_notices(
        self,
        acks: list[tuple[int, OutboxMessage]],
        drafts: list[tuple[str, str, OutboxMessage]],
        wall_now: float,
    ) -> int:
        """Queue the owed "saved" replies and "not saved yet" notices; return how many.

        One transaction: an owed ack is cleared as its message is queued (the outbox then
        owns the delivery), and a draft notice is queued only while that draft (same nonce)
        still awaits confirmation, so a Confirm handled meanwhile is never contradicted.
        Dedupe keys make a second restart queue nothing again.
        """
        from bot.storage.outbox import OutboxStore

        queued: list[OutboxMessage] = []
        async with self.store.transaction(durable=True) as db:
            for report_id, message in acks:
                changed = await db.execute(
                    "UPDATE reports SET ack_owed = 0 WHERE id = ? AND ack_owed = 1", (report_id,)
                )
                if changed == 1:
                    queued.append(message)
            for address, nonce, message in drafts:
                row = await db.fetchone(
                    "SELECT state FROM dialogs WHERE address = ? AND kind = 'report'", (address,)
                )
                if row is not None and json.loads(row[0]).get("nonce") == nonce:
                    queued.append(message)
            # The outbox's own insert (column list and dedupe) inside this transaction.
            return await OutboxStore._insert(db, queued, wall_now)

    async def current_report(self, unit_code: str, period_id: str) -> Report | None:
        """The latest version of a unit's report for a period."""
        row = await self.store.fetchone(
            "SELECT * FROM reports WHERE unit_code = ? AND period_id = ? "
            "ORDER BY version DESC LIMIT 1",
            (unit_code, period_id),
        )
        return _report(row) if row else None

    async def current_reports(self, period_id: str) -> dict[str, Report]:
        """The latest version of every unit's report for a period, by unit code."""
        rows = await self.store.fetchall(
            "SELECT r.* FROM reports r JOIN (SELECT unit_code, MAX(version) AS v FROM reports "
            "WHERE period_id = ? GROUP BY unit_code) m ON r.unit_code = m.unit_code "
            "AND r.version = m.v WHERE r.period_id = ?",
            (period_id, period_id),
        )
        return {row["unit_code"]: _report(row) for row in rows}

    async def first_reports(self, period_id: str) -> dict[str, Report]:
        """The first version of every unit's report (on time or late is decided by it)."""
        rows = await self.store.fetchall(
            "SELECT * FROM reports WHERE period_id = ? AND version = 1", (period_id,)
        )
        return {row["unit_code"]: _report(row) for row in rows}

    async def history(self, unit_code: str, period_id: str) -> list[Report]:
        """Every version of a unit's report for a period, oldest first."""
        rows = await self.store.fetchall(
            "SELECT * FROM reports WHERE unit_code = ? AND period_id = ? ORDER BY version",
            (unit_code, period_id),
        )
        return [_report(r) for r in rows]

    # --- late-period unlocks ---------------------------------------------------------------

    async def unlock(self, unit_code: str, period_id: str, until: date, by: str) -> None:
        """Let a unit file a locked period up to and including `until`."""
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO period_unlocks (unit_code, period_id, until, unlocked_by) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (unit_code, period_id) DO UPDATE SET "
                "until = excluded.until, unlocked_by = excluded.unlocked_by",
                (unit_code, period_id, until.isoformat(), by),
            )

    async def unlocked_until(self, unit_code: str, period_id: str) -> date | None:
        """The date up to which an admin unlocked the period for the unit, if any."""
        row = await self.store.fetchone(
            "SELECT until FROM period_unlocks WHERE unit_code = ? AND period_id = ?",
            (unit_code, period_id),
        )
        return date.fromisoformat(row[0]) if row else None

    async def unlocks_of(self, unit_code: str) -> dict[str, date]:
        """Every admin unlock of a unit: period id -> last day it may file."""
        rows = await self.store.fetchall(
            "SELECT period_id, until FROM period_unlocks WHERE unit_code = ?", (unit_code,)
        )
        return {r[0]: date.fromisoformat(r[1]) for r in rows}
