"""Storage: typed async functions over SQLite (WAL) or PostgreSQL. SQL lives here only.

`Database` is what the rest of the storage package builds on, whichever the backend:
transactions (`Tx`), single writes, reads, migrations, and the rules that keep a storage
fault from silencing a reply. The backends (`bot.storage.sqlite`, `bot.storage.postgres`)
hold the connections; the SQL the repositories write is SQLite's, with `?` or `:name`
parameters, and the PostgreSQL backend rewrites the few spellings that differ.

A storage fault never silences a reply: a locked database fails a statement after a short
wait instead of hanging, the bookkeeping writes around an answer (de-duplication, menus,
counters, message ids) are best effort (`within`, `later`), and after a failed write those
are dropped for `UNWRITABLE_PAUSE` instead of queueing behind the fault.

Every moment is stored one way, in every table: REAL unix seconds (UTC), written by `_seconds`
and read back by `_moment` as an aware UTC datetime (whoever shows it converts it to the bot's
zone). Numbers compare and port plainly (double precision in PostgreSQL); a calendar date
(a counter's day, an unlock's last day) is a different thing and stays 'YYYY-MM-DD' text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

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
#: How often a held role (`leadership`) checks that its connection still holds it (s).
LEADER_CHECK = 5.0

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any]


class StorageError(Exception):
    """The database cannot do it now: locked, full, unreachable (not a programming error)."""


class Unwritable(StorageError):
    """A best-effort write skipped because the database just failed a write."""


class Row(Protocol):
    """A result row: by column position or by name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: Any, /) -> Any: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...


class Tx(Protocol):
    """One open write transaction."""

    kind: str  # "sqlite" | "postgresql"

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement per row; the number of rows changed in all."""
        ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run a query; its first row."""
        ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query; all its rows."""
        ...

    async def lock(self, key: str) -> None:
        """Serialise with every other transaction that locks `key`, until this one ends.

        Needed where a read decides a write (a version number, a send slot): SQLite runs one
        writer at a time anyway, PostgreSQL runs them side by side unless told otherwise.
        """
        ...


class Backend(Protocol):
    """The connections of one database, behind `Database`."""

    kind: str  # "sqlite" | "postgresql"

    def transaction(
        self, *, durable: bool, wait: float, deadline: float, check: Callable[[], None]
    ) -> contextlib.AbstractAsyncContextManager[Tx]:
        """A write transaction: `wait` s for this process's other writers, retried on a
        locked database until the loop time `deadline` (0: no retry); `check` runs once the
        writer's turn has come, before BEGIN."""
        ...

    async def write(
        self, sql: str, params: Params, *, wait: float, check: Callable[[], None]
    ) -> int:
        """Run ONE write statement atomically; rows changed."""
        ...

    async def fetchone(self, sql: str, params: Params) -> Row | None:
        """A read outside any transaction: the first row."""
        ...

    async def fetchall(self, sql: str, params: Params) -> list[Row]:
        """A read outside any transaction: every row."""
        ...

    async def migrate(self) -> int:
        """Apply pending migrations (each in its own transaction); the schema version."""
        ...

    async def file_path(self) -> Path | None:
        """The database file (None for an in-memory or server database)."""
        ...

    async def opened(self) -> None:
        """Finish opening once the schema is up to date."""
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...


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


def migrations(folder_name: str = "migrations") -> list[tuple[int, str, str]]:
    """The migration scripts shipped with the package, in order: (version, name, sql).

    `migrations` holds SQLite's, `migrations_pg` PostgreSQL's (which starts at 0007).
    """
    folder = resources.files("bot.storage") / folder_name
    out = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(out)


