"""The console channel: chat with the bot in a terminal, or script it through a pipe.

Buttons are shown as numbered options; `location <lat> <lon>` (or `vitri ...`) shares a
location. It ends cleanly at end of input, so `printf '/start\\n1\\n' | bdg-bot console` works.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import TextIO

from bot.core.engine import Engine
from bot.core.render import numbered_text
from bot.messages import Delivery, Incoming, Location, Reply

_LOCATION = re.compile(
    r"^\s*(?:/?location|/?vitri|/?vi tri)\s+(-?\d+(?:[.,]\d+)?)[\s,;]+(-?\d+(?:[.,]\d+)?)\s*$",
    re.IGNORECASE,
)


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


async def run_console(
    engine: Engine,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    user: str = "local",
) -> None:
    """Read lines until end of input, answering each."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()
    if interactive:
        stdout.write("— bdg-bot console. Ctrl-D to quit. —\n")
        for reply in await engine.handle(to_incoming("/start", user), defer_writes=True):
            stdout.write(render(reply) + "\n\n")
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        for reply in await engine.handle(to_incoming(line, user), defer_writes=True):
            stdout.write(render(reply) + "\n\n")
            if reply.document is not None and reply.document.content:
                stdout.flush()
        stdout.flush()


class PrintSender:
    """The console's proactive sender: prints the message to a stream (a terminal, a log)."""

    def __init__(self, channel: str = "console", stream: TextIO | None = None) -> None:
        self.channel = channel
        self.stream = stream

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        """Print `reply` addressed to `user_key`."""
        stream = self.stream or sys.stdout
        stream.write(f"— {self.channel}:{user_key} —\n{numbered_text(reply)}\n\n")
        stream.flush()
        return Delivery("sent")
