"""Storage: typed async functions over SQLite (WAL). SQL lives here and nowhere else.

One `Store` wraps one aiosqlite connection for writes, and a second, read-only one for reads
outside transactions: a write stuck on another process's lock never delays a read (WAL lets
them run side by side). Writes that belong together run in one `BEGIN IMMEDIATE`
transaction under a lock, so concurrent handlers never interleave them.

A storage fault never silences a reply: a locked database fails a statement after
`BUSY_TIMEOUT_MS` instead of hanging, the bookkeeping writes around an answer (de-duplication,
menus, counters, message ids) are best effort (`within`, `later`), and after a failed write
those are dropped for `UNWRITABLE_PAUSE` instead of queueing behind the lock.

Every moment is stored one way, in every table: REAL unix seconds (UTC), written by `_seconds`
and read back by `_moment` as an aware UTC datetime (whoever shows it converts it to the bot's
zone). Numbers compare and port plainly (double precision in PostgreSQL); a calendar date
(a counter's day, an unlock's last day) is a different thing and stays 'YYYY-MM-DD' text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

logger = logging.getLogger(__name__)

#: How long message ids are kept for /xoa (Telegram lets a bot delete for 48 h).
MESSAGE_ID_TTL = timedelta(hours=48)
#: How long processed update ids are remembered (re-deliveries come within minutes).
UPDATE_ID_TTL = timedelta(days=3)
#: How long one statement waits for another process's lock before failing. Short, because
#: one connection serves every chat: a statement stuck on a lock delays the reads queued
#: behind it (the citizen path needs an answer within 2 s even then).
BUSY_TIMEOUT_MS = 1000
#: How long a write waits for this process's other writers (each bounded) before failing.
LOCK_WAIT = 2.0
#: How long a confirmed report keeps retrying a locked database before giving up.
DURABLE_WAIT = 5.0
#: After a write failed (locked, full), best-effort writes are dropped for this long (s).
UNWRITABLE_PAUSE = 3.0
#: How long the answer waits for a look-up before going on without it (s).
LOOKUP_WAIT = 0.4
#: How long an event waits for the previous event's bookkeeping of the same sender (s).
SETTLE_WAIT = 0.3
#: How long `close` waits for background writes before dropping them (s).
CLOSE_WAIT = 2.0

#: What a locked, full or failing database raises.
StorageError = sqlite3.OperationalError

T = TypeVar("T")


class Unwritable(StorageError):
    """A best-effort write skipped because the database just failed a write."""


def _aware(at: datetime) -> datetime:
    """`at` itself, or a naive time taken as UTC (as the migration read old text without an
    offset), never as the machine's local time, which would depend on the host."""
    return at if at.utcoffset() is not None else at.replace(tzinfo=UTC)


def _seconds(at: datetime) -> float:
    """A moment as it is stored: unix seconds (UTC); a naive time is taken as UTC."""
    return _aware(at).timestamp()


def _moment(value: float) -> datetime:
    """A stored moment read back: an aware datetime in UTC (convert it to show it)."""
    return datetime.fromtimestamp(float(value), UTC)


def _moment_or_none(value: float | None) -> datetime | None:
    """`_moment`, for a column that may be NULL."""
    return None if value is None else _moment(value)


def migrations() -> list[tuple[int, str, str]]:
    """The migration scripts shipped with the package, in order: (version, name, sql)."""
    folder = resources.files("bot.storage") / "migrations"
    out = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(out)


