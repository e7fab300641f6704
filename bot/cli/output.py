"""What every command does the same way: errors, files written whole, the database check."""

from __future__ import annotations

import os
import sys
from datetime import datetime, tzinfo
from pathlib import Path

from bot.reporting.periods import zone_label
from bot.settings import Settings

__all__ = ["fail", "local_time", "missing_database", "write_atomically"]


def fail(message: str) -> int:
    """Print `message` on stderr; the exit code of a command that could not do its job."""
    print(message, file=sys.stderr)
    return 1


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` whole or not at all.

    Beside the target, then renamed: an interrupted run never leaves half a file under the
    name a script waits for, and a failed one leaves nothing behind.
    """
    partial = path.with_name(path.name + ".part")
    try:
        partial.write_bytes(content)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def missing_database(settings: Settings) -> str | None:
    """Why a read-only command cannot run: no database where BOT_DB points (None: there is)."""
    path = settings.db_path
    if settings.db_url or str(path) == ":memory:" or path.is_file():
        return None
    return (
        f"no database at {path.absolute()} (BOT_DB={os.environ.get('BOT_DB', '')!r}, "
        f"default data/bot.sqlite3 in the current folder): nothing was read or created. "
        "Run the command from the bot's folder or set BOT_DB to the bot's database."
    )


def local_time(at: datetime, tz: tzinfo) -> str:
    """'2026-11-28 09:00 UTC+7': a time for the command line, with its zone."""
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {zone_label(local)}"
