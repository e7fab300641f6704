"""The PostgreSQL backend (asyncpg): a connection pool, the same repositories as SQLite.

The repositories write SQLite's SQL; `translate` rewrites what PostgreSQL spells otherwise,
once per statement text: `?` and `:name` parameters become `$1…`, `json_each(?)` becomes
`json_array_elements_text(?::json)` and `json_extract(col, '$.key')` becomes
`(col::json ->> 'key')`. Everything else the repositories use (ON CONFLICT, RETURNING,
COALESCE, CASE) is common to both.

Several processes may share one database: migrations run under an advisory lock, and the
repositories call `Tx.lock` where a read decides a write, which here is a transaction-scoped
advisory lock. Every commit is durable (synchronous_commit stays on).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from asyncio import Event
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self, cast

import asyncpg

from bot.storage.database import Params, Row, StorageError, describe, migrations

logger = logging.getLogger(__name__)

#: Connections per process: enough for a worker's concurrent chats, few enough that a
#: handful of workers stay well under PostgreSQL's default max_connections (100).
POOL_SIZE = 10
#: Connections writes may not take: writes waiting on another process's lock (each up to
#: LOCK_TIMEOUT) must not leave the reads an emergency answer needs without a connection.
READ_RESERVE = 3
#: How long a statement waits for a row or advisory lock held by another transaction.
LOCK_TIMEOUT = "5s"
#: The advisory lock key under which migrations run (any fixed number shared by the workers).
MIGRATION_LOCK = 0x62646762  # "bdgb"

#: Failures that mean "not now" (unreachable, overloaded, a lock not granted), as opposed to
#: a programming error, which is left to propagate as it is.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.TransactionRollbackError,
    asyncpg.LockNotAvailableError,
    asyncpg.QueryCanceledError,
    asyncpg.ReadOnlySQLTransactionError,
    # A statement sent while the server's "terminating connection" is being read: the
    # protocol refuses it ("cannot switch to state …"); the pool replaces that connection.
    asyncpg.InternalClientError,
)


@contextlib.contextmanager
def _as_storage_error() -> Iterator[None]:
    try:
        yield
    except _TRANSIENT as exc:
        raise StorageError(f"{type(exc).__name__}: {exc}") from exc


_JSON_EXTRACT = re.compile(r"json_extract\(\s*(\w+)\s*,\s*'\$\.(\w+)'\s*\)")
_JSON_EACH = re.compile(r"json_each\(\s*(\?|:\w+)\s*\)")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """SQLite-flavoured SQL as PostgreSQL takes it, and the names of its `:name` parameters
    in `$n` order (None when it uses `?`)."""
    sql = _JSON_EXTRACT.sub(r"(\1::json ->> '\2')", sql)
    sql = _JSON_EACH.sub(r"json_array_elements_text(\1::json)", sql)
    out: list[str] = []
    names: list[str] = []
    numbered = 0
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":  # a literal or a quoted name: copied as it is
            end = i + 1
            while end < n:
                if sql[end] == c:
                    if end + 1 < n and sql[end + 1] == c:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif c == "?":
            numbered += 1
            out.append(f"${numbered}")
            i += 1
        elif c == ":" and i + 1 < n and sql[i + 1] == ":":  # a cast
            out.append("::")
            i += 2
        elif c == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            name = sql[i + 1 : end]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = end
        else:
            out.append(c)
            i += 1
    if names and numbered:
        raise ValueError("a statement mixes ? and :name parameters")
    return "".join(out), (tuple(names) if names else None)


def _args(names: tuple[str, ...] | None, params: Params) -> list[Any]:
    if names is None:
        return list(cast(Sequence[Any], params))
    values = cast(Mapping[str, Any], params)
    return [values[name] for name in names]


def _count(status: str) -> int:
    """The rows a statement changed, from asyncpg's status ('UPDATE 3', 'INSERT 0 1')."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTx:
    """A transaction on one pooled connection."""

    kind = "postgresql"

    def __init__(self, con: asyncpg.Connection) -> None:
        self._con = con

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        text, names = translate(sql)
        with _as_storage_error():
            return _count(await self._con.execute(text, *_args(names, params)))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """One statement per row, counting the rows changed (asyncpg's executemany does not
        say, and `ON CONFLICT DO NOTHING` callers need to know how many were new)."""
        text, _names = translate(sql)
        changed = 0
        with _as_storage_error():
            for row in rows:
                changed += _count(await self._con.execute(text, *row))
        return changed

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run a query; its first row."""
        text, names = translate(sql)
        with _as_storage_error():
            return cast(Row | None, await self._con.fetchrow(text, *_args(names, params)))

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query; all its rows."""
        text, names = translate(sql)
        with _as_storage_error():
            return cast(list[Row], await self._con.fetch(text, *_args(names, params)))

    async def lock(self, key: str) -> None:
        """A transaction-scoped advisory lock on `key` (released at COMMIT or ROLLBACK)."""
        with _as_storage_error():
            await self._con.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)


