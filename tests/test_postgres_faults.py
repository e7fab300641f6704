"""A storage fault on PostgreSQL: start-up refused in one line, a server gone mid-run, locks.

The PostgreSQL side of tests/test_storage_faults.py, on a real server: a BOT_DB that cannot be
opened stops the command with one line naming BOT_DB (the password never shown), workers
starting together migrate a fresh database once, a server that goes away costs no emergency
answer and raises `StorageError` (never a driver exception) where a caller must know, the pool
reconnects by itself, and a statement waiting on another connection's lock gives up.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.app import build_engine
from bot.clock import FakeClock
from bot.content import Content
from bot.core.engine import Engine
from bot.settings import Secret, Settings
from bot.storage import StorageError, Store
from bot.storage import postgres as pg
from bot.storage.database import Unwritable, migrations
from tests import postgres_server
from tests.conftest import ADMIN, TEMPLATE, all_text, say
from tests.test_officer import confirm_data, officer
from tests.test_storage_faults import CRY, EMERGENCY_DEADLINE, assert_emergency, timed

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
#: What a worker prints before it stops on a BOT_DB it cannot open.
OPEN_FAILED = "configuration error: BOT_DB cannot be opened ("


def password_of(url: str) -> str:
    """The password in a database URL (the test server's always has one)."""
    password = urlsplit(url).password
    assert password, "the test server's URL carries a password"
    return password


def with_user(url: str, user: str, password: str) -> str:
    """`url` with its user name and password replaced."""
    parts = urlsplit(url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def database_name(url: str) -> str:
    """The database a URL names."""
    return urlsplit(url).path.lstrip("/")


async def admin_exec(url: str, *statements: str) -> None:
    """Run statements on `url` as the admin, outside any transaction."""
    con = await asyncpg.connect(url)
    try:
        for sql in statements:
            await con.execute(sql)
    finally:
        await con.close()


@dataclass
class Role:
    """A login role made for one test, dropped after it."""

    name: str
    password: str


@pytest.fixture
async def roles(postgres_admin_url: str) -> AsyncIterator[list[Role]]:
    """The roles `new_role` made for this test, dropped after it (roles belong to the whole
    server, and a role cannot be dropped while a database holds grants to it)."""
    made: list[Role] = []
    yield made
    for role in made:
        await admin_exec(postgres_admin_url, f'DROP ROLE IF EXISTS "{role.name}"')


@pytest.fixture
async def pg_url(postgres_admin_url: str, roles: list[Role]) -> AsyncIterator[str]:
    """A fresh, migrated database on the session's server (dropped before the test's roles,
    whose grants it holds)."""
    url = await postgres_server.fresh_database(postgres_admin_url, template=TEMPLATE)
    yield url
    await postgres_server.drop_database(url)


@pytest.fixture
async def empty_url(postgres_admin_url: str, roles: list[Role]) -> AsyncIterator[str]:
    """A fresh database with no schema at all (nothing migrated yet)."""
    url = await postgres_server.fresh_database(postgres_admin_url)
    yield url
    await postgres_server.drop_database(url)


def make_engine(store: Store, url: str, content: Content, clock: FakeClock) -> Engine:
    """The engine over `store`, as `open_runtime` builds it."""
    settings = Settings(db_url=Secret(url), admins=frozenset({ADMIN, "console:admin"}))
    return build_engine(settings, store, content, clock)


# --- start-up: one line naming BOT_DB, never the password ----------------------------------------


async def new_role(admin_url: str, made: list[Role]) -> Role:
    """A login role with a password, to be dropped after the test."""
    role = Role(f"bot_test_{uuid.uuid4().hex[:12]}", f"pw-{secrets.token_hex(12)}")
    made.append(role)
    await admin_exec(admin_url, f"CREATE ROLE \"{role.name}\" LOGIN PASSWORD '{role.password}'")
    return role


def free_port() -> int:
    """A loopback port where nothing listens (just released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(tmp_path: Path, bot_db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`bdg-bot ARGS` in its own process with BOT_DB, nothing inherited from the machine's bot."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "ZALO_", "BOT_", "PG"))
    }
    env["BOT_DB"] = bot_db
    program = ROOT / ".venv" / "bin" / "bdg-bot"
    command = [str(program)] if program.exists() else [sys.executable, "-m", "bot"]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=120,
        check=False, cwd=tmp_path,
    )  # fmt: skip


def assert_refused(done: subprocess.CompletedProcess[str], said: str, *hidden: str) -> None:
    """The command stopped with one configuration line naming BOT_DB, nothing on stdout, and
    none of `hidden` anywhere."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(OPEN_FAILED), lines[0]
    assert said in lines[0], lines[0]
    for secret in hidden:
        assert secret not in done.stdout + done.stderr


async def test_a_wrong_password(tmp_path: Path, postgres_admin_url: str) -> None:
    wrong = f"wrong-{secrets.token_hex(8)}"
    user = urlsplit(postgres_admin_url).username or "postgres"
    done = run_cli(tmp_path, with_user(postgres_admin_url, user, wrong), "ask", "xin chào")
    assert_refused(done, "refused the user name or password", wrong)
    assert f"postgresql://{user}:***@" in done.stderr


async def test_a_port_where_nothing_listens(tmp_path: Path, postgres_admin_url: str) -> None:
    password = password_of(postgres_admin_url)
    url = f"postgresql://postgres:{password}@127.0.0.1:{free_port()}/postgres"
    done = run_cli(tmp_path, url, "ask", "xin chào")
    assert_refused(done, "the server cannot be reached", password)
    assert "connection refused" in done.stderr.lower()


async def test_a_database_that_does_not_exist(tmp_path: Path, postgres_admin_url: str) -> None:
    name = f"bot_test_missing_{uuid.uuid4().hex[:8]}"
    url = postgres_server.with_database(postgres_admin_url, name)
    done = run_cli(tmp_path, url, "invites", "list")
    assert_refused(done, "the database does not exist", password_of(postgres_admin_url))
    assert name in done.stderr  # which database, so the fix is obvious


async def test_a_user_without_connect(
    tmp_path: Path, postgres_admin_url: str, pg_url: str, roles: list[Role]
) -> None:
    role = await new_role(postgres_admin_url, roles)
    await admin_exec(pg_url, f'REVOKE CONNECT ON DATABASE "{database_name(pg_url)}" FROM PUBLIC')
    done = run_cli(tmp_path, with_user(pg_url, role.name, role.password), "ask", "xin chào")
    assert_refused(done, "may not connect to this database", role.password)
    assert f"postgresql://{role.name}:***@" in done.stderr


async def test_a_user_without_create_on_a_fresh_database(
    tmp_path: Path, postgres_admin_url: str, empty_url: str, roles: list[Role]
) -> None:
    role = await new_role(postgres_admin_url, roles)
    # PostgreSQL 15+ no longer lets PUBLIC create in schema public; older servers still do.
    await admin_exec(empty_url, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    done = run_cli(tmp_path, with_user(empty_url, role.name, role.password), "ask", "xin chào")
    assert_refused(done, "may not change the schema", role.password)
    assert "CREATE ON SCHEMA public" in done.stderr  # what to grant, spelled out
    # Nothing was half made.
    con = await asyncpg.connect(empty_url)
    try:
        assert await con.fetchval("SELECT to_regclass('schema_version')") is None
    finally:
        await con.close()


async def test_a_user_without_create_runs_on_a_migrated_database(
    tmp_path: Path, postgres_admin_url: str, pg_url: str, roles: list[Role]
) -> None:
    """The owner migrated; a worker's role that may only read and write rows starts (no
    statement that changes the schema runs when none is pending)."""
    role = await new_role(postgres_admin_url, roles)
    await admin_exec(
        pg_url,
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role.name}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role.name}"',
    )
    done = run_cli(tmp_path, with_user(pg_url, role.name, role.password), "ask", "cứu tôi với")
    assert done.returncode == 0, done.stderr
    assert "113" in done.stdout
    assert role.password not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:{pw}@127.0.0.1:notaport/postgres",
        "postgresql://postgres:{pw}@[::1/postgres",
        "postgresql://postgres:{pw}@127.0.0.1:5432/postgres?sslmode=sometimes",
    ],
    ids=["port", "bracket", "option"],
)
async def test_a_malformed_url(tmp_path: Path, url: str) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    done = run_cli(tmp_path, url.format(pw=password), "ask", "xin chào")
    assert_refused(done, "not a valid PostgreSQL URL", password)


