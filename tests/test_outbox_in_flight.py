"""BOT_OUTBOX_IN_FLIGHT: how many proactive messages a channel has in flight at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.proactive.outbox import outbox_sender
from bot.settings import OUTBOX_IN_FLIGHT, SettingsError, load_settings
from bot.storage import Store


def test_the_default_reaches_telegrams_rate_over_a_slow_round_trip(tmp_path: Path) -> None:
    settings = load_settings({"BOT_DB": str(tmp_path / "bot.sqlite3")})
    # 30 messages/s with a 150 ms round trip needs at least 30 x 0.15 = 4.5 in flight.
    assert settings.outbox_in_flight == OUTBOX_IN_FLIGHT >= 5


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "2.5", "65"])
def test_a_wrong_value_stops_start_up_naming_the_variable(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="BOT_OUTBOX_IN_FLIGHT"):
        load_settings({"BOT_DB": str(tmp_path / "bot.sqlite3"), "BOT_OUTBOX_IN_FLIGHT": raw})


async def test_the_serving_sender_uses_the_setting(tmp_path: Path) -> None:
    settings = load_settings(
        {"BOT_DB": str(tmp_path / "bot.sqlite3"), "BOT_OUTBOX_IN_FLIGHT": "3"}
    )
    store = await Store.open(settings.db_path)
    try:
        sender = outbox_sender(store.outbox, {}, settings)
        assert sender.in_flight == 3
        assert sender.limits["telegram"].total_per_s == settings.telegram_rate_total
    finally:
        await store.close()
