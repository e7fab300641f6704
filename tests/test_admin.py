"""The department's chat commands: refusals, reporting rate, totals, the Excel file, invites."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import openpyxl
import pytest

from bot.clock import FakeClock
from bot.content import Content, Unit
from bot.core.engine import Engine
from bot.core.handlers import citizen
from bot.core.handlers.admin import register
from bot.core.handlers.officer import register as register_officer
from bot.reporting.export import SHEET_DATA, SHEET_STATUS
from bot.reporting.indicators import load_indicators
from bot.reporting.invites import new_invite_code
from bot.reporting.periods import load_calendar
from bot.reporting.service import Reporting
from bot.settings import Settings
from bot.storage import Store
from tests.conftest import ADMIN, all_text, button_data, say

CODE_RE = re.compile(r"cb-[a-z0-9]{10}")
OFFICER = "555"
EngineFactory = Callable[..., Engine]


@pytest.fixture
def reporting(store: Store) -> Reporting:
    return Reporting(load_indicators(), load_calendar(), store.reports)


@pytest.fixture
def make_engine(
    settings: Settings, store: Store, clock: FakeClock, content: Content, reporting: Reporting
) -> EngineFactory:
    """An engine with the citizen, officer and admin features, over any content."""

    def build(units: Content | None = None, bot_username: str = "") -> Engine:
        # Built here rather than with build_engine: that one will register these features
        # itself once they are wired, and a command registered twice is an error.
        engine = Engine(
            content=units or content,
            store=store,
            clock=clock,
            admins=settings.admins,
            bot_username=bot_username,
        )
        citizen.register(engine)
        register_officer(engine, reporting)
        register(engine, reporting)
        return engine

    return build


@pytest.fixture
def admin_engine(make_engine: EngineFactory) -> Engine:
    return make_engine(bot_username="bdg_test_bot")


async def admin(engine: Engine, text: str, lang: str = "vi") -> str:
    # The admin chose the language (/ngonngu): a command's text does not say which it is.
    await engine.store.set_language(ADMIN, lang, datetime(2026, 1, 1))
    return all_text(await say(engine, text, channel="telegram", user="9001", lang=lang))


async def file_report(
    reporting: Reporting, unit: str, values: dict[str, int], *, at: datetime, late: bool,
    period: str = "2026-N",
) -> None:  # fmt: skip
    """Register an officer for `unit` (once) and save a version of its report."""
    officer = f"telegram:off-{unit}"
    if await reporting.reports.officer(officer) is None:
        code = new_invite_code()
        await reporting.reports.create_invite(code, unit, at + timedelta(days=1), ADMIN, at)
        await reporting.reports.redeem_invite(code, officer, at)
    await reporting.reports.save_report(
        officer=officer, unit_code=unit, period_id=period, values=values, late=late, now=at
    )


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/tinhhinh", "/tonghop N", "/xuat", "/moi that-khe"])
async def test_a_citizen_is_refused_and_nothing_happens(
    admin_engine: Engine, store: Store, command: str
) -> None:
    replies = await say(admin_engine, command, user="100", channel="telegram")
    assert all_text(replies) == "Lệnh này chỉ dành cho quản trị viên của Sở."
    assert all(r.document is None and not r.buttons for r in replies)
    await store.set_language("telegram:101", "en", datetime(2026, 1, 1))
    english = await say(admin_engine, command, user="101", channel="telegram", lang="en")
    assert all_text(english) == "This command is for the department's administrators only."
    row = await store.fetchone("SELECT COUNT(*) FROM invites")
    assert row is not None and row[0] == 0


async def test_an_officer_is_refused_too(admin_engine: Engine, reporting: Reporting) -> None:
    await file_report(reporting, "that-khe", {"tt": 1}, at=datetime(2026, 11, 1, 9), late=False)
    officer = "off-that-khe"
    for command in ("/tinhhinh", "/tonghop", "/xuat csv", "/moi dong-kinh 3"):
        replies = await say(admin_engine, command, user=officer, channel="telegram")
        assert "quản trị viên" in all_text(replies)
        assert all(r.document is None for r in replies)
    pressed = await say(admin_engine, user=officer, channel="telegram", button="adm:xuat:2026-N")
    assert "quản trị viên" in all_text(pressed) and pressed[0].document is None
    assert len(await reporting.reports.officers()) == 1


async def test_the_console_admin_is_an_admin(admin_engine: Engine) -> None:
    text = all_text(await say(admin_engine, "/tinhhinh", user="admin", channel="console"))
    assert text.startswith("Tình hình báo cáo — Báo cáo năm 2026")


# --- reporting rate ----------------------------------------------------------------------------


async def test_status_of_the_shipped_units(admin_engine: Engine, reporting: Reporting) -> None:
    await file_report(reporting, "that-khe", {"tt": 2}, at=datetime(2026, 12, 1, 9), late=False)
    await file_report(reporting, "dong-kinh", {"tt": 1}, at=datetime(2026, 12, 20, 9), late=True)
    text = await admin(admin_engine, "/tinhhinh", lang="en")
    lines = text.splitlines()
    # The default is the period with the nearest deadline not yet passed (28/11/2026 -> N).
    assert lines[0] == "Reporting status — Annual report 2026 (due 15/12/2026)"
    assert "Open: 17 days left until the deadline." in lines
    assert "Reported: 2 of 65 units (3%)" in lines
    assert "• on time: 1" in lines and "• late: 1" in lines
    assert "Not reported yet: 63" in lines
    # Lạng Sơn has no district level: one flat list of names, no heading.
    assert "Tam Thanh ward" in text and "Thất Khê commune" not in text
    replies = await say(admin_engine, "/tinhhinh 2026-N", channel="telegram", user="9001")
    assert button_data(replies) == ["adm:tonghop:2026-N", "adm:xuat:2026-N"]


async def test_status_over_a_hierarchy_of_many_units(
    make_engine: EngineFactory, content: Content, reporting: Reporting
) -> None:
    units: dict[str, Unit] = {"tinh": Unit("tinh", "Thử", "tinh")}
    for d in range(12):
        units[f"h{d}"] = Unit(f"h{d}", f"Số {d}", "huyen", "tinh")
    for i in range(120):
        units[f"x{i}"] = Unit(f"x{i}", f"Xã {i:03d}", "xa", f"h{i % 12}")
    units["lap"] = Unit("lap", "Lập", "xa", "tinh")  # directly under the province
    engine = make_engine(dataclasses.replace(content, units=units))
    on_time, late = datetime(2026, 12, 14, 9), datetime(2026, 12, 18, 9)
    for i in range(0, 120, 2):  # 60 reported: a third of them late
        await file_report(reporting, f"x{i}", {"tt": 1, "nd": i}, at=on_time if i % 3 else late,
                          late=not i % 3)  # fmt: skip
    await file_report(reporting, "x1", {"tt": 1}, at=on_time, late=False)
    await file_report(reporting, "x1", {"tt": 5}, at=late, late=True)  # a late correction
    text = await admin(engine, "/tinhhinh N", lang="en")
    assert "Reported: 61 of 121 units (50%)" in text
    assert "• on time: 41" in text and "• late: 20" in text
    assert "Not reported yet: 60" in text
    assert "Directly under the province (1 of 1): Lập commune" in text
    # x3, x15, ... are in h3; x1 (reported) is in h1, whose missing are x13, x25, ...
    assert "Số 3 district (10 of 10): Xã 003 commune, Xã 015 commune" in text
    assert "Số 1 district (9 of 10): Xã 013 commune" in text
    assert "Số 0 district" not in text  # everyone in h0 reported
    totals = await admin(engine, "/tonghop N", lang="en")
    assert "• Communication sessions (tt): 65" in totals
    assert "Số 1 district (1 of 10 reported): tt 5 · nd 0" in totals


async def test_period_argument_forms_and_errors(admin_engine: Engine, clock: FakeClock) -> None:
    for arg in ("2026-N", "n", "N2026", "2026-n"):
        first = (await admin(admin_engine, f"/tinhhinh {arg}", lang="en")).splitlines()[0]
        assert first == "Reporting status — Annual report 2026 (due 15/12/2026)", arg
    first = (await admin(admin_engine, "/tonghop 6T2026", lang="en")).splitlines()[0]
    assert first == "Totals — Six-month report 2026 (due 15/06/2026)"
    wrong = await admin(admin_engine, "/tinhhinh 2026-Q", lang="en")
    assert "«2026-Q» is not a report period" in wrong and "2026-N" in wrong
    assert "6T, N" in wrong
    # After 15/12 the default moves on to the next period, and says so in its first line.
    clock.set(datetime(2026, 12, 20, 9))
    first = (await admin(admin_engine, "/tinhhinh", lang="en")).splitlines()[0]
    assert first == "Reporting status — Six-month report 2027 (due 15/06/2027)"


# --- on time vs late, through the officer's own flow -----------------------------------------


async def test_first_version_decides_on_time_through_the_officer_flow(
    admin_engine: Engine, clock: FakeClock, reporting: Reporting
) -> None:
    clock.set(datetime(2026, 12, 10, 9))
    invite = await admin(admin_engine, "/moi that-khe")
    code = CODE_RE.search(invite)
    assert code is not None
    assert "Xã Thất Khê" in all_text(
        await say(admin_engine, f"/start {code.group()}", user=OFFICER, channel="telegram")
    )
    await say(admin_engine, "BC N tt=3 nd=120 nu=60", user=OFFICER, channel="telegram")
    await say(admin_engine, "ok", user=OFFICER, channel="telegram")
    clock.set(datetime(2026, 12, 20, 9))  # after the deadline, in the late window
    await say(admin_engine, "BC N tt=4 nd=130 nu=60", user=OFFICER, channel="telegram")
    await say(admin_engine, "ok", user=OFFICER, channel="telegram")
    history = await reporting.reports.history("that-khe", "2026-N")
    assert [(r.version, r.late) for r in history] == [(1, False), (2, True)]
    await file_report(reporting, "dong-kinh", {"tt": 1}, at=clock.now(), late=True)
    text = await admin(admin_engine, "/tinhhinh N", lang="en")
    assert "• on time: 1" in text and "• late: 1" in text
    assert "late reports are accepted until 14/01/2027" in text
    replies = await say(admin_engine, "/xuat N", user="9001", channel="telegram")
    document = replies[0].document
    assert document is not None
    wb = openpyxl.load_workbook(io.BytesIO(document.content))
    status = {row[0]: row for row in wb[SHEET_STATUS].iter_rows(min_row=3, values_only=True)}
    assert status["that-khe"][2:] == (
        None,  # the test's Incoming carries no display name
        "telegram:555",
        datetime(2026, 12, 20, 9),
        2,
        datetime(2026, 12, 10, 9),
        "Đúng hạn",
    )
    assert status["dong-kinh"][-1] == "Muộn"
    assert status["tam-thanh"][-1] == "Chưa báo cáo"
    figures = {row[0]: row for row in wb[SHEET_DATA].iter_rows(min_row=3, values_only=True)}
    assert figures["that-khe"][2:5] == (4, 130, 60)  # the latest figures


# --- the file ------------------------------------------------------------------------------------


async def test_export_sends_the_workbook_or_csv(
    admin_engine: Engine, reporting: Reporting
) -> None:
    await file_report(reporting, "that-khe", {"tt": 7}, at=datetime(2026, 12, 1, 9), late=False)
    replies = await say(admin_engine, "/xuat", user="9001", channel="telegram")
    assert len(replies) == 1
    document = replies[0].document
    assert document is not None
    assert document.filename == "bao-cao-2026-N.xlsx"
    assert document.caption == replies[0].text
    assert document.caption.startswith("Báo cáo năm 2026 (hạn 15/12/2026): 1")
    assert len(document.caption) < 1024  # Telegram's caption limit
    ws = openpyxl.load_workbook(io.BytesIO(document.content))[SHEET_DATA]
    assert ws.max_row == 65 + 3  # title, header, units, totals
    csv_reply = await say(admin_engine, "/xuat csv N", user="9001", channel="telegram")
    csv_doc = csv_reply[0].document
    assert csv_doc is not None and csv_doc.filename == "bao-cao-2026-N.csv"
    assert csv_doc.content.startswith(b"\xef\xbb\xbfunit_code,unit_name,tt,")
    pressed = await say(admin_engine, user="9001", channel="telegram", button="adm:xuat:2026-6T")
    assert pressed[0].document is not None
    assert pressed[0].document.filename == "bao-cao-2026-6T.xlsx"
    stale = await say(admin_engine, user="9001", channel="telegram", button="adm:xx:2026-N")
    assert stale[0].document is None and "/tinhhinh" in stale[0].text


async def test_buttons_lead_from_status_to_totals(admin_engine: Engine) -> None:
    replies = await say(admin_engine, user="9001", channel="telegram", button="adm:tonghop:2026-N",
                        lang="en")  # fmt: skip
    assert all_text(replies).startswith("Totals — ")
    assert button_data(replies) == ["adm:tinhhinh:2026-N", "adm:xuat:2026-N"]


# --- invites ---------------------------------------------------------------------------------


async def test_invite_then_start_registers_the_officer(
    admin_engine: Engine, reporting: Reporting, clock: FakeClock
) -> None:
    text = await admin(admin_engine, "/moi that-khe")
    code = CODE_RE.search(text)
    assert code is not None
    assert f"https://t.me/bdg_test_bot?start={code.group()}" in text
    assert "Xã Thất Khê" in text
    assert "09:00 12/12/2026" in text  # 14 days by default
    assert text.splitlines()[1] == code.group()  # on its own line, easy to copy
    reply = all_text(
        await say(admin_engine, f"/start {code.group()}", user=OFFICER, channel="telegram")
    )
    assert "Xã Thất Khê" in reply
    officer = await reporting.reports.officer(f"telegram:{OFFICER}")
    assert officer is not None and officer.unit_code == "that-khe"
    again = all_text(await say(admin_engine, f"/start {code.group()}", user="556"))
    assert "đã được dùng" in again


async def test_invite_days_names_and_expiry(
    admin_engine: Engine, reporting: Reporting, clock: FakeClock
) -> None:
    text = await admin(admin_engine, "/moi Thất Khê 3")
    assert "Xã Thất Khê" in text and "01/12/2026" in text
    code = CODE_RE.search(text)
    assert code is not None
    assert CODE_RE.search(await admin(admin_engine, "/moi xa dong kinh"))
    clock.advance(timedelta(days=3, minutes=1))
    reply = all_text(await say(admin_engine, f"/start {code.group()}", user=OFFICER))
    assert "hết hạn" in reply or "expired" in reply


async def test_invite_link_placeholder_without_username(make_engine: EngineFactory) -> None:
    engine = make_engine()
    text = await admin(engine, "/moi that-khe 1", lang="en")
    code = CODE_RE.search(text)
    assert code is not None
    assert f"https://t.me/<bot>?start={code.group()}" in text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/moi", "/moi tam-thanh 14"),
        ("/moi khong-co", "Unknown unit code «khong-co»"),
        ("/moi that-kee", "Did you mean: that-khe?"),
        ("/moi lang-son", "Lạng Sơn province does not file reports itself"),
        ("/moi that-khe 0", "from 1 to 365"),
        ("/moi that-khe 400", "from 1 to 365"),
    ],
)
async def test_invite_errors(
    admin_engine: Engine, store: Store, command: str, expected: str
) -> None:
    text = await admin(admin_engine, command, lang="en")
    assert expected in text
    assert CODE_RE.search(text) is None
    if "Unknown" in expected or "/moi tam" in expected:
        assert "bdg-bot units list" in text
    row = await store.fetchone("SELECT COUNT(*) FROM invites")
    assert row is not None and row[0] == 0
