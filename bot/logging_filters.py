"""Keep secrets and people's messages out of every log record, whichever library wrote it.

One `logging.Filter` on the root handlers (a filter on a logger would miss what propagates
from the libraries' loggers) rewrites each record before it is formatted: every configured
secret and any Telegram bot token is masked in the message, its arguments and its traceback,
and the update payloads that python-telegram-bot logs when it cannot parse one (at CRITICAL,
"Received data was {...}") are dropped whatever the level. The CLI masks its error lines with
`redact` too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import quote

__all__ = [
    "SECRET_VARIABLES",
    "RedactingFilter",
    "install",
    "redact",
    "remember",
    "remember_environment",
]

REDACTED: Final = "<redacted>"
#: The environment variables that hold secrets (their values are masked everywhere).
SECRET_VARIABLES: Final = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "ZALO_OA_SECRET",
    "ZALO_APP_SECRET",
    "ZALO_ACCESS_TOKEN",
    "ZALO_REFRESH_TOKEN",
)
#: Shorter values are not masked: replacing "ab" everywhere would garble the log, and no
#: real secret is that short.
MIN_SECRET_LEN: Final = 4
#: Zalo tokens rotate every day: the most recent ones are kept, the oldest forgotten.
MAX_SECRETS: Final = 64
#: A bot token anywhere (in a URL, raw or percent-encoded), even one that is not configured.
_BOT_TOKEN: Final = re.compile(r"(?<!\d)\d{3,}(?::|%3A)[A-Za-z0-9_-]{16,}", re.IGNORECASE)
#: What python-telegram-bot writes before the raw update it could not parse.
_PAYLOAD_MARKERS: Final = ("Received data was", "processing the data received")
_NOT_LOGGED: Final = "<payload not logged>"

_secrets: dict[str, None] = {}  # insertion-ordered, so the oldest go first


def remember(*values: str) -> None:
    """Mask these values in every log record and CLI error from now on."""
    for value in values:
        value = str(value)
        if len(value) < MIN_SECRET_LEN:
            continue
        for form in {value, quote(value, safe=""), repr(value)[1:-1]}:
            _secrets.pop(form, None)
            _secrets[form] = None
    while len(_secrets) > MAX_SECRETS:
        del _secrets[next(iter(_secrets))]


def remember_environment(env: Mapping[str, str]) -> None:
    """Mask the values of the secret variables in `env` (before the settings are parsed)."""
    remember(*(env.get(name, "").strip() for name in SECRET_VARIABLES))


def redact(text: str) -> str:
    """`text` with every remembered secret and any bot token masked."""
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _BOT_TOKEN.sub(REDACTED, text)


def _payload_record(record: logging.LogRecord, message: str) -> bool:
    return record.name.startswith("telegram") and any(m in message for m in _PAYLOAD_MARKERS)


def _without_payload_args(record: logging.LogRecord) -> None:
    """PTB logs requests, answers and updates as dicts or objects: those arguments go."""
    if not record.name.startswith("telegram") or not record.args:
        return
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    record.args = tuple(
        arg if isinstance(arg, str | int | float | bool | type(None)) else _NOT_LOGGED
        for arg in args
    )


class RedactingFilter(logging.Filter):
    """Rewrites a record so that no secret and no update payload reaches a handler."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        _without_payload_args(record)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: its template alone, args dropped
            message = str(record.msg)
        payload = _payload_record(record, message)
        if payload:
            for marker in _PAYLOAD_MARKERS:
                message = message.split(marker, 1)[0]
            message = message.rstrip(" :!.") + " (the update's content is not logged)"
        if record.exc_info:
            exc = record.exc_info[1]
            if payload or exc is None:
                # The exception's own message may quote the update it failed on.
                text = f"{type(exc).__name__} (details not logged)" if exc else ""
            else:
                text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = redact(text) or None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.msg = redact(message)
        record.args = None
        return True


_FILTER: Final = RedactingFilter()


def install(handlers: Iterable[logging.Handler] | None = None) -> RedactingFilter:
    """Put the filter on `handlers` (default: every handler of the root logger), once."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER
