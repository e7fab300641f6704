"""The Zalo Official Account channel: a signed webhook in, consultation messages out.

Zalo posts every event to `POST /zalo/webhook`. The request is checked (signature, JSON,
app id), answered 200 at once — Zalo gives a webhook two seconds and retries otherwise — and
processed after: de-duplicated on `msg_id`, translated into an `Incoming`, answered by the
same engine as Telegram, and the replies sent back as text (buttons become numbered options,
long answers are split, a place is a map link). One user's events run strictly in order; different
users run concurrently, bounded (DESIGN.md §5).

Proactive messages (reminders, broadcasts) go through `ZaloSender`, which does not even try
outside Zalo's messaging window: the outbox records them as undeliverable on Zalo.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import html
import json
import logging
import math
import re
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.zalo.client import SendResult, TokenManager, ZaloClient, split_text
from bot.clock import Clock
from bot.core.places import map_link
from bot.core.render import numbered_text, option_data
from bot.core.runtime import Runtime
from bot.i18n import _, normalize_language, use_language
from bot.messages import Delivery, Incoming, Location, Reply
from bot.settings import ZaloSettings
from bot.storage import UPDATE_ID_TTL, Store
from bot.storage.zalo import (
    count_sent,
    forget_interaction,
    get_interaction,
    purge_interactions,
    record_interaction,
)

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"
#: Users handled at once (one user's events always in order). As for Telegram (DESIGN.md §5).
CONCURRENCY = 32
#: Zalo allows a free consultation message only within 48 hours of the user's last message...
WINDOW = timedelta(hours=48)
#: ...and only a few of them (8 per 48 hours, as Zalo's quota answers report it).
REPLY_QUOTA = 8
#: Older events are not processed: their de-duplication record may be gone (a replay).
STALE_EVENT = UPDATE_ID_TTL
#: How often the token is checked ahead of expiry and old windows are purged.
MAINTENANCE_EVERY = 600.0
#: How long shutdown waits for events still being answered.
SHUTDOWN_GRACE = 10.0
#: A reply that could not be sent is tried again this many times, after these pauses.
REPLY_RESUME_DELAYS = (2.0, 5.0)
#: Events from users, answered like Telegram messages; `oa_send_*` (our own) are not.
USER_EVENT_PREFIX = "user_send_"
_HTML_TAG = re.compile(r"<[^>]*>")


# --- receiving ----------------------------------------------------------------------------------


def verify_signature(raw: bytes, app_id: str, timestamp: str, secret: str, header: str) -> bool:
    """Check `X-ZEvent-Signature`: hex SHA-256 of app id + raw body + timestamp + OA secret.

    A plain hash, not an HMAC (as Zalo documents it); an optional `mac=` prefix is accepted.
    """
    provided = header.strip()
    if provided[:4].lower() == "mac=":
        provided = provided[4:].strip()
    digest = hashlib.sha256(
        app_id.encode("utf-8") + raw + timestamp.encode("utf-8") + secret.encode("utf-8")
    ).hexdigest()
    return hmac.compare_digest(digest.encode("ascii"), provided.lower().encode("utf-8", "replace"))


def _id(value: Any) -> str | None:
    """A Zalo id as a string: they exceed 2**53, so a number is only taken if it is an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 40:
        return value.strip()
    return None


def user_of(event: dict[str, Any]) -> str | None:
    """The Zalo user an event is about (`sender` of a message, `follower` of a follow)."""
    for key in ("sender", "follower", "user"):
        part = event.get(key)
        if isinstance(part, dict) and (uid := _id(part.get("id"))) is not None:
            return uid
    return _id(event.get("user_id"))


def oa_of(event: dict[str, Any]) -> str | None:
    """The OA an event is addressed to (`oa_id`, or the `recipient` of a user's message)."""
    recipient = event.get("recipient")
    if isinstance(recipient, dict) and (oa := _id(recipient.get("id"))) is not None:
        return oa
    return _id(event.get("oa_id"))


def _timestamp(event: dict[str, Any]) -> str | None:
    value = event.get("timestamp")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str) and str(value).strip():
        return str(value)
    return None


