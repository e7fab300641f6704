"""`bdg-bot db copy --to postgresql://…`: a SQLite deployment moved to PostgreSQL, all or nothing.

The source is a SQLite store built here with rows in every table (through the storage APIs);
each test copies into a fresh PostgreSQL database of its own and reads it back through the
same APIs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.messages import Reply
from bot.storage import Bookkeeping, Store
from bot.storage import copy as copy_module
from bot.storage.copy import (
    TRANSIENT,
    CopyError,
    NotEmpty,
    copy_database,
    copy_into,
    skipped_tables,
)
from bot.storage.outbox import OutboxMessage, Outcome
from bot.storage.reports import InviteError
from bot.storage.zalo import get_interaction, load_tokens, record_interaction, seed_tokens
from tests import postgres_server

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TS = NOW.timestamp()
UNIT = "that-khe"
PERIOD = "2026-6T"
OFFICER = "telegram:2"
ACCESS, REFRESH = "zalo-access-token-abc", "zalo-refresh-token-xyz"

#: The rows `fill` writes, per table: every table of the schema but the transient ones.
EXPECTED = {
    "broadcasts": 1,
    "counters": 1,
    "dialogs": 1,
    "invite_failures": 1,
    "invites": 2,
    "menus": 1,
    "officers": 1,
    "outbox": 3,
    "outbox_blocked": 1,
    "outbox_pacing": 1,
    "period_unlocks": 1,
    "places": 3,
    "processed_updates": 1,
    "reports": 2,
    "tracked_messages": 2,
    "users": 2,
    "zalo_interactions": 1,
    "zalo_tokens": 1,
}


async def fill(store: Store) -> None:
    """Rows in every table, written the way the bot writes them."""
    await store.set_language("telegram:1", "en", NOW)
    await store.set_subscribed("telegram:1", True, NOW)
    await store.set_subscribed("zalo:77", True, NOW)
    await store.record_exchange(
        Bookkeeping(
            address="telegram:1",
            at=NOW,
            update=("telegram", "update-1"),
            counter=(NOW.date(), "telegram", "what_to_do", True),
            menu=["topic:a", "topic:b"],
            chat_key="1",
            message_ids=[10, 11],
        )
    )
    await store.set_dialog(
        OFFICER, "report", {"mode": "edit", "nonce": "n1", "vals": {"a": 1}}, NOW + timedelta(1)
    )
    # Imported in this order, listed in this order (not sorted by id).
    places = [{"id": f"place-{n}", "name": f"Nơi {n}"} for n in (3, 1, 2)]
    await store.places.replace(places, "places.xlsx", NOW)

    reports = store.reports
    await reports.create_invite("cb-used", UNIT, NOW + timedelta(days=3), "cli", NOW)
    await reports.create_invite(
        "cb-open", UNIT, NOW + timedelta(days=3), "telegram:9001", NOW, bound_to="zalo:5"
    )
    with pytest.raises(InviteError):
        await reports.redeem_invite("cb-wrong", "telegram:666", NOW)
    await reports.redeem_invite("cb-used", OFFICER, NOW, "Cán bộ Thất Khê")
    for n in (1, 2):
        await reports.save_report(
            officer=OFFICER,
            unit_code=UNIT,
            period_id=PERIOD,
            values={"cases": n},
            late=n == 2,
            now=NOW + timedelta(minutes=n),
            ack_owed=n == 2,
        )
    await reports.unlock(UNIT, "2025-12T", date(2026, 12, 5), "telegram:9001")

    outbox = store.outbox
    await outbox.create_broadcast(
        key="adhoc:1",
        audience="subscribers",
        text_vi="Xin chào các bạn",
        text_en="Hello everyone",
        created_by="cli",
        now=TS,
        due_at=TS,
        messages_for=lambda bid: [
            OutboxMessage(f"b:{bid}:{a}", "broadcast", a, Reply(text="Xin chào"), broadcast_id=bid)
            for a in ("telegram:1", "zalo:77")
        ],
    )
    remind = OutboxMessage(
        "remind:1", "remind", OFFICER, Reply(text="Nhắc nộp báo cáo"), priority=0,
        report_unit=UNIT, report_period="2026-12T",
    )  # fmt: skip
    await outbox.enqueue([remind], TS)
    claim = await outbox.claim(
        "telegram", TS, worker="w1", total_gap=0.05, per_chat_gap=1.0, stale_after=60.0
    )
    assert claim.row is not None and claim.row.dedupe_key == "remind:1"
    await outbox.record(Outcome(claim.row.id, "telegram", OFFICER, "w1", "blocked", TS + 1))

    await seed_tokens(store, ACCESS, REFRESH, NOW)
    await record_interaction(store, "77", NOW)


async def make_source(path: Path) -> Store:
    """A SQLite deployment with rows in every table."""
    store = await Store.open(path)
    await fill(store)
    return store


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[Store]:
    store = await make_source(tmp_path / "src.sqlite3")
    yield store
    await store.close()


@pytest.fixture
async def target_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database (no schema yet), dropped afterwards."""
    url = await postgres_server.fresh_database(postgres_admin_url)
    yield url
    await postgres_server.drop_database(url)


