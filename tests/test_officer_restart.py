"""After a crash (issue 10, point 4): a confirmed report whose "saved" reply never went out is
acknowledged after the restart, once; a draft left unconfirmed is announced as NOT saved, with
its buttons again, and confirming it then saves it once."""

from __future__ import annotations

from datetime import timedelta

from bot.app import build_engine, build_runtime, scheduled_passes
from bot.clock import FakeClock
from bot.content import Content
from bot.core.engine import Engine
from bot.messages import Delivery, Incoming, Reply
from bot.proactive.outbox import OutboxSender
from bot.proactive.ratelimit import ChannelLimits
from bot.reporting.invites import new_invite_code
from bot.settings import Settings
from bot.storage import Store
from tests.conftest import all_text, button_data, say


class Recorder:
    """A proactive sender that keeps what it was given."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[tuple[str, Reply]] = []

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        self.sent.append((user_key, reply))
        return Delivery("sent")


FAST = {"telegram": ChannelLimits()}  # unlimited: the test does not wait for pacing


async def restart(
    settings: Settings, store: Store, content: Content, clock: FakeClock
) -> tuple[Engine, Recorder]:
    """A new engine over the same database, its start-up pass run and its outbox drained."""
    rt = build_runtime(settings, store, content, clock)
    recorder = Recorder("telegram")
    sender = OutboxSender(store.outbox, {"telegram": recorder}, FAST)
    await scheduled_passes(rt, sender).restart_pass()
    await sender.drain(within=5)
    return rt.engine, recorder


async def register(engine: Engine, store: Store, clock: FakeClock, user: str) -> None:
    code = new_invite_code()
    await store.reports.create_invite(
        code, "that-khe", clock.now() + timedelta(days=14), "cli", clock.now()
    )
    await say(engine, f"/start {code}", user=user, channel="telegram")


def confirm_of(replies: list[Reply]) -> str:
    return next(d for d in button_data(replies) if d.startswith("rep:ok:"))


async def test_saved_but_not_acknowledged_is_acknowledged_once_after_restart(
    settings: Settings, store: Store, content: Content, clock: FakeClock, engine: Engine
) -> None:
    await register(engine, store, clock, "31")
    draft = await say(engine, "BC N tt=3 nd=120 nu=70", user="31", channel="telegram")
    saved = await say(engine, button=confirm_of(draft), user="31", channel="telegram")
    assert "Đã lưu" in all_text(saved)
    # The crash: the row is committed, but the channel never sent the reply (no `sent`).
    _engine2, recorder = await restart(settings, store, content, clock)
    assert [key for key, _r in recorder.sent] == ["31"]
    text = recorder.sent[0][1].text
    assert "Đã lưu" in text and "phiên bản 1" in text
    # A second restart says nothing more; the report is there once.
    _engine3, again = await restart(settings, store, content, clock)
    assert again.sent == []
    assert len(await store.reports.history("that-khe", "2026-N")) == 1


async def test_a_delivered_saved_reply_is_not_repeated_after_restart(
    settings: Settings, store: Store, content: Content, clock: FakeClock, engine: Engine
) -> None:
    await register(engine, store, clock, "32")
    draft = await say(engine, "BC N tt=3", user="32", channel="telegram")
    inc = Incoming("telegram", "32", button=confirm_of(draft), locale_hint="vi")
    assert "Đã lưu" in all_text(await engine.handle(inc))
    await engine.sent(inc, "32", [7])  # the channel reports the replies sent
    _engine2, recorder = await restart(settings, store, content, clock)
    assert recorder.sent == []


async def test_a_saved_reply_on_a_channel_without_delivery_reports_is_cleared_later(
    store: Store, clock: FakeClock, engine: Engine, monkeypatch: object
) -> None:
    import asyncio

    from bot.core.handlers import officer as officer_module

    monkeypatch.setattr(officer_module, "ACK_GRACE", timedelta(seconds=0.05))  # type: ignore[attr-defined]
    await register(engine, store, clock, "33")
    draft = await say(engine, "BC N tt=3", user="33", channel="telegram")
    await say(engine, button=confirm_of(draft), user="33", channel="telegram")
    assert len(await store.reports.owed_acks()) == 1
    await asyncio.sleep(0.3)
    assert await store.reports.owed_acks() == []


async def test_an_unconfirmed_draft_is_announced_after_restart_and_confirm_saves_once(
    settings: Settings, store: Store, content: Content, clock: FakeClock, engine: Engine
) -> None:
    await register(engine, store, clock, "34")
    draft = await say(engine, "BC N tt=3 nd=120 nu=70", user="34", channel="telegram")
    old_confirm = confirm_of(draft)
    # The crash: the Confirm press was lost; the draft is kept, nothing saved.
    engine2, recorder = await restart(settings, store, content, clock)
    assert [key for key, _r in recorder.sent] == ["34"]
    notice = recorder.sent[0][1]
    assert "CHƯA được lưu" in notice.text and "120" in notice.text
    assert button_data([notice]) == [old_confirm, old_confirm.replace(":ok:", ":edit:"),
                                     "rep:cancel"]  # fmt: skip
    # A second restart does not repeat the notice.
    _engine3, again = await restart(settings, store, content, clock)
    assert again.sent == []
    saved = await say(engine2, button=old_confirm, user="34", channel="telegram")
    assert "Đã lưu" in all_text(saved)
    # The press redelivered (or the old button pressed too) saves nothing more.
    twice = await say(engine2, button=old_confirm, user="34", channel="telegram")
    assert "Đã lưu" not in all_text(twice)
    history = await store.reports.history("that-khe", "2026-N")
    assert len(history) == 1 and history[0].values == {"tt": 3, "nd": 120, "nu": 70}


async def test_a_notice_queued_but_not_sent_is_dropped_when_the_draft_is_confirmed(
    settings: Settings, store: Store, content: Content, clock: FakeClock, engine: Engine
) -> None:
    await register(engine, store, clock, "35")
    draft = await say(engine, "BC N tt=3", user="35", channel="telegram")
    engine2 = build_engine(settings, store, content, clock)
    from bot.core.handlers.officer import restart_notices
    from bot.reporting.service import Reporting

    reporting = Reporting.load(settings.content_dir, store)
    assert await restart_notices(engine2, reporting, 0.0) == 1  # queued, not yet sent
    await say(engine2, button=confirm_of(draft), user="35", channel="telegram")
    recorder = Recorder("telegram")
    await OutboxSender(store.outbox, {"telegram": recorder}, FAST).drain(within=5)
    assert recorder.sent == []  # "not saved" must not follow "saved"
