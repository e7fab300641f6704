"""Shared fixtures: a database, the shipped content, a clock that stands still.

Every test that takes `settings`, `store`, `engine` or `database` runs twice: on a SQLite file
and on a fresh PostgreSQL database (a copy of one migrated once per session, on the server
`tests/postgres_server.py` starts or BOT_TEST_POSTGRES_URL names). A test about SQLite itself
is marked `sqlite_only`. Without a PostgreSQL server the PostgreSQL runs are skipped, except
under CI=true, where that fails the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import AsyncIterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_engine
from bot.clock import FakeClock
from bot.content import Content, load_content
from bot.core.engine import Engine
from bot.messages import Incoming, Location, Reply
from bot.settings import Secret, Settings
from bot.storage import Store
from tests import postgres_server

ADMIN = "telegram:9001"


@cache
def shipped_content() -> Content:
    """The content in content/, loaded once per test session."""
    return load_content()


@pytest.fixture
def content() -> Content:
    return shipped_content()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 28, 9, 0))


BACKENDS = ("sqlite", "postgresql")
#: The database every PostgreSQL test database is copied from (migrated once per session).
TEMPLATE = "bot_test_template"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses the database once per backend."""
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        metafunc.parametrize("backend", ["sqlite"] if only else list(BACKENDS))


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The test PostgreSQL server's admin URL, with the migrated template database made."""
    url = postgres_server.server_url()
    if url is None:
        why = postgres_server.why_unavailable()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed under CI=true and is unavailable: {why}")
        pytest.skip(f"no PostgreSQL server: {why}")

    async def make_template() -> None:
        import asyncpg

        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
            await admin.execute(
                f"CREATE DATABASE \"{TEMPLATE}\" TEMPLATE template0 ENCODING 'UTF8'"
            )
        finally:
            await admin.close()
        store = await Store.open(postgres_server.with_database(url, TEMPLATE))
        await store.close()

    # In a thread of its own: the fixture may be first asked for inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, make_template()).result()
    return url


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.sqlite3"


@pytest.fixture
async def database(
    backend: str, db_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Path | str]:
    """This test's database: the SQLite file `db_path`, or a fresh PostgreSQL database URL."""
    if backend == "sqlite":
        yield db_path
        return
    admin: str = request.getfixturevalue("postgres_admin_url")
    url = await postgres_server.fresh_database(admin, template=TEMPLATE)
    yield url
    await postgres_server.drop_database(url)


async def stored_bytes(database: Path | str) -> bytes:
    """Everything the database holds, to search for text that must never be stored: a SQLite
    file's bytes (with its WAL), or every row of every table of a PostgreSQL database."""
    if not isinstance(database, str):
        return b"".join(
            Path(str(database) + suffix).read_bytes()
            for suffix in ("", "-wal", "-shm")
            if Path(str(database) + suffix).exists()
        )
    import asyncpg

    con = await asyncpg.connect(database)
    try:
        tables = await con.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows = [await con.fetch(f'SELECT t::text FROM "{t[0]}" t') for t in tables]
    finally:
        await con.close()
    return "\n".join(str(r[0]) for table in rows for r in table).encode()


def db_settings(database: Path | str) -> dict[str, Any]:
    """The Settings fields that select `database` (a SQLite file or a PostgreSQL URL)."""
    if isinstance(database, str):
        return {"db_url": Secret(database)}
    return {"db_path": database}


@pytest.fixture
def settings(db_path: Path, database: Path | str) -> Settings:
    url = database if isinstance(database, str) else ""
    return Settings(
        db_path=db_path, db_url=Secret(url), admins=frozenset({ADMIN, "console:admin"})
    )


@pytest.fixture
async def store(database: Path | str) -> AsyncIterator[Store]:
    s = await Store.open(database)
    yield s
    await s.close()


@pytest.fixture
async def engine(settings: Settings, store: Store, content: Content, clock: FakeClock) -> Engine:
    return build_engine(settings, store, content, clock)


async def say(
    engine: Engine,
    text: str | None = None,
    *,
    user: str = "100",
    channel: str = "console",
    button: str | None = None,
    location: tuple[float, float] | None = None,
    lang: str | None = "vi",
    message_id: int | None = None,
) -> list[Reply]:
    """Send one thing to the engine as a user and return the replies."""
    inc = Incoming(
        channel,  # type: ignore[arg-type]
        user,
        text=text,
        button=button,
        location=Location(*location) if location else None,
        locale_hint=lang,
        message_id=message_id,
    )
    return await engine.handle(inc)


def all_text(replies: list[Reply]) -> str:
    """Every reply's text, joined."""
    return "\n".join(r.text for r in replies)


def button_data(replies: list[Reply]) -> list[str]:
    """Every button's data, in order."""
    return [b.data for r in replies for row in r.buttons for b in row]
