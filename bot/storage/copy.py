"""Copy a SQLite deployment's rows into an empty PostgreSQL database, all or nothing.

`copy_database(source, url)` opens the target (which creates its schema), checks that every
table it will fill is empty, and copies each table of the source in ONE transaction on the
target: a failure anywhere leaves the target as it was. Tables and columns are read from both
databases rather than listed here, so a migration that adds a table is copied without a change
in this module; the few tables that hold only transient state are left out (`TRANSIENT`).

The source is read through its `Database` (the bot should be stopped: rows written after a
table was read are not copied). Values are converted to the type of the target column, and a
value PostgreSQL cannot take names its table and column, never the value itself (a token).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from bot.storage.backends import open_database
from bot.storage.database import Database, StorageError, Tx, is_server_url

__all__ = [
    "TRANSIENT",
    "CopyError",
    "NotEmpty",
    "copy_database",
    "copy_into",
    "skipped_tables",
]

#: Tables not copied: in-flight inbound payloads and worker heartbeats belong to the processes
#: running against one database; a new deployment starts without them.
TRANSIENT = frozenset({"inbox", "workers"})
#: Tables of the target that are bookkeeping of the target itself, never copied into.
_TARGET_OWN = frozenset({"schema_version"})
#: Source rows read per query (bounds memory on a large outbox).
PAGE_ROWS = 5000
#: Rows per INSERT statement, and the most parameters one statement may carry (asyncpg's
#: limit is 32767).
INSERT_ROWS = 500
MAX_PARAMS = 30000


class CopyError(Exception):
    """The copy cannot be done (nothing was copied); the message says why, without values."""


class NotEmpty(CopyError):
    """The target already holds rows: copying would mix two deployments."""

    def __init__(self, table: str) -> None:
        super().__init__(
            f"the target database is not empty (table {table} has rows): give an empty database"
        )
        self.table = table


async def copy_database(source: Database, target_url: str) -> dict[str, int]:
    """Open the PostgreSQL database at `target_url` and copy `source` into it (see copy_into)."""
    if not is_server_url(target_url):
        raise CopyError("the target must be a postgresql:// URL")
    target = await open_database(Database, target_url)
    try:
        return await copy_into(source, target)
    finally:
        await target.close()


async def copy_into(source: Database, target: Database) -> dict[str, int]:
    """Copy every table of the SQLite `source` into the empty PostgreSQL `target`.

    Returns the rows copied per table (every copied table, 0 for an empty one), in the order
    they were copied. One transaction: on any failure nothing stays in the target.
    """
    if source.kind != "sqlite" or target.kind != "postgresql":
        raise CopyError("copying goes from a SQLite database to a PostgreSQL one")
    source_tables = await _source_tables(source)
    target_columns = await _target_columns(target)
    missing = sorted(set(source_tables) - set(target_columns) - TRANSIENT)
    if missing:
        raise CopyError(
            f"the target has no table {', '.join(missing)}: it was made by another version "
            "of the bot"
        )
    tables = await _ordered(
        target, [t for t in source_tables if t in target_columns and t not in TRANSIENT]
    )
    sequences = await _sequences(target)
    counts: dict[str, int] = {}
    async with target.transaction() as tx:
        # No writer may slip a row in between the emptiness check and the copy (a bot started
        # against the target meanwhile waits, or fails after the lock timeout).
        if tables:
            await tx.execute(
                f"LOCK TABLE {', '.join(_quote(t) for t in tables)} IN EXCLUSIVE MODE"
            )
        for table in tables:
            if await tx.fetchone(f"SELECT 1 FROM {_quote(table)} LIMIT 1") is not None:
                raise NotEmpty(table)
        for table in tables:
            counts[table] = await _copy_table(
                source, tx, table, source_tables[table], target_columns[table]
            )
        # Last, because a sequence is not transactional: setval is not undone by a rollback.
        for table, column in sequences:
            if table in counts:
                await _move_sequence(source, tx, table, column)
    return counts


async def skipped_tables(source: Database) -> dict[str, int]:
    """The source's tables that a copy leaves out by design (`TRANSIENT`): their rows."""
    out: dict[str, int] = {}
    for table in sorted(t for t in await _source_tables(source) if t in TRANSIENT):
        row = await source.fetchone(f"SELECT count(*) FROM {_quote(table)}")
        out[table] = int(row[0]) if row else 0
    return out


