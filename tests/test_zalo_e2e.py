"""End to end: signed Zalo webhook events in, replies out through the fake Zalo API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import Runtime, open_runtime
from bot.channels.inbox import InboxWorker, new_inbox_key
from bot.channels.zalo import adapter as zalo_channel
from bot.channels.zalo import client as zalo_client
from bot.channels.zalo.adapter import (
    CHANNEL_KEY,
    WEBHOOK_PATH,
    ZaloSender,
    build_zalo_app,
    serve_zalo,
)
from bot.clock import FakeClock
from bot.core.engine import Outcome
from bot.messages import Button, Delivery, ProactiveSender, Reply
from bot.proactive.reminders import Occasion
from bot.reporting.invites import new_invite_code
from bot.settings import Settings, SettingsError, TemplateParam, ZaloTemplate, load_settings
from bot.storage.zalo import get_interaction, load_tokens
from tests.conftest import db_settings, stored_bytes
from tests.fakes.zalo_api import FakeZaloAPI

CITIZEN = "6120000000000000001"  # Zalo ids exceed 2**53
OFFICER = "6120000000000000002"
ADMIN = "6120000000000000009"


@dataclass
class Bot:
    fake: FakeZaloAPI
    rt: Runtime
    clock: FakeClock
    url: str
    database: Path | str
    app: web.Application

    async def say(self, user: str, text: str, **kw: object) -> int:
        """A user sends `text`; the webhook's HTTP status."""
        return await self.fake.post_event(self.url, self.fake.text_event(user, text, **kw))  # type: ignore[arg-type]

    async def exchange(self, user: str, text: str, n_new: int = 1) -> list[str]:
        """Send `text`, wait for `n_new` more messages to `user` and for the event's handling
        to end (what is kept of it written); all texts so far."""
        before = len(self.fake.texts(user))
        assert await self.say(user, text) == 200
        await self.fake.wait_sent(user, before + n_new)
        channel = self.app[CHANNEL_KEY]
        async with asyncio.timeout(10):
            await channel.lanes.idle()
            while channel.inbox is not None and await self.rt.store.inbox.waiting():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        return self.fake.texts(user)

    @property
    def sender(self) -> ZaloSender:
        return self.app[CHANNEL_KEY].sender


@pytest.fixture
async def bot(database: Path | str, clock: FakeClock) -> AsyncIterator[Bot]:
    """The Zalo webhook app; on PostgreSQL its events go through the durable inbox, as with
    several workers."""
    async with FakeZaloAPI() as fake:
        fake.clock = clock.now
        settings = Settings(
            **db_settings(database),
            zalo=fake.settings(),
            admins=frozenset({f"zalo:{ADMIN}"}),
        )
        async with open_runtime(settings, clock) as rt:
            inbox = InboxWorker(rt.store, new_inbox_key()) if isinstance(database, str) else None
            app = build_zalo_app(rt, inbox)
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            stop = asyncio.Event()
            worker = asyncio.create_task(inbox.run(stop)) if inbox is not None else None
            try:
                url = str(server.make_url(WEBHOOK_PATH))
                yield Bot(fake, rt, clock, url, database, app)
            finally:
                stop.set()
                if worker is not None:
                    await worker
                await server.close()


async def settle(bot: Bot, seconds: float = 0.3) -> None:
    """Give the bot time to (wrongly) answer something."""
    await asyncio.sleep(seconds)


# --- receiving ----------------------------------------------------------------------------------


async def test_start_menu_number_and_question(bot: Bot) -> None:
    texts = await bot.exchange(CITIZEN, "/start")
    welcome = texts[0]
    assert "/xoa" in welcome and "113" in welcome
    assert "\n1. " in welcome and "(Trả lời bằng một số.)" in welcome
    # Pick the hotlines from the numbered menu (the 3rd option of the main menu).
    texts = await bot.exchange(CITIZEN, "3")
    assert "111" in texts[-1]
    texts = await bot.exchange(CITIZEN, "bao luc gia dinh la gi")
    assert "Nguồn" in texts[-1]
    assert bot.fake.refreshes == 1  # the seeded pair was rotated once, on first use


