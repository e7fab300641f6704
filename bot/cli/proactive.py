"""CLI commands of the outbox: `reminders run` and `broadcast ...` (wired into `bot.cli.main`).

    bdg-bot reminders run [--at ISO-DATETIME] [--dry-run] [--force] [--wait SECONDS]
    bdg-bot broadcast --to AUDIENCE --text-file F [--text-file-en F] [--at ISO-DATETIME]
    bdg-bot broadcast status [ID]

Both send what they queued before exiting (with a progress bar for a broadcast), through the
same outbox and shared rate limit as a running bot, so running them while the bot serves
never sends a message twice or too fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.app import Runtime, open_runtime, open_senders
from bot.cli.output import missing_database
from bot.content import Localized
from bot.messages import ProactiveSender
from bot.proactive.broadcasts import (
    MAX_BROADCAST_TEXT,
    AudienceError,
    BroadcastStatus,
    parse_audience,
)
from bot.proactive.outbox import OutboxSender, outbox_sender
from bot.reporting.periods import zone_label
from bot.settings import Settings
from bot.storage.outbox import BroadcastRow

__all__ = ["COMMANDS", "add_subcommands"]

#: How long a CLI run keeps sending before leaving the rest to the running bot.
DEFAULT_WAIT_S = 900.0
BAR_WIDTH = 30


def _broadcast_id(value: str) -> int:
    # SQLite integers are 64-bit: a larger id would end in OverflowError, not "no such id".
    if not value.strip().isdigit() or not 0 < int(value) < 2**63:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a broadcast number (see them all with: bdg-bot broadcast status)"
        )
    return int(value)


def _moment(value: str) -> str:
    # Parsed later, when the time zone is known; here only the shape is checked.
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO date-time, e.g. 2026-06-08T08:00 or 2026-06-08"
        ) from None
    return value


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `reminders` and `broadcast` to the CLI's subparsers."""
    reminders = sub.add_parser("reminders", help="deadline reminders and escalation digests")
    rsub = reminders.add_subparsers(dest="reminders_command", required=True)
    run = rsub.add_parser(
        "run", help="do exactly what the daily scheduler job does at that moment"
    )
    run.add_argument(
        "--at",
        type=_moment,
        help="as of this local date-time (a date alone means that day's reminder time); "
        "default now",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print the plan, queue and send nothing"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="send even when --at is in the future (the real pass of that day then finds "
        "them already sent)",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_S,
        help="seconds to keep sending before leaving the rest to the running bot",
    )
    broadcast = sub.add_parser(
        "broadcast",
        help="queue a campaign message (--to, --text-file) or show 'status [ID]'",
        description="Queue a message for an audience and send it at the platforms' limits, or "
        "show what happened to broadcasts with 'broadcast status [ID]'.",
    )
    broadcast.add_argument("action", nargs="?", choices=["status"], help="show broadcasts")
    broadcast.add_argument(
        "id", nargs="?", type=_broadcast_id, help="one broadcast (with 'status')"
    )
    broadcast.add_argument(
        "--to", help="subscribers, officers, admins, unit:<code>, or a comma list of these"
    )
    broadcast.add_argument("--text-file", type=Path, help="UTF-8 text of the message")
    broadcast.add_argument(
        "--text-file-en", type=Path, help="English text for people who chose English"
    )
    broadcast.add_argument(
        "--at", type=_moment, help="send at this local date-time instead of now"
    )
    broadcast.add_argument("--wait", type=float, default=DEFAULT_WAIT_S, help=argparse.SUPPRESS)


def _parse_moment(value: str | None, settings: Settings, default_time: Any = None) -> datetime:
    """An aware datetime from `--at` (naive means the configured zone); now when None."""
    if value is None:
        return datetime.now(settings.tz)
    parsed = datetime.fromisoformat(value)
    if "T" not in value and " " not in value.strip() and default_time is not None:
        parsed = datetime.combine(date.fromisoformat(value[:10]), default_time)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=settings.tz)


#: A moment this close to now is "now" (a script that computes --at a little ahead).
FUTURE_SLACK = timedelta(minutes=1)


def _stamp(at: datetime) -> str:
    """'2026-11-28 09:00 UTC+7': a printed time always says its zone."""
    return f"{at:%Y-%m-%d %H:%M} {zone_label(at)}"


def _progress(done: int, total: int, extra: str, stream: TextIO, *, final: bool = False) -> None:
    """Draw the progress bar: redrawn in place on a terminal, one final line in a log."""
    tty = stream.isatty()
    if not (tty or final):
        return
    filled = BAR_WIDTH if total == 0 else BAR_WIDTH * done // total
    line = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done}/{total} {extra}"
    # \x1b[K clears what a longer previous line left behind.
    stream.write(("\r" + line + "\x1b[K" if tty else line) + ("\n" if final else ""))
    stream.flush()


async def _drain(
    rt: Runtime,
    senders: dict[str, ProactiveSender],
    wait: float,
    watch: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> OutboxSender:
    sender = outbox_sender(rt.store.outbox, senders, rt.settings)
    task = asyncio.create_task(watch()) if watch is not None else None
    try:
        await sender.drain(within=wait)
        return sender
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _report_left(rt: Runtime, senders: dict[str, ProactiveSender]) -> None:
    waiting = await rt.store.outbox.queued_channels()
    for channel, count in sorted(waiting.items()):
        if channel not in senders:
            print(
                f"{count} message(s) for {channel} wait in the outbox: this process cannot send "
                f"on {channel}; the running bot sends them."
            )
        elif count:
            print(f"{count} message(s) for {channel} are not due yet or wait for a retry.")


# --- reminders ------------------------------------------------------------------------------


async def cmd_reminders(settings: Settings, args: argparse.Namespace) -> int:
    """Run the reminder pass as of --at (default now): plan, queue, send."""
    async with open_runtime(settings) as rt:
        reminders = rt.reminders
        at = _parse_moment(args.at, settings, reminders.calendar.reminders.time)
        now = rt.clock.now()
        if at > now + FUTURE_SLACK and not args.dry_run and not getattr(args, "force", False):
            print(
                f"--at {_stamp(at)} is in the future (now {_stamp(now)}): sending now would "
                "send that day's reminders early, and the real pass would then skip them as "
                "already sent. Use --dry-run to see the plan, or --force to send anyway.",
                file=sys.stderr,
            )
            return 2
        result = await reminders.run(at, dry_run=args.dry_run)
        day = result.day.strftime("%d/%m/%Y")
        if not result.due:
            when = reminders.calendar.reminders.time.strftime("%H:%M")
            print(f"Reminders for {day} are due at {when} ({settings.timezone}); nothing is due "
                  f"as of {_stamp(at)}.")  # fmt: skip
            return 0
        if not result.planned:
            if result.occasions:
                names = ", ".join(f"{o.period.id} {o.kind}" for o in result.occasions)
                print(
                    f"{day} is a reminder day ({names}), but no unit still to report has a "
                    "registered officer: nobody to remind (see `bdg-bot invite`)."
                )
            else:
                print(f"{day}: not a reminder day of any open period; nothing to do.")
            return 0
        if args.dry_run:
            print(f"Plan for {day} (dry run, nothing queued):")
            print(f"{'recipient':<24} {'unit':<18} {'period':<8} {'kind':<11} purpose")
            for p in result.planned:
                note = "  (already queued)" if p.message.dedupe_key in result.existing else ""
                print(
                    f"{p.address:<24} {p.unit_code or '-':<18} {p.period_id:<8} {p.kind:<11} "
                    f"{p.purpose}{note}"
                )
            new = len(result.planned) - len(result.existing)
            print(f"{len(result.planned)} message(s), {new} not queued yet.")
            return 0
        again = len(result.planned) - result.queued
        print(f"{day}: queued {result.queued} new message(s); {again} were queued before.")
        async with open_senders(rt) as senders:
            sender = await _drain(rt, senders, args.wait)
            await _report_left(rt, senders)
        print(_summary(sender.stats))
    return 0


def _summary(stats: dict[str, int]) -> str:
    parts = [f"{stats.get(s, 0)} {s}" for s in ("sent", "retry", "blocked", "undeliverable")]
    parts.append(f"{stats.get('failed', 0)} failed")
    return "Sent by this run: " + ", ".join(parts).replace(" retry", " retried")


# --- broadcasts -----------------------------------------------------------------------------


def _read_text(path: Path, option: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{option}: cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{option}: {path} is not UTF-8 text; save it as UTF-8") from None
    if not text:
        raise ValueError(f"{option}: {path} is empty")
    if len(text) > MAX_BROADCAST_TEXT:
        raise ValueError(
            f"{option}: {len(text)} characters, the limit is {MAX_BROADCAST_TEXT}; shorten it"
        )
    return text


def status_text(s: BroadcastStatus, tz: Any) -> str:
    """One broadcast's line for `broadcast status`."""
    b = s.broadcast
    created = _stamp(datetime.fromtimestamp(b.created_at, tz))
    due = _stamp(datetime.fromtimestamp(b.due_at, tz))
    return (
        f"#{b.id:<4} created {created} by {b.created_by}, due {due}, to {b.audience}: "
        f"{b.recipients} recipients — {s.queued} queued, {s.count('sent')} sent, "
        f"{s.count('failed')} failed, {s.count('blocked')} blocked, "
        f"{s.count('undeliverable')} undeliverable, {s.count('skipped')} skipped"
    )


async def cmd_broadcast(settings: Settings, args: argparse.Namespace) -> int:
    """Queue a broadcast and send it with a progress bar, or show broadcast status."""
    if args.action == "status":
        return await _broadcast_status(settings, args.id)
    if args.id is not None or not args.to or not args.text_file:
        print("usage: bdg-bot broadcast --to AUDIENCE --text-file FILE [--at ISO-DATETIME] "
              "(or: bdg-bot broadcast status [ID])", file=sys.stderr)  # fmt: skip
        return 2
    try:
        text_vi = _read_text(args.text_file, "--text-file")
        text_en = _read_text(args.text_file_en, "--text-file-en") if args.text_file_en else ""
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    async with open_runtime(settings) as rt:
        queued = await _queue_broadcast(rt, args, Localized(vi=text_vi, en=text_en or text_vi))
        if isinstance(queued, int):
            return queued
        await _send_with_progress(rt, queued, args.wait)
    return 0


async def _broadcast_status(settings: Settings, broadcast_id: int | None) -> int:
    """Print one broadcast's status, or the 20 latest."""
    if missing := missing_database(settings):
        print(missing, file=sys.stderr)
        return 1
    async with open_runtime(settings) as rt:
        service = rt.broadcasts
        if broadcast_id is not None:
            found = await service.status(broadcast_id)
            if found is None:
                print(f"There is no broadcast #{broadcast_id}.", file=sys.stderr)
                return 1
            print(status_text(found, settings.tz))
            return 0
        recent = await service.recent(20)
        if not recent:
            print("No broadcasts yet.")
        for s in recent:
            print(status_text(s, settings.tz))
    return 0


async def _queue_broadcast(
    rt: Runtime, args: argparse.Namespace, text: Localized
) -> BroadcastRow | int:
    """Queue the broadcast `args` describe; its row to send now, or the exit code to end with."""
    settings = rt.settings
    service = rt.broadcasts
    try:
        audience = parse_audience(args.to, rt.content.units)
    except AudienceError as exc:
        print(f"--to: {exc}", file=sys.stderr)
        return 2
    due = _parse_moment(args.at, settings) if args.at else None
    if not await service.recipients(audience):
        print(
            f"--to {audience}: nobody is in this audience now, so nothing was queued "
            "(no officer registered, or nobody opted in with /dangky).",
            file=sys.stderr,
        )
        return 1
    broadcast, created = await service.create(
        audience=audience,
        text=text,
        created_by="cli",
        due_at=due.timestamp() if due else None,
    )
    if not created:
        print(f"The same text to {audience} was already queued for that day as broadcast "
              f"#{broadcast.id}: nothing queued again.")  # fmt: skip
    else:
        print(f"Broadcast #{broadcast.id} queued for {broadcast.recipients} recipient(s).")
    if due is not None and due.timestamp() > time.time() + 1:
        print(f"It is due at {_stamp(due)}; the running bot sends it.")
        return 0
    return broadcast


async def _send_with_progress(rt: Runtime, broadcast: BroadcastRow, wait: float) -> None:
    """Send what is queued, with a progress bar for `broadcast`, then print its status."""
    service = rt.broadcasts
    stream = sys.stderr

    def extra(s: BroadcastStatus) -> str:
        return f"sent {s.count('sent')}, not delivered {s.count('failed', 'blocked')}"

    async def watch() -> None:
        while True:
            s = await service.status(broadcast.id)
            if s is not None:
                _progress(s.done, s.broadcast.recipients, extra(s), stream)
            await asyncio.sleep(0.25)

    async with open_senders(rt) as senders:
        await _drain(rt, senders, wait, watch)
        final = await service.status(broadcast.id)
        if final is not None:
            _progress(final.done, final.broadcast.recipients, extra(final), stream, final=True)
            print(status_text(final, rt.settings.tz))
        await _report_left(rt, senders)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "reminders": cmd_reminders,
    "broadcast": cmd_broadcast,
}
