"""The transport-free engine: one `Incoming` in, a list of `Reply` out.

Order matters, and is the same on every channel:
  1. the emergency check (every text, before anything else — DESIGN.md §3.5);
  2. commands (`/start`, `/xoa`, ...), then pressed buttons and shared locations;
  3. dialogs in progress (a guided report), which may claim any text, numbers included;
  4. a bare number on channels without buttons picks the option offered last;
  5. text hooks (a one-line report), then the FAQ matcher, which never leaves a dead end.
Feature modules register their commands, buttons and hooks in `bot.core.app.build_engine`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.content import Content
from bot.core.matcher import Matcher
from bot.core.safety import Assessment, assess
from bot.core.types import Button, Incoming, Reply
from bot.i18n import _, normalize_language, use_language
from bot.storage import Store, UserRow

if TYPE_CHECKING:  # officer.py imports this module
    from bot.core.officer import Reporting

logger = logging.getLogger(__name__)

#: Channels that show buttons as numbered options the user answers with a number.
NUMBERED_CHANNELS = frozenset({"zalo", "console"})
#: Channels where the bot can delete the conversation's messages (/xoa).
DELETING_CHANNELS = frozenset({"telegram"})
MAX_TEXT = 4096
#: Dialogs whose text is never a cry for help (an admin composing a broadcast).
EXEMPT_DIALOGS = frozenset({"broadcast"})


@dataclass
class Context:
    """Everything a handler needs about the update being handled."""

    inc: Incoming
    engine: Engine
    user: UserRow | None
    lang: str
    now: datetime
    #: What the anonymous counters record for this update (a topic id or a `_feature` name).
    topic: str | None = None
    emergency: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """`channel:user` of the sender."""
        return self.inc.address

    @property
    def store(self) -> Store:
        """The database."""
        return self.engine.store

    @property
    def content(self) -> Content:
        """The loaded content."""
        return self.engine.content

    @property
    def is_admin(self) -> bool:
        """Whether the sender is listed in BOT_ADMINS."""
        return self.inc.address in self.engine.admins

    @property
    def numbered(self) -> bool:
        """Whether this channel shows buttons as numbered options."""
        return self.inc.channel in NUMBERED_CHANNELS


Handler = Callable[[Context, str], Awaitable[list[Reply]]]
Hook = Callable[[Context, str], Awaitable[list[Reply] | None]]
LocationHandler = Callable[[Context], Awaitable[list[Reply]]]
EmergencyHandler = Callable[[Context, Assessment, str], Awaitable[list[Reply]]]
Fallback = Callable[[Context, str], Awaitable[list[Reply]]]


async def _no_location(ctx: Context) -> list[Reply]:
    return [Reply(_("I can't use a location here."))]


async def _no_emergency(ctx: Context, assessment: Assessment, text: str) -> list[Reply]:
    return [Reply(_("If you are in danger, call 113 now."))]


async def _no_fallback(ctx: Context, text: str) -> list[Reply]:
    return [Reply(_("Sorry, I did not understand."))]


class Engine:
    """Routes an incoming event to the feature that handles it."""

    def __init__(
        self,
        *,
        content: Content,
        store: Store,
        clock: Clock,
        admins: frozenset[str] = frozenset(),
        bot_username: str = "",
    ) -> None:
        self.content = content
        self.store = store
        self.clock = clock
        self.admins = admins
        self.bot_username = bot_username
        self.matcher = Matcher(content.topics)
        self.commands: dict[str, Handler] = {}
        self.buttons: dict[str, Handler] = {}
        self.dialog_hooks: list[Hook] = []
        self.text_hooks: list[Hook] = []
        self.on_location: LocationHandler = _no_location
        self.on_emergency: EmergencyHandler = _no_emergency
        self.fallback: Fallback = _no_fallback
        self.stale_button: Handler = _no_fallback
        #: The reporting feature's shared state (set by `build_engine`).
        self.reporting: Reporting | None = None
        #: `/start <code>` (a deep link with an invite code) goes here when set.
        self.start_with_code: Handler | None = None

    # --- registration -------------------------------------------------------------------------

    def add_command(self, handler: Handler, *names: str) -> None:
        """Register `handler` for `/name args` (names without the slash, lower case)."""
        for name in names:
            if name in self.commands:
                raise ValueError(f"command /{name} registered twice")
            self.commands[name] = handler

    def add_button(self, prefix: str, handler: Handler) -> None:
        """Register `handler` for button data `prefix:rest` (or exactly `prefix`)."""
        if prefix in self.buttons:
            raise ValueError(f"button prefix {prefix!r} registered twice")
        self.buttons[prefix] = handler

    # --- handling -----------------------------------------------------------------------------

    async def context(self, inc: Incoming) -> Context:
        """Build the context of `inc`: who it is from and in which language to answer."""
        user = await self.store.get_user(inc.address)
        lang = user.lang if user and user.lang else normalize_language(inc.locale_hint)
        return Context(inc=inc, engine=self, user=user, lang=lang, now=self.clock.now())

    async def handle(self, inc: Incoming) -> list[Reply]:
        """Answer one incoming event; never raises, always answers."""
        ctx = await self.context(inc)
        with use_language(ctx.lang):
            try:
                replies = await self._dispatch(ctx)
            except Exception:
                # Never log the text itself: it may be a citizen's disclosure.
                logger.exception("handler failed on a %s update", inc.channel)
                replies = [
                    Reply(
                        _(
                            "Sorry, something went wrong on our side. Please try again in a "
                            "moment. If you are in danger, call 113 now."
                        )
                    )
                ]
            if not replies:
                replies = [Reply(_("Done."))]
            if ctx.numbered:
                await self.store.set_menu(inc.address, _options(replies), ctx.now)
            if ctx.topic is not None:
                await self.store.count(ctx.now.date(), inc.channel, ctx.topic, ctx.emergency)
        return replies

    async def _dispatch(self, ctx: Context) -> list[Reply]:
        inc = ctx.inc
        if inc.button is not None:
            return await self.press(ctx, inc.button)
        if inc.location is not None:
            return await self.on_location(ctx)
        text = (inc.text or "").strip()
        if not text:
            return await self.fallback(ctx, "")
        # An admin typing a campaign text ("...gọi ngay 113 nếu gặp nguy hiểm") into /guitin is
        # composing, not in danger: that one dialog is exempt from the emergency check.
        composing = ctx.is_admin and await self._dialog_kind(ctx) in EXEMPT_DIALOGS
        assessment = Assessment(emergency=False) if composing else assess(text)
        if assessment.emergency:
            ctx.emergency = True
            ctx.topic = "_emergency"
            return await self.on_emergency(ctx, assessment, text[:MAX_TEXT])
        text = text[:MAX_TEXT]
        if text.startswith("/"):
            name, _sep, args = text[1:].partition(" ")
            name = name.split("@", 1)[0].lower()
            handler = self.commands.get(name)
            if handler is not None:
                return await handler(ctx, args.strip())
        for hook in self.dialog_hooks:
            replies = await hook(ctx, text)
            if replies is not None:
                return replies
        if ctx.numbered and text.isdigit() and len(text) <= 2:
            options = await self.store.get_menu(inc.address)
            index = int(text) - 1
            if 0 <= index < len(options):
                return await self.press(ctx, options[index])
        for hook in self.text_hooks:
            replies = await hook(ctx, text)
            if replies is not None:
                return replies
        return await self.fallback(ctx, text)

    async def _dialog_kind(self, ctx: Context) -> str | None:
        row = await self.store.get_dialog(ctx.address, ctx.now)
        return row.kind if row else None

    async def press(self, ctx: Context, data: str) -> list[Reply]:
        """Run the handler of a pressed button (or a stale-button answer)."""
        prefix, _sep, rest = data.partition(":")
        handler = self.buttons.get(prefix)
        if handler is None:
            return await self.stale_button(ctx, data)
        return await handler(ctx, rest)

    async def sent(self, inc: Incoming, chat_key: str, message_ids: list[int]) -> None:
        """Keep the conversation's message ids (48 h) so /xoa can delete them."""
        if inc.channel not in DELETING_CHANNELS:
            return
        ids = list(message_ids)
        if inc.message_id is not None:
            ids.append(inc.message_id)
        await self.store.track_messages(inc.address, chat_key, ids, self.clock.now())


def option_data(reply: Reply) -> list[str]:
    """The data of a reply's buttons in the order a numbered channel shows them."""
    return [b.data for row in reply.buttons for b in row if b.kind != "url"]


def _options(replies: list[Reply]) -> list[str]:
    """The options of the last reply that has buttons."""
    return next((option_data(r) for r in reversed(replies) if option_data(r)), [])


def numbered_text(reply: Reply) -> str:
    """Render a reply's buttons as numbered options (for channels without buttons)."""
    options = [b for row in reply.buttons for b in row if b.kind != "url"]
    links = [b for row in reply.buttons for b in row if b.kind == "url"]
    lines = [reply.text] if reply.text else []
    if options:
        lines.append("")
        lines.extend(f"{i}. {b.label}" for i, b in enumerate(options, 1))
        lines.append(_("(Reply with a number.)"))
    lines.extend(f"{b.label}: {b.url}" for b in links)
    return "\n".join(lines)


def button(label: str, data: str) -> Button:
    """A callback button."""
    return Button(label=label, data=data)
