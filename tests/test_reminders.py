"""Deadline reminders and escalation: a half-year day by day, texts, catch-up, the CLI pass."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import Runtime, open_runtime, run_background, scheduled_passes
from bot.cli.proactive import COMMANDS
from bot.clock import FakeClock
from bot.content import Content, Localized
from bot.core.engine import Engine
from bot.messages import Delivery, Reply
from bot.proactive.outbox import OutboxSender
from bot.proactive.ratelimit import ChannelLimits
from bot.proactive.reminders import Reminders, long_date
from bot.proactive.scheduler import REMINDER_JOB_ID, ScheduledPasses, build_scheduler
from bot.reporting.indicators import load_indicators
from bot.reporting.invites import new_invite_code
from bot.reporting.periods import PeriodCalendar, PeriodKind, ReminderSettings, load_calendar
from bot.settings import Secret, Settings
from bot.storage import Store
from bot.storage.outbox import OutboxStore
from tests.conftest import ADMIN, all_text, db_settings, say
from tests.fakes.telegram_api import FakeTelegramAPI

TZ = "Asia/Ho_Chi_Minh"
PROVINCE = "telegram:5000"  # an officer of the province: gets the digests of the communes
OFFICERS = {
    "telegram:5101": "that-khe",
    "telegram:5102": "that-khe",
    "telegram:5201": "binh-gia",
    "telegram:5301": "tam-thanh",  # chose English
    "telegram:5401": "bac-son",
}


class Recorder:
    """A channel that records what it is asked to send."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, Reply]] = []

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        self.sent.append((f"telegram:{user_key}", reply))
        return Delivery("sent")


async def register(store: Store, address: str, unit: str, at: datetime) -> None:
    reports = store.reports
    code = new_invite_code()
    await reports.create_invite(code, unit, at + timedelta(days=1), ADMIN, at)
    await reports.redeem_invite(code, address, at)


async def file_report(store: Store, address: str, unit: str, period: str, at: datetime) -> None:
    await store.reports.save_report(
        officer=address, unit_code=unit, period_id=period, values={"tt": 1}, late=False, now=at
    )


@dataclass
class World:
    store: Store
    clock: FakeClock
    reminders: Reminders
    sender: OutboxSender
    recorder: Recorder
    outbox: OutboxStore = field(init=False)

    def __post_init__(self) -> None:
        self.outbox = self.store.outbox


def local(day: date, hour: int = 8, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(TZ))


@pytest.fixture
async def world(store: Store, content: Content) -> World:
    clock = FakeClock(datetime(2026, 5, 1, 7, 0), TZ)
    for address, unit in OFFICERS.items():
        await register(store, address, unit, clock.now())
    await register(store, PROVINCE, "lang-son", clock.now())
    await store.set_language("telegram:5301", "en", clock.now())
    reminders = Reminders(
        store=store,
        content=content,
        calendar=load_calendar(),
        indicators=load_indicators(),
        admins={ADMIN},
        tz=clock.tz,
    )
    recorder = Recorder()
    sender = OutboxSender(
        store.outbox,
        {"telegram": recorder},
        {"telegram": ChannelLimits()},
        idle_poll=0.01,
    )
    return World(store, clock, reminders, sender, recorder)


# --- the half-year, day by day -----------------------------------------------------------------

SIX = [date(2026, 6, d) for d in (8, 12, 14, 15, 16, 18, 22)]
YEAR = [date(2026, 12, d) for d in (8, 12, 14, 15, 16, 18, 22)]
KIND = {8: "before-7", 12: "before-3", 14: "before-1", 15: "before-0", 16: "overdue-1",
        18: "overdue-3", 22: "overdue-7"}  # fmt: skip

# When each unit files (local time); reports at 10:00 come after that day's 08:00 reminders.
FILINGS = [
    ("telegram:5101", "that-khe", "2026-6T", local(date(2026, 6, 10), 15)),
    ("telegram:5401", "bac-son", "2026-6T", local(date(2026, 6, 15), 10)),
    ("telegram:5201", "binh-gia", "2026-6T", local(date(2026, 6, 17), 9)),
    ("telegram:5301", "tam-thanh", "2026-N", local(date(2026, 12, 1), 9)),
    ("telegram:5201", "binh-gia", "2026-N", local(date(2026, 12, 14), 7, 30)),
    ("telegram:5401", "bac-son", "2026-N", local(date(2026, 12, 22), 7)),
]