# --- migrations: workers starting together ------------------------------------------------------

MIGRATE = """
import asyncio, sys
from bot.storage import Store

async def main() -> None:
    store = await Store.open(sys.argv[1])
    print(await store.migrate(), flush=True)
    await store.close()

asyncio.run(main())
"""


async def waiting_for_advisory_locks(admin: asyncpg.Connection, name: str) -> int:
    """How many sessions on database `name` wait for an advisory lock."""
    count: int = await admin.fetchval(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1",
        name,
    )
    return count


async def test_two_processes_migrate_a_fresh_database_once(empty_url: str) -> None:
    latest = migrations("migrations_pg")[-1][0]
    # Hold the migration lock until both processes wait for it: they start on an empty
    # database at the same moment, whatever the machine's speed.
    holder = await asyncpg.connect(empty_url)
    procs: list[asyncio.subprocess.Process] = []
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", pg.MIGRATION_LOCK)
        pipe = asyncio.subprocess.PIPE
        for _ in range(2):
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-c", MIGRATE, empty_url, cwd=ROOT, stdout=pipe, stderr=pipe
                )
            )
        deadline = time.monotonic() + 60
        while await waiting_for_advisory_locks(holder, database_name(empty_url)) < 2:
            assert all(p.returncode is None for p in procs), "a worker ended before migrating"
            assert time.monotonic() < deadline, "the workers never reached the migration lock"
            await asyncio.sleep(0.05)
        assert await holder.fetchval("SELECT to_regclass('schema_version')") is None
        await holder.execute("SELECT pg_advisory_unlock($1)", pg.MIGRATION_LOCK)
        outputs = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await holder.close()
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err.decode()
        assert out.decode().split() == [str(latest)]
    con = await asyncpg.connect(empty_url)
    try:
        versions = [r[0] for r in await con.fetch("SELECT version FROM schema_version")]
    finally:
        await con.close()
    assert sorted(versions) == [number for number, _name, _sql in migrations("migrations_pg")]


