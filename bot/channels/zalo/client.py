"""A small client for the Zalo Official Account API v3 (no current official Python SDK).

What it relies on (see docs/zalo.md for sources):
- `POST {api}/v3.0/oa/message/cs` with an `access_token` header sends a consultation
  message, which may carry up to 5 buttons (`oa.query.hide`: a tap comes back as the user's
  text `payload`); errors come back as HTTP 200 with a non-zero `error` field.
- `POST {api}/v3.0/oa/message/template` sends an approved ZNS/ZBS template to a user id
  (`user_id`, `template_id`, `template_data`): what replaced transaction messages in 2026.
- `GET {api}/v3.0/oa/user/detail?data={"user_id": ...}` gives `data.display_name`.
- `POST {oauth}/v4/oa/access_token` with a `secret_key` header (the app secret) and the form
  fields `refresh_token`, `app_id`, `grant_type=refresh_token` returns a new access token
  (~25 h, `expires_in` in seconds, often as a string) and a new single-use refresh token.

Tokens never reach a log line: they are `Secret`s and only error codes are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp

from bot.clock import Clock
from bot.logging_filters import remember
from bot.settings import Secret, ZaloSettings
from bot.storage import StorageError, Store
from bot.storage.zalo import TokenPair, load_tokens, save_rotated, seed_tokens

logger = logging.getLogger(__name__)

CS_PATH = "/v3.0/oa/message/cs"
TEMPLATE_PATH = "/v3.0/oa/message/template"
USER_DETAIL_PATH = "/v3.0/oa/user/detail"
TOKEN_PATH = "/v4/oa/access_token"

#: A consultation message carries at most 5 buttons; a title at most 100 characters.
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
#: How a tap comes back: as the user's text message, not shown in their chat.
BUTTON_TYPE = "oa.query.hide"

#: Longest text Zalo accepts in one message (counted in UTF-16 units, to be safe with emoji).
MAX_ZALO_TEXT = 2000
#: The access token is replaced this long before it expires.
REFRESH_MARGIN = timedelta(minutes=30)
#: What Zalo documents for an access token when a response omits `expires_in` (25 h).
DEFAULT_EXPIRES_IN = 90_000
#: The token is invalid (-216) or expired (-220): refresh once, retry once.
TOKEN_ERRORS = frozenset({-216, -220})
#: Too many requests (-32), or a feature quota used up for now (-211).
RATE_LIMITED = frozenset({-32})
QUOTA_EXHAUSTED = frozenset({-211})
#: The user cannot be reached by a consultation message now: outside the interaction window
#: (-230: none in 7 days, -232: none recent or expired), not a follower (-213), their own
#: receive quota used up (-218), inactive for 45 days or banned (-227). Not retried: the
#: outbox records the message as undeliverable on Zalo, to reach them another way.
OUTSIDE_WINDOW = frozenset({-213, -218, -227, -230, -232})
#: The user refuses this kind of message from the OA: like a block.
REFUSED_BY_USER = frozenset({-244})
#: The app or OA is not set up for this (not activated, API not registered, not authorised,
#: app removed, OA not verified or on too low a package: -221/-224), the message is a paid
#: feature the OA has not bought (-320) or has no balance left for (-321), or it breaks
#: Zalo's policy (-248): an administrator must act.
NEEDS_ADMIN = frozenset({-209, -212, -219, -221, -223, -224, -248, -320, -321})
#: Template (ZNS/ZBS) errors: template id invalid (-109), data empty (-111) or invalid (-112),
#: the OA or app may not use this template (-117), no balance (-115). The template setting or
#: the OA's account needs an administrator.
TEMPLATE_NEEDS_ADMIN = frozenset({-109, -111, -112, -115, -117})
#: Template sends a user cannot receive: inactive or refusing (-114), no such account (-118),
#: cannot receive (-119).
TEMPLATE_UNREACHABLE = frozenset({-114, -118, -119})
#: How long the outbox should wait after a rate limit or an unreachable API.
RATE_LIMIT_BACKOFF = 30.0
NETWORK_BACKOFF = 30.0
#: What an administrator should look at, for the codes where Zalo is explicit.
ADMIN_HINTS = {
    -221: "the OA is not verified",
    -224: "the OA's package does not allow API messaging",
    -248: "the message breaks Zalo's policy",
    -320: "a paid feature the OA has not enabled",
    -321: "the OA has no balance left for paid messages",
}
#: How long to wait before trying again when no token can be obtained (needs the admin).
TOKEN_BACKOFF = 600.0
QUOTA_BACKOFF = 3600.0
#: Rate limits met in the middle of one answer are waited out in place, this many times.
INLINE_RATE_RETRIES = 3
INLINE_RATE_DELAY = 1.0
#: Per request: a refresh and a send together stay within the outbox's 30 s per message.
TIMEOUT = aiohttp.ClientTimeout(total=10)
#: The user-detail lookup delays an officer's registration answer: kept short.
DETAIL_TIMEOUT = aiohttp.ClientTimeout(total=3)

#: How long a refresh waits for another process's refresh (its HTTP call is bounded by 10 s).
REFRESH_LOCK_WAIT = 15.0

SendStatus = Literal["sent", "retry", "blocked", "undeliverable", "failed"]
Sleep = Callable[[float], Awaitable[None]]


class TokenError(Exception):
    """No usable access token: the refresh was refused or Zalo could not be reached."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"Zalo token refresh failed ({reason}, code {code})")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one message (perhaps in several parts) sent to one user."""

    status: SendStatus
    code: int = 0
    sent_parts: int = 0
    retry_after: float | None = None

    @property
    def needs_admin(self) -> bool:
        """Whether only an administrator can make such messages go out again."""
        return self.code in NEEDS_ADMIN or self.code in TEMPLATE_NEEDS_ADMIN

    @property
    def detail(self) -> str:
        """A short description for logs and the outbox (codes only, never text)."""
        if self.status == "sent":
            return ""
        if self.needs_admin:
            return f"zalo error {self.code}: needs an administrator (docs/zalo.md)"
        return f"zalo error {self.code}" if self.code else "zalo unreachable"


