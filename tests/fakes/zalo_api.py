"""A fake Zalo Official Account API on 127.0.0.1, for offline tests.

It serves both base URLs the bot uses (``ZALO_API_BASE_URL`` and ``ZALO_OAUTH_BASE_URL``):

- ``POST /v3.0/oa/message/cs``: checks the ``access_token`` header and the body (a text, and
  at most 5 ``oa.query.*`` buttons with a title and a payload), answers like Zalo — HTTP 200
  with ``{"error": 0}`` or a non-zero ``error``: -216 for an unknown or expired token, -230
  for a user outside the window, -201 for a bad body (or any buttons, with
  `refuse_buttons`), and any code queued with `fail_next`.
- ``POST /v3.0/oa/message/template``: a ZNS/ZBS template by user id — ``user_id``,
  ``template_id`` (one of `templates`, else -109) and ``template_data`` (every parameter of
  the template present as a string, -111 when missing, -112 when longer than its limit).
  ``/v3.0/oa/message/transaction`` is gone, as on Zalo since 01/03/2026 (404).
- ``GET /v3.0/oa/user/detail?data={"user_id": ...}``: ``data.display_name`` from
  `display_names` (-213 for a user it does not know).
- ``POST /v4/oa/access_token``: checks the ``secret_key`` header and the form, rotates the
  pair (a new access token AND a new refresh token) and rejects a refresh token used before.

The test side signs and posts webhook events (`text_event`, `location_event`,
`follow_event`, `sign`, `post_event`); the bot side is read back from ``sent``, `texts`,
``refreshes`` and ``calls``. Everything runs on the test's event loop.

Usage::

    async with FakeZaloAPI() as fake:
        settings = Settings(zalo=fake.settings(), ...)
        ...
        await fake.post_event(webhook_url, fake.text_event("1001", "/start"))
        [welcome] = await fake.wait_sent("1001", 1)
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import aiohttp
from aiohttp import web

from bot.settings import Secret, ZaloSettings

__all__ = ["FakeZaloAPI", "SentMessage"]

JSONDict = dict[str, Any]

MAX_TEXT = 2000
ERR_BAD_PARAM = -201
ERR_NOT_FOLLOWER = -213
ERR_TEMPLATE_INVALID = -109
ERR_TEMPLATE_DATA_EMPTY = -111
ERR_TEMPLATE_DATA_INVALID = -112
MAX_BUTTONS = 5
BUTTON_TYPES = frozenset({"oa.query.hide", "oa.query.show"})
ERR_TOKEN_INVALID = -216
ERR_OUTSIDE_WINDOW = -230
ERR_REFRESH_INVALID = -14014
ERR_SECRET_INVALID = -14002


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the fake accepted."""

    user_id: str
    text: str
    kind: str  # "cs" or "template"
    body: JSONDict
    at: float

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(title, payload) of the buttons a `cs` message carried."""
        try:
            found = self.body["message"]["attachment"]["payload"]["buttons"]
        except (KeyError, TypeError):
            return []
        return [(b["title"], b["payload"]) for b in found]


class FakeZaloAPI:
    """The Zalo OA API and OAuth endpoint, on 127.0.0.1 at a free port."""

    def __init__(
        self,
        *,
        app_id: str = "4242424242424242424",
        oa_secret: str = "fake-oa-secret",
        app_secret: str = "fake-app-secret",
        latency_ms: float = 0.0,
    ) -> None:
        self.app_id = app_id
        self.oa_secret = oa_secret
        self.app_secret = app_secret
        self.latency_ms = latency_ms
        self.clock: Callable[[], datetime] | None = None
        """Where event timestamps come from when none is given (default: real time)."""
        self._serial = itertools.count(1)
        self.access_token = "AT-0"
        """The only access token the send endpoint accepts (until `expire_access_token`)."""
        self.refresh_token = "RT-0"
        """The only refresh token the token endpoint accepts."""
        self.used_refresh_tokens: set[str] = set()
        self.refreshes = 0
        """Successful refreshes."""
        self.refusals: list[int] = []
        """Error codes the token endpoint answered with."""
        self.echo_refused_token = False
        """Quote a refused refresh token in the error, as some OAuth servers do."""
        self.outside_window: set[str] = set()
        """Users the send endpoint answers -230 for."""
        self.sent: list[SentMessage] = []
        self.calls: list[tuple[str, int]] = []
        """(path, Zalo error code answered) for every send and token request."""
        self.templates: dict[str, dict[str, int]] = {}
        """Approved templates: id -> {parameter: maximum length}."""
        self.display_names: dict[str, str] = {}
        """What the user-detail endpoint answers as `display_name`, per user id."""
        self.detail_requests: list[str] = []
        """User ids whose detail was asked for."""
        self.refuse_buttons = False
        """Answer -201 to any message carrying buttons (as an OA that may not send them)."""
        self.token_latency_ms = 0.0
        """Extra delay of the token endpoint, after rotating the pair (a lost answer)."""
        self._fail_next: deque[int] = deque()
        self._fail_http_next: deque[int] = deque()
        self._waiters: set[asyncio.Future[None]] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.app = web.Application()
        self.app.router.add_post("/v3.0/oa/message/cs", self._send_cs)
        self.app.router.add_post("/v3.0/oa/message/template", self._send_template)
        self.app.router.add_get("/v3.0/oa/user/detail", self._user_detail)
        self.app.router.add_post("/v4/oa/access_token", self._token)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 at a free port."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Close the server."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: both ZALO_API_BASE_URL and ZALO_OAUTH_BASE_URL."""
        if self._port is None:
            raise RuntimeError("FakeZaloAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    def settings(self, listen: tuple[str, int] = ("127.0.0.1", 0)) -> ZaloSettings:
        """Zalo settings pointing at this fake, with its current token pair as the seed."""
        return ZaloSettings(
            app_id=self.app_id,
            oa_secret=Secret(self.oa_secret),
            app_secret=Secret(self.app_secret),
            access_token=Secret(self.access_token),
            refresh_token=Secret(self.refresh_token),
            api_base_url=self.base_url,
            oauth_base_url=self.base_url,
            listen=listen,
        )

    # ----------------------------------------------------------------- test controls

    def fail_next(self, *codes: int) -> None:
        """Answer the next sends with these Zalo error codes, in order (0: answer normally)."""
        self._fail_next.extend(codes)

    def fail_http_next(self, *statuses: int) -> None:
        """Answer the next sends with these HTTP statuses and no Zalo body (a proxy's error)."""
        self._fail_http_next.extend(statuses)

    def expire_access_token(self) -> None:
        """The current access token stops working (as after 25 hours): sends get -216."""
        self.access_token = f"expired-{next(self._serial)}"

    def texts(self, user_id: str) -> list[str]:
        """Texts sent to `user_id`, in order."""
        return [m.text for m in self.sent if m.user_id == user_id]

    async def wait_sent(
        self,
        user_id: str,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until at least `n` messages went to `user_id`; return them all."""
        await self.wait_for(lambda: len(self.texts(user_id)) >= n, timeout)
        return [m for m in self.sent if m.user_id == user_id]

    async def wait_for(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `condition()` holds (checked after every request)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met in {timeout}s; sent={self.sent!r}")
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.add(future)
            try:
                await asyncio.wait_for(future, min(remaining, 0.2))
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(future)

    def _wake(self) -> None:
        for future in list(self._waiters):
            if not future.done():
                future.set_result(None)

    # ----------------------------------------------------------------- webhook side

    def sign(self, raw: bytes, timestamp: str, *, app_id: str | None = None) -> str:
        """The X-ZEvent-Signature of a body: hex SHA-256 of app id + body + timestamp + secret."""
        data = (
            (app_id or self.app_id).encode() + raw + timestamp.encode() + self.oa_secret.encode()
        )
        return "mac=" + hashlib.sha256(data).hexdigest()

    def _event(self, name: str, at: datetime | None, **fields: Any) -> JSONDict:
        at = at or (self.clock() if self.clock else None)
        stamp = at.timestamp() if at else time.time()
        # Zalo sends the timestamp (milliseconds) as a string, last in the object.
        return {
            "app_id": self.app_id,
            "event_name": name,
            **fields,
            "timestamp": f"{stamp * 1000:.0f}",
        }

    def text_event(
        self, user_id: str, text: str, *, msg_id: str | None = None, at: datetime | None = None
    ) -> JSONDict:
        """A `user_send_text` event from `user_id`."""
        return self._event(
            "user_send_text",
            at,
            sender={"id": user_id},
            recipient={"id": "579745863508352884"},
            message={"msg_id": msg_id or f"m{next(self._serial):08x}", "text": text},
            user_id_by_app="5120000000000000001",
        )

    def location_event(
        self,
        user_id: str,
        payload: JSONDict,
        *,
        msg_id: str | None = None,
        at: datetime | None = None,
    ) -> JSONDict:
        """A `user_send_location` event whose attachment payload is `payload`."""
        return self._event(
            "user_send_location",
            at,
            sender={"id": user_id},
            recipient={"id": "579745863508352884"},
            message={
                "msg_id": msg_id or f"m{next(self._serial):08x}",
                "text": "",
                "attachments": [{"type": "location", "payload": payload}],
            },
        )

    def follow_event(
        self, user_id: str, *, at: datetime | None = None, name: str = "follow"
    ) -> JSONDict:
        """A `follow` (or `unfollow`) event."""
        return self._event(
            name,
            at,
            oa_id="579745863508352884",
            follower={"id": user_id},
            source="oa_profile",
            user_id_by_app="5120000000000000001",
        )

    async def post_event(
        self,
        url: str,
        event: JSONDict | bytes,
        *,
        signature: str | None = None,
        sign: bool = True,
    ) -> int:
        """POST a webhook event to the bot as Zalo would; return the HTTP status."""
        raw = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-ZEvent-Signature"] = signature
        elif sign and isinstance(event, dict):
            headers["X-ZEvent-Signature"] = self.sign(raw, str(event.get("timestamp", "")))
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=raw, headers=headers) as resp,
        ):
            await resp.read()
            return resp.status

    # ----------------------------------------------------------------- handlers

    async def _delay(self) -> None:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)

    def _answer(self, path: str, code: int, data: JSONDict | None = None) -> web.Response:
        self.calls.append((path, code))
        self._wake()
        body: JSONDict = {"error": code, "message": "Success" if code == 0 else "Fake error"}
        if data is not None:
            body["data"] = data
        # Zalo answers errors with HTTP 200 too.
        return web.json_response(body)

    async def _send_cs(self, request: web.Request) -> web.Response:
        return await self._send(request, "cs")

    async def _send_template(self, request: web.Request) -> web.Response:
        return await self._send(request, "template")

    async def _send(self, request: web.Request, kind: str) -> web.Response:
        await self._delay()
        path = request.path
        if self._fail_http_next:
            status = self._fail_http_next.popleft()
            self.calls.append((path, status))
            self._wake()
            return web.Response(status=status, text="Bad Gateway")
        if request.headers.get("access_token") != self.access_token:
            return self._answer(path, ERR_TOKEN_INVALID)
        try:
            body = await request.json()
        except ValueError:
            return self._answer(path, ERR_BAD_PARAM)
        checked = self._check_cs(body) if kind == "cs" else self._check_template(body)
        if isinstance(checked, int):
            return self._answer(path, checked)
        user_id, text = checked
        code = self._fail_next.popleft() if self._fail_next else 0
        if code:
            return self._answer(path, code)
        if kind == "cs" and user_id in self.outside_window:
            return self._answer(path, ERR_OUTSIDE_WINDOW)
        msg_id = f"sent{next(self._serial):06d}"
        self.sent.append(SentMessage(user_id, text, kind, body, time.monotonic()))
        return self._answer(path, 0, {"message_id": msg_id, "user_id": user_id})

    def _check_cs(self, body: Any) -> tuple[str, str] | int:
        """(user id, text) of a valid consultation message, else Zalo's error code."""
        try:
            user_id = body["recipient"]["user_id"]
            message = body["message"]
        except (KeyError, TypeError):
            return ERR_BAD_PARAM
        if not isinstance(user_id, str) or not user_id.isdigit() or not isinstance(message, dict):
            return ERR_BAD_PARAM
        text = message.get("text")
        if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
            return ERR_BAD_PARAM
        if "attachment" in message:
            if self.refuse_buttons:
                return ERR_BAD_PARAM
            try:
                attachment = message["attachment"]
                buttons = attachment["payload"]["buttons"]
                assert attachment["type"] == "template"
                assert isinstance(buttons, list) and 1 <= len(buttons) <= MAX_BUTTONS
                for b in buttons:
                    assert b["type"] in BUTTON_TYPES
                    assert isinstance(b["title"], str) and 0 < len(b["title"]) <= 100
                    assert isinstance(b["payload"], str) and 0 < len(b["payload"]) <= 1000
            except (KeyError, TypeError, AssertionError):
                return ERR_BAD_PARAM
        return user_id, text

    def _check_template(self, body: Any) -> tuple[str, str] | int:
        """(user id, the parameters as text) of a valid template message, else the error."""
        if not isinstance(body, dict):
            return ERR_BAD_PARAM
        user_id, template_id = body.get("user_id"), body.get("template_id")
        data = body.get("template_data")
        if not isinstance(user_id, str) or not user_id.isdigit():
            return ERR_BAD_PARAM
        params = self.templates.get(str(template_id))
        if params is None:
            return ERR_TEMPLATE_INVALID
        if not isinstance(data, dict) or not data:
            return ERR_TEMPLATE_DATA_EMPTY
        for name, limit in params.items():
            value = data.get(name)
            if not isinstance(value, str) or not value:
                return ERR_TEMPLATE_DATA_EMPTY
            if len(value) > limit:
                return ERR_TEMPLATE_DATA_INVALID
        return user_id, "\n".join(str(data[name]) for name in params)

    async def _user_detail(self, request: web.Request) -> web.Response:
        await self._delay()
        path = request.path
        if request.headers.get("access_token") != self.access_token:
            return self._answer(path, ERR_TOKEN_INVALID)
        try:
            user_id = json.loads(request.query["data"])["user_id"]
        except (KeyError, ValueError, TypeError):
            return self._answer(path, ERR_BAD_PARAM)
        self.detail_requests.append(str(user_id))
        name = self.display_names.get(str(user_id))
        if name is None:
            return self._answer(path, ERR_NOT_FOLLOWER)
        return self._answer(path, 0, {"user_id": str(user_id), "display_name": name})

    async def _token(self, request: web.Request) -> web.Response:
        await self._delay()
        path = request.path
        form = await request.post()
        if request.headers.get("secret_key") != self.app_secret:
            return self._token_error(path, ERR_SECRET_INVALID, "Invalid secret key")
        if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
            return self._token_error(path, ERR_BAD_PARAM, "Invalid parameters")
        token = form.get("refresh_token")
        if token != self.refresh_token:
            # Single-use: a refresh token that was already exchanged is refused.
            name = "Invalid refresh token"
            if self.echo_refused_token:
                name += f": {token if isinstance(token, str) else ''}"
            return self._token_error(path, ERR_REFRESH_INVALID, name)
        self.used_refresh_tokens.add(self.refresh_token)
        n = next(self._serial)
        self.access_token, self.refresh_token = f"AT-{n}", f"RT-{n}"
        self.refreshes += 1
        self.calls.append((path, 0))
        self._wake()
        if self.token_latency_ms:
            # Rotated already: a client that stops waiting now has lost the new pair.
            await asyncio.sleep(self.token_latency_ms / 1000)
        return web.json_response(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": "90000",
            }
        )

    def _token_error(self, path: str, code: int, name: str) -> web.Response:
        self.refusals.append(code)
        self.calls.append((path, code))
        self._wake()
        return web.json_response(
            {"error": code, "error_name": name, "error_reason": name, "ref_doc": ""}
        )
