"""Settings read once from the environment (DESIGN.md §3.2), validated, secrets kept out of repr.

A missing or malformed value fails at start-up with one line naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import data_dir

#: The shipped `content/` (installed as `bot._content`); BOT_CONTENT_DIR replaces it.
DEFAULT_CONTENT_DIR = data_dir("bot._content")

TELEGRAM_API_DEFAULT = "https://api.telegram.org/bot"
#: The default database; its folder `data/` is created on first use. Any other folder must
#: exist already, so a mistyped BOT_DB is an error rather than a new, empty database.
DEFAULT_DB = Path("data/bot.sqlite3")


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


class Secret(str):
    """A string that never shows itself in repr, logs or tracebacks."""

    def __repr__(self) -> str:
        return "Secret('********')" if self else "Secret('')"


def _hostport(name: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name} must be host:port (e.g. 127.0.0.1:8443), got {value!r}")
    return host, int(port)


def _url(name: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must start with http:// or https://, got {value!r}")
    return value


@dataclass(frozen=True)
class ZaloSettings:
    """Zalo Official Account credentials and endpoints."""

    app_id: str
    oa_secret: Secret = field(repr=False)
    app_secret: Secret = field(repr=False)
    access_token: Secret = field(repr=False)
    refresh_token: Secret = field(repr=False)
    api_base_url: str = "https://openapi.zalo.me"
    oauth_base_url: str = "https://oauth.zaloapp.com"
    listen: tuple[str, int] = ("0.0.0.0", 8080)
    #: An approved transaction template id (``transaction_...``) for proactive messages
    #: outside the 48 h window; empty = such messages are recorded as undeliverable.
    transaction_template: str = ""


@dataclass(frozen=True)
class Settings:
    """Everything configurable from the environment."""

    telegram_token: Secret = field(default=Secret(""), repr=False)
    telegram_api_base_url: str = TELEGRAM_API_DEFAULT
    telegram_webhook_url: str = ""
    telegram_webhook_secret: Secret = field(default=Secret(""), repr=False)
    #: Loopback by default: the webhook is meant to sit behind a TLS reverse proxy.
    telegram_webhook_listen: tuple[str, int] = ("127.0.0.1", 8443)
    telegram_bot_username: str = ""
    db_path: Path = DEFAULT_DB
    admins: frozenset[str] = frozenset()
    timezone: str = "Asia/Ho_Chi_Minh"
    content_dir: Path = DEFAULT_CONTENT_DIR
    zalo: ZaloSettings | None = None
    #: Proactive send limits (messages per second); lifted in tests and benchmarks.
    telegram_rate_total: float = 30.0
    telegram_rate_per_chat: float = 1.0
    zalo_rate_total: float = 10.0

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    def is_admin(self, address: str) -> bool:
        """Whether `channel:user` is listed in BOT_ADMINS."""
        return address in self.admins


_ADMIN_USER = {
    "telegram": re.compile(r"[1-9][0-9]{0,19}"),
    "zalo": re.compile(r"[1-9][0-9]{0,39}"),
    "console": re.compile(r"[A-Za-z0-9_.-]+"),
}


def _admins(value: str) -> frozenset[str]:
    out = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        channel, _, user = item.partition(":")
        # An id as the channel writes it (digits, no leading zero), so it can match: a
        # `;` list, `telegram:01` or `telegram:*` would be accepted and never match anyone.
        pattern = _ADMIN_USER.get(channel)
        if pattern is None or not pattern.fullmatch(user):
            raise SettingsError(
                "BOT_ADMINS must be a comma list of telegram:<id>, zalo:<id> or "
                "console:<user> (the `bdg-bot console --user <user>` chat, e.g. console:admin), "
                f"got {item!r}"
            )
        out.add(f"{channel}:{user}")
    return frozenset(out)


def _db_path(value: str) -> Path:
    path = Path(value) if value else DEFAULT_DB
    if value == ":memory:" or path.parent == DEFAULT_DB.parent or path.parent.is_dir():
        return path
    raise SettingsError(
        f"BOT_DB: the folder {str(path.parent.absolute())!r} does not exist "
        f"(BOT_DB={value!r}); create it or correct BOT_DB"
    )


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _zalo(env: Mapping[str, str]) -> ZaloSettings | None:
    names = ("ZALO_APP_ID", "ZALO_OA_SECRET", "ZALO_APP_SECRET", "ZALO_ACCESS_TOKEN",
             "ZALO_REFRESH_TOKEN")  # fmt: skip
    present = [n for n in names if env.get(n, "").strip()]
    if not present:
        return None
    if missing := [n for n in names if n not in present]:
        raise SettingsError(f"{missing[0]} is required when any Zalo setting is set")
    listen = env.get("ZALO_WEBHOOK_LISTEN", "").strip() or "0.0.0.0:8080"
    template = env.get("ZALO_TRANSACTION_TEMPLATE", "").strip()
    if template and not re.fullmatch(r"transaction_[a-z_]+", template):
        raise SettingsError(
            f"ZALO_TRANSACTION_TEMPLATE must look like transaction_<type>, got {template!r}"
        )
    return ZaloSettings(
        app_id=env["ZALO_APP_ID"].strip(),
        oa_secret=Secret(env["ZALO_OA_SECRET"].strip()),
        app_secret=Secret(env["ZALO_APP_SECRET"].strip()),
        access_token=Secret(env["ZALO_ACCESS_TOKEN"].strip()),
        refresh_token=Secret(env["ZALO_REFRESH_TOKEN"].strip()),
        api_base_url=_url(
            "ZALO_API_BASE_URL",
            env.get("ZALO_API_BASE_URL", "").strip() or "https://openapi.zalo.me",
        ).rstrip("/"),
        oauth_base_url=_url(
            "ZALO_OAUTH_BASE_URL",
            env.get("ZALO_OAUTH_BASE_URL", "").strip() or "https://oauth.zaloapp.com",
        ).rstrip("/"),
        listen=_hostport("ZALO_WEBHOOK_LISTEN", listen),
        transaction_template=template,
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if token and (":" not in token or not token.split(":", 1)[0].isdigit()):
        raise SettingsError("TELEGRAM_BOT_TOKEN must look like 123456:ABC... (from @BotFather)")
    webhook_url = env.get("TELEGRAM_WEBHOOK_URL", "").strip()
    if webhook_url:
        _url("TELEGRAM_WEBHOOK_URL", webhook_url)
    secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if webhook_url and not secret:
        raise SettingsError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_WEBHOOK_URL is set")
    if (secret and not all(ch.isalnum() or ch in "_-" for ch in secret)) or len(secret) > 256:
        raise SettingsError("TELEGRAM_WEBHOOK_SECRET may use only A-Z, a-z, 0-9, _ and - (1-256)")
    timezone = env.get("BOT_TIMEZONE", "").strip() or "Asia/Ho_Chi_Minh"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"BOT_TIMEZONE is not a known time zone: {timezone!r}") from None
    content_dir = Path(env.get("BOT_CONTENT_DIR", "").strip() or DEFAULT_CONTENT_DIR)
    if not content_dir.is_dir():
        raise SettingsError(f"BOT_CONTENT_DIR is not a directory: {str(content_dir)!r}")
    return Settings(
        telegram_token=Secret(token),
        telegram_api_base_url=_url(
            "TELEGRAM_API_BASE_URL",
            env.get("TELEGRAM_API_BASE_URL", "").strip() or TELEGRAM_API_DEFAULT,
        ),
        telegram_webhook_url=webhook_url,
        telegram_webhook_secret=Secret(secret),
        telegram_webhook_listen=_hostport(
            "TELEGRAM_WEBHOOK_LISTEN",
            env.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or "127.0.0.1:8443",
        ),
        telegram_bot_username=env.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@"),
        db_path=_db_path(env.get("BOT_DB", "").strip()),
        admins=_admins(env.get("BOT_ADMINS", "")),
        timezone=timezone,
        content_dir=content_dir,
        zalo=_zalo(env),
        telegram_rate_total=_float(env, "BOT_TELEGRAM_RATE", 30.0),
        telegram_rate_per_chat=_float(env, "BOT_TELEGRAM_RATE_PER_CHAT", 1.0),
        zalo_rate_total=_float(env, "BOT_ZALO_RATE", 10.0),
    )