def is_server_url(target: Path | str) -> bool:
    """Whether a BOT_DB value names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class Database:
    """One database, SQLite or PostgreSQL: transactions, reads, migrations, fault rules."""

    def __init__(self, backend: Backend):
        self._backend = backend
        self.kind = backend.kind
        self.durable_wait = DURABLE_WAIT
        self.lookup_wait = LOOKUP_WAIT
        self.settle_wait = SETTLE_WAIT
        #: Loop time until which best-effort writes are skipped (a write just failed).
        self._unwritable_until = 0.0
        #: Background storage calls by key (an address, or "" for none), until they end.
        self._background: dict[str, set[asyncio.Task[Any]]] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def _db(self) -> Any:
        """The SQLite writer connection (tests that break it on purpose reach for it)."""
        return getattr(self._backend, "connection", None)

    async def close(self) -> None:
        """Let background writes finish (briefly), then close the connections."""
        tasks = {t for group in self._background.values() for t in group}
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=CLOSE_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        await self._backend.close()

    async def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; return the schema version."""
        return await self._backend.migrate()

    async def opened(self) -> None:
        """Finish opening once the schema is up to date (the backend's second connection)."""
        await self._backend.opened()

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
            logger.log(level, "storage: %s not done: %s", what, describe(exc))

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
                    describe(exc),
                    UNWRITABLE_PAUSE,
                )
            self._unwritable_until = now + UNWRITABLE_PAUSE

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, durable: bool = False, best_effort: bool = False
    ) -> AsyncIterator[Tx]:
        """Run the block as one write transaction.

        `durable=True` syncs the commit to disk before returning (power-loss safe); it costs
        an fsync, so only what a person confirmed asks for it. Such a transaction also waits
        for a locked database (up to `durable_wait`) where others fail after the busy timeout.
        Whatever fails, nothing of the block is kept (it is rolled back). A `best_effort`
        transaction is skipped (raising `Unwritable`) while writes are failing.
        """
        start = asyncio.get_running_loop().time()
        try:
            async with self._backend.transaction(
                durable=durable,
                wait=self.durable_wait if durable else LOCK_WAIT,
                deadline=start + self.durable_wait if durable else 0.0,
                check=lambda: self._writable(best_effort),
            ) as tx:
                yield tx
        except BaseException as exc:
            self._failed(exc)
            if durable and isinstance(exc, StorageError):
                logger.warning("storage: a confirmed write was not saved: %s", describe(exc))
            raise

    async def write(self, sql: str, params: Params = (), *, best_effort: bool = False) -> int:
        """Run ONE write statement atomically; return the number of rows it changed.

        One statement is its own transaction: one trip to the database instead of three
        (this is the per-message hot path). A `best_effort` write is skipped (raising
        `Unwritable`) while writes are failing.
        """
        try:
            return await self._backend.write(
                sql, params, wait=LOCK_WAIT, check=lambda: self._writable(best_effort)
            )
        except BaseException as exc:
            self._failed(exc)
            raise

    async def file_path(self) -> Path | None:
        """The database file (None for an in-memory or server database)."""
        return await self._backend.file_path()

    @contextlib.asynccontextmanager
    async def exclusive(self, role: str, wait: float) -> AsyncIterator[bool]:
        """Hold `role` for the block, waiting up to `wait` s for the process that holds it;
        yields False when it is still held elsewhere then (the caller decides what to do).
        A SQLite database serves one process: always True."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            async with self.leadership(role) as held:
                if held is not None or loop.time() >= deadline:
                    yield held is not None
                    return
            await asyncio.sleep(0.05)

    @contextlib.asynccontextmanager
    async def leadership(self, role: str) -> AsyncIterator[asyncio.Event | None]:
        """Whether this process holds `role` among every process on this database: None when
        another does, else an event set if the role is lost (its connection broke).

        On PostgreSQL a session advisory lock (the server releases a dead process's); SQLite
        serves one process, which always holds it.
        """
        lock = getattr(self._backend, "session_lock", None)
        if lock is None:
            yield asyncio.Event()
            return
        key = int.from_bytes(hashlib.sha256(role.encode()).digest()[:8], "big", signed=True)
        async with lock(key, LEADER_CHECK) as lost:
            yield lost

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run a read and return its first row."""
        return await self._backend.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a read and return all rows."""
        return await self._backend.fetchall(sql, params)


def describe(exc: BaseException) -> str:
    """A failure in a few words for the log: the drivers' messages carry no parameter values."""
    return f"{type(exc).__name__}: {exc}"[:200]