async def test_two_stores_in_one_process_migrate_a_fresh_database_once(empty_url: str) -> None:
    first, second = await asyncio.gather(Store.open(empty_url), Store.open(empty_url))
    try:
        rows = await first.fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == [n for n, _name, _sql in migrations("migrations_pg")]
        await first.set_language("console:1", "vi", NOW)
        assert (await second.get_user("console:1")) is not None
    finally:
        await first.close()
        await second.close()


# --- a server that goes away mid-run ------------------------------------------------------------


class OwnServer:
    """A PostgreSQL server of this test alone (the session's keeps serving the others), which
    the test stops and starts again on the same port."""

    def __init__(self) -> None:
        try:
            self.server = postgres_server._start_embedded()
        except postgres_server._Unavailable as exc:
            if os.environ.get("CI") == "true":
                pytest.fail(f"a second PostgreSQL server is needed under CI=true: {exc}")
            pytest.skip(f"no second PostgreSQL server: {exc}")
        self.url = self.server.url

    def stop(self) -> None:
        """A fast shutdown: the server ends every session and stops listening."""
        self.server.postmaster.send_signal(signal.SIGINT)
        self.server.postmaster.wait(30)

    def start(self) -> None:
        """Start the stopped server again, on the same data and port."""
        tmp = self.server.tmp
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        run_as = postgres_server._unprivileged(tmp) if root else postgres_server._RunAs()
        with (tmp / "postgres.log").open("ab") as log:
            postmaster = subprocess.Popen(
                self.server.postmaster.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=postgres_server._server_env(),
                cwd=tmp,
                start_new_session=True,
                user=run_as.user,
                group=run_as.group,
                extra_groups=run_as.extra_groups,
            )
        # Stopped at the end of the session (or of the test) like the first one.
        self.server.postmaster = postmaster
        assert postgres_server._wait_ready(postmaster, tmp / "data"), "postgres did not restart"

    def close(self) -> None:
        """Stop the server for good and remove its files."""
        postgres_server._stop(self.server)


