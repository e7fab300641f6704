"""Replies as text for channels that show options as numbers (Zalo past 5 options, console).

The numbers a user types back are read by the engine against `option_data`, so the list
shown and the list read are the same function's output.
"""

from __future__ import annotations

import contextlib

from bot.i18n import _, use_language
from bot.messages import Reply


def option_data(reply: Reply) -> list[str]:
    """The data of a reply's buttons in the order a numbered channel shows them."""
    return [b.data for row in reply.buttons for b in row if b.kind != "url"]


def numbered_text(reply: Reply) -> str:
    """Render a reply's buttons as numbered options (for channels without buttons)."""
    options = [b for row in reply.buttons for b in row if b.kind != "url"]
    links = [b for row in reply.buttons for b in row if b.kind == "url"]
    lines = [reply.text] if reply.text else []
    if options:
        lines.append("")
        lines.extend(f"{i}. {b.label}" for i, b in enumerate(options, 1))
        with use_language(reply.lang) if reply.lang else contextlib.nullcontext():
            lines.append(_("(Reply with a number.)"))
    lines.extend(f"{b.label}: {b.url}" for b in links)
    return "\n".join(lines)
