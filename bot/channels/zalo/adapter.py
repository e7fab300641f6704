"""The Zalo Official Account channel: a signed webhook in, consultation messages out.

Zalo posts every event to `POST /zalo/webhook`. The request is checked (signature, JSON,
app id), answered 200 at once — Zalo gives a webhook two seconds and retries otherwise — and
processed after: de-duplicated on `msg_id`, translated into an `Incoming`, answered by the
same engine as Telegram, and the replies sent back (up to 5 options as real buttons whose tap
comes back as the option number, more as numbered text; long answers are split, a place is a
map link). One user's events run strictly in order; different users run concurrently,
bounded (DESIGN.md §5).

Proactive messages (reminders, broadcasts) go through `ZaloSender`, which follows Zalo's 2026
window: free within 48 hours of the user's last interaction; reminders only, 48 hours to 7
days, as billed messages when ZALO_BILLED_WINDOW allows it; reminders beyond, through the
approved template (ZALO_TEMPLATE_*) when there is one. Everything else is recorded by the
outbox as undeliverable on Zalo.
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
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
from aiohttp import web

from bot.channels.inbox import InboxWorker
from bot.channels.lanes import Lanes
from bot.channels.zalo.client import (
    MAX_BUTTONS,
    Message,
    SendResult,
    TokenManager,
    ZaloClient,
    split_text,
)
from bot.clock import Clock
from bot.core.places import map_link
from bot.core.render import numbered_text, option_data
from bot.core.runtime import Runtime
from bot.i18n import _, normalize_language, use_language
from bot.messages import Button, Delivery, Incoming, Location, Reply
from bot.settings import ZaloSettings, ZaloTemplate
from bot.storage import UPDATE_ID_TTL, StorageError, Store
from bot.storage.zalo import (
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
#: Since 01/01/2026 consultation messages are free, and unlimited, within 48 hours of the
#: user's last interaction...
WINDOW = timedelta(hours=48)
#: ...possible but billed up to 7 days after it, and refused (-230/-232) after that.
BILLED_WINDOW = timedelta(days=7)
#: Replies carrying this button data are reminders (the only proactive messages worth a
#: billed or template message; campaign news is not).
REMINDER_BUTTON = "rep:start:"
#: An invite code anywhere in a message ("cb-...", "/dangky_canbo cb-..."): a registration.
_INVITE_IN_TEXT = re.compile(r"\bcb-[a-z0-9]{10}\b", re.IGNORECASE)
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


def _options(reply: Reply) -> list[Button]:
    return [b for row in reply.buttons for b in row if b.kind != "url"]


def render_messages(reply: Reply) -> list[Message]:
    """A reply as Zalo messages: up to 5 options as buttons on the last part, else numbers.

    Each button's tap comes back as its option number, which the engine already reads as a
    choice from the options offered last; the numbered text is kept as the fallback for a
    send Zalo refuses.
    """
    options = _options(reply)
    if not options or len(options) > MAX_BUTTONS or not reply.text.strip():
        return [Message(part) for part in render(reply)]
    links = [[b for b in row if b.kind == "url"] for row in reply.buttons]
    bare = dataclasses.replace(reply, buttons=[row for row in links if row])
    parts = render(bare)
    if not parts:
        return [Message(part) for part in render(reply)]
    with use_language(reply.lang) if reply.lang else contextlib.nullcontext():
        numbers = numbered_text(Reply("", buttons=[options], lang=reply.lang))
    fallback = split_text(unicodedata.normalize("NFC", parts[-1] + "\n" + numbers))
    last = Message(parts[-1], tuple(b.label for b in options), tuple(fallback))
    return [Message(part) for part in parts[:-1]] + [last]


async def user_language(store: Store, address: str) -> str:
    """The language to write to a user in: the one they chose, else Vietnamese."""
    # Bounded: with the database locked or failing, the message goes out in Vietnamese.
    user = await store.within(store.get_user(address), None, "user lookup")
    return user.lang if user and user.lang else normalize_language(None)


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


Window = Literal["free", "billed", "closed"]


def is_reminder(reply: Reply) -> bool:
    """Whether `reply` is a report reminder (it offers to start the report)."""
    return any(b.data.startswith(REMINDER_BUTTON) for row in reply.buttons for b in row)


_LEADING_SYMBOLS = re.compile(r"^[^\w(]+", re.UNICODE)


def reminder_fields(reply: Reply) -> dict[str, str]:
    """The fields of a reminder a template can show (see `TEMPLATE_FIELDS` in settings).

    `title` is the first line without its symbol, `line2`..`line4` the next non-empty lines,
    `report_line` the line to fill and send, `period` the period's id.
    """
    lines = [line.strip() for line in reply.text.splitlines() if line.strip()]
    fields: dict[str, str] = {}
    if lines:
        fields["title"] = _LEADING_SYMBOLS.sub("", lines[0]).strip()
    for i, line in enumerate(lines[1:4], 2):
        fields[f"line{i}"] = line
    report = next((line for line in lines if line.startswith("BC ")), None)
    if report:
        fields["report_line"] = report
    for row in reply.buttons:
        for b in row:
            if b.data.startswith(REMINDER_BUTTON):
                fields["period"] = b.data[len(REMINDER_BUTTON) :]
    return {k: unicodedata.normalize("NFC", v) for k, v in fields.items() if v}


def template_data(reply: Reply, template: ZaloTemplate) -> dict[str, str] | None:
    """The template's parameters filled from the reminder, within their limits (None: a
    field the template needs is missing)."""
    fields = reminder_fields(reply)
    data: dict[str, str] = {}
    for param in template.params:
        value = fields.get(param.source)
        if value is None:
            return None
        if len(value) > param.max_len:
            # Zalo refuses a parameter over its length: shortened visibly instead.
            value = value[: param.max_len - 1].rstrip() + "…"
        data[param.name] = value
    return data


class ZaloSender:
    """The outbox's way to reach a Zalo user (implements `ProactiveSender`).

    Within 48 hours of the user's last interaction a message goes as a (free) consultation
    message. Reminders then go as a billed consultation message up to 7 days when
    `billed_window` is on, and through the approved template when there is one. Anything
    else is `undeliverable` on Zalo, for the department to reach the person another way.
    """

    channel = "zalo"

    def __init__(
        self,
        client: ZaloClient,
        store: Store,
        clock: Clock,
        *,
        template: ZaloTemplate | None = None,
        billed_window: bool = False,
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.template = template
        self.billed_window = billed_window

    async def deliver(self, user_key: str, reply: Reply) -> Delivery:
        """Try to send `reply` to the Zalo user `user_key` once."""
        lang = await user_language(self.store, f"zalo:{user_key}")
        with use_language(lang):
            messages = render_messages(reply)
        if not messages:
            return Delivery("failed", detail="empty message")
        window = await self.window(user_key)
        reminder = is_reminder(reply)
        if window == "free" or (window == "billed" and reminder and self.billed_window):
            result = await self.client.send_messages(user_key, messages, wait_rate_limit=False)
            delivery = _delivery(result, len(messages))
            # Our record of the window can lag behind Zalo's: its refusal sends a reminder
            # through the template, when there is one.
            if not (delivery.status == "undeliverable" and reminder and self.template):
                return await self._offered(user_key, reply, delivery)
        if reminder and self.template is not None:
            data = template_data(reply, self.template)
            if data is None:
                return Delivery("undeliverable", detail="the reminder does not fill the template")
            result = await self.client.send_template(user_key, self.template.template_id, data)
            # No menu is remembered: the template shows no numbered options to answer.
            return _delivery(result, 1)
        if window == "billed":
            return Delivery("undeliverable", detail="outside Zalo's free 48-hour window")
        return Delivery("undeliverable", detail="outside Zalo's 7-day window")

    async def _offered(self, user_key: str, reply: Reply, delivery: Delivery) -> Delivery:
        """Remember a delivered message's numbered options, so "1" answers this message."""
        options = option_data(reply)
        if delivery.status == "sent" and options:
            # Sent already: a menu that cannot be stored must not make it look unsent.
            menu = self.store.set_menu(f"zalo:{user_key}", options, self.clock.now())
            await self.store.within(menu, None, "menu", key=f"zalo:{user_key}")
        return delivery

    async def window(self, user_key: str) -> Window:
        """Where the user stands in Zalo's window: free, billed (48 h-7 d) or closed."""
        seen = await get_interaction(self.store, user_key)
        if seen is None:
            return "closed"
        age = self.clock.now() - seen.last_at
        if age < WINDOW:
            return "free"
        return "billed" if age < BILLED_WINDOW else "closed"

    async def within_window(self, user_key: str) -> bool:
        """Whether a free consultation message may go to the user now."""
        return await self.window(user_key) == "free"


