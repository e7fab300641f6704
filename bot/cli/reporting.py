"""Command-line tools for the department: officer invites, officers, and period exports.

Commands that only read (export, officers list, invites list) never create a database: run
where BOT_DB does not point to one, they say where they looked and exit 1. Every time they
print carries its time zone.

`bot.cli.main` adds these subcommands with `add_subcommands(sub)` and runs them from `COMMANDS`.
Output is plain English for deployers and scripts: `invite` prints the code on its first line
and the link on its second. An unknown unit, period or address prints one line on stderr and
exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.app import open_runtime
from bot.cli.output import fail, local_time, missing_database, write_atomically
from bot.content.units import UnitError, resolve_unit
from bot.reporting.service import (
    ADDRESS_RE,
    DEFAULT_INVITE_DAYS,
    EXPORT_FORMATS,
    MAX_INVITE_DAYS,
    build_export,
    invite_link,
    issue_invite,
    load_status,
    province_name,
    resolve_period,
    revoke_invite,
    unlock_until,
)
from bot.settings import Settings

__all__ = [
    "COMMANDS",
    "add_subcommands",
    "cmd_export",
    "cmd_invite",
    "cmd_invites",
    "cmd_officers",
]

#: Who the invites table records as the issuer of a command-line invite.
CLI_ISSUER = "cli"


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `invite`, `officers`, `export` and `unlock` to the `bdg-bot` parser."""
    invite = sub.add_parser("invite", help="print a one-time officer invite code and its link")
    invite.add_argument("--unit", required=True, help="unit code (bdg-bot units list)")
    invite.add_argument(
        "--days",
        type=int,
        default=DEFAULT_INVITE_DAYS,
        help=f"days the code stays valid (default {DEFAULT_INVITE_DAYS})",
    )
    invite.add_argument(
        "--for",
        dest="bound_to",
        metavar="ADDRESS",
        help="only this channel:user may use the code (to let a revoked officer back)",
    )
    invites = sub.add_parser("invites", help="invite codes: list them, or withdraw one")
    invites_sub = invites.add_subparsers(dest="invites_command", required=True)
    ilist = invites_sub.add_parser("list", help="code, unit, valid until, state")
    ilist.add_argument("--all", action="store_true", help="also used, expired and withdrawn")
    irevoke = invites_sub.add_parser("revoke", help="withdraw an unused invite code")
    irevoke.add_argument("code")
    officers = sub.add_parser("officers", help="registered commune officers")
    officers_sub = officers.add_subparsers(dest="officers_command", required=True)
    listing = officers_sub.add_parser("list", help="unit, address, registered at, active")
    listing.add_argument("--unit", help="only this unit's officers")
    revoke = officers_sub.add_parser("revoke", help="stop an officer filing reports")
    revoke.add_argument("address", help="channel:user, as `officers list` shows it")
    export = sub.add_parser("export", help="a period's reports, one row per unit")
    export.add_argument(
        "--period",
        required=True,
        help="period id, e.g. 2026-N, or a kind (6T: the one open now or closed last)",
    )
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, help="xlsx (default) or csv; else from --out"
    )
    export.add_argument("--out", help="output file (default bao-cao-<period>.<format>)")
    unlock = sub.add_parser("unlock", help="let a unit file a closed period for a few more days")
    unlock.add_argument("--unit", required=True, help="unit code (bdg-bot units list)")
    unlock.add_argument("--period", required=True, help="period id, e.g. 2026-6T")
    unlock.add_argument("--days", type=int, default=7, help="days from today (default 7)")


async def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    """Print a one-time invite code (first line) and its Telegram link (second line)."""
    if not 1 <= args.days <= MAX_INVITE_DAYS:
        return fail(f"--days must be from 1 to {MAX_INVITE_DAYS}, got {args.days}")
    bound = getattr(args, "bound_to", None)
    if bound is not None and not ADDRESS_RE.fullmatch(bound):
        return fail(f"--for must be an address such as telegram:123, got '{bound}'")
    async with open_runtime(settings) as rt:
        try:
            unit = resolve_unit(rt.content.units, args.unit)
        except UnitError as err:
            if err.reason == "not_reporting":
                return fail(f"unit '{err.raw}' does not file reports; invite a commune or ward")
            hint = f" (did you mean {', '.join(err.suggestions)}?)" if err.suggestions else ""
            return fail(f"unknown unit '{err.raw}'{hint}; list the codes with: bdg-bot units list")
        issued = await issue_invite(
            rt.reporting, unit, days=args.days, by=CLI_ISSUER, now=rt.clock.now(), bound_to=bound
        )
    print(issued.code)
    print(invite_link(settings.telegram_bot_username, issued.code))
    until = local_time(issued.expires_at, settings.tz)
    only = f", only for {bound}" if bound else ""
    print(f"{unit.code} ({unit.full_name('vi')}), one use{only}, valid until {until}")
    return 0


