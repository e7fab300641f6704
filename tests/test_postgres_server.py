"""The test session's PostgreSQL server: a fresh database answers, is shared by URL, is dropped."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.postgres_server import (
    DB_PREFIX,
    ENV_URL,
    drop_database,
    fresh_database,
    server_url,
    why_unavailable,
)


def admin_url_or_skip() -> str:
    """The server's admin URL; without one, CI fails (it must have one) and elsewhere skips."""
    url = server_url()
    if url is None:
        reason = f"no PostgreSQL server: {why_unavailable()}"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


async def test_fresh_database_answers_and_is_dropped() -> None:
    admin = admin_url_or_skip()
    url = await fresh_database(admin)
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith(DB_PREFIX)
    if not os.environ.get(ENV_URL):
        # A plain TCP URL with a password: what a second process or the bot is given.
        parts = urlsplit(url)
        assert parts.scheme == "postgresql"
        assert parts.hostname == "127.0.0.1"
        assert parts.port
        assert parts.username
        assert parts.password
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT current_database()") == name
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')"
        )
        assert tables == 0
    finally:
        await conn.close()
    await drop_database(url)
    admin_conn = await asyncpg.connect(admin)
    try:
        left = await admin_conn.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", name
        )
    finally:
        await admin_conn.close()
    assert left == 0


def test_another_process_reaches_the_database_by_url() -> None:
    admin = admin_url_or_skip()
    url = asyncio.run(fresh_database(admin))
    try:
        code = (
            "import asyncio, sys, asyncpg\n"
            "async def main():\n"
            "    conn = await asyncpg.connect(sys.argv[1])\n"
            "    print(await conn.fetchval('SELECT 40 + 2'))\n"
            "    await conn.close()\n"
            "asyncio.run(main())\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "42"
    finally:
        asyncio.run(drop_database(url))


async def test_drop_database_refuses_other_databases() -> None:
    with pytest.raises(ValueError, match="refusing"):
        await drop_database("postgresql://u:p@127.0.0.1:1/postgres")
