"""Officer invite codes: short, easy to read aloud, valid as a Telegram start parameter."""

from __future__ import annotations

import re
import secrets

INVITE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and retyped
INVITE_RE = re.compile(r"^\s*(cb-[a-z0-9]{10})\s*$", re.IGNORECASE)


def new_invite_code() -> str:
    """A one-time code: "cb-" and 10 characters."""
    return "cb-" + "".join(secrets.choice(INVITE_ALPHABET) for _ in range(10))