async def test_bad_requests_are_rejected_and_nothing_is_processed(bot: Bot) -> None:
    fake = bot.fake
    event = fake.text_event(CITIZEN, "/start")
    raw = json.dumps(event).encode()
    assert await fake.post_event(bot.url, event, sign=False) == 401
    assert await fake.post_event(bot.url, event, signature="mac=" + "0" * 64) == 401
    wrong_secret = fake.sign(raw + b" ", event["timestamp"])
    assert await fake.post_event(bot.url, raw, signature=wrong_secret) == 401
    assert await fake.post_event(bot.url, b"{not json", signature="mac=00") == 400
    assert await fake.post_event(bot.url, b"[1, 2]", signature="mac=00") == 400
    other_app = dict(event, app_id="999")
    other_raw = json.dumps(other_app).encode()
    signed_other = fake.sign(other_raw, other_app["timestamp"], app_id="999")
    assert await fake.post_event(bot.url, other_raw, signature=signed_other) == 401
    no_time = {k: v for k, v in event.items() if k != "timestamp"}
    assert await fake.post_event(bot.url, no_time, signature=fake.sign(raw, "")) == 401
    await settle(bot)
    assert fake.sent == [] and fake.refreshes == 0
    rows = await bot.rt.store.fetchall("SELECT * FROM processed_updates")
    assert rows == []
    assert await get_interaction(bot.rt.store, CITIZEN) is None


async def test_signature_with_the_oa_id_first_is_accepted(bot: Bot) -> None:
    # Zalo documents the app id; working integrations report the OA id in its place.
    fake = bot.fake
    event = fake.text_event(CITIZEN, "/start")
    raw = json.dumps(event).encode()
    oa_id = event["recipient"]["id"]
    signature = fake.sign(raw, event["timestamp"], app_id=oa_id)
    assert await fake.post_event(bot.url, raw, signature=signature) == 200
    await fake.wait_sent(CITIZEN, 1)


async def test_duplicate_msg_id_is_answered_once(bot: Bot) -> None:
    event = bot.fake.text_event(CITIZEN, "/duongdaynong", msg_id="dup-1")
    assert await bot.fake.post_event(bot.url, event) == 200
    assert await bot.fake.post_event(bot.url, event) == 200  # Zalo's retry
    await bot.exchange(CITIZEN, "/start")
    await settle(bot)
    texts = bot.fake.texts(CITIZEN)
    assert len(texts) == 2 and "111" in texts[0]


async def test_one_users_messages_are_answered_in_order(bot: Bot) -> None:
    bot.fake.latency_ms = 30  # a real round trip, so that a race would show
    for text in ("/ngonngu", "/start"):
        assert await bot.say(CITIZEN, text) == 200
    # Other users at the same time do not delay or reorder this one.
    for i in range(5):
        assert await bot.say(f"70000000000000000{i}", "/start") == 200
    await bot.fake.wait_sent(CITIZEN, 2)
    assert "Nothing you type is stored" in bot.fake.texts(CITIZEN)[1]


async def test_webhook_answers_before_the_reply_is_sent(bot: Bot) -> None:
    bot.fake.latency_ms = 1500  # each call to Zalo takes 1.5 s (a refresh, then the send)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.say(CITIZEN, "/start") == 200
    assert loop.time() - started < 1.0  # Zalo allows two seconds; the reply comes after
    await bot.fake.wait_sent(CITIZEN, 1)


async def test_location_as_strings_gives_nearest_places(bot: Bot) -> None:
    event = bot.fake.location_event(
        CITIZEN, {"coordinates": {"latitude": "21.8537", "longitude": "106.7615"}}
    )
    assert await bot.fake.post_event(bot.url, event) == 200
    [reply] = await bot.fake.wait_sent(CITIZEN, 1)
    assert reply.text.count(" km") == 3 and "maps.google.com" in reply.text


async def test_follow_gets_the_welcome_and_unfollow_forgets(bot: Bot) -> None:
    fake = bot.fake
    assert await fake.post_event(bot.url, fake.follow_event(CITIZEN)) == 200
    [welcome] = await fake.wait_sent(CITIZEN, 1)
    assert "/xoa" in welcome.text
    store = bot.rt.store
    assert await get_interaction(store, CITIZEN) is not None  # following is an interaction
    await bot.exchange(CITIZEN, "/dangky")
    await bot.exchange(CITIZEN, "/ngonngu")
    assert await store.get_user(f"zalo:{CITIZEN}") is not None
    sent = len(fake.sent)
    assert await fake.post_event(bot.url, fake.follow_event(CITIZEN, name="unfollow")) == 200
    await settle(bot)
    assert len(fake.sent) == sent  # nothing can be sent to someone who left
    assert await store.get_user(f"zalo:{CITIZEN}") is None
    assert await get_interaction(store, CITIZEN) is None
    assert await store.get_menu(f"zalo:{CITIZEN}") == []


async def test_erase_on_zalo_says_messages_stay_in_the_app(bot: Bot) -> None:
    await bot.exchange(CITIZEN, "/dangky")
    texts = await bot.exchange(CITIZEN, "/xoa")
    assert "Zalo" in texts[-1]
    assert await bot.rt.store.get_user(f"zalo:{CITIZEN}") is None


async def test_sticker_gets_the_menu_and_echoes_are_ignored(bot: Bot) -> None:
    fake = bot.fake
    echo = fake._event(
        "oa_send_text",
        None,
        sender={"id": "1"},
        recipient={"id": CITIZEN},
        message={"msg_id": "e1", "text": "our own"},
    )
    assert await fake.post_event(bot.url, echo) == 200
    sticker = fake._event(
        "user_send_sticker",
        None,
        sender={"id": CITIZEN},
        message={"msg_id": "s1", "attachments": [{"type": "sticker"}]},
    )
    assert await fake.post_event(bot.url, sticker) == 200
    [menu] = await fake.wait_sent(CITIZEN, 1)
    # The short menu (at most 5 options) comes as real buttons answering with the number.
    assert [payload for _title, payload in menu.buttons] == ["1", "2", "3", "4"]
    assert "1. " not in menu.text
    await settle(bot)
    assert len(fake.sent) == 1


async def test_stale_event_is_not_processed(bot: Bot) -> None:
    old = bot.fake.text_event(CITIZEN, "/start", at=bot.clock.now() - timedelta(days=4))
    assert await bot.fake.post_event(bot.url, old) == 200
    await settle(bot)
    assert bot.fake.sent == []


async def test_emergency_first_reply_leads_with_113(bot: Bot) -> None:
    texts = await bot.exchange(CITIZEN, "ck đang đánh e, cứu em")
    assert "113" in texts[0].splitlines()[0]


# --- sending ------------------------------------------------------------------------------------


async def test_token_expiry_mid_conversation_is_refreshed_and_delivered(bot: Bot) -> None:
    await bot.exchange(CITIZEN, "/start")
    bot.fake.expire_access_token()  # 25 hours later, as far as Zalo is concerned
    texts = await bot.exchange(CITIZEN, "/duongdaynong")
    assert "111" in texts[-1] and len(texts) == 2
    assert bot.fake.refreshes == 2 and not bot.fake.refusals
    pair = await load_tokens(bot.rt.store)
    assert pair is not None and pair.refresh_token == bot.fake.refresh_token


async def test_long_answer_is_split(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    line = "Tháng hành động vì bình đẳng giới và phòng ngừa bạo lực trên cơ sở giới."
    text = "\n".join([line] * 35)
    assert 2500 <= len(text) <= 2600

    async def long_answer(inc: object, **options: object) -> Outcome:
        return Outcome([Reply(text, buttons=[[Button("Menu", "menu")]])], "vi", False, None, 0.0)

    # An answer to the user's own message...
    monkeypatch.setattr(bot.rt.engine, "respond", long_answer)
    parts = await bot.exchange(OFFICER, "cho toi biet them", n_new=2)
    assert len(parts) == 2 and all(len(p) <= 2000 for p in parts)
    assert parts[0] + "\n" + parts[1] == text
    # The option is a button on the last part.
    assert [m.buttons for m in bot.fake.sent] == [[], [("Menu", "1")]]
    # ...and a proactive one.
    assert await bot.sender.deliver(OFFICER, Reply(text)) == Delivery("sent")
    parts = bot.fake.texts(OFFICER)[2:]
    assert len(parts) == 2 and all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts) == text  # cut cleanly at a line break
    await settle(bot, 0.1)
    assert len(bot.fake.texts(OFFICER)) == 4


async def test_reply_rate_limit_is_waited_out(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zalo_client, "INLINE_RATE_DELAY", 0.01)
    await bot.exchange(CITIZEN, "/start")
    bot.fake.fail_next(-32)
    texts = await bot.exchange(CITIZEN, "/duongdaynong")
    assert "111" in texts[-1]


async def test_reply_network_failure_is_resumed_without_repeats(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zalo_channel, "REPLY_RESUME_DELAYS", (0.01, 0.01))
    await bot.exchange(CITIZEN, "/start")
    bot.fake.fail_http_next(502)
    texts = await bot.exchange(CITIZEN, "/duongdaynong")
    await settle(bot, 0.1)
    assert len(texts) == 2 and "111" in texts[1]


# --- proactive: reminders and broadcasts through the outbox contract ---------------------------


async def register_officer(bot: Bot, user: str, unit: str = "that-khe") -> None:
    code = new_invite_code()
    now = bot.clock.now()
    await bot.rt.store.reports.create_invite(code, unit, now + timedelta(days=7), "cli", now)
    texts = await bot.exchange(user, code)
    assert "Thất Khê" in texts[-1]


async def test_officer_registers_and_reports_on_zalo(bot: Bot) -> None:
    await register_officer(bot, OFFICER)
    texts = await bot.exchange(OFFICER, "BC N tt=3 nd=120 nu=70")
    assert "120" in texts[-1]
    # The menu is written with the rest of the exchange, just after the reply went out (the
    # user's next event waits for it in their lane; the test reads the database directly).
    options: list[str] = []
    for _ in range(100):
        options = await bot.rt.store.get_menu(f"zalo:{OFFICER}")
        if any(data.startswith("rep:ok:") for data in options):
            break
        await asyncio.sleep(0.05)
    number = next(i for i, data in enumerate(options, 1) if data.startswith("rep:ok:"))
    texts = await bot.exchange(OFFICER, str(number))
    assert "phiên bản 1" in texts[-1]
    report = await bot.rt.store.reports.current_report("that-khe", "2026-N")
    assert report is not None and report.officer == f"zalo:{OFFICER}"


async def test_reminder_inside_and_outside_the_window(bot: Bot) -> None:
    sender: ProactiveSender = bot.sender
    assert sender.channel == "zalo"
    await register_officer(bot, OFFICER)
    reminder = Reply(
        "Nhắc: hạn báo cáo 6 tháng là 15/6.", buttons=[[Button("Báo cáo ngay", "rep:start")]]
    )
    # Inside the window: sent as a consultation message, the option as a button.
    bot.clock.advance(timedelta(hours=47))
    assert await sender.deliver(OFFICER, reminder) == Delivery("sent")
    assert bot.fake.sent[-1].buttons == [("Báo cáo ngay", "1")]
    # Outside it: not attempted at all, the outbox records it as undeliverable.
    calls = len(bot.fake.calls)
    bot.clock.advance(timedelta(hours=2))
    delivery = await sender.deliver(OFFICER, reminder)
    assert delivery.status == "undeliverable" and "48" in delivery.detail
    assert len(bot.fake.calls) == calls
    # Writing again reopens the window.
    await bot.exchange(OFFICER, "/start")
    assert (await sender.deliver(OFFICER, reminder)).status == "sent"
    # Answering "1" starts the report the reminder offered, not the /start menu's option 1.
    texts = await bot.exchange(OFFICER, "1")
    assert "(1/11)" in texts[-1]


async def test_unknown_user_is_outside_and_the_8_message_quota_is_gone(bot: Bot) -> None:
    assert (await bot.sender.deliver("6120000000000000999", Reply("x"))).status == (
        "undeliverable"
    )
    await bot.exchange(CITIZEN, "/start")
    # Since 01/01/2026 messages within 48 hours are no longer limited to 8.
    statuses = [(await bot.sender.deliver(CITIZEN, Reply(f"tin {i}"))).status for i in range(12)]
    assert statuses == ["sent"] * 12


async def test_zalo_window_errors_are_undeliverable_and_others_failed(bot: Bot) -> None:
    await bot.exchange(CITIZEN, "/start")
    bot.fake.outside_window.add(CITIZEN)
    delivery = await bot.sender.deliver(CITIZEN, Reply("x"))
    assert delivery == Delivery("undeliverable", detail="zalo error -230")
    bot.fake.outside_window.clear()
    bot.fake.fail_next(-201)
    assert (await bot.sender.deliver(CITIZEN, Reply("x"))).status == "failed"
    bot.fake.fail_next(-32)
    delivery = await bot.sender.deliver(CITIZEN, Reply("x"))
    assert delivery.status == "retry" and delivery.retry_after == zalo_client.RATE_LIMIT_BACKOFF


TEMPLATE = ZaloTemplate(
    "375847",
    (
        TemplateParam("ky", "title", 60),
        TemplateParam("don_vi", "line2", 100),
        TemplateParam("han", "line3", 30),
        TemplateParam("ma_ky", "period", 20),
    ),
)


def real_reminder(bot: Bot, lang: str = "vi") -> Reply:
    """The reminder the reminder pass would queue for Thất Khê (period N2026)."""
    reminders = bot.rt.reminders
    period = bot.rt.reporting.calendar.period_of("N", 2026)
    unit = bot.rt.content.units["that-khe"]
    return reminders.reminder_reply(unit, Occasion(period, "before-7", 7, False), lang)


async def test_button_tap_is_understood_by_the_engine(bot: Bot) -> None:
    await register_officer(bot, OFFICER)
    assert await bot.sender.deliver(OFFICER, real_reminder(bot)) == Delivery("sent")
    [(title, payload)] = bot.fake.sent[-1].buttons
    assert title == "Bắt đầu báo cáo" and payload == "1"
    # A tap comes back as the user's text message carrying the payload.
    texts = await bot.exchange(OFFICER, payload)
    assert "(1/11)" in texts[-1]


async def test_more_than_five_options_stay_numbered_text(bot: Bot) -> None:
    [welcome] = await bot.exchange(CITIZEN, "/start")
    assert "\n6. " in welcome and "(Trả lời bằng một số.)" in welcome
    assert bot.fake.sent[-1].buttons == []


async def test_refused_buttons_fall_back_to_numbered_text(bot: Bot) -> None:
    bot.fake.refuse_buttons = True
    [menu] = await bot.exchange(CITIZEN, "xyz qwerty")
    assert "\n1. " in menu and "(Trả lời bằng một số.)" in menu
    assert bot.fake.calls[-2:] == [("/v3.0/oa/message/cs", -201), ("/v3.0/oa/message/cs", 0)]
    # The numbers work as the buttons would have.
    texts = await bot.exchange(CITIZEN, "4")
    assert texts[-1] != menu


