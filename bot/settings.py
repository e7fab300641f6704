"""Settings read once from the environment (DESIGN.md §3.2), validated, secrets kept out of repr.

A missing or malformed value fails at start-up with one line naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import data_dir

#: The shipped `content/` (installed as `bot._content`); BOT_CONTENT_DIR replaces it.
DEFAULT_CONTENT_DIR = data_dir("bot._content")

TELEGRAM_API_DEFAULT = "https://api.telegram.org/bot"
#: Proactive messages in flight per channel by default, and the most BOT_OUTBOX_IN_FLIGHT allows.
OUTBOX_IN_FLIGHT = 8
MAX_IN_FLIGHT = 64
#: The default database; its folder `data/` is created on first use. Any other folder must
#: exist already, so a mistyped BOT_DB is an error rather than a new, empty database.
DEFAULT_DB = Path("data/bot.sqlite3")


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


class Secret(str):
    """A string that never shows itself in repr, logs or tracebacks."""

    def __repr__(self) -> str:
        return "Secret('********')" if self else "Secret('')"


def redact_url(url: str) -> str:
    """A database URL fit for a message or a log: its password replaced by '***'."""
    try:
        parts = urlsplit(url)
        password, port = parts.password, parts.port
    except ValueError:
        return "postgresql://…"
    if password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}{f':{port}' if port else ''}"
    return urlunsplit(parts._replace(netloc=netloc))


def _hostport(name: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name} must be host:port (e.g. 127.0.0.1:8443), got {value!r}")
    return host, int(port)


def _url(name: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must start with http:// or https://, got {value!r}")
    return value


#: The reminder fields a template parameter can take (see docs/zalo.md §9).
TEMPLATE_FIELDS = ("title", "line2", "line3", "line4", "report_line", "period")
#: Zalo's template parameters are short: about 30 to 200 characters depending on their type.
TEMPLATE_PARAM_MAX = 200
TEMPLATE_PARAM_DEFAULT = 30
_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_TEMPLATE_PARAM = re.compile(r"([A-Za-z0-9_]{1,50})=([a-z0-9_]+)(?::([0-9]{1,4}))?")


@dataclass(frozen=True)
class TemplateParam:
    """One template parameter: its name, the reminder field it shows, its length limit."""

    name: str
    source: str
    max_len: int = TEMPLATE_PARAM_DEFAULT


@dataclass(frozen=True)
class ZaloTemplate:
    """An approved ZNS/ZBS template and how a reminder fills its parameters."""

    template_id: str
    params: tuple[TemplateParam, ...]


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
    #: An approved ZNS/ZBS template for reminders outside the free window (None: such
    #: reminders are recorded as undeliverable on Zalo).
    template: ZaloTemplate | None = None
    #: Send reminders as (billed) consultation messages 48 h to 7 days after the user's
    #: last interaction; off by default because Zalo charges for them.
    billed_window: bool = False


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
    #: BOT_DB=postgresql://…: a PostgreSQL database instead of the SQLite file `db_path`.
    db_url: Secret = field(default=Secret(""), repr=False)
    admins: frozenset[str] = frozenset()
    timezone: str = "Asia/Ho_Chi_Minh"
    content_dir: Path = DEFAULT_CONTENT_DIR
    zalo: ZaloSettings | None = None
    #: Proactive send limits (messages per second); lifted in tests and benchmarks.
    telegram_rate_total: float = 30.0
    telegram_rate_per_chat: float = 1.0
    zalo_rate_total: float = 10.0
    #: Proactive messages in flight per channel (BOT_OUTBOX_IN_FLIGHT): enough to reach the
    #: platform's rate over a slow round trip (30/s at 150 ms needs 5); a `kill -9` can send
    #: at most this many of them twice.
    outbox_in_flight: int = OUTBOX_IN_FLIGHT
    #: Several workers on one PostgreSQL database: the key that encrypts webhook updates
    #: while they wait in the inbox (BOT_INBOX_KEY; `run --workers N` makes one if unset).
    inbox_key: Secret = field(default=Secret(""), repr=False)
    #: Several workers listen on the same webhook ports (BOT_SHARED_PORT=1, SO_REUSEPORT).
    shared_port: bool = False

    @property
    def database(self) -> Path | str:
        """What `Store.open` takes: the PostgreSQL URL when one is set, else the SQLite file."""
        return str(self.db_url) if self.db_url else self.db_path

    @property
    def database_label(self) -> str:
        """The database for messages and logs (a URL's password never shown)."""
        return redact_url(str(self.db_url)) if self.db_url else str(self.db_path)

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


def _inbox_key(value: str) -> Secret:
    # A Fernet key: 32 bytes, URL-safe base64 (44 characters). Checked here, not at the first
    # webhook request.
    import base64
    import binascii

    if not value:
        return Secret("")
    try:
        ok = len(base64.urlsafe_b64decode(value.encode("ascii"))) == 32 and len(value) == 44
    except (binascii.Error, UnicodeEncodeError, ValueError):
        ok = False
    if not ok:
        raise SettingsError(
            "BOT_INBOX_KEY must be 44 characters of URL-safe base64 (32 bytes); make one "
            "with `env -u BOT_INBOX_KEY bdg-bot db new-inbox-key`"
        )
    return Secret(value)


def _count(env: Mapping[str, str], name: str, default: int, top: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= top:
        raise SettingsError(f"{name} must be a whole number from 1 to {top}, got {raw!r}")
    return int(raw)


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


def _template(env: Mapping[str, str]) -> ZaloTemplate | None:
    """ZALO_TEMPLATE_ID and ZALO_TEMPLATE_PARAMS, checked against Zalo's parameter limits."""
    if env.get("ZALO_TRANSACTION_TEMPLATE", "").strip():
        raise SettingsError(
            "ZALO_TRANSACTION_TEMPLATE is no longer used (Zalo ended transaction messages on "
            "01/03/2026): set ZALO_TEMPLATE_ID and ZALO_TEMPLATE_PARAMS instead (docs/zalo.md)"
        )
    template_id = env.get("ZALO_TEMPLATE_ID", "").strip()
    raw = env.get("ZALO_TEMPLATE_PARAMS", "").strip()
    if not template_id and not raw:
        return None
    if not template_id:
        raise SettingsError("ZALO_TEMPLATE_ID is required when ZALO_TEMPLATE_PARAMS is set")
    if not _TEMPLATE_ID.fullmatch(template_id):
        raise SettingsError(
            f"ZALO_TEMPLATE_ID must be the template's id from Zalo (letters, digits), "
            f"got {template_id!r}"
        )
    if not raw:
        raise SettingsError("ZALO_TEMPLATE_PARAMS is required when ZALO_TEMPLATE_ID is set")
    params: list[TemplateParam] = []
    fields = ", ".join(TEMPLATE_FIELDS)
    for item in filter(None, (part.strip() for part in raw.split(","))):
        match = _TEMPLATE_PARAM.fullmatch(item)
        if match is None:
            raise SettingsError(
                "ZALO_TEMPLATE_PARAMS must be a comma list of param=field[:max length], e.g. "
                f"ky=title:100,han=line3:200, got {item!r}"
            )
        name, field_name, limit = match.group(1), match.group(2), match.group(3)
        if field_name not in TEMPLATE_FIELDS:
            raise SettingsError(
                f"ZALO_TEMPLATE_PARAMS: {field_name!r} is not a reminder field ({fields})"
            )
        max_len = int(limit) if limit else TEMPLATE_PARAM_DEFAULT
        if not 1 <= max_len <= TEMPLATE_PARAM_MAX:
            raise SettingsError(
                f"ZALO_TEMPLATE_PARAMS: the length of {name!r} must be 1-{TEMPLATE_PARAM_MAX} "
                f"(Zalo's limit for a template parameter), got {max_len}"
            )
        if any(p.name == name for p in params):
            raise SettingsError(f"ZALO_TEMPLATE_PARAMS names {name!r} twice")
        params.append(TemplateParam(name, field_name, max_len))
    if not params:
        raise SettingsError("ZALO_TEMPLATE_PARAMS must name at least one parameter")
    return ZaloTemplate(template_id, tuple(params))


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (on or off), got {raw!r}")


def _zalo(env: Mapping[str, str]) -> ZaloSettings | None:
    names = ("ZALO_APP_ID", "ZALO_OA_SECRET", "ZALO_APP_SECRET", "ZALO_ACCESS_TOKEN",
             "ZALO_REFRESH_TOKEN")  # fmt: skip
    present = [n for n in names if env.get(n, "").strip()]
    if not present:
        return None
    if missing := [n for n in names if n not in present]:
        raise SettingsError(f"{missing[0]} is required when any Zalo setting is set")
    listen = env.get("ZALO_WEBHOOK_LISTEN", "").strip() or "0.0.0.0:8080"
    template = _template(env)
    billed_window = _flag(env, "ZALO_BILLED_WINDOW")
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
        template=template,
        billed_window=billed_window,
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
    raw_db = env.get("BOT_DB", "").strip()
    is_url = raw_db.startswith(("postgresql://", "postgres://"))
    if not is_url and "://" in raw_db:
        raise SettingsError(
            f"BOT_DB must be a SQLite file path or a postgresql:// URL, got {redact_url(raw_db)!r}"
        )
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
        db_path=_db_path("" if is_url else raw_db),
        db_url=Secret(raw_db if is_url else ""),
        admins=_admins(env.get("BOT_ADMINS", "")),
        timezone=timezone,
        content_dir=content_dir,
        zalo=_zalo(env),
        telegram_rate_total=_float(env, "BOT_TELEGRAM_RATE", 30.0),
        telegram_rate_per_chat=_float(env, "BOT_TELEGRAM_RATE_PER_CHAT", 1.0),
        zalo_rate_total=_float(env, "BOT_ZALO_RATE", 10.0),
        outbox_in_flight=_count(env, "BOT_OUTBOX_IN_FLIGHT", OUTBOX_IN_FLIGHT, MAX_IN_FLIGHT),
        inbox_key=_inbox_key(env.get("BOT_INBOX_KEY", "").strip()),
        shared_port=_flag(env, "BOT_SHARED_PORT"),
    )
