"""The console channel: chat with the bot in a terminal, or script it through a pipe.

Buttons are shown as numbered options; `location <lat> <lon>` (or `vitri ...`) shares a
location. It ends cleanly at end of input, so `printf '/start\\n1\\n' | bdg-bot console` works;
Ctrl-C quits at once, and a reader that goes away (`| head`) ends it without a traceback.

`bot.app.serve_console` also serves the outbox, as `bdg-bot run` does: messages queued for
console addresses (a broadcast, a reminder to a console officer) are printed in the terminal, and
those for a channel that is configured (Telegram, Zalo) are sent there. Messages for a
channel the console cannot reach stay queued for the bot that serves it.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.core.engine import Engine
from bot.core.render import numbered_text
from bot.i18n import _, use_language
from bot.messages import Delivery, Document, Incoming, Location, Reply

__all__ = [
    "ConsoleClosed",
    "ConsoleOut",
    "ConsolePrinter",
    "render",
    "run_console",
    "save_document",
    "to_incoming",
]

_LOCATION = re.compile(
    r"^\s*(?:/?location|/?vitri|/?vi tri)\s+(-?\d+(?:[.,]\d+)?)[\s,;]+(-?\d+(?:[.,]\d+)?)\s*$",
    re.IGNORECASE,
)
#: How long the console waits, after each line, for the console messages it queued.
DRAIN_WITHIN = 2.0


class ConsoleClosed(Exception):
    """Whoever read the console's output has gone (a closed pipe)."""


def to_incoming(line: str, user: str = "local") -> Incoming:
    """Turn one typed line into an `Incoming` (a location when it looks like one)."""
    match = _LOCATION.match(line)
    if match:
        lat, lon = (float(g.replace(",", ".")) for g in match.groups())
        return Incoming("console", user, location=Location(lat, lon), locale_hint="vi")
    return Incoming("console", user, text=line, locale_hint="vi")


def render(reply: Reply) -> str:
    """How a reply looks in the terminal."""
    text = numbered_text(reply)
    if reply.document is not None:
        text += f"\n[file: {reply.document.filename}, {len(reply.document.content)} bytes]"
    return text


def save_document(document: Document, folder: Path) -> Path:
    """Write `document` into `folder` under its own name (never over an existing file)."""
    path = folder / document.filename
    stem, suffix = path.stem, path.suffix
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    path.write_bytes(document.content)
    return path.resolve()


class ConsoleOut:
    """The terminal's output: a closed pipe ends the console instead of raising everywhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed = False

    def write(self, text: str) -> None:
        """Write and flush `text`; raise ConsoleClosed when nobody reads any more."""
        if self.closed:
            raise ConsoleClosed
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            self.closed = True
            _silence(self.stream)
            raise ConsoleClosed from None


def _silence(stream: TextIO) -> None:
    """Point a closed pipe's descriptor at /dev/null, so the flush at exit cannot fail too."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


class ConsolePrinter:
    """The console's proactive sender: prints a queued message, with its address."""

    channel = "console"

    def __init__(self, out: ConsoleOut) -> None:
        self.out = out

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        """Print `reply` for console user `user_key` (kept queued when the output is gone)."""
        try:
            self.out.write(f"— console:{user_key} —\n{numbered_text(reply)}\n\n")
        except ConsoleClosed:
            return Delivery("retry", detail="console output closed")
        return Delivery("sent")


class _Lines:
    """Lines of input, read on a daemon thread: Ctrl-C never waits for a blocked read.

    A real file descriptor is read with `os.read` (no buffer lock held at exit); any other
    stream (a test's StringIO) with `readline`.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        try:
            self.fd: int | None = stream.fileno()
        except (OSError, ValueError, AttributeError):
            self.fd = None
        if self.fd is not None:
            threading.Thread(target=self._read_fd, name="console-input", daemon=True).start()

    def _put(self, line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            self.loop.call_soon_threadsafe(self.queue.put_nowait, line)

    def _read_fd(self) -> None:
        assert self.fd is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                self._put(line)
            if not chunk:
                if pending:
                    self._put(pending)
                self._put(None)
                return

    async def next(self) -> str | None:
        """The next line (without its end), or None at end of input."""
        if self.fd is None:
            line = self.stream.readline()
            return line.rstrip("\n") if line else None
        return await self.queue.get()


async def run_console(
    engine: Engine,
    stdin: TextIO | None = None,
    stdout: TextIO | ConsoleOut | None = None,
    user: str = "local",
    *,
    after_each: Callable[[], Awaitable[object]] | None = None,
    files: Path | None = None,
) -> None:
    """Read lines until end of input, answering each.

    `after_each` runs after every answer (the outbox's console messages are printed then);
    files the bot sends (an export) are written into `files` (the current folder by default).
    """
    stdin = stdin or sys.stdin
    out = stdout if isinstance(stdout, ConsoleOut) else ConsoleOut(stdout or sys.stdout)
    folder = files or Path.cwd()
    interactive = stdin.isatty()
    lines = _Lines(stdin)
    try:
        if interactive:
            welcome = await engine.respond(to_incoming("/start", user), defer_writes=True)
            with use_language(welcome.lang):
                out.write(_("— bdg-bot console. Ctrl-D or Ctrl-C to quit. —") + "\n")
            _show(out, welcome.replies, folder)
        if after_each is not None:
            await after_each()  # what was queued for the console while it was closed
        while True:
            if interactive:
                out.write("> ")
            line = await lines.next()
            if line is None:
                break
            line = line.rstrip("\r")
            if not line.strip():
                continue
            _show(out, await engine.handle(to_incoming(line, user), defer_writes=True), folder)
            if after_each is not None:
                await after_each()
    except ConsoleClosed:
        return


def _show(out: ConsoleOut, replies: list[Reply], folder: Path) -> None:
    """Print replies; a file is written to `folder` and its path printed instead."""
    for reply in replies:
        text = numbered_text(reply)
        if reply.document is not None:
            with use_language(reply.lang or "vi"):
                text += "\n" + _file_line(reply.document, folder)
        out.write(text + "\n\n")


def _file_line(document: Document, folder: Path) -> str:
    """Save `document` and say where (or why it could not be saved)."""
    try:
        path = save_document(document, folder)
    except OSError as exc:
        return _("The file {name} could not be saved in {folder}: {error}").format(
            name=document.filename, folder=folder, error=exc.strerror or exc
        )
    return _("File saved: {path}").format(path=path)
