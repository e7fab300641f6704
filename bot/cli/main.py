"""The command line: `bdg-bot` and `python -m bot` (DESIGN.md §3.1)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.app import open_runtime
from bot.cli.db import COMMANDS as DB_COMMANDS
from bot.cli.db import add_subcommands as add_db_subcommands
from bot.cli.proactive import COMMANDS as OUTBOX_COMMANDS
from bot.cli.proactive import add_subcommands as add_outbox_subcommands
from bot.cli.report import COMMANDS as REPORT_COMMANDS
from bot.cli.report import add_subcommands as add_report_subcommands
from bot.cli.reporting import COMMANDS as REPORTING_COMMANDS
from bot.cli.reporting import add_subcommands as add_reporting_subcommands
from bot.content import ContentError
from bot.i18n import CatalogError, check_catalogs, use_language
from bot.logging_filters import install, redact, remember_environment
from bot.messages import Incoming
from bot.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("bot")


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Request URLs carry the bot token: keep the HTTP libraries quiet below WARNING.
    # aiosqlite at DEBUG prints SQL parameters, which include Zalo tokens when they rotate.
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler", "aiohttp.access", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Levels are not enough (PTB logs an unparseable update at CRITICAL, a rejected token in
    # its exception): one filter on the root handlers masks secrets and drops update payloads.
    remember_environment(os.environ)
    install()


async def cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    """Chat in the terminal."""
    from bot.app import serve_console

    # The terminal is the chat window: only warnings may interrupt the conversation.
    logging.getLogger().setLevel(logging.WARNING)
    async with open_runtime(settings) as rt:
        await serve_console(rt, user=args.user)
    return 0


async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Serve on the configured channels (console when none is configured)."""
    from bot.app import channels_for, missing_setting, serve, stop_on_signals

    channels = channels_for(settings, args.channel)
    if args.workers > 1:
        from bot.cli.workers import supervise, workers_problem

        if problem := workers_problem(settings, channels):
            print(f"configuration error: {problem}", file=sys.stderr)
            return 2
        return await supervise(args.workers, args.channel)
    if channels == ["console"]:
        return await cmd_console(settings, argparse.Namespace(user="local"))
    for channel in channels:
        if missing := missing_setting(settings, channel):
            print(f"configuration error: {missing} is not set", file=sys.stderr)
            return 2
    async with open_runtime(settings) as rt:
        await serve(rt, channels, stop_on_signals())
    return 0


async def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Print how the bot answers TEXT as a citizen (the engine's own answer, nothing re-run)."""
    from bot.channels.console import render

    text = " ".join(args.text)
    async with open_runtime(settings) as rt:
        # A throw-away user that is never stored; --lang acts as a language chosen with
        # /ngonngu, without it the bot answers in the message's language as in a chat.
        if args.lang:
            await rt.store.set_language("console:ask", args.lang, rt.clock.now())
        outcome = await rt.engine.respond(Incoming("console", "ask", text=text))
        await rt.store.forget_user("console:ask")
        with use_language(outcome.lang):
            reply_text = "\n\n".join(render(r) for r in outcome.replies)
    if args.json:
        out = {
            "topic": outcome.answer_topic,
            "score": outcome.score,
            "emergency": outcome.emergency,
            "reply": reply_text,
        }
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(reply_text)
    return 0


async def cmd_units(settings: Settings, args: argparse.Namespace) -> int:
    """List the administrative units with codes."""
    from bot.content import load_units

    units = load_units(settings.content_dir / "units.yaml")
    for unit in units.values():
        parent = f"  (in {unit.parent})" if unit.parent else ""
        print(f"{unit.code:<20} {unit.full_name('vi')}{parent}")
    return 0


async def cmd_places(settings: Settings, args: argparse.Namespace) -> int:
    """Import or list the trusted addresses."""
    from bot.content.places_import import ImportFailed, import_places

    async with open_runtime(settings) as rt:
        if args.places_command == "import":
            try:
                result = await import_places(rt.store, Path(args.file), rt.content, rt.clock.now())
            except ImportFailed as exc:
                print(f"Import rejected, nothing changed ({len(exc.problems)} problem(s)):")
                for problem in exc.problems:
                    print(f"  - {problem}")
                return 1
            print(f"Imported {result.count} trusted addresses from {result.source}.")
            if result.restored:
                print(
                    f"Restored the leading 0 that Excel dropped from {len(result.restored)} "
                    "phone number(s) (format the phone column as text to keep it):"
                )
                for r in result.restored:
                    print(f"  - row {r.row} ({r.place_id}): {r.given} -> {r.phone}")
            return 0
        label = "sample data (places.yaml)" if rt.content.places_sample else "imported list"
        print(f"{len(rt.content.places)} trusted addresses — {label}")
        for p in rt.content.places:
            phone = p.phone or "-"
            print(f"{p.id:<28} {p.unit:<16} {p.lat:.4f},{p.lon:.4f}  {phone:<14} {p.name.vi}")
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "run": cmd_run,
    "console": cmd_console,
    "ask": cmd_ask,
    "units": cmd_units,
    "places": cmd_places,
    **REPORTING_COMMANDS,
    **OUTBOX_COMMANDS,
    **REPORT_COMMANDS,
    **DB_COMMANDS,
}


def parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    p = argparse.ArgumentParser(prog="bdg-bot", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve every configured channel (console when none is)")
    run.add_argument("--channel", choices=["auto", "telegram", "zalo", "console"], default="auto")
    run.add_argument(
        "--workers",
        type=_worker_count,
        default=1,
        help="worker processes on one PostgreSQL database and one webhook address (webhooks only)",
    )
    console = sub.add_parser("console", help="chat with the bot in the terminal")
    console.add_argument("--user", default="local", help="console user id (for admin tests)")
    ask = sub.add_parser("ask", help="how the bot answers TEXT as a citizen")
    ask.add_argument(
        "--lang", choices=["vi", "en"], default=None, help="as if chosen with /ngonngu"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("text", nargs="+")
    units = sub.add_parser("units", help="administrative units")
    units.add_argument("units_command", choices=["list"])
    places = sub.add_parser("places", help="trusted addresses")
    places_sub = places.add_subparsers(dest="places_command", required=True)
    imp = places_sub.add_parser("import", help="load the official list (csv or xlsx)")
    imp.add_argument("file")
    places_sub.add_parser("list", help="show the current list")
    add_reporting_subcommands(sub)
    add_outbox_subcommands(sub)
    add_report_subcommands(sub)
    add_db_subcommands(sub)
    return p


def _stopped(exc: Exception) -> int:
    """One line (secrets masked) for a failure that stopped the command; its exit status."""
    from telegram.error import InvalidToken

    if isinstance(exc, InvalidToken):
        # PTB's message quotes the token; a 404 also comes from a wrong base URL or proxy.
        print(
            "configuration error: Telegram refused TELEGRAM_BOT_TOKEN (HTTP 401 or 404): check "
            "the token, and TELEGRAM_API_BASE_URL or the proxy if one is set",
            file=sys.stderr,
        )
        return 2
    if not isinstance(exc, OSError):  # a port in use or a full disk says enough in one line
        logger.error("bdg-bot stopped by an unexpected error", exc_info=exc)
    print(f"error: {redact(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
    return 1


def _quiet_stdout() -> None:
    """Send what is left of stdout to /dev/null, so the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _worker_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise argparse.ArgumentTypeError(f"a whole number from 1 to 64, got {value!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `bdg-bot`."""
    args = parser().parse_args(argv)
    _setup_logging()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {redact(str(exc))}", file=sys.stderr)
        return 2
    try:
        check_catalogs()  # before any reply: without them Vietnamese users would read English
    except CatalogError as exc:
        print(f"installation error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(COMMANDS[args.command](settings, args))
    except ContentError as exc:
        print(f"content error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"configuration error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`bdg-bot places list | head`): stop quietly, as `cat` does.
        _quiet_stdout()
        return 141
    except Exception as exc:
        return _stopped(exc)