# --- the channel --------------------------------------------------------------------------------


class ZaloChannel:
    """Receives Zalo events, answers them through the engine, and holds the API client."""

    def __init__(self, rt: Runtime, *, concurrency: int = CONCURRENCY) -> None:
        if rt.settings.zalo is None:
            raise ValueError("the Zalo settings (ZALO_*) are not set")
        self.rt = rt
        self.settings: ZaloSettings = rt.settings.zalo
        self.lanes = Lanes(concurrency, name="Zalo event")
        #: Several workers: events are kept in the durable inbox and handled from there.
        self.inbox: InboxWorker | None = None
        self._session: aiohttp.ClientSession | None = None
        self._client: ZaloClient | None = None
        self._sender: ZaloSender | None = None
        self._signature_form_logged = False

    def _hint(self, raw: bytes, event: dict[str, Any], header: str) -> str:
        """What to check when no signature form matches (never a secret itself)."""
        timestamp = _timestamp(event)
        if timestamp is None:
            return "the event has no timestamp"
        app_secret = str(self.settings.app_secret)
        prefixes = [self.settings.app_id, *filter(None, [oa_of(event)])]
        if any(verify_signature(raw, p, timestamp, app_secret, header) for p in prefixes):
            return (
                "it matches ZALO_APP_SECRET: set ZALO_OA_SECRET to the OA secret key of the "
                "app's Webhook page instead"
            )
        return (
            "neither the app id nor the OA id form matches: check that ZALO_OA_SECRET is "
            "the OA secret key of the app's Webhook page (not the app secret key) and was "
            "not regenerated there"
        )

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
        self._sender = ZaloSender(
            self._client,
            rt.store,
            rt.clock,
            template=self.settings.template,
            billed_window=self.settings.billed_window,
        )

    async def close(self) -> None:
        """Finish the events being answered, then close the HTTP session."""
        await self.lanes.drain(SHUTDOWN_GRACE)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def maintain(self) -> None:
        """Refresh the token ahead of expiry and drop windows that have ended."""
        await self.client.tokens.maintain()
        await purge_interactions(self.rt.store, self.rt.clock.now() - BILLED_WINDOW)

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
        prefixes = [("app id", self.settings.app_id)]
        if (oa := oa_of(event)) is not None:
            prefixes.append(("OA id", oa))
        secret = str(self.settings.oa_secret)
        matched = next(
            (
                form
                for form, prefix in prefixes
                if timestamp is not None
                and verify_signature(raw, prefix, timestamp, secret, header)
            ),
            None,
        )
        if matched is None:
            logger.warning(
                "Zalo webhook request rejected: bad signature (%s)", self._hint(raw, event, header)
            )
            return web.json_response({"error": "bad signature"}, status=401)
        if not self._signature_form_logged:
            self._signature_form_logged = True
            logger.info(
                "Zalo webhook signature verified with the %s first (logged once; docs/zalo.md)",
                matched,
            )
        name = str(event.get("event_name") or "")
        user = user_of(event)
        if user is None or not (name in ("follow", "unfollow") or name.startswith("user_send_")):
            return web.json_response({"message": "ignored"})
        at = event_time(event)
        if at is not None and at < self.rt.clock.now() - STALE_EVENT:
            logger.warning("stale Zalo event %s ignored", name)
            return web.json_response({"message": "ignored"})
        if self.inbox is None:
            self.lanes.submit(user, lambda: self.process(event))
            return web.json_response({"message": "ok"})
        try:
            await self.inbox.accept("zalo", dedupe_key(event), f"zalo:{user}", event)
        except StorageError as exc:
            # Not kept: a non-200 makes Zalo deliver the event again.
            logger.warning("a Zalo event could not be kept (%s); answered 503", exc)
            return web.json_response({"error": "try again"}, status=503)
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
        key = dedupe_key(event)
        # Zalo got its 200 already: a check that cannot be made (a locked or full database)
        # lets the event through, since a rare duplicate answer beats silence. The user's
        # previous exchange is written first (`settle`), so its event id is seen.
        await store.settle(f"zalo:{user}")
        if await store.within(store.seen("zalo", key), False, "de-duplication"):
            logger.info("duplicate Zalo event %s ignored", name)
            return
        if name == "unfollow":
            # Nothing is kept about an unfollowed user but the (hashed) event id itself.
            await store.within(store.first_time("zalo", key, now), True, "de-duplication")
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
        if inc.text and _INVITE_IN_TEXT.search(inc.text):
            # A registration, most likely: the officer's Zalo name is kept with it (exports
            # name a person). Best effort: without it the registration goes on unnamed.
            shown = await self.client.user_display_name(user)
            inc = dataclasses.replace(inc, display_name=shown)
        outcome = await rt.engine.respond(inc, hold=True, update=("zalo", key))
        result = await self.send_replies(user, outcome.replies)
        book = outcome.bookkeeping
        if result.status == "sent":
            # Delivered: the delivery hooks run (an officer's "saved" reply is no longer owed)
            # and what is kept of the exchange is written in one transaction.
            await rt.engine.sent(inc, user, [], book)
        elif book is not None:
            store.later(inc.address, store.record_exchange(book), "bookkeeping")

    async def forget(self, user: str) -> None:
        """The user unfollowed: forget them exactly as /xoa would (nothing can be sent now)."""
        await self.rt.engine.handle(Incoming("zalo", user, text="/xoa", chat_key=user))
        await forget_interaction(self.rt.store, user)
        logger.info("Zalo follower left: their data was deleted")

    async def send_replies(self, user: str, replies: list[Reply]) -> SendResult:
        """Send the engine's replies to the user who just wrote (inside their window)."""
        lang = await user_language(self.rt.store, f"zalo:{user}")
        with use_language(lang):
            parts = [part for reply in replies for part in render_messages(reply)]
        result = await self.client.send_messages(user, parts)
        for delay in REPLY_RESUME_DELAYS:
            if result.status != "retry" or (result.retry_after or 0) > 60:
                break
            # The user is waiting: a short network hiccup is waited out, resuming where it
            # stopped so no part is sent twice.
            done = parts[: result.sent_parts]
            await self.client.sleep(delay)
            more = await self.client.send_messages(user, parts[len(done) :])
            result = dataclasses.replace(more, sent_parts=len(done) + more.sent_parts)
        if result.status != "sent":
            logger.warning(
                "Zalo reply not delivered (%d/%d parts sent): %s",
                result.sent_parts,
                len(parts),
                result.detail,
            )
        return result


