"""Database administration: `bdg-bot db copy --to postgresql://…` (wired into `bot.cli.main`).

`db copy` moves a SQLite deployment to PostgreSQL: it reads the SQLite file BOT_DB names,
creates the schema in the PostgreSQL database `--to` names, and copies every row in one
transaction, all or nothing. The target must be empty; BOT_DB must still name the SQLite file
(point it at the PostgreSQL URL afterwards). Stop the bot first: rows it writes during the
copy would not be copied. The password in a URL is never printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.cli.output import fail, missing_database
from bot.settings import Settings, redact_url
from bot.storage import StorageError, Store, is_server_url
from bot.storage.copy import CopyError, copy_database, skipped_tables

__all__ = ["COMMANDS", "add_subcommands", "cmd_db"]


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `db copy` to the `bdg-bot` parser."""
    db = sub.add_parser("db", help="database administration: move SQLite to PostgreSQL")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    copy = db_sub.add_parser(
        "copy",
        help="copy every row of BOT_DB's SQLite file into an empty PostgreSQL database, "
        "all or nothing (stop the bot first)",
    )
    copy.add_argument(
        "--to",
        required=True,
        metavar="postgresql://USER:PASSWORD@HOST/DB",
        help="the empty PostgreSQL database to fill (its schema is created)",
    )
    db_sub.add_parser(
        "new-inbox-key",
        help="print a new BOT_INBOX_KEY (the same for every worker of one deployment)",
    )


async def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    """Run a `db` subcommand."""
    if args.db_command == "new-inbox-key":
        from bot.channels.inbox import new_inbox_key

        print(new_inbox_key())
        return 0
    return await cmd_copy(settings, str(args.to))


async def cmd_copy(settings: Settings, target: str) -> int:
    """Copy the SQLite database into the PostgreSQL one at `target`; print rows per table."""
    label = redact_url(target)
    if settings.db_url:
        return fail(
            f"BOT_DB is already a PostgreSQL database ({settings.database_label}): "
            "db copy reads the SQLite file; set BOT_DB to it and run again"
        )
    if not is_server_url(target):
        return fail(f"--to must be a postgresql:// URL, got {label!r}")
    if str(settings.db_path) == ":memory:":
        return fail("BOT_DB is an in-memory database: there is nothing to copy")
    if missing := missing_database(settings):
        return fail(missing)
    try:
        source = await Store.open(settings.db_path)
    except StorageError as exc:
        return fail(f"cannot read {settings.db_path}: {_hide(exc, target)}; nothing was copied")
    try:
        skipped = await skipped_tables(source)
        counts = await copy_database(source, target)
    except CopyError as exc:
        return fail(f"copy refused: {_hide(exc, target)}; nothing was copied")
    except StorageError as exc:
        return fail(f"copy to {label} failed: {_hide(exc, target)}; nothing was copied")
    except Exception as exc:  # whatever it was, the transaction was rolled back: say so
        return fail(
            f"copy to {label} failed ({type(exc).__name__}): {_hide(exc, target)}; "
            "nothing was copied"
        )
    finally:
        await source.close()
    width = max((len(t) for t in counts), default=5)
    print(f"Copied {settings.db_path} to {label}:")
    for table, rows in sorted(counts.items()):
        print(f"  {table:<{width}}  {rows:>8}")
    total = sum(counts.values())
    print(f"  {'total':<{width}}  {total:>8} rows in {len(counts)} tables")
    if skipped:
        left = ", ".join(f"{t} ({n} rows)" for t, n in skipped.items())
        print(f"Not copied (state of the running processes, not of the deployment): {left}")
    print("Point BOT_DB at the PostgreSQL URL to run the bot on it.")
    return 0


def _hide(exc: BaseException, url: str) -> str:
    """The first line of an error (a driver's DETAIL line may quote row values), without the
    URL's password however it may have been spelled."""
    text = (str(exc).splitlines() or [""])[0]
    text = text.replace(url, redact_url(url))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        for spelling in {password, unquote(password)}:
            text = text.replace(spelling, "***")
    return text


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "db": cmd_db,
}