@dataclass(frozen=True, slots=True)
class Message:
    """One consultation message: its text, optional buttons, and the text to send instead.

    A tap on button i comes back as the text "i" (1-based), which the engine reads as the
    option number, exactly as if typed. `fallback` (numbered options as text) is sent when
    Zalo refuses the message with buttons.
    """

    text: str
    buttons: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        """The `message` object Zalo expects."""
        if not self.buttons:
            return {"text": self.text}
        buttons = [
            {"type": BUTTON_TYPE, "title": title[:MAX_BUTTON_TITLE], "payload": str(i)}
            for i, title in enumerate(self.buttons[:MAX_BUTTONS], 1)
        ]
        return {
            "text": self.text,
            "attachment": {"type": "template", "payload": {"buttons": buttons}},
        }


# --- text -------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Zalo is likely to count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_ZALO_TEXT) -> list[str]:
    """Cut `text` into parts of at most `limit` units, at paragraphs, lines, then words."""
    text = text.strip()
    if not text:
        return []
    parts: list[str] = []
    while utf16_len(text) > limit:
        cut = _cut_point(text, limit)
        head, text = text[:cut].rstrip(), text[cut:].strip()
        if head:
            parts.append(head)
    if text:
        parts.append(text)
    return parts


def _cut_point(text: str, limit: int) -> int:
    # The longest prefix within the limit, in characters.
    end = 0
    units = 0
    for ch in text:
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            break
        end += 1
    window = text[:end]
    # Prefer a paragraph, then a line, then a sentence, then a word; never a tiny first part.
    for sep in ("\n\n", "\n", ". ", " "):
        at = window.rfind(sep)
        if at >= end // 3:
            return at + len(sep)
    return max(end, 1)  # always progress, even on a limit smaller than one character


# --- tokens -----------------------------------------------------------------------------------


class TokenManager:
    """Holds the access token, refreshing it before it expires and when Zalo rejects it.

    A refresh token is single-use, so one refresh at a time: an asyncio lock in this process
    and a file lock beside the database for the others (a `bdg-bot` command sending while
    the server runs). Neither is the database's write lock: the HTTP call runs with no
    transaction open, and only the new pair is written, in a short durable transaction.
    """

    def __init__(
        self,
        store: Store,
        settings: ZaloSettings,
        clock: Clock,
        session: aiohttp.ClientSession,
        *,
        margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.session = session
        self.margin = margin
        self._lock = asyncio.Lock()
        #: A pair Zalo issued that could not be saved yet: (the pair it replaced, the new one).
        self._unsaved: tuple[TokenPair, TokenPair] | None = None
        self._lock_path: Path | bool | None = False  # False: not looked up yet

    async def start(self) -> None:
        """Take the environment's pair on first start (or after the admin changed it)."""
        s = self.settings
        if await seed_tokens(self.store, s.access_token, s.refresh_token, self.clock.now()):
            logger.info("Zalo token pair taken from the environment")

    async def access_token(self) -> Secret:
        """A valid access token, refreshed first when it is about to expire."""
        pair = await self._current()
        if expires_soon(pair, self.clock.now(), self.margin):
            pair = await self.refresh(pair.access_token)
        return pair.access_token

    async def _current(self) -> TokenPair:
        """The pair in use: an unsaved one if any, else the stored one."""
        if self._unsaved is not None:
            await self._save(*self._unsaved)
            if self._unsaved is not None:
                return self._unsaved[1]
        # Read from the database every time (one small row): another process, or another
        # manager in this one, may have rotated the pair, and the old token then fails.
        pair = await load_tokens(self.store)
        if pair is None:
            raise TokenError(None, "no token pair stored")
        remember(pair.access_token, pair.refresh_token)
        return pair

    async def refresh(self, stale: str) -> TokenPair:
        """Replace the access token `stale` (unless another task or process already did)."""
        async with self._lock, self._across_processes():
            current = await self._current()
            if current.access_token != stale:
                return current
            fresh = await self._exchange(current)
            await self._save(current, fresh)
            return fresh

    async def _save(self, previous: TokenPair, fresh: TokenPair) -> None:
        """Store a pair Zalo issued; on failure keep it in memory and say what is at stake."""
        try:
            await save_rotated(self.store, previous.refresh_token, fresh, self.clock.now())
        except StorageError as exc:
            if self._unsaved is None:
                logger.error(
                    "Zalo issued a new token pair but it could not be saved (%s): it is used "
                    "from memory and saved as soon as the database allows. If the bot stops "
                    "before that, an administrator must re-authorise the OA and set "
                    "ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN again (docs/zalo.md)",
                    f"{type(exc).__name__}: {exc}"[:120],
                )
            self._unsaved = (previous, fresh)
            return
        if self._unsaved is not None:
            logger.info("the Zalo token pair kept in memory is now saved")
        self._unsaved = None

    @contextlib.asynccontextmanager
    async def _across_processes(self) -> AsyncIterator[None]:
        """One refresh at a time across every process: Zalo spends a refresh token once, so
        a second process refreshing with the same one would be refused (or void the pair).
        A lock file beside a SQLite database; a PostgreSQL advisory lock for several workers."""
        if self.store.kind != "postgresql":
            async with _file_lock(await self._lock_file()):
                yield
            return
        async with self.store.exclusive("zalo-token-refresh", REFRESH_LOCK_WAIT) as held:
            if not held:
                raise TokenError(None, "another process is still refreshing")
            yield

    async def _lock_file(self) -> Path | None:
        """The lock file beside the database (None for an in-memory one)."""
        if self._lock_path is False:
            main = await self.store.file_path()
            self._lock_path = Path(f"{main}.zalo-refresh.lock") if main else None
        return self._lock_path if isinstance(self._lock_path, Path) else None

    async def maintain(self) -> None:
        """Refresh ahead of expiry; run periodically so the refresh token never lapses."""
        try:
            await self.access_token()
        except TokenError as exc:
            logger.error(
                "%s: if it persists, re-authorise the OA and set ZALO_ACCESS_TOKEN and "
                "ZALO_REFRESH_TOKEN again (docs/zalo.md)",
                exc,
            )

    async def _exchange(self, current: TokenPair) -> TokenPair:
        s = self.settings
        form = {
            "refresh_token": str(current.refresh_token),
            "app_id": s.app_id,
            "grant_type": "refresh_token",
        }
        try:
            async with self.session.post(
                s.oauth_base_url + TOKEN_PATH,
                data=form,
                headers={"secret_key": str(s.app_secret)},
                timeout=TIMEOUT,
            ) as resp:
                body = await resp.json(content_type=None)
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL):
            # Not connected: the request never left, the stored pair is still the valid one.
            raise TokenError(None, "token endpoint unreachable") from None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            # The request was sent: Zalo may have issued a new pair (and spent the refresh
            # token) without our hearing of it. The next refresh tells; if it is refused with
            # -14014, only an administrator can give the bot a new pair.
            logger.error(
                "Zalo token refresh sent but not answered (timeout or broken answer): Zalo "
                "may already have replaced the token pair. NEEDS AN ADMINISTRATOR if the next "
                "refresh fails with -14014: re-authorise the OA (docs/zalo.md, step 6), set "
                "ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN to the new pair and restart"
            )
            raise TokenError(None, "token refresh not answered") from None
        if not isinstance(body, dict):
            raise TokenError(None, "unexpected answer")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            code = _int(body.get("error"))
            # Zalo's own words, shortened: they may quote what was sent (masked in the log).
            raise TokenError(code, str(body.get("error_name") or "refused")[:80])
        remember(access, refresh)  # masked in every log line from now on
        expires_in = _int(body.get("expires_in")) or DEFAULT_EXPIRES_IN
        logger.info("Zalo access token refreshed (valid %d h)", expires_in // 3600)
        return TokenPair(
            Secret(access), Secret(refresh), self.clock.now() + timedelta(seconds=expires_in)
        )


@contextlib.asynccontextmanager
async def _file_lock(path: Path | None, wait: float = REFRESH_LOCK_WAIT) -> AsyncIterator[None]:
    """Hold an exclusive lock on `path` (none for None, or where flock does not exist)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process per database is assumed there
        fcntl = None  # type: ignore[assignment]
    if path is None or fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if loop.time() >= deadline:
                    raise TokenError(None, "another process is still refreshing") from None
                await asyncio.sleep(0.05)
        yield
    finally:
        os.close(fd)  # also releases the lock


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# --- sending ----------------------------------------------------------------------------------


class ZaloClient:
    """Sends messages to Zalo users, mapping Zalo's error codes to what to do next."""

    def __init__(
        self,
        settings: ZaloSettings,
        tokens: TokenManager,
        session: aiohttp.ClientSession,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.session = session
        self.sleep = sleep

    async def send_texts(
        self, user_id: str, parts: list[str], *, wait_rate_limit: bool = True
    ) -> SendResult:
        """Send the parts in order as consultation messages; stop at the first failure.

        Rate limits are waited out in place after the first part (a half-sent answer is
        worse than a slow one), and on the first part too when `wait_rate_limit` is set
        (a user waiting for an answer); otherwise the caller is told to retry later.
        """
        messages = [Message(part) for part in parts]
        return await self.send_messages(user_id, messages, wait_rate_limit=wait_rate_limit)

    async def send_messages(
        self, user_id: str, messages: list[Message], *, wait_rate_limit: bool = True
    ) -> SendResult:
        """Send messages in order (as `send_texts`); buttons refused fall back to numbers.

        `sent_parts` counts the messages delivered, a fallback counting as its message.
        """
        sent = 0
        for message in messages:
            body = {"recipient": {"user_id": user_id}, "message": message.body()}
            result = await self._send(CS_PATH, body, patient=wait_rate_limit or sent > 0)
            refused = result.status == "failed" and not result.needs_admin
            if refused and message.buttons and message.fallback:
                # Zalo refused the message as formed (an attachment or a title it dislikes,
                # not the OA's set-up): the same message as numbered text, answered with a
                # number.
                logger.warning(
                    "Zalo refused a message with buttons (error %d): sent as numbered text",
                    result.code,
                )
                result = await self.send_texts(user_id, list(message.fallback))
                if result.status != "sent" and result.sent_parts:
                    result = dataclasses.replace(result, status="failed")
            if result.status != "sent":
                return SendResult(result.status, result.code, sent, result.retry_after)
            sent += 1
        return SendResult("sent", 0, sent)

    async def send_template(
        self, user_id: str, template_id: str, data: dict[str, str]
    ) -> SendResult:
        """Send an approved ZNS/ZBS template to a user id (outside the free window)."""
        body = {"user_id": user_id, "template_id": template_id, "template_data": data}
        result = await self._send(TEMPLATE_PATH, body, patient=False)
        return SendResult(result.status, result.code, int(result.status == "sent"), None)

    async def user_display_name(self, user_id: str) -> str | None:
        """The name the user shows on Zalo (None when it cannot be had: best effort)."""
        try:
            token = await self.tokens.access_token()
            async with self.session.get(
                self.settings.api_base_url + USER_DETAIL_PATH,
                params={"data": json.dumps({"user_id": user_id})},
                headers={"access_token": token},
                timeout=DETAIL_TIMEOUT,
            ) as resp:
                answer = await resp.json(content_type=None)
        except (TokenError, StorageError, aiohttp.ClientError, TimeoutError, ValueError):
            logger.info("Zalo user detail unavailable: the display name is not kept")
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        name = data.get("display_name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name.strip():
            code = answer.get("error") if isinstance(answer, dict) else None
            logger.info("Zalo user detail without a display name (error %s)", code)
            return None
        return name.strip()[:80]

    async def _send(self, path: str, body: dict[str, Any], *, patient: bool) -> SendResult:
        refreshed = False
        rate_retries = INLINE_RATE_RETRIES if patient else 0
        delay = INLINE_RATE_DELAY
        while True:
            try:
                token = await self.tokens.access_token()
            except TokenError as exc:
                logger.error("cannot send on Zalo: %s", exc)
                return SendResult("retry", exc.code or 0, retry_after=TOKEN_BACKOFF)
            code = await self._post(path, body, token)
            if code == 0:
                return SendResult("sent")
            if code is None:
                return SendResult("retry", 0, retry_after=NETWORK_BACKOFF)
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                logger.info("Zalo rejected the access token (%d): refreshing", code)
                try:
                    await self.tokens.refresh(token)
                except TokenError as exc:
                    logger.error("cannot send on Zalo: %s", exc)
                    return SendResult("retry", code, retry_after=TOKEN_BACKOFF)
                continue
            if code in RATE_LIMITED:
                if rate_retries > 0:
                    rate_retries -= 1
                    await self.sleep(delay)
                    delay *= 2
                    continue
                logger.warning("Zalo rate limit (%d): backing off", code)
                return SendResult("retry", code, retry_after=RATE_LIMIT_BACKOFF)
            if code in QUOTA_EXHAUSTED:
                logger.warning("Zalo quota used up (%d): trying again later", code)
                return SendResult("retry", code, retry_after=QUOTA_BACKOFF)
            if code in OUTSIDE_WINDOW:
                logger.info("Zalo user outside the messaging window (%d): not sent", code)
                return SendResult("undeliverable", code)
            if code in REFUSED_BY_USER:
                logger.info("Zalo user refuses messages from the OA (%d)", code)
                return SendResult("blocked", code)
            if code in NEEDS_ADMIN:
                logger.error(
                    "Zalo refused with error %d: NEEDS AN ADMINISTRATOR (%s; see docs/zalo.md)",
                    code,
                    ADMIN_HINTS.get(code, "app activation, permissions, OA verification"),
                )
                return SendResult("failed", code)
            if code in TEMPLATE_NEEDS_ADMIN:
                logger.error(
                    "Zalo refused the template with error %d: NEEDS AN ADMINISTRATOR (check "
                    "ZALO_TEMPLATE_ID, ZALO_TEMPLATE_PARAMS and the ZBS balance; docs/zalo.md)",
                    code,
                )
                return SendResult("failed", code)
            if code in TEMPLATE_UNREACHABLE:
                logger.info("Zalo user cannot receive the template (%d): not sent", code)
                return SendResult("undeliverable", code)
            if code in TOKEN_ERRORS:
                logger.error("Zalo rejected a freshly refreshed access token (%d)", code)
                return SendResult("retry", code, retry_after=TOKEN_BACKOFF)
            logger.warning("Zalo refused a message with error %d", code)
            return SendResult("failed", code)

    async def _post(self, path: str, body: dict[str, Any], token: str) -> int | None:
        """POST one message; Zalo's error code (0 = sent), or None when Zalo was unreachable."""
        try:
            async with self.session.post(
                self.settings.api_base_url + path,
                json=body,
                headers={"access_token": token},
                timeout=TIMEOUT,
            ) as resp:
                status = resp.status
                if status >= 500 or status == 429:
                    logger.warning("Zalo API answered HTTP %d", status)
                    return None
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    answer = None
        except (aiohttp.ClientError, TimeoutError):
            logger.warning("Zalo API unreachable")
            return None
        code = _int(answer.get("error", 0)) if isinstance(answer, dict) else None
        if code is None or (code == 0 and status != 200):
            # Not Zalo's answer (a proxy's error page, a wrong ZALO_API_BASE_URL): a refusal.
            logger.warning("Zalo API answered HTTP %d without a Zalo result", status)
            return -1
        return code


def expires_soon(pair: TokenPair, now: datetime, margin: timedelta = REFRESH_MARGIN) -> bool:
    """Whether `pair` should be refreshed now."""
    return pair.expires_at - now <= margin
