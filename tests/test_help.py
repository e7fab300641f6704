"""`/help` lists the commands the sender may use, by role, on every channel."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.core.engine import Engine
from bot.core.handlers import help as help_chat
from bot.reporting.invites import new_invite_code
from tests.conftest import ADMIN, all_text, say

AT = datetime(2026, 11, 28, 9, 0)
CITIZEN_ONLY = ("/baocao", "/tinhhinh", "/xuat", "/moi", "/guitin", "/trangthai")


@pytest.mark.parametrize("channel", ["telegram", "zalo", "console"])
async def test_citizen_sees_citizen_commands_only(engine: Engine, channel: str) -> None:
    text = all_text(await say(engine, "/help", channel=channel, user="42"))
    for command in ("/duongdaynong", "/diachi", "/ngonngu", "/xoa", "/dangky_canbo"):
        assert command in text
    for command in CITIZEN_ONLY:
        assert f"\n{command}" not in text, command


async def test_officer_sees_the_report_commands(engine: Engine) -> None:
    reports = engine.store.reports
    code = new_invite_code()
    await reports.create_invite(code, "that-khe", AT + timedelta(days=1), ADMIN, AT)
    await reports.redeem_invite(code, "telegram:77", AT)
    text = all_text(await say(engine, "/trogiup", channel="telegram", user="77"))
    assert "/baocao" in text and "/baocaocuatoi" in text
    assert "/dangky_canbo" not in text  # already registered
    assert "/tinhhinh" not in text


async def test_admin_sees_the_department_commands_in_their_language(engine: Engine) -> None:
    channel, user = ADMIN.split(":")
    text = all_text(await say(engine, "/help", channel=channel, user=user))
    for line in help_chat.ADMIN:
        assert line.name in text
    assert "/duongdaynong" in text  # and the citizens' ones
    assert "Lệnh" in text and "kỳ" in text  # Vietnamese first
    await engine.store.set_language(ADMIN, "en", AT)
    english = all_text(await say(engine, "/help", channel=channel, user=user, lang="en"))
    assert "Commands:" in english and "[period]" in english


def test_every_registered_command_has_a_help_line(engine: Engine) -> None:
    lines = (*help_chat.CITIZEN, help_chat.REGISTER, *help_chat.OFFICER, *help_chat.ADMIN)
    known = {name for h in lines for name in (h.name, *h.aliases)}
    missing = sorted(set(engine.commands) - known)
    assert not missing, f"add these to bot/core/help_chat.py: {missing}"


def test_telegram_menu_offers_help_and_only_registered_commands(engine: Engine) -> None:
    from bot.channels.telegram.adapter import COMMANDS

    for lang, items in COMMANDS.items():
        names = [name for name, _desc in items]
        assert {"help", "trogiup"} & set(names), lang
        assert set(names) <= set(engine.commands), lang
