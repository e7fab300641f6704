"""Fuzzing: 10,000 generated messages through the report parser, and 5,000 through the
engine as a citizen and as an officer each (10,000 engine turns).

No unhandled exception, every message answered, nothing saved by accident, and no citizen
text in the database.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.core.engine import Engine
from bot.reporting.indicators import load_indicators
from bot.reporting.invites import new_invite_code
from bot.reporting.parser import ParsedReport, parse_report, report_intent
from bot.reporting.periods import load_calendar
from bot.storage import Store
from tests.conftest import say, stored_bytes

INDICATORS = load_indicators()
CALENDAR = load_calendar()
METACHARACTERS = ["'", '"', ";", "--", "/*", "*/", "DROP TABLE users;", "<b>", "</i>",
                  "&amp;", "*", "_", "`", "[x](y)", "\\", "%s", "{0}", "{}", "\x00", "\u202e",
                  "\ufeff"]  # fmt: skip
WORDS = ["BC", "bc", "/baocao", "báo cáo", "bao cao", "6T", "N2026", "2026-N", "tt", "nd=",
         "nu:", "1.200", "-5", "99999999999999999", "=", ";", ",", "\n", "chồng", "đánh",
         "bình đẳng giới", "/xoa", "/start", "ok", "huy", "bq", "ql", "🙂", "👩‍👧"]  # fmt: skip

MESSAGES = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=4096, max_size=5000),
    st.lists(st.sampled_from(METACHARACTERS + WORDS), max_size=25).map(" ".join),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=50),
)
FUZZ = settings(
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@settings(FUZZ, max_examples=10_000)
@given(text=MESSAGES)
def test_parser_never_raises_and_accepts_only_valid_reports(text: str) -> None:
    today = date(2026, 11, 28)
    report_intent(text, calendar=CALENDAR, indicators=INDICATORS)
    result = parse_report(text, INDICATORS, CALENDAR, today)
    if isinstance(result, ParsedReport):
        assert result.values and not INDICATORS.check(result.values)
    else:
        assert result and all(p.message() for p in result)


@pytest.mark.slow
@FUZZ
@given(text=MESSAGES)
async def test_engine_answers_everything_and_saves_nothing(
    engine: Engine, store: Store, clock: FakeClock, text: str
) -> None:
    reports = store.reports
    if await reports.officer("telegram:fuzz-officer") is None:
        code = new_invite_code()
        await reports.create_invite(code, "that-khe", clock.now() + timedelta(days=1), "t",
                                    clock.now())  # fmt: skip
        await reports.redeem_invite(code, "telegram:fuzz-officer", clock.now())
    for user in ("fuzz-citizen", "fuzz-officer"):
        replies = await say(engine, text, user=user, channel="telegram")
        assert replies and all(r.text or r.document for r in replies)
    # Nothing typed is ever confirmed by itself: no report row can appear.
    assert await store.fetchall("SELECT id FROM reports") == []


async def test_console_conversation_leaves_no_text_in_the_database(
    engine: Engine, database: Path | str
) -> None:
    script = ["/start", "chồng tôi Hoàng Văn Xyzq hay say rượu", "3", "vitri 21.8 106.7",
              "em ở bản Nà Qwpt muốn hỏi về ly hôn", "/dangky"]  # fmt: skip
    for line in script:
        await say(engine, line, user="local")
    blob = await stored_bytes(database)
    for needle in ("Xyzq", "Nà Qwpt", "say rượu", "ly hôn"):
        assert needle.encode() not in blob, needle
