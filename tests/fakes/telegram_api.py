"""A fake Telegram Bot API server on 127.0.0.1, for offline tests and benchmarks.

It speaks HTTP exactly where PTB expects Telegram, so the real ``telegram.Bot`` and the real
``telegram.ext.Application`` run against it unchanged: only the base URL differs.

Usage::

    async with FakeTelegramAPI() as fake:
        # PTB appends "<token>/<method>" to base_url; the project's builder takes the same
        # value from TELEGRAM_API_BASE_URL.
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.user_message(42, "/start")  # queued for getUpdates
        await fake.wait_sent(42, 1)  # until the bot has answered
        assert fake.texts(42) == ["Xin chào!"]
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

The test side (``user_*``, ``add_raw_update``) plays the users; the bot side is read back from
``calls``, ``sent()``, ``texts()``, ``message()`` and ``deleted``. Everything runs on the event
loop of the test, so the ``user_*`` methods must be called from that loop's thread.

Like Telegram (and unlike a dumb echo), it answers 400 for empty or over-long texts
(4096 / caption 1024), callback_data over 64 bytes, edits that change nothing ("message is not
modified") and deletes of unknown, deleted or 48 h old messages; parse_mode HTML is parsed
away in the stored text. Any chat id is accepted (no "chat not found").
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Self

from aiohttp import web

__all__ = ["BOT_USER", "Call", "FakeTelegramAPI", "Upload"]

ChatId = int | str
JSONDict = dict[str, Any]

BOT_USER: JSONDict = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "BDG Test",
    "username": "bdg_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
"""The ``User`` that getMe returns and that every bot message is ``from``."""

#: Methods whose successful result is a new bot message: they feed ``sent()`` and the
#: rate-limit accounting of ``limit_violations()``.
SEND_METHODS = frozenset({"sendmessage", "sendlocation", "senddocument", "sendvenue", "sendphoto"})

DELETE_WINDOW_S = 48 * 3600
MAX_TEXT_LEN = 4096
MAX_CAPTION_LEN = 1024
MAX_CALLBACK_DATA_BYTES = 64
RATE_SLACK = 0.95  # intervals may be 5 % short before they count, so timer jitter is ignored

# PTB sends form fields with every non-string value JSON-encoded and strings as they are, so a
# text "123" or "true" must not be JSON-decoded: these parameters are always strings.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "url",
        "callback_query_id",
        "inline_message_id",
        "parse_mode",
        "action",
        "secret_token",
        "ip_address",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "title",
        "address",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "emoji",
        "name",
        "description",
        "short_description",
        "file_id",
    }
)
_HTML_TAG = re.compile(r"<[^>]*>")


@dataclass(slots=True)
class Call:
    """One request the bot made, in arrival order (after the injected latency)."""

    method: str
    """The method name as sent in the URL, e.g. ``"sendMessage"``."""
    params: JSONDict
    """Decoded parameters: JSON values as Python objects, uploaded files as `Upload`."""
    at: float
    """``time.monotonic()`` when the request was handled."""
    status: int = 0
    """HTTP status of the answer; 0 while a getUpdates long poll is still waiting."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A file the bot uploaded in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class _ApiError(Exception):
    """An error answer: HTTP status, Bot API description, optional ``parameters``."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _error_for(status: int, retry_after: int) -> _ApiError:
    """Build the error an injected failure of `status` answers with."""
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return _ApiError(
            status,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )
    if status == HTTPStatus.BAD_REQUEST:
        return _ApiError(status, "Bad Request: injected failure")
    if status == HTTPStatus.FORBIDDEN:
        return _ApiError(status, "Forbidden: injected failure")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return _ApiError(status, phrase)


class _Pending:
    """An update waiting in the getUpdates queue."""

    __slots__ = ("delivered", "payload", "raw", "update_id")

    def __init__(self, payload: JSONDict, *, raw: bool) -> None:
        self.payload = payload
        self.update_id: int = payload["update_id"]
        self.raw = raw
        self.delivered = False


def _chat_key(value: Any) -> ChatId:
    """Normalise a chat_id parameter: numeric strings become ints, ``@names`` stay strings."""
    if isinstance(value, bool):
        raise _ApiError(400, "Bad Request: chat not found")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("-").isdigit():
            return int(stripped)
        if stripped:
            return stripped
    raise _ApiError(400, "Bad Request: chat_id is empty")


def _int_param(params: JSONDict, name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if value is None:
        raise _ApiError(400, f"Bad Request: {name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Bad Request: invalid {name}") from None


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str) -> list[JSONDict]:
    """The bot_command entity Telegram attaches to a text that starts with '/'."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]


