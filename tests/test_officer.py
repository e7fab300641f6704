"""Officer reporting through the engine: invites, one-line and guided reports, versions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import build_engine
from bot.clock import FakeClock
from bot.content import Content
from bot.core.engine import Engine
from bot.reporting.invites import new_invite_code
from bot.settings import Settings
from bot.storage import Store
from bot.storage.reports import NotAllowed
from tests.conftest import all_text, button_data, say


async def invite(store: Store, unit: str, clock: FakeClock, days: int = 14) -> str:
    code = new_invite_code()
    await store.reports.create_invite(
        code, unit, clock.now() + timedelta(days=days), "cli", clock.now()
    )
    return code


async def officer(engine: Engine, store: Store, clock: FakeClock, user: str, unit: str) -> None:
    code = await invite(store, unit, clock)
    replies = await say(engine, f"/start {code}", user=user, channel="telegram")
    assert "Thất Khê" in all_text(replies) or unit != "that-khe"


def confirm_data(replies: list) -> str:  # type: ignore[type-arg]
    return next(d for d in button_data(replies) if d.startswith("rep:ok:"))


async def test_invite_register_report_confirm(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "11", "that-khe")
    replies = await say(engine, "BC N tt=3 nd=120 nu=70", user="11", channel="telegram")
    text = all_text(replies)
    assert "120" in text and "chưa nhập" in text  # the indicators not given are shown
    assert await store.reports.current_report("that-khe", "2026-N") is None  # not yet
    saved = await say(engine, button=confirm_data(replies), user="11", channel="telegram")
    assert "phiên bản 1" in all_text(saved) and "Xã Thất Khê" in all_text(saved)
    report = await store.reports.current_report("that-khe", "2026-N")
    assert report is not None and report.values == {"tt": 3, "nd": 120, "nu": 70}
    assert report.officer == "telegram:11" and not report.late


async def test_double_confirm_saves_once(engine: Engine, store: Store, clock: FakeClock) -> None:
    await officer(engine, store, clock, "12", "that-khe")
    replies = await say(engine, "BC tt 1", user="12", channel="telegram")
    data = confirm_data(replies)
    await say(engine, button=data, user="12", channel="telegram")
    again = await say(engine, button=data, user="12", channel="telegram")
    assert "Không có gì để xác nhận" in all_text(again)
    assert len(await store.reports.history("that-khe", "2026-N")) == 1


async def test_resubmission_keeps_history(engine: Engine, store: Store, clock: FakeClock) -> None:
    await officer(engine, store, clock, "13", "dong-dang")
    for value in (5, 7):
        replies = await say(engine, f"bao cao tt={value}", user="13", channel="telegram")
        await say(engine, button=confirm_data(replies), user="13", channel="telegram")
    history = await store.reports.history("dong-dang", "2026-N")
    assert [r.values["tt"] for r in history] == [5, 7]
    assert [r.version for r in history] == [1, 2]
    status = all_text(await say(engine, "/baocaocuatoi", user="13", channel="telegram"))
    assert "Phiên bản 2" in status


async def test_every_problem_listed_and_nothing_saved(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "14", "that-khe")
    replies = await say(engine, "BC xy=1 tt=2 tt=3 nd=50 nu=70 sp=-1 th=abc hv=999999", user="14")
    # console user 14 is not the telegram officer: refused politely
    assert "mã mời" in all_text(replies)
    replies = await say(engine, "BC xy=1 tt=2 tt=3 nd=50 nu=70 sp=-1 th=abc hv=999999",
                        user="14", channel="telegram")  # fmt: skip
    text = all_text(replies)
    for needle in ("xy", "tt", "70", "50", "th", "hv", "Ví dụ"):
        assert needle in text, needle
    assert not [d for d in button_data(replies) if d.startswith("rep:ok")]
    assert await store.reports.current_report("that-khe", "2026-N") is None


async def test_citizen_question_with_bao_cao_is_not_a_report(engine: Engine) -> None:
    replies = await say(engine, "báo cáo bạo lực gia đình ở đâu")
    assert "mã mời" not in all_text(replies)


async def test_citizen_report_refused_with_how_to(engine: Engine) -> None:
    replies = await say(engine, "BC tt=3")
    assert "/dangky_canbo" in all_text(replies) and "113" in all_text(replies)


async def test_used_and_expired_invites_refused(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    code = await invite(store, "that-khe", clock)
    await say(engine, f"/dangky_canbo {code}", user="21", channel="telegram")
    used = await say(engine, f"/dangky_canbo {code}", user="22", channel="telegram")
    assert "đã được dùng" in all_text(used)
    old = await invite(store, "that-khe", clock, days=1)
    clock.advance(timedelta(days=2))
    expired = await say(engine, f"/start {old}", user="23", channel="telegram")
    assert "hết hạn" in all_text(expired)
    unknown = await say(engine, "/dangky_canbo cb-zzzzzzzzzz", user="24", channel="telegram")
    assert "không tồn tại" in all_text(unknown)


async def test_invite_code_as_plain_text_registers_on_zalo(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    code = await invite(store, "tam-thanh", clock)
    replies = await say(engine, code.upper(), user="z1", channel="zalo")
    assert "Phường Tam Thanh" in all_text(replies)
    assert (await store.reports.officer("zalo:z1")) is not None


async def test_guided_report_survives_a_restart(
    settings: Settings, store: Store, content: Content, clock: FakeClock
) -> None:
    engine = build_engine(settings, store, content, clock)
    await officer(engine, store, clock, "31", "that-khe")
    first = await say(engine, "BC", user="31", channel="telegram")
    assert "(1/11)" in all_text(first)
    await say(engine, "3", user="31", channel="telegram")  # tt
    bad = await say(engine, "nhiều lắm", user="31", channel="telegram")  # nd: not a number
    assert "(2/11)" in all_text(bad) and "⚠" in all_text(bad)
    await say(engine, "120", user="31", channel="telegram")  # nd
    # A restart: a new engine over the same database resumes at nu.
    engine = build_engine(settings, store, content, clock)
    over = await say(engine, "130", user="31", channel="telegram")  # nu > nd
    assert "(3/11)" in all_text(over)
    await say(engine, button="rep:back", user="31", channel="telegram")  # back to nd
    await say(engine, "150", user="31", channel="telegram")  # nd = 150
    await say(engine, "130", user="31", channel="telegram")  # nu = 130 now fine
    replies: list = []  # type: ignore[type-arg]
    for _ in range(8):  # skip the rest
        replies = await say(engine, button="rep:skip", user="31", channel="telegram")
    assert any(d.startswith("rep:ok:") for d in button_data(replies))
    await say(engine, "ok", user="31", channel="telegram")
    report = await store.reports.current_report("that-khe", "2026-N")
    assert report is not None and report.values == {"tt": 3, "nd": 150, "nu": 130}


async def test_guided_dialog_expires_after_24_hours(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "32", "that-khe")
    await say(engine, "BC", user="32", channel="telegram")
    clock.advance(timedelta(hours=25))
    replies = await say(engine, "5", user="32", channel="telegram")
    assert "(2/11)" not in all_text(replies)


async def test_guided_on_numbered_channel_uses_words_not_numbers(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    code = await invite(store, "that-khe", clock)
    await say(engine, f"/dangky_canbo {code}", user="c1")
    q = await say(engine, "BC", user="c1")
    assert "bq" in all_text(q) and not q[0].buttons
    await say(engine, "2", user="c1")  # a value, not option 2
    await say(engine, "bq", user="c1")
    step3 = all_text(await say(engine, "ql", user="c1"))
    assert "(2/11)" in step3


async def test_late_and_locked_periods(engine: Engine, store: Store, clock: FakeClock) -> None:
    await officer(engine, store, clock, "41", "that-khe")
    clock.set(datetime(2026, 6, 20, 9, 0))
    late = await say(engine, "BC 6T tt=1", user="41", channel="telegram")
    assert "muộn" in all_text(late)
    await say(engine, button=confirm_data(late), user="41", channel="telegram")
    report = await store.reports.current_report("that-khe", "2026-6T")
    assert report is not None and report.late
    clock.set(datetime(2026, 8, 1, 9, 0))
    locked = await say(engine, "BC 2026-6T tt=2", user="41", channel="telegram")
    assert not [d for d in button_data(locked) if d.startswith("rep:ok")]
    await store.reports.unlock("that-khe", "2026-6T", datetime(2026, 8, 5).date(), "admin")
    unlocked = await say(engine, "BC 2026-6T tt=2", user="41", channel="telegram")
    assert [d for d in button_data(unlocked) if d.startswith("rep:ok")]


async def test_officer_cannot_save_for_another_unit(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "51", "that-khe")
    with pytest.raises(NotAllowed):
        await store.reports.save_report(
            officer="telegram:51", unit_code="dong-dang", period_id="2026-N",
            values={"tt": 1}, late=False, now=clock.now(),
        )  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tail=st.text(max_size=300))
async def test_arbitrary_text_after_bc_never_raises_or_saves(
    engine: Engine, store: Store, clock: FakeClock, tail: str
) -> None:
    if not await store.reports.officer("telegram:61"):
        await officer(engine, store, clock, "61", "that-khe")
    replies = await say(engine, "BC " + tail, user="61", channel="telegram")
    assert replies and all(r.text for r in replies)
    assert await store.reports.current_report("that-khe", "2026-N") is None
    await say(engine, "/huy", user="61", channel="telegram")


async def test_confirming_after_the_period_closed_saves_nothing(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "42", "that-khe")
    clock.set(datetime(2026, 7, 15, 23, 55))
    draft = await say(engine, "BC 6T tt=3", user="42", channel="telegram")
    clock.set(datetime(2026, 7, 16, 0, 5))
    replies = await say(engine, button=confirm_data(draft), user="42", channel="telegram")
    assert "Đã lưu" not in all_text(replies)
    assert await store.reports.current_report("that-khe", "2026-6T") is None


async def test_start_with_another_parameter_gets_the_welcome(engine: Engine) -> None:
    replies = await say(engine, "/start poster2026", channel="telegram")
    assert "/xoa" in all_text(replies) and "mã mời" not in all_text(replies).lower()


async def test_admin_unlocks_a_closed_period_for_one_unit(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await officer(engine, store, clock, "43", "that-khe")
    clock.set(datetime(2026, 8, 1, 9, 0))
    refused = await say(engine, "BC 2026-6T tt=2", user="43", channel="telegram")
    assert not [d for d in button_data(refused) if d.startswith("rep:ok")]
    not_admin = await say(engine, "/mokhoa that-khe 2026-6T 3", user="43", channel="telegram")
    assert await store.reports.unlocked_until("that-khe", "2026-6T") is None
    assert "quản trị" in all_text(not_admin).lower() or "admin" in all_text(not_admin).lower()
    done = await say(engine, "/mokhoa that-khe 2026-6T 3", user="9001", channel="telegram")
    assert "04/08/2026" in all_text(done)
    allowed = await say(engine, "BC 2026-6T tt=2", user="43", channel="telegram")
    assert [d for d in button_data(allowed) if d.startswith("rep:ok")]


async def test_telegram_passes_the_officers_name_and_registration_keeps_it(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    from telegram import Update

    from bot.channels.telegram.adapter import to_incoming

    code = await invite(store, "that-khe", clock)
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1, "date": 0, "chat": {"id": 61, "type": "private"},
            "from": {"id": 61, "is_bot": False, "first_name": "Nông Thị", "last_name": "Hoa",
                     "username": "hoa_tk"},
            "text": f"/start {code}",
        },
    }  # fmt: skip
    inc = to_incoming(Update.de_json(update, None))
    assert inc is not None and inc.display_name == "Nông Thị Hoa"
    await engine.handle(inc)
    found = await store.reports.officer("telegram:61")
    assert found is not None and found.label() == "Nông Thị Hoa (telegram:61)"


async def test_an_invite_code_alone_never_switches_the_language(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    # A code is random letters: some look English to the language guess. It is not prose.
    for n in range(40):
        code = await invite(store, "tam-thanh", clock)
        replies = await say(engine, code.upper(), user=f"zz{n}", channel="zalo")
        assert "Phường Tam Thanh" in all_text(replies), code
