"""`bdg-bot invite`, `officers list|revoke` and `export`, run through their own parser."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.cli.reporting import COMMANDS, add_subcommands
from bot.reporting.export import SHEET_DATA
from bot.settings import Settings
from bot.storage import Store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bdg-bot")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    return parser.parse_args(argv)


async def run(settings: Settings, *argv: str) -> int:
    args = parse(list(argv))
    return await COMMANDS[args.command](settings, args)


def test_commands_match_the_parser() -> None:
    assert set(COMMANDS) == {"invite", "invites", "officers", "export", "unlock"}
    assert parse(["unlock", "--unit", "that-khe", "--period", "2026-6T"]).days == 7
    assert parse(["invite", "--unit", "that-khe"]).days == 14
    assert parse(["officers", "revoke", "telegram:1"]).address == "telegram:1"
    with pytest.raises(SystemExit):
        parse(["export", "--period", "2026-N", "--format", "pdf"])


async def test_invite_prints_code_then_link_and_the_code_works(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    named = dataclasses.replace(settings, telegram_bot_username="bdg_bot")
    assert await run(named, "invite", "--unit", "that-khe", "--days", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    code = lines[0]
    assert code.startswith("cb-") and len(code) == 13
    assert lines[1] == f"https://t.me/bdg_bot?start={code}"
    assert "that-khe" in lines[2] and "Xã Thất Khê" in lines[2]
    officer = await store.reports.redeem_invite(code, "telegram:42", datetime.now(TZ))
    assert officer.unit_code == "that-khe"


async def test_invite_without_username_uses_the_placeholder(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(settings, "invite", "--unit", "dong-kinh") == 0
    code, link = capsys.readouterr().out.splitlines()[:2]
    assert link == f"https://t.me/<bot>?start={code}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["invite", "--unit", "nowhere"], "unknown unit 'nowhere'"),
        (["invite", "--unit", "that-kee"], "did you mean that-khe?"),
        (["invite", "--unit", "lang-son"], "does not file reports"),
        (["invite", "--unit", "that-khe", "--days", "0"], "--days must be from 1 to 365"),
        (["officers", "revoke", "telegram:404"], "no active officer with address 'telegram:404'"),
        (["export", "--period", "2026-Q"], "unknown period '2026-Q'"),
        (["export", "--period", " "], "unknown period"),
    ],
)
async def test_errors_are_one_line_and_exit_1(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str], argv: list[str],
    expected: str,
) -> None:  # fmt: skip
    assert await run(settings, *argv) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert expected in out.err and out.err.count("\n") == 1
    row = await store.fetchone("SELECT COUNT(*) FROM invites")
    assert row is not None and row[0] == 0


async def test_officers_list_and_revoke(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = store.reports
    assert await run(settings, "officers", "list") == 0
    assert "no officers registered" in capsys.readouterr().out
    at = datetime(2026, 11, 28, 9, 0, tzinfo=TZ)
    for n, unit in enumerate(["that-khe", "dong-kinh"]):
        await reports.create_invite(f"cb-code{n}", unit, datetime(2027, 1, 1, tzinfo=TZ), "t", at)
        await reports.redeem_invite(f"cb-code{n}", f"zalo:{n}", at)
    assert await run(settings, "officers", "revoke", "zalo:0") == 0
    assert capsys.readouterr().out.startswith("revoked zalo:0;")
    assert await run(settings, "officers", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["unit", "address", "registered", "at", "active", "name"]
    rows = [line.split() for line in lines[1:]]
    assert rows == [
        ["dong-kinh", "zalo:1", "2026-11-28", "09:00", "UTC+7", "yes"],
        ["that-khe", "zalo:0", "2026-11-28", "09:00", "UTC+7", "no"],
    ]
    assert await run(settings, "officers", "list", "--unit", "dong-kinh") == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


async def file_one(store: Store) -> None:
    reports = store.reports
    at = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    await reports.create_invite("cb-x", "that-khe", datetime(2027, 1, 1, tzinfo=TZ), "t", at)
    await reports.redeem_invite("cb-x", "telegram:1", at)
    await reports.save_report(
        officer="telegram:1", unit_code="that-khe", period_id="2026-N",
        values={"tt": 3, "nd": 1200}, late=False, now=at,
    )  # fmt: skip


async def test_export_default_name_is_xlsx_in_the_current_directory(
    settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    await file_one(store)
    monkeypatch.chdir(tmp_path)
    assert await run(settings, "export", "--period", "2026-N") == 0
    assert capsys.readouterr().out.strip() == "bao-cao-2026-N.xlsx"
    ws = openpyxl.load_workbook(tmp_path / "bao-cao-2026-N.xlsx")[SHEET_DATA]
    rows = {row[0]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["that-khe"][2:4] == (3, 1200)
    assert not list(tmp_path.glob("*.part"))
    assert await run(settings, "export", "--period", "2026-N", "--format", "csv") == 0
    assert capsys.readouterr().out.strip() == "bao-cao-2026-N.csv"


async def test_export_csv_to_a_chosen_file(
    settings: Settings, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await file_one(store)
    out = tmp_path / "out" / "n.csv"
    out.parent.mkdir()
    # The format follows the file's extension when --format is not given.
    assert await run(settings, "export", "--period", "2026-N", "--out", str(out)) == 0
    assert capsys.readouterr().out.strip() == str(out)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["unit_code", "unit_name", "tt"]
    assert len(rows) == 66
    assert next(r for r in rows if r[0] == "that-khe")[2:4] == ["3", "1200"]


async def test_export_to_an_unwritable_place_fails_cleanly(
    settings: Settings, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_dir = tmp_path / "no" / "such" / "x.xlsx"
    assert await run(settings, "export", "--period", "2026-N", "--out", str(missing_dir)) == 1
    err = capsys.readouterr().err
    assert err.startswith("cannot write") and err.count("\n") == 1


async def test_unlock_cli_reopens_a_period_for_a_unit(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.reporting import cmd_unlock

    code = await cmd_unlock(settings, parse(["unlock", "--unit", "that-khe", "--period",
                                             "2026-6T", "--days", "3"]))  # fmt: skip
    assert code == 0 and "that-khe may file 2026-6T until" in capsys.readouterr().out
    assert await store.reports.unlocked_until("that-khe", "2026-6T") is not None
    bad = await cmd_unlock(settings, parse(["unlock", "--unit", "nowhere", "--period", "2026-6T"]))
    assert bad == 1