def expected_reminders(day: date) -> set[tuple[str, str]]:
    """(officer, dedupe key) that must be reminded on `day`, written out by hand."""
    out: set[tuple[str, str]] = set()

    def remind(units: list[str], period: str) -> None:
        for address, unit in OFFICERS.items():
            if unit in units:
                out.add((address, f"remind:{period}:{KIND[day.day]}:{address}"))

    if day in SIX:
        units = ["that-khe", "binh-gia", "tam-thanh", "bac-son"]
        if day > date(2026, 6, 10):
            units.remove("that-khe")  # reported on 10/6
        if day > date(2026, 6, 15):
            units.remove("bac-son")  # reported on the deadline day, after the reminder
        if day > date(2026, 6, 17):
            units.remove("binh-gia")  # reported late, on 17/6
        remind(units, "2026-6T")
    if day in YEAR:
        units = ["that-khe", "binh-gia", "bac-son"]  # tam-thanh reported early, on 1/12
        if day >= date(2026, 12, 14):
            units.remove("binh-gia")  # reported at 07:30 on 14/12, before the reminder
        if day >= date(2026, 12, 22):
            units.remove("bac-son")  # reported at 07:00 on the last overdue day
        remind(units, "2026-N")
    return out


DIGEST_DAYS = {date(2026, 6, 16), date(2026, 6, 22), date(2026, 12, 16), date(2026, 12, 22)}


@pytest.mark.slow
async def test_a_half_year_day_by_day(world: World, content: Content) -> None:
    pending = sorted(FILINGS, key=lambda f: f[3])
    digests: dict[date, dict[str, str]] = {}
    day = date(2026, 5, 25)
    while day <= date(2027, 1, 20):
        # Reports filed before 08:00 count for the day's pass.
        while pending and pending[0][3] <= local(day):
            address, unit, period, at = pending.pop(0)
            await file_report(world.store, address, unit, period, at)
        world.clock.set(local(day))
        mark = len(world.recorder.sent)
        first = await world.reminders.run(world.clock.now())
        again = await world.reminders.run(world.clock.now())
        assert again.queued == 0, f"{day}: a second run queued again"
        await world.sender.drain(within=10)
        sent = world.recorder.sent[mark:]
        reminded = {
            (address, key)
            for p in first.planned
            if p.purpose == "remind"
            for address, key in [(p.address, p.message.dedupe_key)]
        }
        assert reminded == expected_reminders(day), day
        assert sorted(a for a, r in sent if r.buttons) == sorted(a for a, _k in reminded), day
        digest_to = {a: r.text for a, r in sent if not r.buttons}
        if day in DIGEST_DAYS:
            assert set(digest_to) == {ADMIN, PROVINCE}, day
            digests[day] = digest_to
        else:
            assert digest_to == {}, day
        # A pass later the same day (a restart, the CLI) sends nothing more.
        world.clock.set(local(day, 18))
        late = await world.reminders.run(world.clock.now())
        assert late.queued == 0
        day += timedelta(days=1)
    assert not pending

    total = len(content.reporting_units())
    first_6t = digests[date(2026, 6, 16)][ADMIN]
    assert f"2/{total}" in first_6t  # that-khe and bac-son had reported
    assert "Xã Bình Gia" in first_6t and "Xã Thất Khê" not in first_6t.split("\n", 2)[2]
    last_6t = digests[date(2026, 6, 22)][ADMIN]
    assert f"3/{total}" in last_6t
    assert long_date(date(2026, 7, 15), "vi") in last_6t  # late reports accepted until then
    assert f"2/{total}" in digests[date(2026, 12, 16)][ADMIN]  # tam-thanh, binh-gia
    # Units with no registered officer are named apart: nobody could remind them.
    assert f"({total - 4})" in first_6t


# --- texts -------------------------------------------------------------------------------------


async def test_a_reminder_names_unit_period_deadline_and_the_one_line_format(
    world: World,
) -> None:
    plan = await world.reminders.plan(local(date(2026, 6, 8)))
    vi = next(p for p in plan.planned if p.address == "telegram:5101").message.reply
    assert "Xã Thất Khê" in vi.text
    assert "Báo cáo 6 tháng năm 2026" in vi.text
    assert "Thứ Hai, 15 tháng 6, 2026" in vi.text
    assert "còn 7 ngày" in vi.text
    assert "BC 6T2026 tt=… nd=… nu=…" in vi.text
    assert [[b.data for b in row] for row in vi.buttons] == [["rep:start:2026-6T"]]
    en = next(p for p in plan.planned if p.address == "telegram:5301").message.reply
    assert "Tam Thanh ward" in en.text and "Monday, June 15, 2026" in en.text
    assert "7 days left" in en.text