@pytest.fixture
def own_server(postgres_admin_url: str) -> Iterator[OwnServer]:
    server = OwnServer()
    try:
        yield server
    finally:
        server.close()


async def test_a_server_gone_mid_run_costs_no_emergency_answer(
    own_server: OwnServer, content: Content, clock: FakeClock
) -> None:
    url = await postgres_server.fresh_database(own_server.url)
    store = await Store.open(url)
    try:
        engine = make_engine(store, url, content, clock)
        await say(engine, "/start", user="301")
        own_server.stop()

        # Where a caller must know, it learns through StorageError, never a driver exception.
        with pytest.raises(StorageError) as failed:
            await timed(store.set_language("console:301", "en", clock.now()))
        assert not isinstance(failed.value, Unwritable)  # the server was asked, and failed
        with pytest.raises(StorageError):
            await timed(store.write("DELETE FROM menus", best_effort=True))
        with pytest.raises(StorageError):
            await timed(store.get_user("console:301"))
        with pytest.raises(StorageError):
            await timed(store.counters())
        with pytest.raises(StorageError):
            async with store.transaction(durable=True) as tx:
                await tx.execute("DELETE FROM menus")

        # A citizen in danger is answered all the same, in time, on every channel.
        for channel in ("console", "telegram"):
            for text in (CRY, "cuu toi voi, chong dang danh toi"):
                replies, took = await timed(say(engine, text, user="301", channel=channel))
                assert_emergency(replies)
                assert took < EMERGENCY_DEADLINE, f"emergency answered after {took:.2f} s"

        # The server comes back: the same store writes again, nothing reopened.
        own_server.start()
        await store.set_language("console:301", "en", clock.now())
        user = await store.get_user("console:301")
        assert user is not None and user.lang == "en"
    finally:
        await store.close()


async def terminate_sessions(admin_url: str, url: str) -> int:
    """End every session on `url`'s database from the server side; how many there were."""
    admin = await asyncpg.connect(admin_url)
    try:
        ended = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database_name(url),
        )
        deadline = time.monotonic() + 10
        while await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database_name(url)
        ):
            assert time.monotonic() < deadline, "the sessions did not end"
            await asyncio.sleep(0.02)
        return len(ended)
    finally:
        await admin.close()


async def test_the_pool_reconnects_after_its_sessions_are_terminated(
    postgres_admin_url: str, pg_url: str, content: Content, clock: FakeClock
) -> None:
    store = await Store.open(pg_url)
    try:
        engine = make_engine(store, pg_url, content, clock)
        await say(engine, "/start", user="302")
        # Idle when the server ends them (as after a restart or a fail-over): the next
        # write and read work, the pool having replaced its dead connections by itself.
        assert await terminate_sessions(postgres_admin_url, pg_url) >= 1
        await store.set_language("console:302", "en", clock.now())
        user = await store.get_user("console:302")
        assert user is not None and user.lang == "en"
        replies, took = await timed(say(engine, CRY, user="302"))
        assert "113" in all_text(replies) and took < EMERGENCY_DEADLINE
    finally:
        await store.close()


async def test_a_statement_racing_the_end_of_its_session_fails_as_storage_error(
    postgres_admin_url: str, pg_url: str, clock: FakeClock
) -> None:
    """Sent while the server's "terminating connection" is still on its way in, a statement
    fails as StorageError (a connection lost mid-statement, or asyncpg's protocol refusing
    the statement), and the pool has replaced the connection a few statements later."""
    store = await Store.open(pg_url)
    admin = await asyncpg.connect(postgres_admin_url)
    failures: list[type[BaseException]] = []
    try:
        for n in range(30):
            await store.set_language("console:306", "vi", clock.now())
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database_name(pg_url),
            )
            for _attempt in range(pg.POOL_SIZE + 1):
                try:
                    await store.set_language("console:306", f"l{n}", clock.now())
                    break
                except StorageError as exc:
                    assert exc.__cause__ is not None
                    failures.append(type(exc.__cause__))
            else:
                pytest.fail("the pool did not replace its dead connections")
            user = await store.get_user("console:306")
            assert user is not None and user.lang == f"l{n}"
    finally:
        await admin.close()
        await store.close()
    assert failures, "no statement raced the end of its session: the test proves nothing"