async def _source_tables(source: Database) -> dict[str, tuple[list[str], bool]]:
    """Each SQLite table: its columns and whether it has a rowid (not WITHOUT ROWID)."""
    rows = await source.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    out: dict[str, tuple[list[str], bool]] = {}
    for row in rows:
        name, sql = str(row[0]), str(row[1] or "")
        info = await source.fetchall(f"PRAGMA table_info({_quote(name)})")
        has_rowid = "WITHOUT ROWID" not in " ".join(sql.upper().split())
        out[name] = ([str(r[1]) for r in info], has_rowid)
    return out


async def _target_columns(target: Database) -> dict[str, dict[str, str]]:
    """Each PostgreSQL table of the current schema: column name -> data type, in order."""
    rows = await target.fetchall(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
        "AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "ORDER BY c.table_name, c.ordinal_position"
    )
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        if str(row[0]) not in _TARGET_OWN:
            out.setdefault(str(row[0]), {})[str(row[1])] = str(row[2])
    return out


async def _ordered(target: Database, tables: list[str]) -> list[str]:
    """`tables` by name, each after the tables its foreign keys point to."""
    rows = await target.fetchall(
        "SELECT DISTINCT tc.table_name, ccu.table_name "
        "FROM information_schema.table_constraints tc "
        "JOIN information_schema.constraint_column_usage ccu "
        "ON ccu.constraint_schema = tc.constraint_schema "
        "AND ccu.constraint_name = tc.constraint_name "
        "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()"
    )
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for row in rows:
        child, parent = str(row[0]), str(row[1])
        if child in parents and parent in parents and parent != child:
            parents[child].add(parent)
    ordered: list[str] = []
    remaining = sorted(tables)
    while remaining:
        ready = [t for t in remaining if parents[t] <= set(ordered)]
        if not ready:  # a cycle: foreign keys would need deferring, which the schema avoids
            raise CopyError(f"foreign keys form a cycle among {', '.join(remaining)}")
        ordered.extend(ready)
        remaining = [t for t in remaining if t not in ready]
    return ordered


async def _sequences(target: Database) -> list[tuple[str, str]]:
    """(table, column) of every target column filled from a sequence (serial or identity)."""
    rows = await target.fetchall(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() "
        "AND (column_default LIKE 'nextval(%' OR is_identity = 'YES') "
        "ORDER BY table_name, column_name"
    )
    return [(str(r[0]), str(r[1])) for r in rows]