async def test_the_reminder_button_starts_the_guided_report(
    world: World, engine: Engine, clock: FakeClock
) -> None:
    clock.set(local(date(2026, 6, 8)))  # the engine's clock: the day the reminder went out
    plan = await world.reminders.plan(clock.now())
    reply = next(p for p in plan.planned if p.address == "telegram:5101").message.reply
    [[start]] = reply.buttons
    answer = all_text(await say(engine, button=start.data, user="5101", channel="telegram"))
    assert "Báo cáo 6 tháng năm 2026" in answer and "Buổi truyền thông" in answer


async def test_overdue_and_deadline_day_wording(world: World) -> None:
    on_deadline = await world.reminders.plan(local(date(2026, 6, 15)))
    text = next(p for p in on_deadline.planned if p.address == "telegram:5301").message.reply.text
    assert "today" in text
    overdue = await world.reminders.plan(local(date(2026, 6, 18)))
    text = next(p for p in overdue.planned if p.address == "telegram:5101").message.reply.text
    assert "quá hạn 3 ngày" in text


async def test_nothing_is_due_before_the_reminder_time(world: World) -> None:
    early = await world.reminders.run(local(date(2026, 6, 8), 7, 59))
    assert not early.due and early.planned == [] and early.queued == 0
    assert (await world.reminders.run(local(date(2026, 6, 8), 8, 0))).queued > 0


async def test_revoked_officers_are_not_reminded(world: World) -> None:
    await world.store.reports.revoke_officer("telegram:5102", world.clock.now())
    plan = await world.reminders.plan(local(date(2026, 6, 8)))
    assert "telegram:5102" not in {p.address for p in plan.planned}


async def test_a_report_filed_after_queueing_stops_the_queued_reminder(world: World) -> None:
    world.clock.set(local(date(2026, 6, 8)))
    await world.reminders.run(world.clock.now())
    await file_report(world.store, "telegram:5201", "binh-gia", "2026-6T", world.clock.now())
    await world.sender.drain(within=5)
    assert "telegram:5201" not in {a for a, _r in world.recorder.sent}
    state = await world.outbox.state_of("remind:2026-6T:before-7:telegram:5201")
    assert state == ("skipped", 0)


async def test_the_annual_period_reminds_across_the_new_year(
    store: Store, content: Content
) -> None:
    """The last period of the year keeps reminding into January (no 'last period' gap)."""
    name = Localized("Báo cáo {year}", "Report {year}")
    calendar = PeriodCalendar(
        [PeriodKind("6T", 6, 30, name), PeriodKind("N", 12, 28, name)],
        late_days=30,
        reminders=ReminderSettings(before_days=(3, 0), after_days=(1, 7), time=time(8, 0)),
    )
    clock = FakeClock(datetime(2026, 12, 1), TZ)
    await register(store, "telegram:6001", "that-khe", clock.now())
    reminders = Reminders(
        store=store,
        content=content,
        calendar=calendar,
        indicators=load_indicators(),
        admins={ADMIN},
        tz=clock.tz,
    )
    days = {}
    for offset in range(0, 45):
        day = date(2026, 12, 20) + timedelta(days=offset)
        plan = await reminders.plan(local(day))
        kinds = {p.kind for p in plan.planned if p.period_id == "2026-N"}
        if kinds:
            days[day] = kinds
    assert days == {
        date(2026, 12, 25): {"before-3"},
        date(2026, 12, 28): {"before-0"},
        date(2026, 12, 29): {"overdue-1"},
        date(2027, 1, 4): {"overdue-7"},
    }


class Refusing:
    """Officer 5101 blocked the bot; 5201 is outside Zalo's window (as a Zalo sender says)."""

    channel = "telegram"

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        if user_key == "5101":
            return Delivery("blocked", detail="blocked by the user")
        if user_key == "5201":
            return Delivery("undeliverable", detail="outside the 48 h window")
        return Delivery("sent")


async def test_the_digest_counts_reminders_that_could_not_be_delivered(world: World) -> None:
    await world.reminders.run(local(date(2026, 6, 8)))
    refusing = OutboxSender(world.outbox, {"telegram": Refusing()}, {"telegram": ChannelLimits()})
    await refusing.drain(within=5)
    plan = await world.reminders.run(local(date(2026, 6, 16)))
    digest = next(p for p in plan.planned if p.address == ADMIN).message.reply.text
    assert "1 người đã chặn bot, 1 ngoài khung 48 giờ của Zalo, 0 lỗi" in digest


# --- the scheduler and the start-up catch-up ---------------------------------------------------


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[tuple[Runtime, FakeClock]]:
    clock = FakeClock(datetime(2026, 6, 12, 10, 30), TZ)
    async with open_runtime(settings, clock) as rt:
        yield rt, clock