def _formatted_text(params: JSONDict, key: str) -> str | None:
    """The text as Telegram stores it: HTML markup is parsed away, other modes kept verbatim."""
    value = params.get(key)
    if value is None:
        return None
    text = str(value)
    parse_mode = str(params.get("parse_mode") or "").lower()
    if parse_mode == "html":
        text = html.unescape(_HTML_TAG.sub("", text))
    return text


def _inline_markup(params: JSONDict) -> JSONDict | None:
    """Validate ``reply_markup``; return it if it is an inline keyboard (the only kind echoed).

    Telegram's ``Message.reply_markup`` is always an InlineKeyboardMarkup; reply keyboards
    and ForceReply are accepted but not echoed (read them from ``calls``).
    """
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return None
    if not isinstance(keyboard, list):
        raise _ApiError(400, "Bad Request: can't parse inline keyboard markup")
    for row in keyboard:
        if not isinstance(row, list):
            raise _ApiError(400, "Bad Request: can't parse inline keyboard markup")
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(400, "Bad Request: inline keyboard button text is empty")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if len(button) < 2:
                raise _ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
    return markup


def _describe(call: Call) -> str:
    params = ", ".join(f"{key}={value!r}" for key, value in call.params.items())
    if len(params) > 120:
        params = params[:117] + "..."
    return f"{call.method}({params}) -> {call.status}"