async def cmd_invites(settings: Settings, args: argparse.Namespace) -> int:
    """List the invite codes, or withdraw one."""
    if args.invites_command == "list" and (missing := missing_database(settings)):
        return fail(missing)
    async with open_runtime(settings) as rt:
        now = rt.clock.now()
        if args.invites_command == "revoke":
            outcome = await revoke_invite(rt.reporting, args.code, now)
            if outcome.state == "unknown":
                return fail(f"no invite '{args.code}'; see: bdg-bot invites list")
            if outcome.state == "used":
                return fail(
                    f"invite {args.code} was already used by {outcome.used_by}; to stop that "
                    f"officer: bdg-bot officers revoke {outcome.used_by}"
                )
            print(f"withdrawn {args.code}" if outcome.state == "revoked"
                  else f"{args.code} was already withdrawn")  # fmt: skip
            return 0
        invites = await rt.reporting.reports.invites(include_closed=args.all, now=now)
    if not invites:
        print("no invite codes" + ("" if args.all else " waiting to be used (--all: every one)"))
        return 0
    print(f"{'code':<14} {'unit':<20} {'valid until':<22} state")
    for inv in invites:
        state = inv.state(now)
        if state == "used":
            state = f"used by {inv.used_by}"
        if inv.bound_to:
            state += f" (only {inv.bound_to})"
        until = local_time(inv.expires_at, settings.tz)
        print(f"{inv.code:<14} {inv.unit_code:<20} {until:<22} {state}")
    return 0


async def cmd_unlock(settings: Settings, args: argparse.Namespace) -> int:
    """Let a unit file a locked period up to `--days` days from today."""
    if not 1 <= args.days <= 60:
        return fail(f"--days must be from 1 to 60, got {args.days}")
    async with open_runtime(settings) as rt:
        reporting = rt.reporting
        period = reporting.calendar.get(args.period)
        if period is None:
            return fail(f"unknown period '{args.period}'; write an id such as 2026-6T or 2026-N")
        try:
            unit = resolve_unit(rt.content.units, args.unit)
        except UnitError as err:
            return fail(f"unknown unit '{err.raw}'; list the codes with: bdg-bot units list")
        until = unlock_until(period, rt.clock.now().date(), args.days)
        await reporting.reports.unlock(unit.code, period.id, until, CLI_ISSUER)
    print(f"{unit.code} may file {period.id} until {until:%Y-%m-%d} inclusive")
    return 0


async def cmd_officers(settings: Settings, args: argparse.Namespace) -> int:
    """List the officers, or revoke one."""
    if args.officers_command == "list" and (missing := missing_database(settings)):
        return fail(missing)
    async with open_runtime(settings) as rt:
        reports = rt.store.reports
        if args.officers_command == "revoke":
            if not await reports.revoke_officer(args.address, rt.clock.now()):
                return fail(f"no active officer with address '{args.address}'")
            print(f"revoked {args.address}; it cannot register again with an ordinary invite")
            print(f"to let it back: bdg-bot invite --unit <code> --for {args.address}")
            return 0
        officers = await reports.officers(args.unit)
        tz = rt.clock.tz
    if not officers:
        print("no officers registered" + (f" for unit '{args.unit}'" if args.unit else ""))
        return 0
    print(f"{'unit':<20} {'address':<28} {'registered at':<22} {'active':<6} name")
    for o in officers:
        at = local_time(o.registered_at, tz)
        active = "yes" if o.active else "no"
        print(f"{o.unit_code:<20} {o.address:<28} {at:<22} {active:<6} {o.display_name or ''}")
    return 0


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write a period's reports to a file and print its path."""
    fmt = args.format
    if fmt is None:
        suffix = Path(args.out).suffix.lower().lstrip(".") if args.out else ""
        fmt = suffix if suffix in EXPORT_FORMATS else "xlsx"
    if missing := missing_database(settings):
        return fail(missing)
    async with open_runtime(settings) as rt:
        reporting = rt.reporting
        period = resolve_period(reporting.calendar, args.period, rt.clock.now().date())
        if period is None or not args.period.strip():
            example = reporting.calendar.default_for(rt.clock.now().date()).id
            return fail(f"unknown period '{args.period}'; use an id such as {example}")
        status = await load_status(reporting, rt.content.units, period)
        tz = rt.clock.tz
        made_at = rt.clock.now()
        province = province_name(rt.content.units)
    document = await asyncio.to_thread(build_export, status, reporting, fmt, tz, made_at, province)
    path = Path(args.out) if args.out else Path(document.filename)
    if path.is_dir():
        name = document.filename
        return fail(f"--out {path} is a folder: give a file name, e.g. --out {path / name}")
    try:
        await asyncio.to_thread(write_atomically, path, document.content)
    except OSError as exc:
        return fail(f"cannot write {path}: {exc.strerror or exc}")
    print(path)
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "invite": cmd_invite,
    "invites": cmd_invites,
    "officers": cmd_officers,
    "export": cmd_export,
    "unlock": cmd_unlock,
}
