"""The traps officers and the department fell into (issue 10), each shown fixed.

Users here have chosen their language (English unless said), so the answers do not depend on
language detection or on translations still to be merged.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.proactive import COMMANDS as OUTBOX_COMMANDS
from bot.cli.proactive import add_subcommands as add_outbox_subcommands
from bot.cli.reporting import COMMANDS as REPORTING_COMMANDS
from bot.cli.reporting import add_subcommands as add_reporting_subcommands
from bot.clock import FakeClock
from bot.content import ContentError, Localized, load_content, read_yaml
from bot.core.engine import Engine
from bot.messages import Channel, Incoming, Reply
from bot.proactive.broadcasts import Broadcasts
from bot.proactive.reminders import Occasion, Reminders
from bot.reporting.indicators import load_indicators
from bot.reporting.invites import new_invite_code
from bot.reporting.parser import parse_report
from bot.reporting.periods import load_calendar
from bot.reporting.service import resolve_period
from bot.settings import Settings, SettingsError, load_settings
from bot.storage import Store
from tests.conftest import ADMIN, all_text, button_data, say

TG: Channel = "telegram"
IND = load_indicators()
CAL = load_calendar()


async def speaks(store: Store, user: str, lang: str = "en", channel: str = TG) -> None:
    """The user chose a language with /ngonngu (no guessing from the message)."""
    await store.set_language(f"{channel}:{user}", lang, datetime(2026, 1, 1))


async def officer(
    engine: Engine, store: Store, clock: FakeClock, user: str, unit: str = "that-khe"
) -> None:
    await speaks(store, user)
    code = new_invite_code()
    await store.reports.create_invite(
        code, unit, clock.now() + timedelta(days=14), "cli", clock.now()
    )
    replies = await say(engine, f"/start {code}", user=user, channel=TG, lang="en")
    assert "registered" in all_text(replies)


async def tell(engine: Engine, user: str, text: str) -> str:
    return all_text(await say(engine, text, user=user, channel=TG, lang="en"))


def confirm_data(replies: list[Reply]) -> str:
    return next(d for d in button_data(replies) if d.startswith("rep:ok:"))


async def file(engine: Engine, user: str, line: str) -> None:
    replies = await say(engine, line, user=user, channel=TG, lang="en")
    saved = await say(engine, button=confirm_data(replies), user=user, channel=TG, lang="en")
    assert "Saved" in all_text(saved), all_text(saved)


# --- 1. a correction keeps what it does not mention --------------------------------------------


async def test_correction_changes_only_the_named_codes(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "1")
    await file(engine, "1", "BC N tt=3 nd=120 nu=70")
    preview = await tell(engine, "1", "BC N vu=2 ht=2")
    assert "• tt Communication sessions: 3\n" in preview  # kept, shown
    assert "• nd Participants: 120\n" in preview
    assert "• vu DV/GBV cases detected: not filed → 2" in preview  # marked as a change
    assert "tt=-" in preview  # how to clear one
    await file(engine, "1", "BC N vu=2 ht=2")
    report = await store.reports.current_report("that-khe", "2026-N")
    assert report is not None
    assert report.values == {"tt": 3, "nd": 120, "nu": 70, "vu": 2, "ht": 2}
    # An explicit dash clears a value; a change reads old → new.
    preview = await tell(engine, "1", "BC N ht=- tt=4")
    assert "• ht Victims supported: 2 → not filed" in preview
    assert "• tt Communication sessions: 3 → 4" in preview
    await file(engine, "1", "BC N ht=- tt=4")
    report = await store.reports.current_report("that-khe", "2026-N")
    assert report is not None and report.values == {"tt": 4, "nd": 120, "nu": 70, "vu": 2}


async def test_correction_checks_the_values_as_they_will_be_saved(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "2")
    await file(engine, "2", "BC N tt=3 nd=120 nu=70")
    # nu=200 alone breaks nu <= nd against the kept nd=120.
    answer = await tell(engine, "2", "BC N nu=200")
    assert "at most nd (Participants) = 120" in answer  # no draft to confirm
    assert await store.get_dialog(f"{TG}:2", clock.now()) is None


def test_parser_merges_a_correction_onto_the_current_version() -> None:
    today = date(2026, 11, 28)
    parsed = parse_report("BC N vu=2 tt=-", IND, CAL, today, base={"tt": 3, "nd": 120})
    assert not isinstance(parsed, list)
    assert parsed.values == {"nd": 120, "vu": 2}
    assert parsed.named == {"vu", "tt"}


async def test_guided_dialog_shows_the_current_value_and_skip_keeps_it(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "3")
    await file(engine, "3", "BC N tt=3 nd=120 nu=70")
    first = await tell(engine, "3", "BC N")
    assert "Now: 3" in first
    second = await tell(engine, "3", "bq")  # skip keeps tt
    assert "Now: 120" in second
    await tell(engine, "3", "-")  # clears nd
    for _step in range(len(IND.codes) - 2):
        last = await tell(engine, "3", "bq")
    assert "• tt Communication sessions: 3\n" in last
    assert "• nd Participants: 120 → not filed" in last


# --- 2. /huy inside a dialog cancels the dialog ------------------------------------------------


@pytest.mark.parametrize("word", ["/huy", "huy", "hủy", "/hủy"])
async def test_huy_in_a_report_dialog_cancels_it_and_keeps_the_subscription(
    engine: Engine, store: Store, clock: FakeClock, word: str
) -> None:
    await officer(engine, store, clock, "4")
    await tell(engine, "4", "/dangky")
    assert "(1/" in await tell(engine, "4", "BC")
    answer = await tell(engine, "4", word)
    assert "Cancelled. Nothing was saved." in answer
    assert await store.get_dialog(f"{TG}:4", clock.now()) is None
    user = await store.get_user(f"{TG}:4")
    assert user is not None and user.subscribed  # still gets campaign news
    # The next number is not taken as a figure of a dialog that went on.
    assert "(2/" not in await tell(engine, "4", "5")


async def test_huy_in_a_broadcast_draft_cancels_it(engine: Engine, store: Store) -> None:
    await speaks(store, "9001")
    await tell(engine, "9001", "/guitin")
    answer = await tell(engine, "9001", "/huy")
    assert "Broadcast cancelled" in answer
    assert await store.get_dialog(ADMIN, datetime(2026, 11, 28, 9)) is None


async def test_the_opt_out_has_its_own_name_and_says_how_to_come_back(
    engine: Engine, store: Store
) -> None:
    await speaks(store, "5")
    assert "/ngungtin" in await tell(engine, "5", "/dangky")
    answer = await tell(engine, "5", "/ngungtin")
    assert "/dangky" in answer
    user = await store.get_user(f"{TG}:5")
    assert user is not None and not user.subscribed
    await tell(engine, "5", "/dangky")
    await tell(engine, "5", "/huy")  # outside a dialog, /huy still opts out
    user = await store.get_user(f"{TG}:5")
    assert user is not None and not user.subscribed


# --- 3. the reminder's template can be half filled ---------------------------------------------


async def test_the_reminder_line_can_be_copied_filled_and_sent(
    engine: Engine, store: Store, clock: FakeClock, content: object
) -> None:
    await officer(engine, store, clock, "6")
    reminders = Reminders(
        store=store, content=engine.content, calendar=CAL, indicators=IND, admins=[],
        tz=clock.tz,
    )  # fmt: skip
    period = CAL.period_of("N", 2026)
    unit = engine.content.units["that-khe"]
    reply = reminders.reminder_reply(unit, Occasion(period, "before-7", 7, False), "en")
    line = next(ln for ln in reply.text.splitlines() if ln.startswith("BC "))
    filled = line.replace("…", "2", 1).replace("…", "40", 1)
    preview = await say(engine, filled, user="6", channel=TG, lang="en")
    assert any(d.startswith("rep:ok:") for d in button_data(preview)), all_text(preview)
    assert "• tt Communication sessions: 2" in all_text(preview)
    assert "• nd Participants: 40" in all_text(preview)


@pytest.mark.parametrize("gap", ["…", "...", "?", "_"])
def test_the_bots_own_gaps_mean_not_entered(gap: str) -> None:
    parsed = parse_report(f"BC N2026 tt=2 nd={gap} nu={gap}", IND, CAL, date(2026, 11, 28))
    assert not isinstance(parsed, list), parsed
    assert parsed.values == {"tt": 2}


def test_a_template_with_no_figure_is_still_refused() -> None:
    problems = parse_report("BC N2026 tt=… nd=…", IND, CAL, date(2026, 11, 28))
    assert isinstance(problems, list) and [p.kind for p in problems] == ["no_values"]


# --- 5. invites can be withdrawn; a revoked officer stays out; guesses are throttled ---------


async def test_a_revoked_officer_cannot_register_again_with_an_ordinary_invite(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "7")
    reports = store.reports
    assert await reports.revoke_officer(f"{TG}:7", clock.now())
    other = new_invite_code()  # even for another commune
    await reports.create_invite(
        other, "dong-dang", clock.now() + timedelta(days=1), "a", clock.now()
    )
    answer = await tell(engine, "7", f"/dangky_canbo {other}")
    assert "removed as a reporting officer" in answer
    assert await reports.officer(f"{TG}:7") is None
    # The admin invites that account again, on purpose: a code bound to it.
    await speaks(store, "9001")
    invite = await tell(engine, "9001", f"/moi dong-dang {TG}:7")
    code = next(w for w in invite.split() if w.startswith("cb-"))
    assert f"Only {TG}:7" in invite
    assert "bound" not in await tell(engine, "8", f"/dangky_canbo {code}")  # someone else:
    assert await reports.officer(f"{TG}:8") is None  # refused
    assert "registered" in await tell(engine, "7", f"/dangky_canbo {code}")
    found = await reports.officer(f"{TG}:7")
    assert found is not None and found.unit_code == "dong-dang"


async def test_invites_can_be_listed_and_withdrawn_in_chat(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await speaks(store, "9001")
    invite = await tell(engine, "9001", "/moi that-khe")
    code = next(w for w in invite.split() if w.startswith("cb-"))
    listing = await tell(engine, "9001", "/loimoi")
    assert code in listing and "UTC+7" in listing
    assert "withdrawn" in await tell(engine, "9001", f"/thuhoi {code}")
    assert code not in await tell(engine, "9001", "/loimoi")
    await speaks(store, "10")
    assert "withdrawn" in await tell(engine, "10", f"/dangky_canbo {code}")
    assert await store.reports.officer(f"{TG}:10") is None
    assert "administrators only" in await tell(engine, "10", "/loimoi")


async def test_wrong_codes_are_throttled_per_sender(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await speaks(store, "11")
    for _ in range(5):
        assert "does not exist" in await tell(engine, "11", "/dangky_canbo cb-zzzzzzzzzz")
    good = new_invite_code()
    await store.reports.create_invite(
        good, "that-khe", clock.now() + timedelta(days=1), "a", clock.now()
    )
    blocked = await tell(engine, "11", f"/dangky_canbo {good}")  # even a good one, for now
    assert "Wait 10 min" in blocked
    await speaks(store, "12")  # another sender is not affected
    assert "does not exist" in await tell(engine, "12", "/dangky_canbo cb-zzzzzzzzzz")
    clock.advance(timedelta(minutes=4))
    assert "Wait 6 min" in await tell(engine, "11", f"/dangky_canbo {good}")
    clock.advance(timedelta(minutes=6, seconds=1))
    assert "registered" in await tell(engine, "11", f"/dangky_canbo {good}")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bdg-bot")
    sub = parser.add_subparsers(dest="command", required=True)
    add_reporting_subcommands(sub)
    add_outbox_subcommands(sub)
    return parser.parse_args(argv)


async def run(settings: Settings, *argv: str) -> int:
    args = parse(list(argv))
    commands = {**REPORTING_COMMANDS, **OUTBOX_COMMANDS}
    return await commands[args.command](settings, args)


async def test_invites_list_and_revoke_on_the_command_line(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(settings, "invite", "--unit", "that-khe") == 0
    code = capsys.readouterr().out.splitlines()[0]
    assert await run(settings, "invites", "list") == 0
    listed = capsys.readouterr().out
    assert code in listed and "open" in listed and "UTC+7" in listed
    assert await run(settings, "invites", "revoke", code) == 0
    assert capsys.readouterr().out.strip() == f"withdrawn {code}"
    assert await run(settings, "invites", "list") == 0
    assert code not in capsys.readouterr().out
    assert await run(settings, "invites", "list", "--all") == 0
    assert "revoked" in capsys.readouterr().out
    assert await run(settings, "invites", "revoke", "cb-nothere00") == 1
    assert await run(settings, "invite", "--unit", "that-khe", "--for", "telegram:5") == 0
    assert "only for telegram:5" in capsys.readouterr().out


# --- 6. the admin's unlock -----------------------------------------------------------------------


async def test_unlock_days_out_of_range_says_the_range(engine: Engine, store: Store) -> None:
    await speaks(store, "9001")
    answer = await tell(engine, "9001", "/mokhoa that-khe 6T2026 999")
    assert "from 1 to 60" in answer and "/mokhoa that-khe" not in answer


async def test_unlocking_an_open_period_announces_its_real_end(
    engine: Engine, store: Store
) -> None:
    await speaks(store, "9001")
    # 28/11/2026: 2026-N is on time until 15/12, accepted late until 14/01/2027.
    answer = await tell(engine, "9001", "/mokhoa that-khe N 7")
    assert "14/01/2027" in answer and "05/12/2026" not in answer


# --- 9. reminders run --at a future moment ------------------------------------------------------


async def test_reminders_at_a_future_moment_refuse_without_force(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    future = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    assert await run(settings, "reminders", "run", "--at", future) == 2
    err = capsys.readouterr().err
    assert "in the future" in err and "--force" in err and "--dry-run" in err
    row = await store.fetchone("SELECT COUNT(*) FROM outbox")
    assert row is not None and row[0] == 0
    assert await run(settings, "reminders", "run", "--at", future, "--dry-run") == 0


# --- 10. a content file saved as UTF-16 -------------------------------------------------------


def test_a_utf16_content_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text("topics: []\n", encoding="utf-16")
    with pytest.raises(ContentError) as err:
        read_yaml(path)
    message = str(err.value)
    assert "faq.yaml" in message and "UTF-8" in message and "\n" not in message


def test_a_utf16_content_folder_fails_with_the_file_named(tmp_path: Path) -> None:
    source = Path("content")
    for item in source.iterdir():
        if item.is_file():
            (tmp_path / item.name).write_bytes(item.read_bytes())
    units = tmp_path / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8"), encoding="utf-16")
    with pytest.raises(ContentError, match=r"units\.yaml.*UTF-8"):
        load_content(tmp_path)


# --- 11. read-only commands never create a database --------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [("export", "--period", "2026-N"), ("officers", "list"), ("invites", "list"),
     ("broadcast", "status")],
)  # fmt: skip
async def test_read_only_commands_refuse_to_create_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    settings = Settings(db_path=Path("data/bot.sqlite3"))
    assert await run(settings, *argv) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "data" / "bot.sqlite3") in err and "BOT_DB" in err
    assert not (tmp_path / "data").exists() and not list(tmp_path.glob("*.xlsx"))


def test_bot_db_in_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BOT_DB"):
        load_settings({"BOT_DB": str(tmp_path / "nowhere" / "bot.sqlite3")})
    # The default folder data/ is created on first use, as before.
    assert load_settings({"BOT_DB": "data/bot.sqlite3"}).db_path == Path("data/bot.sqlite3")
    assert load_settings({}).db_path == Path("data/bot.sqlite3")


# --- 12. what a department sends upward --------------------------------------------------------


async def test_the_officers_display_name_is_kept_and_exported(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await speaks(store, "13")
    code = new_invite_code()
    reports = store.reports
    await reports.create_invite(
        code, "that-khe", clock.now() + timedelta(days=1), "a", clock.now()
    )
    inc = Incoming(TG, "13", text=f"/start {code}", display_name="Nguyễn Thị Mai")
    assert "registered" in all_text(await engine.handle(inc))
    found = await reports.officer(f"{TG}:13")
    assert found is not None and found.display_name == "Nguyễn Thị Mai"
    from bot.reporting.service import Reporting, load_status

    await file(engine, "13", "BC N tt=1")
    reporting = Reporting(load_indicators(), CAL, reports)
    status = await load_status(reporting, engine.content.units, CAL.period_of("N", 2026))
    assert status.officer_label(f"{TG}:13") == f"Nguyễn Thị Mai ({TG}:13)"


def test_a_bare_kind_looks_back_never_forward() -> None:
    # 28/11/2026: 2026-6T closed on 15/07; 2027-6T opens on 16/12 and has nothing yet.
    period = resolve_period(CAL, "6T", date(2026, 11, 28))
    assert period is not None and period.id == "2026-6T"
    assert resolve_period(CAL, "N", date(2026, 11, 28)).id == "2026-N"  # type: ignore[union-attr]
    assert resolve_period(CAL, "6T2027", date(2026, 11, 28)).id == "2027-6T"  # type: ignore[union-attr]


async def test_a_broadcast_to_nobody_is_refused(
    settings: Settings, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "tin.txt"
    text.write_text("Tin chiến dịch", encoding="utf-8")
    assert await run(settings, "broadcast", "--to", "officers", "--text-file", str(text)) == 1
    assert "nobody" in capsys.readouterr().err
    row = await store.fetchone("SELECT COUNT(*) FROM broadcasts")
    assert row is not None and row[0] == 0


async def test_printed_times_say_their_zone(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(settings, "invite", "--unit", "that-khe") == 0
    assert "UTC+7" in capsys.readouterr().out.splitlines()[-1]
    service = Broadcasts(store=store, units=load_content().units, admins=[ADMIN], tz=settings.tz)
    await service.create(audience="admins", text=_localized("x"), created_by="cli")
    assert await run(settings, "broadcast", "status") == 0
    assert capsys.readouterr().out.count("UTC+7") == 2  # created and due


def _localized(text: str) -> Localized:
    return Localized(vi=text, en=text)


def test_bot_admins_error_names_the_console_address() -> None:
    with pytest.raises(SettingsError, match="console:<user>"):
        load_settings({"BOT_ADMINS": "admin"})
