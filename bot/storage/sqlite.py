"""The SQLite backend: one writer connection, one read-only reader, WAL.

A write stuck on another process's lock never delays a read (WAL lets them run side by side).
Writes that belong together run in one `BEGIN IMMEDIATE` transaction under a lock, so this
process's concurrent handlers never interleave them; SQLite's own errors leave this module as
`StorageError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import aiosqlite

from bot.storage.database import (
    BUSY_TIMEOUT_MS,
    Params,
    Row,
    StorageError,
    describe,
    migrations,
)

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _as_storage_error() -> Iterator[None]:
    """SQLite's operational failures (locked, full, I/O) as the package's `StorageError`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StorageError(str(exc)) from exc


class SqliteTx:
    """A transaction on the writer connection."""

    kind = "sqlite"

    def __init__(self, con: aiosqlite.Connection) -> None:
        self._con = con

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        with _as_storage_error():
            cur = await self._con.execute(sql, params)
        return max(int(cur.rowcount), 0)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement per row; executemany sums the rows changed."""
        if not rows:
            return 0
        with _as_storage_error():
            cur = await self._con.executemany(sql, rows)
        return max(int(cur.rowcount), 0)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run a query; its first row."""
        with _as_storage_error():
            rows = await self._con.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query; all its rows."""
        with _as_storage_error():
            return list(await self._con.execute_fetchall(sql, params))

    async def lock(self, key: str) -> None:
        """Nothing to do: SQLite has one writer at a time (BEGIN IMMEDIATE)."""


class SqliteBackend:
    """A SQLite file (or ":memory:") behind `Database`."""

    kind = "sqlite"

    def __init__(self, path: Path | str, db: aiosqlite.Connection) -> None:
        self._path = path
        self.connection = db
        self._reader = db
        self._write_lock = asyncio.Lock()
        self._tx = SqliteTx(db)

    @classmethod
    async def connect(cls, path: Path | str) -> Self:
        """Open the writer connection (creating the file and its folder if needed)."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await _connect(path)
        backend = cls(path, db)
        try:
            with _as_storage_error():
                await db.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode survives a killed process (kill -9) on every commit; the
                # writes that must also survive power loss (confirmed reports) ask `durable`.
                await db.execute("PRAGMA synchronous=NORMAL")
                await db.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            await db.close()
            raise
        return backend

    async def opened(self) -> None:
        """Open the read-only reader once the schema is up to date."""
        if str(self._path) != ":memory:":  # a second connection to ":memory:" is another db
            self._reader = await _connect(self._path)
            await self._reader.execute("PRAGMA query_only=ON")

    async def close(self) -> None:
        """Close both connections."""
        if self._reader is not self.connection:
            await self._reader.close()
        await self.connection.close()

    async def migrate(self) -> int:
        """Apply pending migrations (PRAGMA user_version holds the version)."""
        async with self.connection.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for number, name, sql in migrations("migrations"):
            if number <= version:
                continue
            logger.info("applying migration %s", name)
            async with self.transaction(
                durable=False, wait=5.0, deadline=0.0, check=lambda: None
            ) as tx:
                # executescript would commit on its own; run statement by statement instead.
                for statement in split_sql(sql):
                    await tx.execute(statement)
                await tx.execute(f"PRAGMA user_version={number:d}")
            version = number
        return version

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, durable: bool, wait: float, deadline: float, check: Callable[[], None]
    ) -> AsyncIterator[SqliteTx]:
        """BEGIN IMMEDIATE ... COMMIT under this process's write lock."""
        db = self.connection
        async with self._writer(wait):
            check()
            with _as_storage_error():
                if durable:
                    await db.execute("PRAGMA synchronous=FULL")
                try:
                    await self._begin(deadline)
                    try:
                        yield self._tx
                        await db.execute("COMMIT")
                    except BaseException:
                        await self._rollback()
                        raise
                finally:
                    if durable:
                        await db.execute("PRAGMA synchronous=NORMAL")

    async def write(
        self, sql: str, params: Params, *, wait: float, check: Callable[[], None]
    ) -> int:
        """A single statement is its own transaction in SQLite: no BEGIN/COMMIT needed."""
        async with self._writer(wait):
            check()
            with _as_storage_error():
                cursor = await self.connection.execute(sql, params)
            return int(cursor.rowcount)

    async def fetchone(self, sql: str, params: Params) -> Row | None:
        """A read on the reader connection: the first row."""
        with _as_storage_error():
            rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params) -> list[Row]:
        """A read on the reader connection: every row."""
        with _as_storage_error():
            return list(await self._reader.execute_fetchall(sql, params))

    async def file_path(self) -> Path | None:
        """The database file (None for an in-memory database)."""
        rows = await self.fetchall("PRAGMA database_list", ())
        main = next((str(r[2]) for r in rows if r[1] == "main"), "")
        return Path(main) if main else None

    @contextlib.asynccontextmanager
    async def _writer(self, wait: float) -> AsyncIterator[None]:
        """Hold the write lock; waiting for the other writers is bounded too (`wait` s)."""
        try:
            await asyncio.wait_for(self._write_lock.acquire(), wait)
        except TimeoutError:
            raise StorageError("database is locked (still waiting for other writers)") from None
        try:
            yield
        finally:
            self._write_lock.release()

    async def _begin(self, deadline: float) -> None:
        """BEGIN IMMEDIATE, tried again on a locked database until the loop time `deadline`."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                # Each try already waited the busy timeout; the pause between tries lets
                # the rest of the writer connection's queue through.
                if not _is_busy(exc) or loop.time() + 0.2 >= deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _rollback(self) -> None:
        # SQLite rolls some failures (a full disk) back by itself; ROLLBACK would then fail.
        if self.connection.in_transaction:
            try:
                await self.connection.execute("ROLLBACK")
            except sqlite3.Error as exc:
                logger.error("storage: rollback failed: %s", describe(exc))


async def _connect(path: Path | str) -> aiosqlite.Connection:
    db = await aiosqlite.connect(str(path), isolation_level=None)
    db.row_factory = aiosqlite.Row
    await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS:d}")
    return db


def _is_busy(exc: BaseException) -> bool:
    """Whether a failure is another connection's lock (worth waiting for), not a full disk."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def split_sql(script: str) -> list[str]:
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