async def _copy_table(
    source: Database,
    tx: Tx,
    table: str,
    source_table: tuple[list[str], bool],
    target_types: dict[str, str],
) -> int:
    """Copy one table page by page; the rows copied (checked against the target's count)."""
    source_columns, has_rowid = source_table
    lost = [c for c in source_columns if c not in target_types]
    if lost:
        raise CopyError(
            f"the target's table {table} has no column {', '.join(lost)}: it was made by "
            "another version of the bot"
        )
    columns = list(source_columns)
    selected = [_quote(c) for c in columns]
    # SQLite's implicit rowid, made an explicit column in PostgreSQL (places: the order shown).
    if has_rowid and "rowid" in target_types and "rowid" not in columns:
        columns.append("rowid")
        selected.append("rowid")
    converters = [_converter(table, c, target_types[c]) for c in columns]
    per_statement = max(1, min(INSERT_ROWS, MAX_PARAMS // max(1, len(columns))))
    copied = 0
    async for page in _pages(source, table, selected, has_rowid):
        values = [[convert(row[i]) for i, convert in enumerate(converters)] for row in page]
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            try:
                copied += await tx.execute(_insert_sql(table, columns, len(chunk)), _flat(chunk))
            except StorageError:
                raise
            except Exception as exc:
                # The first line only: the driver's DETAIL line quotes the row's values.
                first = (str(exc).splitlines() or [""])[0]
                raise CopyError(
                    f"table {table}: PostgreSQL refused a row ({type(exc).__name__}: {first})"
                ) from exc
    row = await tx.fetchone(f"SELECT count(*) FROM {_quote(table)}")
    in_target = int(row[0]) if row else 0
    if in_target != copied:
        raise CopyError(f"table {table}: {copied} rows written but {in_target} found")
    return copied


async def _pages(
    source: Database, table: str, selected: list[str], has_rowid: bool
) -> AsyncIterator[list[list[Any]]]:
    """The source rows of `table` (the selected columns), a page at a time in rowid order."""
    columns = ", ".join(selected)
    if not has_rowid:
        rows = await source.fetchall(f"SELECT {columns} FROM {_quote(table)}")
        yield [[r[i] for i in range(len(r))] for r in rows]
        return
    after: int | None = None
    while True:
        rows = await source.fetchall(
            f"SELECT rowid, {columns} FROM {_quote(table)} "
            "WHERE (? IS NULL OR rowid > ?) ORDER BY rowid LIMIT ?",
            (after, after, PAGE_ROWS),
        )
        if not rows:
            return
        after = int(rows[-1][0])
        yield [[r[i] for i in range(1, len(r))] for r in rows]
        if len(rows) < PAGE_ROWS:
            return


def _insert_sql(table: str, columns: list[str], rows: int) -> str:
    one = "(" + ", ".join("?" for _ in columns) + ")"
    names = ", ".join(_quote(c) for c in columns)
    return f"INSERT INTO {_quote(table)} ({names}) VALUES " + ", ".join([one] * rows)


def _flat(rows: Sequence[Sequence[Any]]) -> list[Any]:
    return [value for row in rows for value in row]


async def _move_sequence(source: Database, tx: Tx, table: str, column: str) -> None:
    """Set the column's sequence past the copied ids, and past SQLite's AUTOINCREMENT counter
    (an id SQLite gave to a row deleted since is never given again)."""
    row = await tx.fetchone(f"SELECT max({_quote(column)}) FROM {_quote(table)}")
    highest = int(row[0]) if row and row[0] is not None else 0
    if column != "rowid" and await source.fetchone(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ):
        seq = await source.fetchone("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
        if seq is not None and seq[0] is not None:
            highest = max(highest, int(seq[0]))
    if highest > 0:
        await tx.execute(
            "SELECT setval(pg_get_serial_sequence(?, ?), ?)", (table, column, highest)
        )


def _converter(table: str, column: str, data_type: str) -> Callable[[Any], Any]:
    """A function giving a SQLite value the Python type the target column's driver takes.

    SQLite keeps whatever type a value was written with (type affinity only nudges it);
    PostgreSQL's driver wants one type per column. Whatever cannot be converted exactly is a
    `CopyError` naming the column, not the value.
    """

    def bad(value: Any) -> CopyError:
        return CopyError(
            f"table {table}, column {column}: a {type(value).__name__} value that a "
            f"{data_type} column cannot take"
        )

    def to_int(value: Any) -> Any:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        raise bad(value)

    def to_float(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise bad(value)

    def to_text(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise bad(value)

    if data_type in ("smallint", "integer", "bigint"):
        return to_int
    if data_type in ("double precision", "real", "numeric"):
        return to_float
    if data_type in ("text", "character varying", "character"):
        return to_text
    return lambda value: value


def _quote(name: str) -> str:
    """An identifier quoted the way both SQLite and PostgreSQL read it."""
    return '"' + name.replace('"', '""') + '"'