def event_time(event: dict[str, Any]) -> datetime | None:
    """When Zalo says the event happened (its `timestamp` is in milliseconds)."""
    raw = _timestamp(event)
    if raw is None or not raw.strip().isdigit():
        return None
    ms = int(raw)
    # Seconds are accepted too, in case a variant sends them.
    seconds = ms / 1000 if ms > 10**11 else float(ms)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _coordinate(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(number) or abs(number) > bound:
        return None
    return number


def _point(data: Any, depth: int = 0) -> Location | None:
    """Latitude and longitude from one of the shapes Zalo and its integrators have shown."""
    if not isinstance(data, dict):
        return None
    # `coordinates` nest once in every known shape; a crafted event cannot make this recurse.
    if isinstance(data.get("coordinates"), dict) and depth < 2:
        return _point(data["coordinates"], depth + 1)
    lat = next((data[k] for k in ("latitude", "lat") if k in data), None)
    lon = next((data[k] for k in ("longitude", "long", "lng", "lon") if k in data), None)
    la, lo = _coordinate(lat, 90.0), _coordinate(lon, 180.0)
    if la is None or lo is None:
        return None
    return Location(la, lo)


def parse_location(message: Any) -> Location | None:
    """The shared location of a `user_send_location` message, whatever variant it comes in.

    Known: `message.attachments[].payload.coordinates.{latitude,longitude}` (strings or
    numbers); also `payload.{latitude,longitude}`, `lat`/`long`/`lng` keys, and
    `message.location`.
    """
    if not isinstance(message, dict):
        return None
    attachments = message.get("attachments")
    if isinstance(attachments, list):
        for item in attachments:
            if isinstance(item, dict):
                found = _point(item.get("payload")) or _point(item)
                if found is not None:
                    return found
    return _point(message.get("location")) or _point(message)


def to_incoming(event: dict[str, Any]) -> Incoming | None:
    """Translate a Zalo event into an `Incoming` (None for what the bot does not answer)."""
    name = event.get("event_name")
    user = user_of(event)
    if not isinstance(name, str) or user is None:
        return None
    base: dict[str, Any] = {"channel": "zalo", "user_key": user, "chat_key": user}
    if name == "follow":
        # A new follower gets the welcome, exactly as /start would give it.
        return Incoming(**base, text="/start")
    if not name.startswith(USER_EVENT_PREFIX):
        return None
    message = event.get("message")
    message = message if isinstance(message, dict) else {}
    if name == "user_send_text":
        text = message.get("text")
        return Incoming(**base, text=text if isinstance(text, str) else "")
    if name == "user_send_location":
        location = parse_location(message)
        if location is not None:
            return Incoming(**base, location=location)
        return Incoming(**base, text="")
    # A sticker, photo or voice note: answered with the menu rather than silence, as on
    # Telegram (someone who cannot type still gets the choices).
    return Incoming(**base, text="")


def dedupe_key(event: dict[str, Any]) -> str:
    """What identifies an event across Zalo's re-deliveries."""
    message = event.get("message")
    if isinstance(message, dict):
        msg_id = message.get("msg_id")
        if isinstance(msg_id, str | int) and not isinstance(msg_id, bool) and str(msg_id):
            return f"msg:{msg_id}"
    # A hash, not the user id itself: after an unfollow nothing may still name the user.
    raw = f"{event.get('event_name')}:{user_of(event)}:{_timestamp(event)}"
    return "evt:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


# --- rendering ----------------------------------------------------------------------------------


def render(reply: Reply) -> list[str]:
    """A reply as the text messages Zalo will show (call inside the user's language)."""
    if reply.html:
        reply = dataclasses.replace(
            reply, text=html.unescape(_HTML_TAG.sub("", reply.text)), html=False
        )
    lines = [numbered_text(reply)] if reply.text or reply.buttons else []
    if reply.location is not None:
        link = map_link(reply.location.lat, reply.location.lon)
        lines.append("📍 " + _("Map: {link}").format(link=link))
    if reply.document is not None:
        if reply.document.caption and not reply.text:
            lines.append(reply.document.caption)
        lines.append(
            _(
                "The file {name} cannot be sent on Zalo: ask for it on Telegram, or use "
                "the command line (bdg-bot export)."
            ).format(name=reply.document.filename)
        )
    # Composed (NFC) text: decomposed Vietnamese is a quarter longer for the same words,
    # and Zalo counts what it receives.
    return split_text(unicodedata.normalize("NFC", "\n".join(line for line in lines if line)))


async def user_language(store: Store, address: str) -> str:
    """The language to write to a user in: the one they chose, else Vietnamese."""
    # Bounded: with the database locked or failing, the message goes out in Vietnamese.
    user = await store.within(store.get_user(address), None, "user lookup")
    return user.lang if user and user.lang else normalize_language(None)


# --- per-user lanes -----------------------------------------------------------------------------

Job = Callable[[], Awaitable[None]]


class Lanes:
    """Runs jobs in order per key, and at most `limit` jobs at once across keys."""

    def __init__(self, limit: int = CONCURRENCY) -> None:
        self._pending: dict[str, deque[Job]] = {}
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job: Job) -> None:
        """Queue `job` after the jobs already queued under `key`."""
        queue = self._pending.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._pending[key] = deque([job])
        task = asyncio.ensure_future(self._run(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: str) -> None:
        queue = self._pending[key]
        try:
            while queue:
                # The job stays queued while it runs, so a new one for this key waits for it.
                job = queue[0]
                async with self._slots:
                    try:
                        await job()
                    except Exception:
                        logger.exception("a Zalo event failed")
                queue.popleft()
        finally:
            self._pending.pop(key, None)

    async def drain(self, grace: float) -> None:
        """Wait for queued jobs (at most `grace` seconds), then cancel what is left."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("%d Zalo user(s) still being answered at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)


# --- proactive sends ----------------------------------------------------------------------------


def _delivery(result: SendResult, parts: int) -> Delivery:
    if result.status == "sent":
        return Delivery("sent")
    if result.sent_parts:
        # Some parts went out: retrying would repeat them, so it is recorded instead.
        detail = f"partly sent ({result.sent_parts}/{parts}), {result.detail}"
        return Delivery("failed", detail=detail)
    if result.status == "retry":
        return Delivery("retry", retry_after=result.retry_after, detail=result.detail)
    return Delivery(result.status, detail=result.detail)


class ZaloSender:
    """The outbox's way to reach a Zalo user (implements `ProactiveSender`).

    Outside the user's window (48 hours since their last message, a few messages at most)
    nothing is attempted as a consultation message: the outbox gets `undeliverable`, unless
    the department has an approved transaction template, which is used instead.
    """

    channel = "zalo"

    def __init__(
        self,
        client: ZaloClient,
        store: Store,
        clock: Clock,
        *,
        transaction_template: str | None = None,
        window: timedelta = WINDOW,
        quota: int = REPLY_QUOTA,
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.transaction_template = transaction_template
        self.window = window
        self.quota = quota

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        """Try to send `reply` to the Zalo user `user_key` once."""
        lang = await user_language(self.store, f"zalo:{user_key}")
        with use_language(lang):
            parts = render(reply)
        if not parts:
            return Delivery("failed", detail="empty message")
        if not await self.within_window(user_key, len(parts)):
            if self.transaction_template:
                result = await self.client.send_transaction(
                    user_key, parts, self.transaction_template, lang
                )
                return await self._offered(user_key, reply, _delivery(result, 1))
            return Delivery("undeliverable", detail="outside Zalo's 48-hour window")
        result = await self.client.send_texts(user_key, parts, wait_rate_limit=False)
        if result.sent_parts:
            await count_sent(self.store, user_key, result.sent_parts)
        return await self._offered(user_key, reply, _delivery(result, len(parts)))

    async def _offered(self, user_key: str, reply: Reply, delivery: Delivery) -> Delivery:
        """Remember a delivered message's numbered options, so "1" answers this message."""
        options = option_data(reply)
        if delivery.status == "sent" and options:
            # Sent already: a menu that cannot be stored must not make it look unsent.
            menu = self.store.set_menu(f"zalo:{user_key}", options, self.clock.now())
            await self.store.within(menu, None, "menu", key=f"zalo:{user_key}")
        return delivery

    async def within_window(self, user_key: str, parts: int = 1) -> bool:
        """Whether `parts` more consultation messages may go to the user now."""
        seen = await get_interaction(self.store, user_key)
        if seen is None:
            return False
        fresh = self.clock.now() - seen.last_at < self.window
        return fresh and seen.sent_since + parts <= self.quota


# --- the channel --------------------------------------------------------------------------------


class ZaloChannel:
    """Receives Zalo events, answers them through the engine, and holds the API client."""

    def __init__(self, rt: Runtime, *, concurrency: int = CONCURRENCY) -> None:
        if rt.settings.zalo is None:
            raise ValueError("the Zalo settings (ZALO_*) are not set")
        self.rt = rt
        self.settings: ZaloSettings = rt.settings.zalo
        self.lanes = Lanes(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._client: ZaloClient | None = None
        self._sender: ZaloSender | None = None

    @property
    def client(self) -> ZaloClient:
        """The API client (after `start`)."""
        if self._client is None:
            raise RuntimeError("the Zalo channel is not started")
        return self._client

    @property
    def sender(self) -> ZaloSender:
        """The proactive sender for the outbox (after `start`)."""
        if self._sender is None:
            raise RuntimeError("the Zalo channel is not started")
        return self._sender

    async def start(self) -> None:
        """Open the HTTP session and take the token pair (from the environment the first time)."""
        rt = self.rt
        self._session = aiohttp.ClientSession()
        tokens = TokenManager(rt.store, self.settings, rt.clock, self._session)
        await tokens.start()
        self._client = ZaloClient(self.settings, tokens, self._session)
        # An approved transaction template (ZALO_TRANSACTION_TEMPLATE, when the settings
        # carry one) reaches users outside the window; without it they are undeliverable.
        template = getattr(self.settings, "transaction_template", "") or None
        self._sender = ZaloSender(self._client, rt.store, rt.clock, transaction_template=template)

    async def close(self) -> None:
        """Finish the events being answered, then close the HTTP session."""
        await self.lanes.drain(SHUTDOWN_GRACE)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def maintain(self) -> None:
        """Refresh the token ahead of expiry and drop windows that have ended."""
        await self.client.tokens.maintain()
        await purge_interactions(self.rt.store, self.rt.clock.now() - WINDOW)

    # --- webhook --------------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """Check one webhook request, queue its event, and answer at once."""
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            logger.warning("Zalo webhook request rejected: no signature")
            return web.json_response({"error": "signature required"}, status=401)
        raw = await request.read()
        try:
            event = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: deeply nested JSON ([[[[...), refused like any other non-event.
            logger.warning("Zalo webhook request rejected: not JSON")
            return web.json_response({"error": "invalid JSON"}, status=400)
        if not isinstance(event, dict):
            logger.warning("Zalo webhook request rejected: not a JSON object")
            return web.json_response({"error": "invalid event"}, status=400)
        app_id = event.get("app_id")
        if not isinstance(app_id, str | int) or str(app_id).strip() != self.settings.app_id:
            logger.warning("Zalo webhook request rejected: unknown app id")
            return web.json_response({"error": "unknown app"}, status=401)
        timestamp = _timestamp(event)
        # Zalo documents the app id as the first term; working integrations report the OA id
        # there too. Either way the OA secret is what proves the sender, so both are accepted.
        prefixes = [self.settings.app_id, *filter(None, [oa_of(event)])]
        secret = str(self.settings.oa_secret)
        if timestamp is None or not any(
            verify_signature(raw, prefix, timestamp, secret, header) for prefix in prefixes
        ):
            logger.warning("Zalo webhook request rejected: bad signature")
            return web.json_response({"error": "bad signature"}, status=401)
        name = str(event.get("event_name") or "")
        user = user_of(event)
        if user is None or not (name in ("follow", "unfollow") or name.startswith("user_send_")):
            return web.json_response({"message": "ignored"})
        at = event_time(event)
        if at is not None and at < self.rt.clock.now() - STALE_EVENT:
            logger.warning("stale Zalo event %s ignored", name)
            return web.json_response({"message": "ignored"})
        self.lanes.submit(user, lambda: self.process(event))
        return web.json_response({"message": "ok"})

    async def process(self, event: dict[str, Any]) -> None:
        """Handle one authenticated event: de-duplicate, answer, send the replies."""
        rt = self.rt
        name = str(event.get("event_name"))
        user = user_of(event)
        if user is None:
            return
        now = rt.clock.now()
        store = rt.store
        # Zalo got its 200 already: a check that cannot be made (a locked or full database)
        # lets the event through, since a rare duplicate answer beats silence.
        fresh = store.first_time("zalo", dedupe_key(event), now)
        if not await store.within(fresh, True, "de-duplication"):
            logger.info("duplicate Zalo event %s ignored", name)
            return
        if name == "unfollow":
            await self.forget(user)
            return
        inc = to_incoming(event)
        if inc is None:
            return
        if name == "follow" or name.startswith(USER_EVENT_PREFIX):
            # Following and writing both count as an interaction for Zalo's window, which
            # opens when it happened (a late re-delivery reports it earlier).
            at = event_time(event)
            seen = record_interaction(store, user, min(now, at) if at else now)
            await store.within(seen, None, "Zalo window", key=inc.address)
        replies = await rt.engine.handle(inc, defer_writes=True)
        await self.send_replies(user, replies)

    async def forget(self, user: str) -> None:
        """The user unfollowed: forget them exactly as /xoa would (nothing can be sent now)."""
        await self.rt.engine.handle(Incoming("zalo", user, text="/xoa", chat_key=user))
        await forget_interaction(self.rt.store, user)
        logger.info("Zalo follower left: their data was deleted")

    async def send_replies(self, user: str, replies: list[Reply]) -> SendResult:
        """Send the engine's replies to the user who just wrote (inside their window)."""
        lang = await user_language(self.rt.store, f"zalo:{user}")
        with use_language(lang):
            parts = [part for reply in replies for part in render(reply)]
        result = await self.client.send_texts(user, parts)
        for delay in REPLY_RESUME_DELAYS:
            if result.status != "retry" or (result.retry_after or 0) > 60:
                break
            # The user is waiting: a short network hiccup is waited out, resuming where it
            # stopped so no part is sent twice.
            done = parts[: result.sent_parts]
            await self.client.sleep(delay)
            more = await self.client.send_texts(user, parts[len(done) :])
            result = dataclasses.replace(more, sent_parts=len(done) + more.sent_parts)
        if result.sent_parts:
            # After the answer: best effort, in the background (the quota count may lag).
            sent = count_sent(self.rt.store, user, result.sent_parts)
            self.rt.store.later(f"zalo:{user}", sent, "Zalo quota count")
        if result.status != "sent":
            logger.warning(
                "Zalo reply not delivered (%d/%d parts sent): %s",
                result.sent_parts,
                len(parts),
                result.detail,
            )
        return result


CHANNEL_KEY = web.AppKey("zalo_channel", ZaloChannel)


def build_zalo_app(rt: Runtime) -> web.Application:
    """The webhook application for this runtime (tests build the same one)."""
    channel = ZaloChannel(rt)
    # Zalo events are small; a large body is not one of them.
    app = web.Application(client_max_size=256 * 1024)
    app[CHANNEL_KEY] = channel
    app.router.add_post(WEBHOOK_PATH, channel.webhook)

    async def on_startup(_app: web.Application) -> None:
        await channel.start()

    async def on_cleanup(_app: web.Application) -> None:
        await channel.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


@contextlib.asynccontextmanager
async def open_zalo_sender(
    rt: Runtime, *, transaction_template: str | None = None
) -> AsyncIterator[ZaloSender]:
    """A `ZaloSender` with its own HTTP session, for commands that send without serving.

    Safe next to a running server: token refreshes are serialised through the database.
    """
    channel = ZaloChannel(rt)
    await channel.start()
    try:
        sender = channel.sender
        if transaction_template is not None:
            sender.transaction_template = transaction_template or None
        yield sender
    finally:
        await channel.close()


async def serve_zalo(rt: Runtime, stop: asyncio.Event) -> None:
    """Serve the webhook on ZALO_WEBHOOK_LISTEN until `stop` is set."""
    if rt.settings.zalo is None:
        raise ValueError("the Zalo settings (ZALO_*) are not set")
    app = build_zalo_app(rt)
    # No access log: it adds nothing but noise (and never any text: bodies are not logged).
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
    await runner.setup()
    try:
        host, port = rt.settings.zalo.listen
        site = web.TCPSite(runner, host, port)
        await site.start()
        logger.info("Zalo webhook listening on %s:%s%s", host, port, WEBHOOK_PATH)
        channel = app[CHANNEL_KEY]
        while not stop.is_set():
            try:
                await channel.maintain()
            except Exception:
                logger.exception("Zalo maintenance failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), MAINTENANCE_EVERY)
    finally:
        await runner.cleanup()