class PostgresBackend:
    """A PostgreSQL database behind `Database`, shared by any number of processes."""

    kind = "postgresql"

    def __init__(self, url: str, pool: asyncpg.Pool, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self._pool = pool
        self._writers = asyncio.Semaphore(max(1, pool_size - READ_RESERVE))

    @classmethod
    async def connect(cls, url: str, *, pool_size: int = POOL_SIZE) -> Self:
        """Open a connection pool; a refused connection or a wrong password is a
        `StorageError` whose message never contains the password."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                timeout=10,
                server_settings={"lock_timeout": LOCK_TIMEOUT, "application_name": "bdg-bot"},
            )
        except ValueError as exc:  # a malformed URL (ClientConfigurationError is one too)
            raise StorageError(f"not a valid PostgreSQL URL ({type(exc).__name__})") from None
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(_connect_problem(exc)) from None
        assert pool is not None
        return cls(url, pool, pool_size)

    async def opened(self) -> None:
        """Nothing more to open."""

    async def close(self) -> None:
        """Close the pool (waiting briefly for connections in use)."""
        try:
            await self._pool.close()
        except TimeoutError:
            self._pool.terminate()

    async def migrate(self) -> int:
        """Apply pending migrations under an advisory lock, so starting workers never race."""
        try:
            with _as_storage_error():
                async with self._pool.acquire() as con:
                    await con.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                    try:
                        return await _migrate(con)
                    finally:
                        await con.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        except asyncpg.InsufficientPrivilegeError as exc:
            raise StorageError(
                f"the database user may not change the schema ({exc}); run the first start "
                "(and each upgrade) as the database owner, or grant the user CREATE ON SCHEMA "
                "public"
            ) from None

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, durable: bool, wait: float, deadline: float, check: Callable[[], None]
    ) -> AsyncIterator[PostgresTx]:
        """BEGIN ... COMMIT on a pooled connection (every commit is synced: `durable` is the
        default here)."""
        with _as_storage_error():
            async with self._writer(wait), self._pool.acquire(timeout=wait) as con:
                check()
                async with con.transaction():
                    yield PostgresTx(con)

    async def write(
        self, sql: str, params: Params, *, wait: float, check: Callable[[], None]
    ) -> int:
        """One statement in its own (implicit) transaction."""
        text, names = translate(sql)
        with _as_storage_error():
            async with self._writer(wait), self._pool.acquire(timeout=wait) as con:
                check()
                return _count(await con.execute(text, *_args(names, params)))

    @contextlib.asynccontextmanager
    async def _writer(self, wait: float) -> AsyncIterator[None]:
        """A writer's turn among this process's writers (TimeoutError after `wait` s)."""
        async with asyncio.timeout(wait):
            await self._writers.acquire()
        try:
            yield
        finally:
            self._writers.release()

    async def fetchone(self, sql: str, params: Params) -> Row | None:
        """A read on any pooled connection: the first row."""
        text, names = translate(sql)
        with _as_storage_error():
            async with self._pool.acquire(timeout=10) as con:
                return cast(Row | None, await con.fetchrow(text, *_args(names, params)))

    async def fetchall(self, sql: str, params: Params) -> list[Row]:
        """A read on any pooled connection: every row."""
        text, names = translate(sql)
        with _as_storage_error():
            async with self._pool.acquire(timeout=10) as con:
                return cast(list[Row], await con.fetch(text, *_args(names, params)))

    async def file_path(self) -> Path | None:
        """A server database has no file."""
        return None

    @contextlib.asynccontextmanager
    async def session_lock(self, key: int, check_every: float) -> AsyncIterator[Event | None]:
        """Try a session-level advisory lock on a connection kept for it. Yields None when
        another process holds it, else an event set if the connection (and so the lock) is
        lost. The server drops a dead client's session, and its locks, by itself.

        A database that cannot be reached just now counts as "held elsewhere" (logged): the
        caller asks again later, and a passing outage never stops the process.
        """
        try:
            con = await self._pool.acquire(timeout=10)
        except (*_TRANSIENT, asyncpg.PostgresError) as exc:
            logger.warning("storage: a role lock cannot be asked for now (%s)", describe(exc))
            yield None
            return
        try:
            try:
                held = bool(await con.fetchval("SELECT pg_try_advisory_lock($1)", key))
            except (*_TRANSIENT, asyncpg.PostgresError) as exc:
                logger.warning("storage: a role lock cannot be asked for now (%s)", describe(exc))
                held = False
            if not held:
                yield None
                return
            lost = Event()

            async def watch() -> None:
                while True:
                    await asyncio.sleep(check_every)
                    try:
                        await asyncio.wait_for(con.fetchval("SELECT 1"), check_every)
                    except (*_TRANSIENT, asyncpg.PostgresError):
                        lost.set()
                        return

            watcher = asyncio.create_task(watch())
            try:
                yield lost
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                if not lost.is_set():
                    with contextlib.suppress(*_TRANSIENT, asyncpg.PostgresError):
                        await con.execute("SELECT pg_advisory_unlock($1)", key)
        finally:
            with contextlib.suppress(*_TRANSIENT, asyncpg.PostgresError):
                await self._pool.release(con)


async def _migrate(con: asyncpg.Connection) -> int:
    # CREATE TABLE IF NOT EXISTS needs CREATE on the schema even when the table is there:
    # a role that may only read and write rows must start on a database already migrated.
    if await con.fetchval("SELECT to_regclass('schema_version')") is None:
        await con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    version = int(await con.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
    for number, name, sql in migrations("migrations_pg"):
        if number <= version:
            continue
        logger.info("applying migration %s", name)
        async with con.transaction():
            await con.execute(sql)  # no arguments: the simple protocol runs the whole script
            await con.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
        version = number
    return version


def _connect_problem(exc: BaseException) -> str:
    """Why a connection failed, in a line that never contains the password."""
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return "the server refused the user name or password"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "the database does not exist on the server (create it first: createdb …)"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return "the user may not connect to this database"
    if isinstance(exc, ConnectionRefusedError):
        return "the server cannot be reached (connection refused: is it running on that port?)"
    if isinstance(exc, OSError):
        return f"the server cannot be reached ({exc.strerror or type(exc).__name__})"
    if isinstance(exc, TimeoutError):
        return "the server did not answer within 10 s"
    return f"{type(exc).__name__}"