CHANNEL_KEY = web.AppKey("zalo_channel", ZaloChannel)


def build_zalo_app(rt: Runtime, inbox: InboxWorker | None = None) -> web.Application:
    """The webhook application for this runtime (tests build the same one); with `inbox`
    (several workers) events are kept there before the 200 and handled from there."""
    channel = ZaloChannel(rt)
    if inbox is not None:
        channel.inbox = inbox
        inbox.handlers["zalo"] = channel.process
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
async def open_zalo_sender(rt: Runtime) -> AsyncIterator[ZaloSender]:
    """A `ZaloSender` with its own HTTP session, for commands that send without serving.

    Safe next to a running server: token refreshes are serialised through the database.
    """
    channel = ZaloChannel(rt)
    await channel.start()
    try:
        yield channel.sender
    finally:
        await channel.close()


async def serve_zalo(rt: Runtime, stop: asyncio.Event, inbox: InboxWorker | None = None) -> None:
    """Serve the webhook on ZALO_WEBHOOK_LISTEN until `stop` is set."""
    if rt.settings.zalo is None:
        raise ValueError("the Zalo settings (ZALO_*) are not set")
    app = build_zalo_app(rt, inbox)
    # No access log: it adds nothing but noise (and never any text: bodies are not logged).
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
    await runner.setup()
    try:
        host, port = rt.settings.zalo.listen
        # Several workers may listen on one port (SO_REUSEPORT): the kernel spreads the load.
        site = web.TCPSite(runner, host, port, reuse_port=rt.settings.shared_port or None)
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
        if inbox is not None:
            # The events the inbox worker still holds are answered before the client closes.
            await inbox.drained(SHUTDOWN_GRACE)
        await runner.cleanup()