class Database:
    """One SQLite database: a writer and a reader connection, transactions, migrations."""

    def __init__(self, db: aiosqlite.Connection, reader: aiosqlite.Connection | None = None):
        self._db = db
        self._reader = reader or db
        self._write_lock = asyncio.Lock()
        self.durable_wait = DURABLE_WAIT
        self.lookup_wait = LOOKUP_WAIT
        self.settle_wait = SETTLE_WAIT
        #: Loop time until which best-effort writes are skipped (a write just failed).
        self._unwritable_until = 0.0
        #: Background storage calls by key (an address, or "" for none), until they end.
        self._background: dict[str, set[asyncio.Task[Any]]] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        """Open (creating if needed) the database and bring its schema up to date."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await _connect(path)
        store = cls(db)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (kill -9) on every commit; the
            # writes that must also survive power loss (confirmed reports) ask for `durable`.
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await store.migrate()
            if str(path) != ":memory:":  # a second connection to ":memory:" is another db
                store._reader = await _connect(path)
                await store._reader.execute("PRAGMA query_only=ON")
        except BaseException:
            # Not a database, a full disk: each connection is a thread that would keep the
            # process alive after the error, so close what was opened.
            await store.close()
            raise
        return store

    async def close(self) -> None:
        """Let background writes finish (briefly), then close the connection."""
        tasks = {t for group in self._background.values() for t in group}
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=CLOSE_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._reader is not self._db:
            await self._reader.close()
        await self._db.close()

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; return the schema version."""
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for number, name, sql in migrations():
            if number <= version:
                continue
            logger.info("applying migration %s", name)
            async with self.transaction():
                # executescript would commit on its own; run statement by statement instead.
                for statement in _split_sql(sql):
                    await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version={number:d}")
            version = number
        return version

    # --- best effort ----------------------------------------------------------------------------

    def later(self, key: str, call: Coroutine[Any, Any, T], what: str) -> asyncio.Task[T]:
        """Run a storage call in the background; a failure is logged (WARNING) and dropped.

        `key` (the sender's address) lets `settle` wait for it before that sender's next event.
        """
        task = asyncio.ensure_future(call)
        group = self._background.setdefault(key, set())
        group.add(task)

        def finished(done: asyncio.Task[T]) -> None:
            group.discard(done)
            if not group and self._background.get(key) is group:
                del self._background[key]
            if done.cancelled() or (exc := done.exception()) is None:
                return
            # The error names the fault ("database is locked"), never a message's text.
            level = logging.DEBUG if isinstance(exc, Unwritable) else logging.WARNING
            logger.log(level, "storage: %s not done: %s", what, _describe(exc))

        task.add_done_callback(finished)
        return task

    async def within(
        self, call: Coroutine[Any, Any, T], default: T, what: str, key: str = ""
    ) -> T:
        """The result of a storage call, or `default` if it fails or takes over `lookup_wait`.

        A call that overruns is not cancelled mid-statement: it ends in the background, so a
        locked database never has more than one writer's statement waiting in its thread.
        """
        task = self.later(key, call, what)
        done, _pending = await asyncio.wait({task}, timeout=self.lookup_wait)
        if not done:
            logger.warning("storage: %s too slow, going on without it", what)
            return default
        if task.cancelled() or task.exception() is not None:
            return default  # logged by `later`
        return task.result()

    async def settle(self, key: str) -> None:
        """Wait (at most `settle_wait`) for the background calls under `key` to end."""
        tasks = self._background.get(key)
        if tasks:
            await asyncio.wait(set(tasks), timeout=self.settle_wait)

    def _writable(self, best_effort: bool) -> None:
        """Skip a best-effort write while the database is known to be failing writes."""
        if best_effort and asyncio.get_running_loop().time() < self._unwritable_until:
            raise Unwritable("database unwritable just now; write skipped")

    def _failed(self, exc: BaseException) -> None:
        """Note a failed write: best-effort writes are skipped for a while (logged once)."""
        if isinstance(exc, StorageError) and not isinstance(exc, Unwritable):
            now = asyncio.get_running_loop().time()
            if now >= self._unwritable_until:
                logger.warning(
                    "storage: a write failed (%s); menus, counters, message ids and "
                    "de-duplication are skipped for %.0f s",
                    _describe(exc),
                    UNWRITABLE_PAUSE,
                )
            self._unwritable_until = now + UNWRITABLE_PAUSE

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, durable: bool = False, best_effort: bool = False
    ) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one write transaction, serialised with every other writer.

        `durable=True` syncs the commit to disk before returning (power-loss safe); it costs
        an fsync, so only what a person confirmed asks for it. Such a transaction also waits
        for a locked database (up to `durable_wait`) where others fail after the busy timeout.
        Whatever fails, nothing of the block is kept (it is rolled back). A `best_effort`
        transaction is skipped (raising `Unwritable`) while writes are failing.
        """
        start = asyncio.get_running_loop().time()
        async with self._writer(self.durable_wait if durable else LOCK_WAIT):
            self._writable(best_effort)
            if durable:
                await self._db.execute("PRAGMA synchronous=FULL")
            try:
                await self._begin(start + self.durable_wait if durable else 0.0)
                try:
                    yield self._db
                    await self._db.execute("COMMIT")
                except BaseException as exc:
                    self._failed(exc)
                    await self._rollback()
                    if durable and isinstance(exc, StorageError):
                        logger.warning("storage: a confirmed write was not saved: %s",
                                       _describe(exc))  # fmt: skip
                    raise
            finally:
                if durable:
                    await self._db.execute("PRAGMA synchronous=NORMAL")

    @contextlib.asynccontextmanager
    async def _writer(self, wait: float) -> AsyncIterator[None]:
        """Hold the write lock; waiting for the other writers is bounded too (`wait` s)."""
        try:
            await asyncio.wait_for(self._write_lock.acquire(), wait)
        except TimeoutError:
            exc = StorageError("database is locked (still waiting for other writers)")
            self._failed(exc)
            raise exc from None
        try:
            yield
        finally:
            self._write_lock.release()

    async def _begin(self, deadline: float) -> None:
        """BEGIN IMMEDIATE, tried again on a locked database until the loop time `deadline`."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                return
            except StorageError as exc:
                self._failed(exc)
                # Each try already waited the busy timeout; the pause between tries lets
                # the rest of the writer connection's queue through.
                if not _is_busy(exc) or loop.time() + 0.2 >= deadline:
                    if deadline:
                        logger.warning("storage: a confirmed write was not saved: %s",
                                       _describe(exc))  # fmt: skip
                    raise
                await asyncio.sleep(0.2)

    async def _rollback(self) -> None:
        # SQLite rolls some failures (a full disk) back by itself; ROLLBACK would then fail.
        if self._db.in_transaction:
            try:
                await self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                logger.error("storage: rollback failed: %s", _describe(exc))

    async def write(
        self, sql: str, params: Sequence[Any] = (), *, best_effort: bool = False
    ) -> int:
        """Run ONE write statement atomically; return the number of rows it changed.

        A single statement is its own transaction in SQLite, so it needs no BEGIN/COMMIT:
        one trip to the database thread instead of three (this is the per-message hot path).
        A `best_effort` write is skipped (raising `Unwritable`) while writes are failing.
        """
        async with self._writer(LOCK_WAIT):
            self._writable(best_effort)
            try:
                cursor = await self._db.execute(sql, params)
            except BaseException as exc:
                self._failed(exc)
                raise
            return int(cursor.rowcount)

    async def file_path(self) -> Path | None:
        """The database file (None for an in-memory database)."""
        rows = await self.fetchall("PRAGMA database_list")
        main = next((str(r[2]) for r in rows if r[1] == "main"), "")
        return Path(main) if main else None

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """Run a read and return its first row."""
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Run a read and return all rows."""
        return list(await self._reader.execute_fetchall(sql, params))


async def _connect(path: Path | str) -> aiosqlite.Connection:
    db = await aiosqlite.connect(str(path), isolation_level=None)
    db.row_factory = aiosqlite.Row
    await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS:d}")
    return db


def _is_busy(exc: BaseException) -> bool:
    """Whether a failure is another connection's lock (worth waiting for), not a full disk."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _describe(exc: BaseException) -> str:
    """A failure in a few words for the log: SQLite's messages carry no parameter values."""
    return f"{type(exc).__name__}: {exc}"[:200]


def _split_sql(script: str) -> list[str]:
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