# --- locks held by another connection -----------------------------------------------------------


async def test_a_statement_blocked_on_a_row_lock_fails_after_the_lock_timeout(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg, "LOCK_TIMEOUT", "300ms")
    store = await Store.open(pg_url)
    other = await asyncpg.connect(pg_url)
    try:
        await store.set_language("console:303", "vi", clock.now())
        async with other.transaction():
            await other.execute("SELECT 1 FROM users WHERE address = 'console:303' FOR UPDATE")
            with pytest.raises(StorageError) as failed:
                await timed(store.set_language("console:303", "en", clock.now()))
            assert isinstance(failed.value.__cause__, asyncpg.LockNotAvailableError)
            # Reads are not blocked by a row lock.
            user = await store.get_user("console:303")
            assert user is not None and user.lang == "vi"
        # The lock is gone: the same write goes through.
        await store.set_language("console:303", "en", clock.now())
        user = await store.get_user("console:303")
        assert user is not None and user.lang == "en"
    finally:
        await other.close()
        await store.close()


async def test_a_wait_for_a_lock_ends_after_the_lock_timeout_not_before(
    pg_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg, "LOCK_TIMEOUT", "1s")
    store = await Store.open(pg_url)
    other = await asyncpg.connect(pg_url)
    try:
        await store.set_language("console:304", "vi", clock.now())
        async with other.transaction():
            await other.execute("SELECT 1 FROM users WHERE address = 'console:304' FOR UPDATE")
            start = time.monotonic()
            with pytest.raises(StorageError):
                await asyncio.wait_for(store.set_language("console:304", "en", clock.now()), 10)
            took = time.monotonic() - start
        assert 0.9 <= took < 5, f"gave up after {took:.2f} s"
    finally:
        await other.close()
        await store.close()


async def test_many_emergencies_while_another_connection_locks_every_table(
    pg_url: str, content: Content, clock: FakeClock
) -> None:
    store = await Store.open(pg_url)
    try:
        engine = make_engine(store, pg_url, content, clock)
        await say(engine, "/start", user="305")
        con = await asyncpg.connect(pg_url)
        try:
            async with con.transaction():
                tables = await con.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
                names = ", ".join(f'"{row[0]}"' for row in tables)
                await con.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
                # More senders at once than the pool has connections, each of whose
                # bookkeeping waits for the lock.
                cries = [say(engine, CRY, user=str(700 + i)) for i in range(30)]
                answers, took = await timed(asyncio.gather(*cries))
                assert all("113" in all_text(replies) for replies in answers)
                assert took < EMERGENCY_DEADLINE, f"30 emergencies answered after {took:.2f} s"
                replies, took = await timed(say(engine, "binh dang gioi la gi", user="305"))
                assert "Nguồn" in all_text(replies) and took < EMERGENCY_DEADLINE
        finally:
            await con.close()
    finally:
        await store.close()


async def test_a_confirmation_on_a_locked_database_keeps_the_draft(
    pg_url: str, content: Content, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg, "LOCK_TIMEOUT", "500ms")
    store = await Store.open(pg_url)
    try:
        engine = make_engine(store, pg_url, content, clock)
        await officer(engine, store, clock, "502", "that-khe")
        data = confirm_data(
            await say(engine, "BC N tt=3 nd=120 nu=70", user="502", channel="telegram")
        )
        con = await asyncpg.connect(pg_url)
        try:
            async with con.transaction():
                await con.execute("LOCK TABLE reports IN EXCLUSIVE MODE")
                replies, took = await timed(
                    say(engine, button=data, user="502", channel="telegram")
                )
                assert took < 5.0
                text = all_text(replies)
                assert "Chưa lưu được" in text or "Not saved" in text, text
        finally:
            await con.close()
        saved = await say(engine, button=data, user="502", channel="telegram")
        assert "phiên bản 1" in all_text(saved)
    finally:
        await store.close()