async def test_the_daily_job_is_one_stable_job_at_the_configured_time(
    runtime: tuple[Runtime, FakeClock],
) -> None:
    rt, _clock = runtime
    background = scheduled_passes(rt, OutboxSender(rt.store.outbox, {}, {}))
    scheduler = build_scheduler(background, rt.settings.tz)
    job = scheduler.get_job(REMINDER_JOB_ID)
    assert job is not None
    assert str(job.trigger.fields[5]) == "8" and str(job.trigger.fields[6]) == "0"  # hour, min
    assert str(job.trigger.timezone) == "Asia/Ho_Chi_Minh"
    assert job.coalesce and job.misfire_grace_time >= 3600 and job.max_instances == 1
    assert [j.id for j in scheduler.get_jobs()] == [
        REMINDER_JOB_ID,
        "purge-hourly",
        "campaigns-0900",
    ]


async def test_a_bot_down_at_eight_reminds_once_when_it_starts(
    runtime: tuple[Runtime, FakeClock],
) -> None:
    rt, clock = runtime
    for address, unit in OFFICERS.items():
        await register(rt.store, address, unit, clock.now())
    recorder = Recorder()

    async def start_once() -> None:
        stop = asyncio.Event()

        async def ready(background: ScheduledPasses, scheduler: object) -> None:
            await background.sender.drain(within=5)
            stop.set()

        await asyncio.wait_for(
            run_background(rt, {"telegram": recorder}, stop, on_ready=ready), 10
        )

    await start_once()  # started at 10:30 on 12/6, a "3 days left" day
    first = sorted(a for a, _r in recorder.sent)
    assert first == sorted(OFFICERS)
    clock.set(datetime(2026, 6, 12, 11, 0))
    await start_once()  # restarted the same day: nothing twice
    assert len(recorder.sent) == len(first)


# --- bdg-bot reminders run -----------------------------------------------------------------------


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """Shipped content with a period due in 3 days, so today (real time) is a reminder day."""
    target = tmp_path / "content"
    shutil.copytree(Path(__file__).resolve().parent.parent / "content", target)
    today = date.today()
    due = today + timedelta(days=3)
    if (due.month, due.day) == (2, 29):
        due, today = due + timedelta(days=1), today + timedelta(days=1)
    other = due + timedelta(days=180)
    if (other.month, other.day) == (2, 29):
        other += timedelta(days=1)
    (target / "periods.yaml").write_text(
        "kinds:\n"
        f'  - {{kind: 6T, deadline: "{due.day:02d}/{due.month:02d}", '
        'name: {vi: "Báo cáo 6 tháng năm {year}", en: "Six-month report {year}"}}\n'
        f'  - {{kind: "N", deadline: "{other.day:02d}/{other.month:02d}", '
        'name: {vi: "Báo cáo năm {year}", en: "Annual report {year}"}}\n'
        "late_days: 30\n",
        encoding="utf-8",
    )
    return target


async def test_cli_dry_run_prints_the_plan_then_a_run_sends_once(
    database: Path | str, content_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeTelegramAPI() as fake:
        settings = Settings(
            telegram_token=Secret(fake.token),
            telegram_api_base_url=fake.base_url,
            **db_settings(database),
            admins=frozenset({ADMIN}),
            content_dir=content_dir,
            telegram_rate_total=1000.0,
            telegram_rate_per_chat=1000.0,
        )
        store = await Store.open(database)
        try:
            for address, unit in OFFICERS.items():
                await register(store, address, unit, datetime.now(settings.tz))
        finally:
            await store.close()
        at = f"{date.today().isoformat()}T08:00"
        args = argparse.Namespace(at=at, dry_run=True, wait=30.0)
        assert await COMMANDS["reminders"](settings, args) == 0
        out = capsys.readouterr().out
        for address, unit in OFFICERS.items():
            assert any(address in line and unit in line and "before-3" in line
                       for line in out.splitlines())  # fmt: skip
        assert fake.sent() == []
        store = await Store.open(database)
        assert await store.outbox.counts() == {}
        await store.close()

        args.dry_run = False
        assert await COMMANDS["reminders"](settings, args) == 0
        out = capsys.readouterr().out
        assert f"queued {len(OFFICERS)} new message(s)" in out
        assert sorted(m["chat"]["id"] for m in fake.sent()) == sorted(
            int(a.split(":")[1]) for a in OFFICERS
        )
        assert await COMMANDS["reminders"](settings, args) == 0
        assert "queued 0 new message(s)" in capsys.readouterr().out
        assert len(fake.sent()) == len(OFFICERS)
        # A date alone means that day's reminder time.
        args.at = date.today().isoformat()
        assert await COMMANDS["reminders"](settings, args) == 0
        assert len(fake.sent()) == len(OFFICERS)