async def test_reminder_outside_the_window_goes_through_the_template(bot: Bot) -> None:
    await register_officer(bot, OFFICER)
    bot.fake.templates[TEMPLATE.template_id] = {"ky": 60, "don_vi": 100, "han": 30, "ma_ky": 20}
    bot.clock.advance(timedelta(days=3))
    reminder = real_reminder(bot)
    # Without a template: undeliverable, nothing attempted.
    calls = len(bot.fake.calls)
    delivery = await bot.sender.deliver(OFFICER, reminder)
    assert delivery.status == "undeliverable" and len(bot.fake.calls) == calls
    bot.sender.template = TEMPLATE
    assert await bot.sender.deliver(OFFICER, reminder) == Delivery("sent")
    sent = bot.fake.sent[-1]
    assert sent.kind == "template" and sent.body["template_id"] == "375847"
    data = sent.body["template_data"]
    assert data["ky"].startswith("Nhắc") and "🔔" not in data["ky"]
    assert "Thất Khê" in data["don_vi"] and data["ma_ky"] == "2026-N"
    assert len(data["han"]) == 30 and data["han"].endswith("…")  # shortened to its limit
    # Campaign news is never sent as a template.
    news = await bot.sender.deliver(OFFICER, Reply("Tháng hành động"))
    assert news.status == "undeliverable"
    # Beyond 7 days too, and a refused template is recorded as needing an admin.
    bot.clock.advance(timedelta(days=10))
    bot.fake.fail_next(-117)
    delivery = await bot.sender.deliver(OFFICER, reminder)
    assert delivery.status == "failed" and "needs an administrator" in delivery.detail


async def test_a_zalo_window_refusal_sends_the_reminder_as_a_template(bot: Bot) -> None:
    await register_officer(bot, OFFICER)
    bot.fake.templates[TEMPLATE.template_id] = {"ky": 60, "don_vi": 100, "han": 30, "ma_ky": 20}
    bot.sender.template = TEMPLATE
    bot.fake.outside_window.add(OFFICER)  # Zalo's window ended before our record says
    assert await bot.sender.deliver(OFFICER, real_reminder(bot)) == Delivery("sent")
    assert [m.kind for m in bot.fake.sent[-1:]] == ["template"]


async def test_billed_window_setting(bot: Bot) -> None:
    await register_officer(bot, OFFICER)
    reminder = real_reminder(bot)
    bot.clock.advance(timedelta(days=3))
    # Off (the default): 48 hours to 7 days is not attempted.
    calls = len(bot.fake.calls)
    delivery = await bot.sender.deliver(OFFICER, reminder)
    assert delivery.status == "undeliverable" and "48" in delivery.detail
    assert len(bot.fake.calls) == calls
    # On: reminders go as (billed) consultation messages, with their button...
    bot.sender.billed_window = True
    assert await bot.sender.deliver(OFFICER, reminder) == Delivery("sent")
    assert bot.fake.sent[-1].kind == "cs" and bot.fake.sent[-1].buttons
    # ...campaign news does not...
    assert (await bot.sender.deliver(OFFICER, Reply("Tin chiến dịch"))).status == ("undeliverable")
    # ...and after 7 days nothing is attempted.
    bot.clock.advance(timedelta(days=5))
    delivery = await bot.sender.deliver(OFFICER, reminder)
    assert delivery.status == "undeliverable" and "7-day" in delivery.detail
    # No balance for billed messages: recorded as needing an administrator.
    bot.clock.advance(timedelta(days=-5))
    bot.fake.fail_next(-321)
    delivery = await bot.sender.deliver(OFFICER, reminder)
    assert delivery == Delivery(
        "failed", detail="zalo error -321: needs an administrator (docs/zalo.md)"
    )


async def test_billed_window_setting_from_the_environment() -> None:
    env = {
        "ZALO_APP_ID": "1",
        "ZALO_OA_SECRET": "a",
        "ZALO_APP_SECRET": "b",
        "ZALO_ACCESS_TOKEN": "c",
        "ZALO_REFRESH_TOKEN": "d",
    }
    zalo = load_settings(env).zalo
    assert zalo is not None and zalo.billed_window is False and zalo.template is None
    zalo = load_settings({**env, "ZALO_BILLED_WINDOW": "1"}).zalo
    assert zalo is not None and zalo.billed_window is True
    with pytest.raises(SettingsError, match=r"^ZALO_BILLED_WINDOW must be 1 or 0"):
        load_settings({**env, "ZALO_BILLED_WINDOW": "maybe"})