async def table_counts(store: Store, tables: list[str]) -> dict[str, int]:
    """Rows per table, counted directly (what the APIs show is checked separately)."""
    out = {}
    for table in tables:
        row = await store.fetchone(f"SELECT count(*) FROM {table}")
        assert row is not None
        out[table] = int(row[0])
    return out


async def test_every_table_is_copied_and_reads_back_the_same(
    source: Store, target_url: str
) -> None:
    counts = await copy_database(source, target_url)
    assert counts == EXPECTED
    # Every table of the schema holds rows in the source, so nothing is copied by luck: a
    # table added by a migration must get rows in `fill` (or be listed as transient).
    tables = [
        str(r[0])
        for r in await source.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    assert sorted(t for t in tables if t not in TRANSIENT) == sorted(EXPECTED)
    assert await table_counts(source, list(EXPECTED)) == EXPECTED

    target = await Store.open(target_url)
    try:
        assert target.kind == "postgresql"
        assert await table_counts(target, list(EXPECTED)) == EXPECTED
        a, b = source, target
        assert await b.reports.history(UNIT, PERIOD) == await a.reports.history(UNIT, PERIOD)
        assert await b.reports.officers() == await a.reports.officers()
        invites_a = await a.reports.invites(include_closed=True, now=NOW)
        assert await b.reports.invites(include_closed=True, now=NOW) == invites_a
        assert [r.id for r in await b.reports.owed_acks()] == [
            r.id for r in await a.reports.owed_acks()
        ]
        assert await b.reports.unlocks_of(UNIT) == {"2025-12T": date(2026, 12, 5)}
        assert await b.outbox.counts() == await a.outbox.counts()
        assert await b.outbox.counts() == {"queued": 2, "blocked": 1}
        assert await b.outbox.broadcasts() == await a.outbox.broadcasts()
        assert await b.outbox.blocked() == {OFFICER}
        assert await b.outbox.next_free("telegram") == await a.outbox.next_free("telegram")
        assert await b.outbox.subscribers() == await a.outbox.subscribers()
        assert await b.get_user("telegram:1") == await a.get_user("telegram:1")
        assert await b.get_dialog(OFFICER, NOW) == await a.get_dialog(OFFICER, NOW)
        assert await b.get_menu("telegram:1") == ["topic:a", "topic:b"]
        assert await b.counters() == await a.counters()
        assert await b.seen("telegram", "update-1")
        assert await b.forget_user("telegram:1") == [("1", 10), ("1", 11)]
        assert [p["id"] for p in await b.places.imported()] == [
            "place-3",
            "place-1",
            "place-2",
        ]
        tokens = await load_tokens(b)
        assert tokens is not None and tokens == await load_tokens(a)
        assert (str(tokens.access_token), str(tokens.refresh_token)) == (ACCESS, REFRESH)
        assert await get_interaction(b, "77") == await get_interaction(a, "77")

        # The sequences moved past the copied ids: new rows get new ids.
        old_ids = [r.id for r in await target.reports.history(UNIT, PERIOD)]
        third = await target.reports.save_report(
            officer=OFFICER, unit_code=UNIT, period_id=PERIOD, values={"cases": 3},
            late=True, now=NOW + timedelta(hours=1),
        )  # fmt: skip
        assert third.version == 3 and third.id > max(old_ids)
        bc, created = await target.outbox.create_broadcast(
            key="adhoc:2", audience="subscribers", text_vi="Mới", text_en="New",
            created_by="cli", now=TS, due_at=TS, messages_for=lambda bid: [],
        )  # fmt: skip
        assert created and bc.id > max(b.id for b in await source.outbox.broadcasts())
        added = await target.outbox.enqueue(
            [OutboxMessage("remind:2", "remind", "zalo:77", Reply(text="Nhắc"))], TS
        )
        assert added == 1
        await target.places.replace([{"id": "place-9"}], "again.csv", NOW)
        assert [p["id"] for p in await target.places.imported()] == ["place-9"]
    finally:
        await target.close()


async def test_ids_sqlite_gave_to_deleted_rows_are_not_given_again(
    source: Store, target_url: str
) -> None:
    """AUTOINCREMENT: SQLite never reuses the id of a deleted newest version; neither may
    PostgreSQL after the copy."""
    newest = max(r.id for r in await source.reports.history(UNIT, PERIOD))
    await source.write("DELETE FROM reports WHERE id = ?", (newest,))
    await copy_database(source, target_url)
    target = await Store.open(target_url)
    try:
        again = await target.reports.save_report(
            officer=OFFICER, unit_code=UNIT, period_id=PERIOD, values={}, late=False, now=NOW
        )
        assert again.version == 2 and again.id == newest + 1
    finally:
        await target.close()


async def test_a_target_with_rows_is_refused_and_left_untouched(
    source: Store, target_url: str
) -> None:
    target = await Store.open(target_url)
    try:
        # One row in the last table copied: the check covers every table, not the first.
        await record_interaction(target, "elsewhere", NOW)
        with pytest.raises(NotEmpty, match="table zalo_interactions has rows"):
            await copy_into(source, target)
        assert await table_counts(target, list(EXPECTED)) == dict.fromkeys(EXPECTED, 0) | {
            "zalo_interactions": 1
        }
        assert await get_interaction(target, "77") is None
    finally:
        await target.close()


async def test_a_second_copy_is_refused(source: Store, target_url: str) -> None:
    await copy_database(source, target_url)
    with pytest.raises(NotEmpty, match="not empty"):
        await copy_database(source, target_url)
    target = await Store.open(target_url)
    try:
        assert await table_counts(target, list(EXPECTED)) == EXPECTED
    finally:
        await target.close()


async def test_a_value_postgresql_cannot_take_rolls_everything_back(
    source: Store, target_url: str
) -> None:
    """SQLite keeps text in a REAL column; the copy stops at the last table, having written
    all the others, and the target is left empty."""
    await source.write("UPDATE zalo_interactions SET last_at = 'yesterday'")
    with pytest.raises(CopyError) as failed:
        await copy_database(source, target_url)
    message = str(failed.value)
    assert "zalo_interactions" in message and "last_at" in message
    assert "yesterday" not in message  # a value is never quoted (it could be a token)
    target = await Store.open(target_url)
    try:
        assert await table_counts(target, list(EXPECTED)) == dict.fromkeys(EXPECTED, 0)
        assert await target.reports.history(UNIT, PERIOD) == []
        assert await target.outbox.counts() == {}
        assert await load_tokens(target) is None
    finally:
        await target.close()


async def test_a_row_postgresql_refuses_rolls_everything_back(
    source: Store, target_url: str
) -> None:
    """A NUL character: SQLite text may hold one, PostgreSQL text may not."""
    await seed_tokens(source, "acc\x00ess", "another-refresh", NOW)
    with pytest.raises(CopyError, match="table zalo_tokens: PostgreSQL refused a row"):
        await copy_database(source, target_url)
    target = await Store.open(target_url)
    try:
        assert await table_counts(target, list(EXPECTED)) == dict.fromkeys(EXPECTED, 0)
    finally:
        await target.close()


async def test_a_failure_after_the_rows_rolls_everything_back(
    source: Store, target_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(copy_module, "_move_sequence", broken)
    with pytest.raises(RuntimeError, match="injected"):
        await copy_database(source, target_url)
    target = await Store.open(target_url)
    try:
        assert await table_counts(target, list(EXPECTED)) == dict.fromkeys(EXPECTED, 0)
    finally:
        await target.close()


# --- the command line ----------------------------------------------------------------------------


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`bdg-bot ARGS` in its own process, nothing inherited from the machine's bot."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "BOT_"))
    }
    full_env.update({"BOT_DB": str(tmp_path / "src.sqlite3"), **env})
    program = ROOT / ".venv" / "bin" / "bdg-bot"
    command = [str(program)] if program.exists() else [sys.executable, "-m", "bot"]
    return subprocess.run(
        [*command, *args], env=full_env, capture_output=True, text=True, timeout=120,
        check=False, cwd=tmp_path,
    )  # fmt: skip


async def test_the_command_copies_and_prints_rows_per_table(
    target_url: str, tmp_path: Path
) -> None:
    password = urlsplit(target_url).password
    assert password  # the test server's URL has one: it must not be printed
    made = await make_source(tmp_path / "src.sqlite3")
    skipped = await skipped_tables(made)
    await made.close()
    done = run_cli(tmp_path, "db", "copy", "--to", target_url)
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Copied ") and ":***@" in lines[0]
    rows = {line.split()[0]: line.split()[1] for line in lines[1:] if line.startswith("  ")}
    assert {t: int(n) for t, n in rows.items() if t != "total"} == EXPECTED
    assert int(rows["total"]) == sum(EXPECTED.values())
    assert f"{sum(EXPECTED.values())} rows in {len(EXPECTED)} tables" in done.stdout
    for table, n in skipped.items():  # said, not silently dropped
        assert f"{table} ({n} rows)" in done.stdout

    # Again: the target now holds rows, the command refuses and changes nothing.
    again = run_cli(tmp_path, "db", "copy", "--to", target_url)
    assert again.returncode == 1
    assert again.stdout == ""
    assert "not empty" in again.stderr and "nothing was copied" in again.stderr
    assert password not in again.stderr
    target = await Store.open(target_url)
    try:
        assert await table_counts(target, list(EXPECTED)) == EXPECTED
    finally:
        await target.close()


@pytest.mark.parametrize(
    ("bot_db", "to", "said"),
    [
        (
            "postgresql://bot:s3cr3t-pw@db.example/bot",
            "postgresql://bot:s3cr3t-pw@other.example/bot",
            "BOT_DB is already a PostgreSQL database (postgresql://bot:***@db.example/bot)",
        ),
        ("missing.sqlite3", "postgresql://bot:s3cr3t-pw@db.example/bot", "no database at "),
        ("src.sqlite3", "mysql://bot:s3cr3t-pw@db.example/bot", "--to must be a postgresql://"),
        ("src.sqlite3", "bot.sqlite3", "--to must be a postgresql:// URL, got 'bot.sqlite3'"),
    ],
)
async def test_the_command_refuses_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bot_db: str,
    to: str,
    said: str,
) -> None:
    from bot.cli.db import cmd_copy
    from bot.settings import load_settings

    store = await Store.open(tmp_path / "src.sqlite3")
    await store.close()
    env = {"BOT_DB": bot_db if "://" in bot_db else str(tmp_path / bot_db)}
    assert await cmd_copy(load_settings(env), to) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert said in out.err and len(out.err.splitlines()) == 1
    assert "s3cr3t-pw" not in out.err


async def test_rows_are_read_and_written_in_pages(
    source: Store, target_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small pages and statements (a large outbox goes the same way): nothing lost, the
    imported order kept."""
    monkeypatch.setattr(copy_module, "PAGE_ROWS", 2)
    monkeypatch.setattr(copy_module, "INSERT_ROWS", 2)
    assert await copy_database(source, target_url) == EXPECTED
    target = await Store.open(target_url)
    try:
        assert await table_counts(target, list(EXPECTED)) == EXPECTED
        assert [p["id"] for p in await target.places.imported()] == [
            "place-3",
            "place-1",
            "place-2",
        ]
        assert await target.outbox.counts() == await source.outbox.counts()
    finally:
        await target.close()
