"""Typed dialog state: ReportDraft and BroadcastDraft round trips, drafts saved by the previous
version (before an upgrade), and states that cannot be read (treated as no dialog)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.core.engine import Engine
from bot.core.handlers.broadcast import BroadcastDraft
from bot.core.handlers.officer import restart_notices
from bot.reporting.draft_state import ReportDraft
from bot.reporting.invites import new_invite_code
from bot.reporting.service import Reporting
from bot.settings import Settings
from bot.storage import Store
from tests.conftest import all_text, button_data, say

OFFICER = "telegram:61"
ADMIN_CONSOLE = "console:admin"
#: A marker standing for user text inside a damaged state: it must never reach the log.
PRIVATE = "chồng tôi đánh tôi"


async def register(engine: Engine, store: Store, clock: FakeClock, user: str = "61") -> None:
    code = new_invite_code()
    await store.reports.create_invite(
        code, "that-khe", clock.now() + timedelta(days=1), "cli", clock.now()
    )
    await say(engine, f"/start {code}", user=user, channel="telegram")


async def put_dialog(store: Store, clock: FakeClock, address: str, kind: str, state: Any) -> None:
    await store.set_dialog(address, kind, state, clock.now() + timedelta(hours=1))


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draft",
    [
        ReportDraft(period="2026-N", unit="that-khe"),
        ReportDraft(period="2026-N", unit="that-khe", step=4, values={"tt": 3, "nd": 0}),
        ReportDraft(
            period="2026-6T", unit="dong-dang", mode="confirm", values={"tt": 1}, nonce="ab12cd34"
        ),
        ReportDraft(period="2026-N", unit="that-khe", step=2, suspended=True),
    ],
)
def test_report_draft_round_trip(draft: ReportDraft) -> None:
    assert ReportDraft.from_state(draft.to_state()) == draft
    assert draft.with_suspended(True).with_suspended(False) == ReportDraft.from_state(
        {**draft.to_state(), "suspended": False}
    )


@pytest.mark.parametrize(
    "draft",
    [
        BroadcastDraft(),
        BroadcastDraft(audience="unit:that-khe", nonce="0f0f0f0f"),
        BroadcastDraft(
            step="confirm", audience="officers", text="Họp lúc 8 giờ", nonce="1a2b3c4d"
        ),
        BroadcastDraft(step="confirm", text="x", nonce="9", suspended=True),
    ],
)
def test_broadcast_draft_round_trip(draft: BroadcastDraft) -> None:
    assert BroadcastDraft.from_state(draft.to_state()) == draft


def test_stored_shape_is_what_the_previous_version_wrote_and_read() -> None:
    # Storage reads `mode` (drafts awaiting confirmation) and `nonce` (save once) from the JSON.
    guided = ReportDraft(period="2026-N", unit="that-khe", step=1, values={"tt": 3})
    assert guided.to_state() == {
        "mode": "guided",
        "period": "2026-N",
        "unit": "that-khe",
        "values": {"tt": 3},
        "step": 1,
    }
    confirm = ReportDraft(period="2026-N", unit="u", mode="confirm", nonce="n1", suspended=True)
    assert confirm.to_state()["mode"] == "confirm" and confirm.to_state()["nonce"] == "n1"
    assert confirm.to_state()["suspended"] is True
    preview = BroadcastDraft(step="confirm", audience="admins", text="t", nonce="n2")
    assert preview.to_state() == {
        "step": "confirm",
        "audience": "admins",
        "text": "t",
        "nonce": "n2",
    }


# --- states written by the previous version -----------------------------------------------------


def test_old_report_states_load_with_defaults_and_ignore_unknown_keys() -> None:
    guided = ReportDraft.from_state(
        {
            "mode": "guided",
            "step": 2,
            "values": {"tt": 3, "nd": 120},
            "period": "2026-N",
            "unit": "that-khe",
            "added_later": [1, 2],
        }
    )
    assert guided == ReportDraft("2026-N", "that-khe", step=2, values={"tt": 3, "nd": 120})
    confirm = ReportDraft.from_state(
        {
            "mode": "confirm",
            "period": "2026-N",
            "values": {"tt": "3"},
            "nonce": "ab",
            "unit": "that-khe",
            "suspended": 1,
        }
    )
    assert confirm.mode == "confirm" and confirm.step == 0 and confirm.values == {"tt": 3}
    assert confirm.nonce == "ab" and confirm.suspended
    bare = ReportDraft.from_state({"period": "2026-N", "unit": "that-khe"})
    assert bare == ReportDraft("2026-N", "that-khe", mode="guided", step=0, values={})


def test_old_broadcast_states_load_with_defaults() -> None:
    compose = BroadcastDraft.from_state(
        {"step": "text", "audience": "subscribers", "text": "", "nonce": "ab12cd34"}
    )
    assert compose == BroadcastDraft(nonce="ab12cd34")
    assert BroadcastDraft.from_state({"text": "hi", "whatever": 3}) == BroadcastDraft(text="hi")


async def test_an_old_guided_draft_continues_after_an_upgrade(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await register(engine, store, clock)
    old = {
        "mode": "guided",
        "step": 1,
        "values": {"tt": 3},
        "period": "2026-N",
        "unit": "that-khe",
        "legacy": True,
    }
    await put_dialog(store, clock, OFFICER, "report", old)
    nxt = await say(engine, "120", user="61", channel="telegram")  # nd, step 2 of 11
    assert "(3/11)" in all_text(nxt)
    row = await store.get_dialog(OFFICER, clock.now())
    assert row is not None
    assert ReportDraft.from_state(row.state).values == {"tt": 3, "nd": 120}
    assert "legacy" not in row.state  # written back in the current shape


async def test_an_old_draft_awaiting_confirmation_saves_once(
    engine: Engine, store: Store, clock: FakeClock
) -> None:
    await register(engine, store, clock)
    old = {
        "mode": "confirm",
        "period": "2026-N",
        "values": {"tt": 4, "nd": 50},
        "nonce": "c0ffee00",
        "unit": "that-khe",
    }
    await put_dialog(store, clock, OFFICER, "report", old)
    saved = await say(engine, button="rep:ok:c0ffee00", user="61", channel="telegram")
    assert "phiên bản 1" in all_text(saved)
    report = await store.reports.current_report("that-khe", "2026-N")
    assert report is not None and report.values == {"tt": 4, "nd": 50}
    again = await say(engine, button="rep:ok:c0ffee00", user="61", channel="telegram")
    assert "Không có gì để xác nhận" in all_text(again)


async def test_an_old_broadcast_preview_still_sends(engine: Engine, store: Store) -> None:
    await store.set_language("telegram:1", "vi", engine.clock.now())
    await store.set_subscribed("telegram:1", True, engine.clock.now())
    old = {
        "step": "confirm",
        "audience": "subscribers",
        "text": "Họp thôn tối nay.",
        "nonce": "beef0001",
    }
    await store.set_dialog(ADMIN_CONSOLE, "broadcast", old, engine.clock.now() + timedelta(1))
    done = await say(engine, button="bc:send:beef0001", user="admin", channel="console")
    assert "#1" in all_text(done)
    assert await store.outbox.counts() == {"queued": 1}


# --- states that cannot be read ------------------------------------------------------------------

UNREADABLE_REPORTS: list[Any] = [
    [1, 2, 3],  # not an object
    {"mode": "guided", "step": 1, "values": PRIVATE, "period": "2026-N", "unit": "that-khe"},
    {"mode": "guided", "step": 1, "values": {"tt": PRIVATE}, "period": "2026-N", "unit": "u"},
    {"mode": "guided", "step": PRIVATE, "period": "2026-N", "unit": "that-khe"},
    {"mode": "guided", "step": -1, "period": "2026-N", "unit": "that-khe"},
    {"mode": PRIVATE, "period": "2026-N", "unit": "that-khe"},
    {"mode": "confirm", "period": "2026-N", "unit": "that-khe", "values": {}},  # no nonce
    {"mode": "guided", "unit": "that-khe"},  # no period
    {"mode": "guided", "period": "2026-N", "unit": 7},
]


@pytest.mark.parametrize("state", UNREADABLE_REPORTS)
def test_unreadable_report_states_raise_without_the_value(state: Any) -> None:
    with pytest.raises(ValueError) as raised:
        ReportDraft.from_state(state)
    assert PRIVATE not in str(raised.value)


@pytest.mark.parametrize(
    "state",
    [
        "text",
        {"step": "sent", "text": PRIVATE},
        {"step": "confirm", "text": ["a"]},
        {"step": "confirm", "audience": 3, "text": PRIVATE},
        {"step": "confirm", "text": PRIVATE, "nonce": 5},
    ],
)
def test_unreadable_broadcast_states_raise_without_the_value(state: Any) -> None:
    with pytest.raises(ValueError) as raised:
        BroadcastDraft.from_state(state)
    assert PRIVATE not in str(raised.value)


async def test_an_unreadable_report_dialog_is_no_dialog(
    engine: Engine, store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await register(engine, store, clock)
    damaged = {
        "mode": "guided",
        "step": 1,
        "values": {"tt": PRIVATE},
        "period": "2026-N",
        "unit": "that-khe",
    }
    await put_dialog(store, clock, OFFICER, "report", damaged)
    with caplog.at_level(logging.WARNING):
        replies = await say(engine, "120", user="61", channel="telegram")
        text = all_text(replies)
        assert "(3/11)" not in text and "(2/11)" not in text
        assert "gặp lỗi" not in text  # no "something went wrong": it is simply no dialog
        # An emergency has no dialog to put aside.
        danger = await say(engine, "cứu tôi với", user="61", channel="telegram")
        assert "113" in all_text(danger) and "dialog:resume" not in button_data(danger)
        back = await say(engine, button="dialog:resume", user="61", channel="telegram")
        assert "Không còn báo cáo nào đang dở" in all_text(back)
        # A fresh report starts over it.
        fresh = await say(engine, "BC", user="61", channel="telegram")
        assert "(1/11)" in all_text(fresh)
    assert "unreadable report dialog state" in caplog.text
    assert PRIVATE not in caplog.text


async def test_an_unreadable_broadcast_draft_is_no_draft(
    engine: Engine, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = {"step": "confirm", "text": PRIVATE, "nonce": 12345}
    await store.set_dialog(ADMIN_CONSOLE, "broadcast", damaged, engine.clock.now() + timedelta(1))
    with caplog.at_level(logging.WARNING):
        gone = await say(engine, button="bc:send:12345", user="admin", channel="console")
    assert "không còn mở" in all_text(gone)
    assert await store.outbox.counts() == {}
    assert "unreadable broadcast dialog state" in caplog.text and PRIVATE not in caplog.text


async def test_restart_skips_an_unreadable_draft(
    engine: Engine, store: Store, clock: FakeClock, settings: Settings
) -> None:
    await register(engine, store, clock)
    await register(engine, store, clock, user="62")
    readable = {
        "mode": "confirm",
        "period": "2026-N",
        "values": {"tt": 1},
        "nonce": "aa",
        "unit": "that-khe",
    }
    await put_dialog(store, clock, OFFICER, "report", {**readable, "values": {"tt": PRIVATE}})
    await put_dialog(store, clock, "telegram:62", "report", readable)
    reporting = Reporting.load(settings.content_dir, store)
    assert await restart_notices(engine, reporting, 0.0) == 1  # only the readable one