class FakeTelegramAPI:
    """A Bot API server on 127.0.0.1 that PTB can poll and send to, with failure injection.

    Start it (``async with`` or `start`/`stop`), point PTB at `base_url`, queue user updates
    with the ``user_*`` methods, then assert on what the bot did. Attributes that tests may
    set at any time: `latency_ms`, `now_offset`, `per_chat_limit_per_s`, `total_limit_per_s`.
    """

    def __init__(self, token: str = "123456:TEST-TOKEN", *, latency_ms: float = 0.0) -> None:
        self.token = token
        self.latency_ms = latency_ms
        """Every request is delayed by this many ms before it is handled (a round trip)."""
        self.now_offset = 0.0
        """Seconds added to the fake's clock: message dates and the 48 h delete window."""
        self.per_chat_limit_per_s = 1.0
        self.total_limit_per_s = 30.0
        self.webhook_url: str | None = None
        """The url of the last setWebhook (``None`` after deleteWebhook)."""
        self.calls: list[Call] = []
        self.deleted: set[tuple[ChatId, int]] = set()
        """(chat_id, message_id) of every message the bot deleted."""
        self.uploads: dict[str, Upload] = {}
        """Files the bot uploaded, by the file_id the fake gave them."""
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        """setMyCommands state by (canonical JSON of the scope, language_code or "")."""
        self.menu_buttons: dict[ChatId | None, JSONDict] = {}
        """setChatMenuButton state by chat_id (``None`` = the default for all chats)."""

        self._pending: deque[_Pending] = deque()
        self._next_update_id = 1
        self._waiters: set[asyncio.Future[None]] = set()
        self._messages: dict[tuple[ChatId, int], JSONDict] = {}
        self._last_message_id: dict[ChatId, int] = {}
        self._chats: dict[ChatId, JSONDict] = {}
        self._sent: list[JSONDict] = []
        self._sent_by_chat: dict[ChatId, list[JSONDict]] = {}
        self._send_log: list[tuple[float, ChatId]] = []
        self._fail_next: dict[str, deque[tuple[int, int]]] = {}
        self._random_methods: frozenset[str] = frozenset()
        self._p429 = 0.0
        self._p5xx = 0.0
        self._random_retry_after = 1
        self._rng = random.Random(0)
        self._blocked: set[ChatId] = set()
        self._file_counter = 0
        self._callback_counter = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        # The Bot API is case-insensitive in method names; PTB sends camelCase.
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getme": lambda _params: dict(BOT_USER),
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendmessage": self._send_message,
            "sendlocation": self._send_location,
            "sendvenue": self._send_venue,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
        }
        self.app = web.Application(client_max_size=50 * 1024 * 1024)
        """The aiohttp application; `start` serves it, or mount it in your own runner."""
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 at a free port."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegramAPI is already started")
        self._closing = False
        # No access log: benchmarks send thousands of requests, and URLs carry the token.
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer waiting long polls with no updates and close the server."""
        self._closing = True
        self._wake_waiters()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot``: PTB's ``base_url`` (it appends token and method)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ----------------------------------------------------------------- user side

    def user_message(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "User",
        language_code: str | None = "vi",
        chat_id: int | None = None,
    ) -> JSONDict:
        """Queue a text message from a user and return the update.

        The chat is the user's private chat unless a negative ``chat_id`` (a group) is given.
        A text starting with '/' carries a bot_command entity.
        """
        message = self._user_message_base(user_id, first_name, language_code, chat_id)
        message["text"] = text
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        return self._queue({"message": message})

    def user_location(
        self, user_id: int, lat: float, lon: float, *, language_code: str | None = "vi"
    ) -> JSONDict:
        """Queue a location shared by a user in the private chat and return the update."""
        first_name = self._chats.get(user_id, {}).get("first_name", "User")
        message = self._user_message_base(user_id, first_name, language_code, None)
        message["location"] = {"latitude": lat, "longitude": lon}
        return self._queue({"message": message})

    def user_callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        language_code: str | None = "vi",
    ) -> JSONDict:
        """Queue a button press (callback_query) in the user's private chat; return the update.

        The query hangs on message ``message_id`` as it is now (after edits), or on the last
        message the bot sent to that chat. Raises LookupError when there is no such message.
        """
        if message_id is None:
            sent = self._sent_by_chat.get(user_id)
            if not sent:
                raise LookupError(f"the bot has sent nothing to chat {user_id} to press on")
            message_id = sent[-1]["message_id"]
        message = self._messages.get((user_id, message_id))
        if message is None:
            raise LookupError(f"no message {message_id} in chat {user_id}")
        self._callback_counter += 1
        query: JSONDict = {
            "id": f"{user_id}{self._callback_counter:06d}",
            "from": self._user(
                user_id, self._chat(user_id).get("first_name", "User"), language_code
            ),
            "message": dict(message),
            "chat_instance": str(-(abs(user_id) * 7919 % 10**12) - 1),
            "data": data,
        }
        return self._queue({"callback_query": query})

    def add_raw_update(self, update: dict[str, Any]) -> None:
        """Queue ``update`` verbatim (it must have an ``update_id``), e.g. to re-deliver one.

        Unlike ordinary updates, a raw update is handed out at least once even if its id is
        below the bot's current offset, which is how a duplicate delivery is modelled.
        """
        if "update_id" not in update:
            raise ValueError("a raw update needs an update_id")
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._pending.append(_Pending(update, raw=True))
        self._wake_waiters()

    # ----------------------------------------------------------------- bot side

    def unconfirmed(self) -> set[int]:
        """Chat ids of the user updates the bot has not confirmed (Telegram would resend them)."""
        return {
            int(e.payload["message"]["chat"]["id"])
            for e in self._pending
            if isinstance(e.payload.get("message"), dict)
        }

    def sent(self, chat_id: int | None = None) -> list[JSONDict]:
        """Messages the bot sent (as they were returned to it, chronological), for one chat."""
        if chat_id is None:
            return list(self._sent)
        return list(self._sent_by_chat.get(chat_id, ()))

    def texts(self, chat_id: int) -> list[str]:
        """Text (or caption; "" for a location, venue...) of each message sent to the chat."""
        return [
            str(m.get("text", m.get("caption", ""))) for m in self._sent_by_chat.get(chat_id, ())
        ]

    def message(self, chat_id: int, message_id: int) -> JSONDict:
        """The message as it is now (after edits; also user messages). KeyError if unknown."""
        return dict(self._messages[(chat_id, message_id)])

    def calls_of(self, method: str) -> list[Call]:
        """The recorded calls of one method (case-insensitive)."""
        key = method.lower()
        return [call for call in self.calls if call.method.lower() == key]

    def my_commands(
        self, language_code: str | None = None, scope: JSONDict | None = None
    ) -> list[JSONDict]:
        """The commands last set for this scope and language (setMyCommands)."""
        return list(self.commands.get(self._commands_key(scope, language_code), ()))

    # A `timeout` argument (not asyncio.timeout) keeps the test lines short and the failure
    # message specific; it is the agreed contract.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` is true, checking every 10 ms.

        Raises AssertionError naming the predicate and the last requests on timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if predicate():
                return
            if loop.time() >= deadline:
                raise AssertionError(
                    f"wait_for({self._predicate_name(predicate)}) still false after "
                    f"{timeout} s; {self._recent_calls()}"
                )
            await asyncio.sleep(0.01)

    async def wait_sent(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[JSONDict]:
        """Wait until the bot has sent at least ``count`` messages to the chat; return them."""
        try:
            await self.wait_for(lambda: len(self._sent_by_chat.get(chat_id, ())) >= count, timeout)
        except AssertionError:
            raise AssertionError(
                f"expected >= {count} messages to chat {chat_id} within {timeout} s, got "
                f"{self.texts(chat_id)!r}; {self._recent_calls()}"
            ) from None
        return self.sent(chat_id)

    # ----------------------------------------------------------------- failures

    def fail_next(
        self, method: str, status: int = 429, *, retry_after: int = 1, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with HTTP ``status``.

        429 answers carry ``parameters.retry_after`` (PTB raises RetryAfter); 400 and 403
        give BadRequest / Forbidden; 5xx give NetworkError. Queued failures run in order.
        """
        queue = self._fail_next.setdefault(method.lower(), deque())
        queue.extend([(status, retry_after)] * times)

    def fail_randomly(
        self,
        methods: set[str],
        *,
        p429: float = 0.0,
        p5xx: float = 0.0,
        retry_after: int = 1,
        seed: int = 0,
    ) -> None:
        """Fail calls of ``methods`` at random: 429 with probability p429, else 502 with p5xx.

        Deterministic for a seed: one draw per call of a listed method, in arrival order.
        Replaces any previous setting; ``fail_randomly(set())`` turns it off. `fail_next`
        takes precedence. A failed send is not recorded as sent.
        """
        if p429 < 0 or p5xx < 0 or p429 + p5xx > 1:
            raise ValueError("probabilities must be >= 0 and sum to at most 1")
        self._random_methods = frozenset(m.lower() for m in methods)
        self._p429 = p429
        self._p5xx = p5xx
        self._random_retry_after = retry_after
        self._rng = random.Random(seed)

    def block_user(self, chat_id: int) -> None:
        """Answer every call aimed at this chat with 403 "Forbidden: bot was blocked..."."""
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    # ----------------------------------------------------------------- rate limits

    def limit_violations(self) -> int:
        """Count the successful sends that broke Telegram's limits for proactive messages.

        Sends are the successful sendMessage / sendLocation / sendDocument (and sendVenue /
        sendPhoto) calls, timed with ``time.monotonic()`` when handled. A send counts once
        if either holds:

        - per chat: it came less than ``0.95 / per_chat_limit_per_s`` seconds after the
          previous send to the same chat;
        - in total: with ``n = floor(total_limit_per_s)``, it and the n sends before it (to
          any chats) all fell within less than 0.95 s, i.e. it made more than
          ``total_limit_per_s`` sends in a 1 s window.

        The 5 % slack keeps timer jitter of a correctly paced sender from counting. The
        limits are read at call time, so they may be changed after the sends.
        """
        per_chat_gap = RATE_SLACK / self.per_chat_limit_per_s if self.per_chat_limit_per_s else 0
        burst = math.floor(self.total_limit_per_s)
        log = self._send_log
        previous: dict[ChatId, float] = {}
        violations = 0
        for index, (at, chat_id) in enumerate(log):
            last = previous.get(chat_id)
            too_soon = last is not None and at - last < per_chat_gap
            too_many = index >= burst and at - log[index - burst][0] < RATE_SLACK
            violations += too_soon or too_many
            previous[chat_id] = at
        return violations

    # ----------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        try:
            params = await self._read_params(request)
        except ValueError:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON"},
                status=400,
            )
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        key = method.lower()
        try:
            self._inject_failure(key)
            if "chat_id" in params and _chat_key(params["chat_id"]) in self._blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            if key == "getupdates":
                result: Any = await self._get_updates(params)
            else:
                handler = self._handlers.get(key)
                result = True if handler is None else handler(params)
        except _ApiError as err:
            call.status = err.status
            return web.json_response(err.body(), status=err.status)
        call.status = 200
        if key in SEND_METHODS:
            self._record_send(result, _chat_key(params["chat_id"]), call.at)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _read_params(request: web.Request) -> JSONDict:
        params: JSONDict = {}
        content_type = request.content_type
        if content_type == "application/json":
            raw = await request.read()
            if raw:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError("JSON body is not an object")
                params.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    params[name] = Upload(value.filename, value.content_type, value.file.read())
                elif isinstance(value, str):
                    params[name] = _decode_form_value(name, value)
                else:
                    params[name] = _decode_form_value(name, bytes(value).decode())
        for name, value in request.query.items():
            params.setdefault(name, _decode_form_value(name, value))
        return params

    def _inject_failure(self, key: str) -> None:
        queue = self._fail_next.get(key)
        if queue:
            status, retry_after = queue.popleft()
            raise _error_for(status, retry_after)
        if key in self._random_methods:
            draw = self._rng.random()
            if draw < self._p429:
                raise _error_for(429, self._random_retry_after)
            if draw < self._p429 + self._p5xx:
                raise _error_for(502, 0)

    # ----------------------------------------------------------------- updates

    def _queue(self, content: JSONDict) -> JSONDict:
        update = {"update_id": self._next_update_id, **content}
        self._next_update_id += 1
        self._pending.append(_Pending(update, raw=False))
        self._wake_waiters()
        return update

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def _confirm(self, offset: int) -> None:
        """Drop the updates that ``offset`` confirms.

        Telegram confirms every update with an id below the offset. PTB sends the last id it
        received plus one, so when a re-delivered raw update put ids out of order, the
        delivered updates up to the one with id ``offset - 1`` are dropped as well.
        """
        pending = self._pending
        seen_upto = -1
        for position, entry in enumerate(pending):
            if not entry.delivered:
                break
            if entry.update_id == offset - 1:
                seen_upto = position
        for _ in range(seen_upto + 1):
            pending.popleft()
        while pending and pending[0].update_id < offset:
            if pending[0].raw and not pending[0].delivered:
                # A duplicate not yet handed out: keep it, filter the rest (rare path).
                self._pending = deque(
                    e for e in pending if e.update_id >= offset or (e.raw and not e.delivered)
                )
                return
            pending.popleft()

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if offset > 0:
            self._confirm(offset)
        if not self._pending and timeout > 0 and not self._closing:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not self._pending and not self._closing:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.add(waiter)
                try:
                    await asyncio.wait([waiter], timeout=remaining)
                finally:
                    self._waiters.discard(waiter)
        batch: list[JSONDict] = []
        for entry in self._pending:
            if len(batch) >= limit:
                break
            entry.delivered = True
            batch.append(entry.payload)
        return batch

    def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url")
        self.webhook_url = str(url) if url else None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _get_webhook_info(self, _params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    # ----------------------------------------------------------------- settings

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self.commands[key] = [dict(c) for c in commands]
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return list(self.commands.get(key, ()))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self.commands.pop(key, None)
        return True

    def _set_chat_menu_button(self, params: JSONDict) -> bool:
        chat_id = _chat_key(params["chat_id"]) if "chat_id" in params else None
        button = params.get("menu_button")
        self.menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
        return True

    def _get_chat_menu_button(self, params: JSONDict) -> JSONDict:
        chat_id = _chat_key(params["chat_id"]) if "chat_id" in params else None
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    # ----------------------------------------------------------------- messages

    def _now(self) -> float:
        return time.time() + self.now_offset

    @staticmethod
    def _user(user_id: int, first_name: str, language_code: str | None) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: ChatId) -> JSONDict:
        chat = self._chats.get(chat_id)
        if chat is None:
            if isinstance(chat_id, int) and chat_id < 0:
                chat = {"id": chat_id, "type": "group", "title": "Test group"}
            elif isinstance(chat_id, int):
                chat = {"id": chat_id, "type": "private", "first_name": "User"}
            else:
                chat = {
                    "id": -1000000000000 - len(self._chats),
                    "type": "channel",
                    "title": chat_id,
                    "username": chat_id.lstrip("@"),
                }
            self._chats[chat_id] = chat
        return chat

    def _new_message_id(self, chat_id: ChatId) -> int:
        # One counter per chat, shared by the user's and the bot's messages, as in Telegram.
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    def _user_message_base(
        self, user_id: int, first_name: str, language_code: str | None, chat_id: int | None
    ) -> JSONDict:
        chat_id = user_id if chat_id is None else chat_id
        if chat_id == user_id:
            chat = self._chat(user_id)
            chat["first_name"] = first_name
        else:
            chat = self._chat(chat_id)
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": self._user(user_id, first_name, language_code),
            "chat": dict(chat),
            "date": int(self._now()),
        }
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _bot_message(self, params: JSONDict, content: JSONDict) -> JSONDict:
        """Store a new bot message in the target chat and return the result to answer with."""
        chat_id = _chat_key(params.get("chat_id"))
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": BOT_USER,
            "chat": dict(self._chat(chat_id)),
            "date": int(self._now()),
        }
        reply_to = params.get("reply_parameters") or {}
        reply_id = reply_to.get("message_id") if isinstance(reply_to, dict) else None
        reply_id = reply_id or params.get("reply_to_message_id")
        if reply_id is not None:
            replied = self._messages.get((chat_id, int(reply_id)))
            if replied is not None:
                message["reply_to_message"] = {
                    k: v for k, v in replied.items() if k != "reply_to_message"
                }
        message.update(content)
        markup = _inline_markup(params)
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return dict(message)  # the snapshot; later edits change only the stored message

    def _record_send(self, result: JSONDict, chat_id: ChatId, at: float) -> None:
        self._sent.append(result)
        self._sent_by_chat.setdefault(chat_id, []).append(result)
        self._send_log.append((at, chat_id))

    def _caption(self, params: JSONDict) -> JSONDict:
        caption = _formatted_text(params, "caption")
        if not caption:
            return {}
        if len(caption) > MAX_CAPTION_LEN:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return {"caption": caption}

    def _send_message(self, params: JSONDict) -> JSONDict:
        text = _formatted_text(params, "text")
        if not text or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LEN:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._bot_message(params, {"text": text})

    @staticmethod
    def _location(params: JSONDict) -> JSONDict:
        try:
            latitude = float(params["latitude"])
            longitude = float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise _ApiError(400, "Bad Request: wrong latitude or longitude") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _ApiError(400, "Bad Request: wrong latitude or longitude")
        return {"latitude": latitude, "longitude": longitude}

    def _send_location(self, params: JSONDict) -> JSONDict:
        return self._bot_message(params, {"location": self._location(params)})

    def _send_venue(self, params: JSONDict) -> JSONDict:
        location = self._location(params)
        venue = {
            "location": location,
            "title": str(params.get("title") or ""),
            "address": str(params.get("address") or ""),
        }
        if not venue["title"] or not venue["address"]:
            raise _ApiError(400, "Bad Request: venue title and address must be non-empty")
        return self._bot_message(params, {"location": location, "venue": venue})

    def _file(self, value: Any, kind: str) -> JSONDict:
        """The file object for an uploaded file or a file_id / URL string."""
        if isinstance(value, Upload):
            self._file_counter += 1
            file_id = f"FAKE{kind.upper()}{self._file_counter:08d}"
            self.uploads[file_id] = value
            file: JSONDict = {
                "file_id": file_id,
                "file_unique_id": f"U{self._file_counter:08d}",
                "file_size": len(value.data),
            }
            if value.filename:
                file["file_name"] = value.filename
            if value.content_type:
                file["mime_type"] = value.content_type
            return file
        if isinstance(value, str) and value:
            upload = self.uploads.get(value)
            file = {"file_id": value, "file_unique_id": f"U{abs(hash(value)) % 10**8:08d}"}
            if upload is not None:
                file["file_size"] = len(upload.data)
                if upload.filename:
                    file["file_name"] = upload.filename
                if upload.content_type:
                    file["mime_type"] = upload.content_type
            return file
        raise _ApiError(400, f"Bad Request: there is no {kind} in the request")

    def _send_document(self, params: JSONDict) -> JSONDict:
        document = self._file(params.get("document"), "document")
        return self._bot_message(params, {"document": document, **self._caption(params)})

    def _send_photo(self, params: JSONDict) -> JSONDict:
        file = self._file(params.get("photo"), "photo")
        photo = {
            "file_id": file["file_id"],
            "file_unique_id": file["file_unique_id"],
            "width": 320,
            "height": 240,
        }
        if "file_size" in file:
            photo["file_size"] = file["file_size"]
        return self._bot_message(params, {"photo": [photo], **self._caption(params)})

    def _own_message(self, params: JSONDict, action: str) -> tuple[tuple[ChatId, int], JSONDict]:
        key = (_chat_key(params.get("chat_id")), _int_param(params, "message_id"))
        message = self._messages.get(key)
        if message is None or key in self.deleted:
            raise _ApiError(400, f"Bad Request: message to {action} not found")
        return key, message

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        _key, message = self._own_message(params, "edit")
        if message["from"]["id"] != BOT_USER["id"]:
            raise _ApiError(400, "Bad Request: message can't be edited")
        if "text" not in message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text = _formatted_text(params, "text")
        if not text or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LEN:
            raise _ApiError(400, "Bad Request: message is too long")
        # As in Telegram, an edit without reply_markup removes the inline keyboard.
        return self._apply_edit(message, {"text": text}, _inline_markup(params))

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        _key, message = self._own_message(params, "edit")
        if message["from"]["id"] != BOT_USER["id"]:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return self._apply_edit(message, {}, _inline_markup(params))

    def _apply_edit(
        self, message: JSONDict, content: JSONDict, markup: JSONDict | None
    ) -> JSONDict:
        unchanged = all(message.get(k) == v for k, v in content.items())
        if unchanged and message.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message.update(content)
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(self._now())
        return dict(message)

    def _deletable(self, key: tuple[ChatId, int]) -> bool:
        message = self._messages.get(key)
        return (
            message is not None
            and key not in self.deleted
            and self._now() - message["date"] < DELETE_WINDOW_S
        )

    def _delete_message(self, params: JSONDict) -> bool:
        key = (_chat_key(params.get("chat_id")), _int_param(params, "message_id"))
        if not self._deletable(key):
            raise _ApiError(400, "Bad Request: message to delete not found")
        self.deleted.add(key)
        return True

    def _delete_messages(self, params: JSONDict) -> bool:
        chat_id = _chat_key(params.get("chat_id"))
        message_ids = params.get("message_ids")
        if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
            raise _ApiError(400, "Bad Request: message_ids must be a list of 1-100 ids")
        # Telegram skips the ids it cannot delete and still answers True.
        for message_id in message_ids:
            key = (chat_id, int(message_id))
            if self._deletable(key):
                self.deleted.add(key)
        return True

    # ----------------------------------------------------------------- diagnostics

    @staticmethod
    def _predicate_name(predicate: Callable[[], bool]) -> str:
        code = getattr(predicate, "__code__", None)
        name = getattr(predicate, "__qualname__", repr(predicate))
        if code is not None:
            return f"{name} at {code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}"
        return name

    def _recent_calls(self, count: int = 8) -> str:
        if not self.calls:
            return "the bot made no requests"
        recent = "; ".join(_describe(call) for call in self.calls[-count:])
        return f"last {min(count, len(self.calls))} of {len(self.calls)} requests: {recent}"
