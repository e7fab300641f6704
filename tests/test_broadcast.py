"""Broadcasts: audiences, no double broadcasts, opt-out mid-send, campaigns, chat and CLI."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from bot.channels.telegram.sender import TelegramSender
from bot.cli.proactive import COMMANDS
from bot.content import Content, ContentError, Localized
from bot.core.engine import Engine
from bot.messages import Reply
from bot.proactive.broadcasts import (
    AudienceError,
    Broadcasts,
    load_campaigns,
    parse_audience,
)
from bot.proactive.outbox import OutboxSender
from bot.proactive.ratelimit import ChannelLimits
from bot.reporting.invites import new_invite_code
from bot.settings import Secret, Settings
from bot.storage import Store
from tests.conftest import ADMIN, all_text, button_data, db_settings, say
from tests.fakes.telegram_api import FakeTelegramAPI

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=TZ)


async def subscribe(store: Store, *users: int, lang: str = "vi") -> None:
    for user in users:
        await store.set_language(f"telegram:{user}", lang, NOW)
        await store.set_subscribed(f"telegram:{user}", True, NOW)


async def officer(store: Store, address: str, unit: str) -> None:
    reports = store.reports
    code = new_invite_code()
    await reports.create_invite(code, unit, NOW + timedelta(days=1), ADMIN, NOW)
    await reports.redeem_invite(code, address, NOW)


@pytest.fixture
def broadcasts(store: Store, content: Content) -> Broadcasts:
    return Broadcasts(store=store, units=content.units, admins={ADMIN}, tz=TZ)


# --- audiences ---------------------------------------------------------------------------------


def test_audiences_are_checked_and_normalised(content: Content) -> None:
    assert parse_audience(" Subscribers ", content.units) == "subscribers"
    assert parse_audience("officers, admins,officers", content.units) == "officers,admins"
    assert parse_audience("unit:that-khe", content.units) == "unit:that-khe"
    with pytest.raises(AudienceError, match="unknown unit code 'nowhere'"):
        parse_audience("unit:nowhere", content.units)
    with pytest.raises(AudienceError, match="use subscribers, officers, admins or unit"):
        parse_audience("everyone", content.units)


async def test_recipients_of_each_audience(store: Store, broadcasts: Broadcasts) -> None:
    await subscribe(store, 1, 2)
    await subscribe(store, 3, lang="en")
    await store.set_subscribed("telegram:3", False, NOW)
    await officer(store, "telegram:10", "that-khe")
    await officer(store, "telegram:11", "binh-gia")
    await officer(store, "telegram:12", "binh-gia")
    await store.reports.revoke_officer("telegram:12", NOW)
    await store.set_subscribed("telegram:10", True, NOW)

    subs = await broadcasts.recipients("subscribers")
    assert [(r.address, r.only_subscribed) for r in subs] == [
        ("telegram:1", True),
        ("telegram:10", True),
        ("telegram:2", True),
    ]
    assert [r.address for r in await broadcasts.recipients("officers")] == [
        "telegram:10",
        "telegram:11",
    ]
    assert [r.address for r in await broadcasts.recipients("unit:binh-gia")] == ["telegram:11"]
    # A unit above the communes reaches the officers of every unit under it.
    assert len(await broadcasts.recipients("unit:lang-son")) == 2
    assert [r.address for r in await broadcasts.recipients("admins")] == [ADMIN]
    both = {
        r.address: r.only_subscribed for r in await broadcasts.recipients("subscribers,officers")
    }
    # An officer who also opted in gets work messages whatever /huy says.
    assert both == {"telegram:1": True, "telegram:2": True, "telegram:10": False,
                    "telegram:11": False}  # fmt: skip


async def test_the_same_broadcast_twice_is_queued_once(
    store: Store, broadcasts: Broadcasts
) -> None:
    await subscribe(store, 1, 2, 3)
    text = Localized("Tin chiến dịch", "Campaign news")
    first, created = await broadcasts.create(audience="subscribers", text=text, created_by="cli")
    assert created and first.recipients == 3
    again, created = await broadcasts.create(audience="subscribers", text=text, created_by="cli")
    assert not created and again.id == first.id
    assert await store.outbox.counts() == {"queued": 3}
    other, created = await broadcasts.create(
        audience="subscribers", text=Localized("Tin khác", "Other"), created_by="cli"
    )
    assert created and other.id != first.id
    keys = await store.outbox.existing_keys([f"broadcast:{first.id}:telegram:1"])
    assert keys == {f"broadcast:{first.id}:telegram:1"}


async def test_subscribers_are_told_how_to_stop_and_get_their_language(
    store: Store, broadcasts: Broadcasts
) -> None:
    await subscribe(store, 1)
    await subscribe(store, 2, lang="en")
    await officer(store, "telegram:10", "that-khe")
    await broadcasts.create(
        audience="subscribers,officers", text=Localized("Xin chào", "Hello"), created_by="cli"
    )
    rows = {
        r["address"]: r["reply"] for r in await store.fetchall("SELECT address, reply FROM outbox")
    }
    # The opt-out has its own name (/huy also cancels a dialog in progress); the vi text is
    # checked by command only, as its translation may still be pending.
    assert "Xin chào" in rows["telegram:1"] and "/ngungtin" in rows["telegram:1"]
    assert "Hello" in rows["telegram:2"] and "Type /ngungtin" in rows["telegram:2"]
    assert "/ngungtin" not in rows["telegram:10"]


# --- opt-out mid-send ----------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


@pytest.mark.slow
async def test_opting_out_mid_send_stops_the_queued_messages_at_once(
    store: Store, engine: Engine, broadcasts: Broadcasts, fake: FakeTelegramAPI
) -> None:
    users = list(range(100, 130))
    await subscribe(store, *users)
    b, _new = await broadcasts.create(
        audience="subscribers", text=Localized("Tin", "News"), created_by="cli"
    )
    outbox = store.outbox
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        sender = OutboxSender(
            outbox, {"telegram": TelegramSender(bot)}, {"telegram": ChannelLimits(10.0, 1.0)}
        )
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        await fake.wait_for(lambda: len(fake.sent()) >= 5, timeout=10)
        leaving = users[-10:]  # the rows go out in address order: these are still queued
        for user in leaving:
            replies = await say(engine, "/huy", user=str(user), channel="telegram")
            assert "/dangky" in all_text(replies)
        stop.set()
        await task
        await sender.drain(within=10)  # the rest, as a restarted bot would
    got = {m["chat"]["id"] for m in fake.sent()}
    assert got == set(users[:-10])
    status = await broadcasts.status(b.id)
    assert status is not None
    assert status.counts == {"sent": 20, "skipped": 10}


# --- campaigns -----------------------------------------------------------------------------------


def test_the_action_month_campaign_is_valid(content: Content) -> None:
    [month] = load_campaigns(content.directory / "campaigns.yaml", content.units)
    assert month.id == "action-month" and month.audience == "subscribers"
    assert [d.isoformat() for d in month.occurrences(2026)] == [
        "2026-11-15",
        "2026-11-22",
        "2026-11-29",
        "2026-12-06",
        "2026-12-15",
    ]
    for message in month.messages:
        assert message.text.vi and message.text.en


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("  - {id: x, name: {vi: a, en: b}, audience: subscribers, messages: "
         "[{on: '15/11', text: {vi: a, en: b}}]}",
         r"entry x message #1, field 'True': unknown field \(did you mean 'day'\?\)"),
        ("  - {id: x, name: {vi: a, en: b}, audience: everyone, messages: "
         "[{day: '15/11', text: {vi: a, en: b}}]}",
         r"entry x, field 'audience': unknown audience 'everyone'"),
        ("  - {id: x, name: {vi: a, en: b}, audience: admins, messages: "
         "[{day: '15/11', text: {vi: a, en: b}}, {every_days: 7, from: '01/11', "
         "until: '30/11', text: {vi: a, en: b}}]}",
         r"entry x, field 'messages': two messages fall on the same day"),
        ("  - {id: x, name: {vi: a, en: b}, audience: admins, messages: "
         "[{day: '29/02', text: {vi: a, en: b}}]}",
         r"entry x message #1, field 'day': 29/02 is not a day of every year"),
        ("  - {id: x, name: {vi: a}, audience: admins, messages: "
         "[{day: '01/02', text: {vi: a, en: b}}]}",
         r"entry x, field 'name.en': must be a non-empty text"),
    ],
)  # fmt: skip
def test_campaign_errors_name_file_entry_and_field(
    tmp_path: Path, content: Content, body: str, error: str
) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text("campaigns:\n" + body + "\n", encoding="utf-8")
    with pytest.raises(ContentError, match="campaigns.yaml, " + error):
        load_campaigns(path, content.units)


async def test_a_campaign_message_is_queued_once_on_its_day_at_its_time(
    store: Store, content: Content
) -> None:
    await subscribe(store, 1, 2)
    campaigns = load_campaigns(content.directory / "campaigns.yaml", content.units)
    service = Broadcasts(
        store=store, units=content.units, admins={ADMIN}, tz=TZ, campaigns=campaigns
    )
    assert await service.run_campaigns(datetime(2026, 11, 15, 8, 59, tzinfo=TZ)) == []
    [(row, created)] = await service.run_campaigns(datetime(2026, 11, 15, 9, 0, tzinfo=TZ))
    assert created and row.key == "campaign:action-month:2026-11-15" and row.recipients == 2
    [(_row, created)] = await service.run_campaigns(datetime(2026, 11, 15, 17, 0, tzinfo=TZ))
    assert not created
    assert await service.run_campaigns(datetime(2026, 11, 16, 9, 0, tzinfo=TZ)) == []
    keys = await store.outbox.existing_keys(
        [
            "campaign:action-month:2026-11-15:telegram:1",
            "campaign:action-month:2026-11-15:telegram:2",
        ]
    )
    assert len(keys) == 2


# --- /guitin and /trangthai ----------------------------------------------------------------------


@pytest.fixture
def admin_engine(engine: Engine) -> Engine:
    # build_engine registers /guitin and /trangthai with every other feature.
    assert "guitin" in engine.commands
    return engine


async def admin(engine: Engine, text: str | None = None, button: str | None = None) -> list[Reply]:
    return await say(engine, text, user="admin", channel="console", button=button)


async def test_guitin_is_for_admins_only(admin_engine: Engine) -> None:
    assert "quản trị" in all_text(await say(admin_engine, "/guitin"))
    assert "quản trị" in all_text(await say(admin_engine, "/trangthai"))
    assert "quản trị" in all_text(await say(admin_engine, button="bc:send:x"))


async def test_compose_preview_change_audience_confirm_once(
    admin_engine: Engine, store: Store
) -> None:
    await subscribe(store, 1, 2, 3)
    await officer(store, "telegram:10", "that-khe")
    asked = all_text(await admin(admin_engine, "/guitin"))
    assert "người đã đăng ký nhận tin" in asked
    preview = await admin(admin_engine, "Tuần này có buổi sinh hoạt cộng đồng ở nhà văn hóa thôn.")
    text = all_text(preview)
    assert "Xem trước" in text and "3 người" in text and "sinh hoạt cộng đồng" in text
    send = next(d for d in button_data(preview) if d.startswith("bc:send:"))
    # Switch to officers: a new preview, and the old "send" button no longer works.
    to_officers = await admin(admin_engine, button="bc:aud:officers")
    assert "1 người" in all_text(to_officers)
    assert "đã cũ" in all_text(await admin(admin_engine, button=send))
    send = next(d for d in button_data(to_officers) if d.startswith("bc:send:"))
    done = all_text(await admin(admin_engine, button=send))
    assert "#1" in done and "1 người" in done
    # A double tap on "send" queues nothing more.
    assert "không còn mở" in all_text(await admin(admin_engine, button=send))
    assert await store.outbox.counts() == {"queued": 1}
    status = all_text(await admin(admin_engine, "/trangthai"))
    assert "Hàng đợi: 1 tin" in status and "#1" in status and "đã gửi 0/1" in status
    assert "#1" in all_text(await admin(admin_engine, "/trangthai 1"))
    assert "Không có tin gửi #9" in all_text(await admin(admin_engine, "/trangthai 9"))


async def test_guitin_errors_say_what_to_do(admin_engine: Engine) -> None:
    assert "unit:<mã đơn vị>" in all_text(await admin(admin_engine, "/guitin mọi người"))
    await admin(admin_engine, "/guitin unit:that-khe")
    too_long = all_text(await admin(admin_engine, "x" * 4000))
    assert "4000" in too_long and "3800" in too_long and "rút gọn" in too_long
    assert "Đã hủy" in all_text(await admin(admin_engine, button="bc:cancel"))
    assert "không còn mở" in all_text(await admin(admin_engine, button="bc:aud:officers"))


def test_the_cli_arguments_parse_as_documented() -> None:
    from bot.cli.proactive import add_subcommands

    parser = argparse.ArgumentParser(prog="bdg-bot")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    run = parser.parse_args(["reminders", "run", "--at", "2026-06-08T08:00", "--dry-run"])
    assert (run.command, run.at, run.dry_run) == ("reminders", "2026-06-08T08:00", True)
    send = parser.parse_args(["broadcast", "--to", "subscribers", "--text-file", "t.txt"])
    assert (send.action, send.to, send.text_file) == (None, "subscribers", Path("t.txt"))
    status = parser.parse_args(["broadcast", "status", "3"])
    assert (status.action, status.id) == ("status", 3)
    with pytest.raises(SystemExit):
        parser.parse_args(["reminders", "run", "--at", "tomorrow"])


# --- bdg-bot broadcast -------------------------------------------------------------------------


async def test_cli_broadcast_sends_with_progress_and_shows_status(
    database: Path | str,
    fake: FakeTelegramAPI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(
        telegram_token=Secret(fake.token),
        telegram_api_base_url=fake.base_url,
        **db_settings(database),
        admins=frozenset({ADMIN}),
        telegram_rate_total=1000.0,
        telegram_rate_per_chat=1000.0,
    )
    store = await Store.open(database)
    await subscribe(store, *range(1, 11))
    await store.close()
    text = tmp_path / "tin.txt"
    text.write_text("Tháng hành động bắt đầu từ 15/11.\n", encoding="utf-8")
    args = argparse.Namespace(
        action=None, id=None, to="subscribers", text_file=text, text_file_en=None, at=None,
        wait=30.0,
    )  # fmt: skip
    assert await COMMANDS["broadcast"](settings, args) == 0
    out, err = capsys.readouterr()
    assert "Broadcast #1 queued for 10 recipient(s)." in out
    assert re.search(r"\[#{30}\] 10/10", err)
    assert "10 sent" in out and "0 queued" in out
    assert len(fake.sent()) == 10
    # The same command again: nothing queued, nothing sent.
    assert await COMMANDS["broadcast"](settings, args) == 0
    assert "already queued" in capsys.readouterr().out
    assert len(fake.sent()) == 10
    status = argparse.Namespace(**{**vars(args), "action": "status", "id": None})
    assert await COMMANDS["broadcast"](settings, status) == 0
    assert "#1" in capsys.readouterr().out
    later = (datetime.now(TZ) + timedelta(hours=2)).replace(tzinfo=None).isoformat()
    scheduled = argparse.Namespace(**{**vars(args), "to": "admins", "at": later})
    assert await COMMANDS["broadcast"](settings, scheduled) == 0
    assert "the running bot sends it" in capsys.readouterr().out
    assert len(fake.sent()) == 10
    bad = argparse.Namespace(**{**vars(args), "to": "unit:nowhere"})
    assert await COMMANDS["broadcast"](settings, bad) == 2
    assert "unknown unit code" in capsys.readouterr().err


async def test_undeliverable_and_blocked_are_counted_in_the_status(
    store: Store, broadcasts: Broadcasts, fake: FakeTelegramAPI
) -> None:
    await subscribe(store, 1, 2)
    b, _new = await broadcasts.create(
        audience="subscribers", text=Localized("Tin", "News"), created_by="cli"
    )
    fake.block_user(2)
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        sender = OutboxSender(
            store.outbox, {"telegram": TelegramSender(bot)}, {"telegram": ChannelLimits()}
        )
        await sender.drain(within=10)
    status = await broadcasts.status(b.id)
    assert status is not None and status.counts == {"sent": 1, "blocked": 1}
    assert status.queued == 0 and status.done == 2
    assert time.time() - b.created_at < 60
