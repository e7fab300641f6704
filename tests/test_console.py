"""The console channel in process: its outbox, the files it writes, a closed output."""

from __future__ import annotations

import io
from pathlib import Path

from bot.app import open_runtime, serve_console
from bot.channels.console import run_console
from bot.settings import Settings
from tests.conftest import say


class ClosedPipe(io.StringIO):
    """An output whose reader went away after a few writes (`| head`)."""

    def __init__(self, allow: int) -> None:
        super().__init__()
        self.allow = allow

    def write(self, text: str) -> int:
        if self.allow <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.allow -= 1
        return super().write(text)


async def test_console_sends_its_broadcasts_and_leaves_other_channels_queued(
    settings: Settings, tmp_path: Path
) -> None:
    async with open_runtime(settings) as rt:
        await say(rt.engine, "/dangky", channel="telegram", user="5")
        await say(rt.engine, "/dangky", channel="console", user="admin")
        out = io.StringIO()
        script = io.StringIO("/guitin\nTin thử nghiệm.\n1\n/trangthai\n")
        await serve_console(rt, "admin", script, out, files=tmp_path)
        queued = await rt.store.fetchall("SELECT channel, state FROM outbox ORDER BY channel")
    text = out.getvalue()
    assert "— console:admin —\nTin thử nghiệm." in text
    # Telegram is not configured here: its message waits for the bot that serves it.
    assert "đã gửi 1/2, đang chờ 1" in text
    assert [tuple(r) for r in queued] == [("console", "sent"), ("telegram", "queued")]


async def test_export_is_written_to_a_file_and_its_path_printed(
    settings: Settings, tmp_path: Path
) -> None:
    async with open_runtime(settings) as rt:
        out = io.StringIO()
        await run_console(rt.engine, io.StringIO("/xuat\n/xuat\n"), out, "admin", files=tmp_path)
    files = sorted(tmp_path.glob("*.xlsx"))
    assert len(files) == 2  # the second export does not overwrite the first
    for path in files:
        assert f"Đã lưu tệp: {path}" in out.getvalue()
        assert path.read_bytes()[:2] == b"PK"


async def test_a_closed_output_ends_the_console_quietly(settings: Settings) -> None:
    async with open_runtime(settings) as rt:
        script = io.StringIO("/start\n" * 50)
        await run_console(rt.engine, script, ClosedPipe(allow=2), "local")
        assert script.tell() < len(script.getvalue())  # it stopped reading too