async def test_an_officer_registering_on_zalo_keeps_their_display_name(bot: Bot) -> None:
    bot.fake.display_names[OFFICER] = "Nguyễn Thị Mai"
    await register_officer(bot, OFFICER)
    found = await bot.rt.store.reports.officer(f"zalo:{OFFICER}")
    assert found is not None and found.display_name == "Nguyễn Thị Mai"
    assert bot.fake.detail_requests == [OFFICER]
    # Ordinary messages do not ask Zalo who the user is.
    await bot.exchange(CITIZEN, "xin chao")
    assert bot.fake.detail_requests == [OFFICER]


async def test_registration_goes_on_when_the_display_name_cannot_be_had(bot: Bot) -> None:
    await register_officer(bot, OFFICER)  # the fake does not know the user: -213
    found = await bot.rt.store.reports.officer(f"zalo:{OFFICER}")
    assert found is not None and found.display_name is None


async def test_signature_form_is_logged_once(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    await bot.exchange(CITIZEN, "/start")
    await bot.exchange(CITIZEN, "xin chao")
    found = [r.getMessage() for r in caplog.records if "signature verified" in r.getMessage()]
    assert found == [
        "Zalo webhook signature verified with the app id first (logged once; docs/zalo.md)"
    ]


async def test_signature_with_the_oa_id_is_logged_as_such(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    event = bot.fake.text_event(CITIZEN, "/start")
    raw = json.dumps(event).encode()
    signature = bot.fake.sign(raw, event["timestamp"], app_id="579745863508352884")
    assert await bot.fake.post_event(bot.url, raw, signature=signature) == 200
    await bot.fake.wait_sent(CITIZEN, 1)
    assert "signature verified with the OA id first" in caplog.text


async def test_bad_signature_says_which_secret_to_check(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    event = bot.fake.text_event(CITIZEN, "/start")
    raw = json.dumps(event).encode()
    data = bot.fake.app_id.encode() + raw + event["timestamp"].encode()
    with_app_secret = "mac=" + hashlib.sha256(data + bot.fake.app_secret.encode()).hexdigest()
    assert await bot.fake.post_event(bot.url, raw, signature=with_app_secret) == 401
    assert "matches ZALO_APP_SECRET" in caplog.text
    caplog.clear()
    assert await bot.fake.post_event(bot.url, raw, signature="mac=" + "0" * 64) == 401
    assert "check that ZALO_OA_SECRET is the OA secret key" in caplog.text
    assert bot.fake.app_secret not in caplog.text and bot.fake.oa_secret not in caplog.text


# --- privacy and serving ------------------------------------------------------------------------


async def test_no_citizen_text_or_token_in_logs_or_database(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    # Production logs at INFO (aiosqlite would print SQL parameters at DEBUG); ours at DEBUG.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot")
    secret_text = "chong toi danh toi o xom Na Sam"
    await bot.exchange(CITIZEN, secret_text)
    bot.fake.expire_access_token()
    await bot.exchange(CITIZEN, "hom qua chong toi lai say ruou")
    logged = caplog.text
    for needle in ("chong toi", "say ruou", bot.fake.access_token, bot.fake.refresh_token,
                   bot.fake.oa_secret, bot.fake.app_secret):  # fmt: skip
        assert needle not in logged
    raw = await stored_bytes(bot.database)
    assert b"zalo:" in raw  # the search sees what is stored
    assert b"chong toi" not in raw and b"say ruou" not in raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_zalo_on_a_real_port(tmp_path: Path, clock: FakeClock) -> None:
    async with FakeZaloAPI() as fake:
        fake.clock = clock.now
        port = free_port()
        settings = Settings(
            db_path=tmp_path / "bot.sqlite3", zalo=fake.settings(("127.0.0.1", port))
        )
        stop = asyncio.Event()
        async with open_runtime(settings, clock) as rt:
            task = asyncio.create_task(serve_zalo(rt, stop))
            # The start-up maintenance rotates the environment's pair at once.
            await fake.wait_for(lambda: fake.refreshes == 1)
            url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            assert await fake.post_event(url, fake.text_event(CITIZEN, "/start")) == 200
            await fake.wait_sent(CITIZEN, 1)
            stop.set()
            await asyncio.wait_for(task, 10)
        assert fake.refreshes == 1
