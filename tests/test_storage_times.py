"""Every moment is stored as REAL unix seconds (UTC): the migration from the ISO text and the
INTEGER seconds of earlier versions keeps each moment, and people still read them in +07:00."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.core.engine import Engine
from bot.core.handlers.officer import when
from bot.storage import Store, migrations
from bot.storage import zalo as zalo_store
from bot.storage.database import _seconds
from tests.conftest import all_text, button_data, say
from tests.test_officer import officer as register_officer

# SQLite's column types and its migrations from old files (PostgreSQL starts at 0007).
pytestmark = pytest.mark.sqlite_only

VN = ZoneInfo("Asia/Ho_Chi_Minh")
#: The schema before the times migration.
OLD_VERSION = 6
T0 = datetime(2026, 12, 7, 13, 6, tzinfo=VN)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
#: A fraction of a second, should an old row have one (the old code wrote whole seconds).
T3 = datetime(2026, 12, 7, 13, 9, 5, 250000, tzinfo=VN)

#: (table, column) of every moment; all REAL now.
MOMENTS = [
    ("users", "created_at"),
    ("tracked_messages", "sent_at"),
    ("processed_updates", "seen_at"),
    ("dialogs", "expires_at"),
    ("menus", "created_at"),
    ("places", "imported_at"),
    ("invites", "created_at"),
    ("invites", "expires_at"),
    ("invites", "used_at"),
    ("invites", "revoked_at"),
    ("officers", "registered_at"),
    ("officers", "revoked_at"),
    ("reports", "created_at"),
    ("invite_failures", "at"),
    ("zalo_tokens", "expires_at"),
    ("zalo_tokens", "updated_at"),
    ("zalo_interactions", "last_at"),
    ("broadcasts", "created_at"),
    ("outbox", "due_at"),
    ("outbox_pacing", "next_at"),
    ("outbox_blocked", "blocked_at"),
]


def old(at: datetime) -> str:
    """A moment as the previous version wrote it (`_iso`)."""
    return at.isoformat(timespec="seconds")


def old_database(path: Path) -> None:
    """A database at the previous schema, with rows written the way that version wrote them."""
    con = sqlite3.connect(path)
    for number, _name, sql in migrations():
        if number <= OLD_VERSION:
            con.executescript(sql)
    con.execute(f"PRAGMA user_version={OLD_VERSION}")
    rows: list[tuple[str, tuple[object, ...]]] = [
        ("INSERT INTO users VALUES (?, ?, ?, ?)", ("telegram:1", "en", 1, old(T0))),
        ("INSERT INTO tracked_messages VALUES (?, ?, ?, ?)", ("telegram:1", "c", 5, old(T0))),
        ("INSERT INTO processed_updates VALUES (?, ?, ?)", ("telegram", "u1", old(T0))),
        # Text without an offset is read as UTC.
        ("INSERT INTO processed_updates VALUES (?, ?, ?)",
         ("console", "naive", "2026-01-01T00:00:00")),
        ("INSERT INTO dialogs VALUES (?, ?, ?, ?)",
         ("telegram:1", "report", '{"mode": "guided"}', old(T0 + timedelta(hours=24)))),
        ("INSERT INTO menus VALUES (?, ?, ?)", ("telegram:1", '["a"]', old(T0))),
        # Inserted out of id order: the list is read in rowid order.
        ("INSERT INTO places VALUES (?, ?, ?, ?)", ("p2", '{"id": "p2"}', old(T0), "f.xlsx")),
        ("INSERT INTO places VALUES (?, ?, ?, ?)", ("p1", '{"id": "p1"}', old(T0), "f.xlsx")),
        ("INSERT INTO invites VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
         ("ABC", "that-khe", old(T0), old(T0 + timedelta(days=7)), "cli", old(T1),
          "telegram:2", None, None)),
        ("INSERT INTO invites VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
         ("DEF", "that-khe", old(T1), old(T0 + timedelta(days=7)), "cli", None, None, old(T2),
          "telegram:5")),
        ("INSERT INTO officers VALUES (?, ?, ?, ?, ?, ?)",
         ("telegram:2", "that-khe", old(T1), "ABC", None, "Chị Lan")),
        ("INSERT INTO officers VALUES (?, ?, ?, ?, ?, ?)",
         ("telegram:4", "dong-dang", old(T0), None, old(T2), None)),
        ("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
         (1, "that-khe", "2026-N", 1, '{"tt": 3}', "telegram:2",
          T3.isoformat(timespec="milliseconds"), 0, 1)),
        ("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
         (2, "that-khe", "2026-N", 2, '{"tt": 4}', "telegram:2", old(T2), 1, 0)),
        ("DELETE FROM reports WHERE id = 2", ()),  # its id must never be given again
        ("INSERT INTO invite_failures VALUES (?, ?)", ("telegram:3", old(T0))),
        ("INSERT INTO zalo_tokens VALUES (1, 'AT', 'RT', ?, ?, 'h')",
         (int(T0.timestamp()), int(T1.timestamp()))),
        ("INSERT INTO zalo_interactions VALUES (?, ?, ?)", ("999", int(T0.timestamp()), 2)),
        ("INSERT INTO counters VALUES (?, ?, ?, ?, ?)", ("2026-12-07", "telegram", "t", 0, 3)),
        ("INSERT INTO period_unlocks VALUES (?, ?, ?, ?)",
         ("that-khe", "2026-N", "2026-12-20", "telegram:9001")),
    ]  # fmt: skip
    for sql, params in rows:
        con.execute(sql, params)
    con.commit()
    con.close()


def indexes(path: Path) -> set[tuple[str, str, str | None]]:
    con = sqlite3.connect(path)
    try:
        found = con.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'"
        ).fetchall()
    finally:
        con.close()
    return {(str(n), str(t), s) for n, t, s in found}


async def test_the_migration_keeps_every_moment_of_rows_written_the_old_way(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old_database(path)
    before = indexes(path)
    store = await Store.open(path)
    try:
        assert await store.migrate() == migrations()[-1][0] > OLD_VERSION
        # Every moment column is declared REAL and holds REAL values (or NULL).
        for table, column in MOMENTS:
            info = {
                r["name"]: r["type"] for r in await store.fetchall(f"PRAGMA table_info({table})")
            }
            assert info[column] == "REAL", (table, column)
            kinds = await store.fetchall(f"SELECT DISTINCT typeof({column}) FROM {table}")
            assert {r[0] for r in kinds} <= {"real", "null"}, (table, column)
        row = await store.fetchone("SELECT created_at FROM users WHERE address = 'telegram:1'")
        assert row is not None and row[0] == T0.timestamp()
        naive = await store.fetchone(
            "SELECT seen_at FROM processed_updates WHERE channel = 'console'"
        )
        assert naive is not None and naive[0] == datetime(2026, 1, 1, tzinfo=UTC).timestamp()

        # Read back through the store: the same moments, aware, in UTC.
        reports = store.reports
        officer = await reports.officer("telegram:2")
        assert officer is not None and officer.registered_at == T1
        assert officer.registered_at.tzinfo is UTC and officer.display_name == "Chị Lan"
        assert [o.active for o in await reports.officers()] == [False, True]
        abc, found = await reports.invite("ABC"), await reports.invite("DEF")
        assert abc is not None and found is not None
        assert (abc.created_at, abc.expires_at, abc.used_at) == (T0, T0 + timedelta(days=7), T1)
        assert abc.used_by == "telegram:2" and abc.revoked_at is None
        assert found.revoked_at == T2 and found.bound_to == "telegram:5"
        assert [i.code for i in await reports.invites(include_closed=True, now=T0)] == [
            "DEF",
            "ABC",
        ]
        history = await reports.history("that-khe", "2026-N")
        assert [r.created_at for r in history] == [T3]  # the fraction kept
        assert [r.id for r in await reports.owed_acks()] == [1]
        dialog = await store.get_dialog("telegram:1", T0)
        assert dialog is not None and dialog.expires_at == T0 + timedelta(hours=24)
        assert await store.get_menu("telegram:1") == ["a"]
        user = await store.get_user("telegram:1")
        assert user is not None and user.lang == "en" and user.subscribed
        assert [p["id"] for p in await store.places.imported()] == ["p2", "p1"]
        pair = await zalo_store.load_tokens(store)
        assert pair is not None and pair.expires_at == T0
        seen = await zalo_store.get_interaction(store, "999")
        assert seen is not None and (seen.last_at, seen.sent_since) == (T0, 2)
        # Calendar dates are not moments: still 'YYYY-MM-DD' text.
        assert await store.counters() == [("2026-12-07", "telegram", "t", False, 3)]
        assert await reports.unlocked_until("that-khe", "2026-N") == date(2026, 12, 20)

        # The indexes and constraints are all there, and ids continue after the deleted one.
        # (Tables of later migrations, such as the inbox, add their own.)
        assert {i for i in indexes(path) if i[1] not in ("inbox", "workers")} == before
        new = await reports.save_report(
            officer="telegram:2", unit_code="that-khe", period_id="2026-N", values={"tt": 5},
            late=False, now=T2,
        )  # fmt: skip
        assert new.id == 3 and new.version == 2
        check = await store.fetchone("PRAGMA integrity_check")
        assert check is not None and check[0] == "ok"

        # Comparisons are numeric now: the 48 h and 3 day windows, the dialog's expiry.
        await store.purge_expired(T0 + timedelta(hours=49))
        assert await store.fetchall("SELECT * FROM tracked_messages") == []
        kept = await store.fetchall("SELECT update_key FROM processed_updates")
        assert [r[0] for r in kept] == ["u1"]
        assert await store.get_dialog("telegram:1", T0) is None
        assert await zalo_store.purge_interactions(store, T0 + timedelta(seconds=1)) == 1
    finally:
        await store.close()


async def test_moments_are_written_as_real_seconds_and_read_back_the_same(
    store: Store,
) -> None:
    at = datetime(2026, 12, 7, 13, 6, 7, 123456, tzinfo=VN)
    await store.set_language("zalo:7", "vi", at)
    await store.set_dialog("zalo:7", "report", {}, at + timedelta(hours=24))
    await store.reports.create_invite("XYZ", "that-khe", at + timedelta(days=1), "cli", at)
    await zalo_store.record_interaction(store, "7", at)
    row = await store.fetchone("SELECT created_at, typeof(created_at) FROM users")
    assert row is not None and tuple(row) == (at.timestamp(), "real")
    row = await store.fetchone("SELECT last_at, typeof(last_at) FROM zalo_interactions")
    assert row is not None and tuple(row) == (at.timestamp(), "real")
    dialog = await store.get_dialog("zalo:7", at)
    assert dialog is not None and dialog.expires_at == at + timedelta(hours=24)
    invite = await store.reports.invite("XYZ")
    assert invite is not None and invite.created_at == at and invite.expires_at.tzinfo is UTC
    seen = await zalo_store.get_interaction(store, "7")
    assert seen is not None and seen.last_at == at  # no longer cut to whole seconds
    # A naive time is UTC, never the host's zone.
    assert _seconds(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def test_a_stored_time_is_shown_in_the_bots_zone() -> None:
    stored = datetime(2026, 12, 7, 6, 6, tzinfo=UTC)  # as the store reads it back
    assert when(stored, "vi", VN) == "13:06 07/12/2026 (UTC+7)"


async def test_officers_read_the_times_of_stored_reports_in_their_zone(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 28, 13, 6))  # 13:06 in Vietnam, 06:06 UTC
    await register_officer(engine, store, clock, "21", "that-khe")
    replies = await say(engine, "BC N tt=3", user="21", channel="telegram")
    data = next(d for d in button_data(replies) if d.startswith("rep:ok:"))
    saved = all_text(await say(engine, button=data, user="21", channel="telegram"))
    assert "13:06 28/11/2026 (UTC+7)" in saved
    # Read back from the database: /baocaocuatoi, and a correction naming the version it replaces.
    clock.advance(timedelta(hours=2))
    status = all_text(await say(engine, "/baocaocuatoi", user="21", channel="telegram"))
    assert "13:06 28/11/2026 (UTC+7)" in status and "06:06" not in status
    draft = all_text(await say(engine, "BC N tt=4", user="21", channel="telegram"))
    assert "13:06 28/11/2026 (UTC+7)" in draft and "06:06" not in draft
