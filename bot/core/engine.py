"""The transport-free engine: one `Incoming` in, a list of `Reply` out.

Order matters, and is the same on every channel:
  1. the emergency check (every text, before anything else — DESIGN.md §3.5);
  2. commands (`/start`, `/xoa`, ...), then pressed buttons and shared locations;
  3. dialogs in progress (a guided report), which may claim any text, numbers included;
  4. a bare number on channels without buttons picks the option offered last;
  5. text hooks (a one-line report), then the FAQ matcher, which never leaves a dead end.
Feature modules register their commands, buttons and hooks in `bot.app.build_engine`.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.content import Content
from bot.core.dialogs import DialogState, StateReader, read_state
from bot.core.matcher import Matcher
from bot.core.render import option_data
from bot.core.safety import Assessment, assess
from bot.i18n import _, normalize_language, set_language, use_language
from bot.messages import Button, Incoming, Reply
from bot.storage import Bookkeeping, StorageError, Store, UserRow

logger = logging.getLogger(__name__)

#: Channels that show buttons as numbered options the user answers with a number.
NUMBERED_CHANNELS = frozenset({"zalo", "console"})
#: Channels where the bot can delete the conversation's messages (/xoa).
DELETING_CHANNELS = frozenset({"telegram"})
#: How much of one incoming message is read (Telegram allows 4096 characters; more is noise).
MAX_INCOMING_TEXT = 4096
#: Dialogs whose text is never a cry for help (an admin composing a broadcast).
EXEMPT_DIALOGS = frozenset({"broadcast"})


@dataclass(frozen=True, slots=True)
class OpenDialog:
    """A dialog in progress, its state read by the feature that keeps it."""

    kind: str
    state: DialogState
    expires_at: datetime


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

    async def save_dialog(self, kind: str, state: dict[str, Any], expires_at: datetime) -> None:
        """Store the sender's dialog state (read again, if asked, by `Engine.dialog`)."""
        await self.store.set_dialog(self.address, kind, state, expires_at)
        self.extra.pop("dialog", None)

    async def clear_dialog(self) -> None:
        """End the sender's dialog."""
        await self.store.clear_dialog(self.address)
        self.extra["dialog"] = None

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


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the engine did with one event: the replies, and what `ask --json` reports."""

    replies: list[Reply]
    lang: str
    emergency: bool
    #: The FAQ topic whose answer the replies contain (after a safety reply too), if any.
    answer_topic: str | None
    #: The classifier's probability for its best class, in percent (0 when it was not asked).
    score: float
    #: What is kept after this exchange, when the channel asked to write it itself (`hold`).
    bookkeeping: Bookkeeping | None = None


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
        self.matcher = Matcher.for_content(content.topics, content.examples, content.concepts)
        self.commands: dict[str, Handler] = {}
        self.buttons: dict[str, Handler] = {}
        self.dialog_hooks: list[Hook] = []
        self.text_hooks: list[Hook] = []
        self.on_location: LocationHandler = _no_location
        self.on_emergency: EmergencyHandler = _no_emergency
        self.fallback: Fallback = _no_fallback
        self.stale_button: Handler = _no_fallback
        #: `/start <parameter>` (a deep link): the first pattern that matches takes it.
        self.start_parameters: list[tuple[re.Pattern[str], Handler]] = []
        #: The language of each sender's last message, in memory only (never stored).
        self.recent_languages = RecentLanguages()
        #: Per dialog kind, what brings the user back into it after an emergency.
        self.dialog_resumers: dict[str, Handler] = {}
        #: Per dialog kind, how its stored JSON state is read (`ReportDraft.from_state`...).
        #: A kind no feature registered, or a state that cannot be read, is no dialog.
        self.dialog_states: dict[str, StateReader] = {}
        #: Called by `sent` once a channel has sent every reply to an event (a "saved" reply
        #: is then no longer owed to the officer).
        self.delivered_hooks: list[Callable[[Incoming], Awaitable[None]]] = []
        self.buttons["dialog"] = self.resume_dialog

    # --- registration -------------------------------------------------------------------------

    def add_command(self, handler: Handler, *names: str) -> None:
        """Register `handler` for `/name args` (names without the slash, lower case)."""
        for name in names:
            if name in self.commands:
                raise ValueError(f"command /{name} registered twice")
            self.commands[name] = handler

    def add_start_parameter(self, pattern: re.Pattern[str], handler: Handler) -> None:
        """Register `handler` for `/start <parameter>` when `pattern` matches the parameter."""
        self.start_parameters.append((pattern, handler))

    def start_handler(self, parameter: str) -> Handler | None:
        """The handler registered for a `/start` parameter, if any."""
        return next((h for rx, h in self.start_parameters if rx.match(parameter)), None)

    def add_button(self, prefix: str, handler: Handler) -> None:
        """Register `handler` for button data `prefix:rest` (or exactly `prefix`)."""
        if prefix in self.buttons:
            raise ValueError(f"button prefix {prefix!r} registered twice")
        self.buttons[prefix] = handler

    # --- handling -----------------------------------------------------------------------------

    async def context(self, inc: Incoming) -> Context:
        """Build the context of `inc`: who it is from and in which language to answer."""
        # Bounded: a locked or failing database answers in the platform's language instead.
        user = await self.store.within(self.store.get_user(inc.address), None, "user lookup")
        lang = user.lang if user and user.lang else normalize_language(inc.locale_hint)
        return Context(inc=inc, engine=self, user=user, lang=lang, now=self.clock.now())

    async def handle(self, inc: Incoming, *, defer_writes: bool = False) -> list[Reply]:
        """Answer one incoming event; never raises, always answers (see `respond`)."""
        return (await self.respond(inc, defer_writes=defer_writes)).replies

    async def respond(
        self,
        inc: Incoming,
        *,
        defer_writes: bool = False,
        hold: bool = False,
        update: tuple[str, str] | None = None,
    ) -> Outcome:
        """Answer one incoming event; never raises, always answers, a storage fault included.

        What is kept after the answer (counter, numbered options, `update` id) is written in
        one best-effort transaction. With `hold` the channel writes it itself, with the ids
        of the messages it sent (`sent`); with `defer_writes` it runs in the background;
        otherwise it is awaited, for a bounded time. Either way the sender's next event
        waits (briefly) for it, so a bare "1" picks from the menu just offered.
        """
        store = self.store
        await store.settle(inc.address)
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
        book = Bookkeeping(inc.address, ctx.now, update=update)
        if ctx.numbered:
            book.menu = _options(replies)
        if ctx.topic is not None:
            book.counter = (ctx.now.date(), inc.channel, ctx.topic, ctx.emergency)
        if not hold:
            store.later(inc.address, store.record_exchange(book), "bookkeeping")
            if not defer_writes:
                await store.settle(inc.address)
        for reply in replies:
            reply.lang = reply.lang or ctx.lang
        answer_topic = ctx.extra.get("answer_topic")
        score = ctx.extra.get("score", 0.0)
        return Outcome(
            replies=replies,
            lang=ctx.lang,
            emergency=ctx.emergency,
            answer_topic=answer_topic if isinstance(answer_topic, str) else None,
            score=float(score) if isinstance(score, int | float) else 0.0,
            bookkeeping=book if hold else None,
        )

    async def _dispatch(self, ctx: Context) -> list[Reply]:
        """Answer in the message's language; on numbered channels, one list of options."""
        text = ctx.inc.text or ""
        if not (ctx.user and ctx.user.lang):
            # No language chosen with /ngonngu: answer each message in its own language, and
            # a button, a location or a bare number in the language of the last message.
            # Commands ("/tinhhinh") and single tokens (an invite code "CB-KQXWZT", a number)
            # are not prose: they keep the language as it is.
            detected = None
            words = text.split()
            if len(words) > 1 and not text.lstrip().startswith("/"):
                detected = self.matcher.language(text[:MAX_INCOMING_TEXT])
            if detected is not None:
                self.recent_languages.remember(ctx.address, detected)
            else:
                detected = self.recent_languages.get(ctx.address)
            if detected is not None and detected != ctx.lang:
                ctx.lang = detected
                set_language(detected)
        replies = await self._route(ctx)
        if not ctx.numbered:
            return replies
        shown = ctx.extra.get("answer_topic")
        return merge_options(replies, shown=f"faq:{shown}" if isinstance(shown, str) else None)

    async def _route(self, ctx: Context) -> list[Reply]:
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
        dialog = await self.dialog(ctx)
        composing = ctx.is_admin and dialog is not None and dialog.kind in EXEMPT_DIALOGS
        assessment = Assessment(emergency=False) if composing else assess(text)
        if assessment.emergency:
            ctx.emergency = True
            ctx.topic = "_emergency"
            replies = await self.on_emergency(ctx, assessment, text[:MAX_INCOMING_TEXT])
            if dialog is not None:
                try:
                    replies.append(await self._suspend(ctx, dialog))
                except StorageError:
                    # The safety reply matters more than keeping the report aside.
                    logger.warning("could not put a dialog aside after an emergency")
            return replies
        text = text[:MAX_INCOMING_TEXT]
        if text.startswith("/"):
            name, _sep, args = text[1:].partition(" ")
            name = name.split("@", 1)[0].lower()
            handler = self.commands.get(name)
            if handler is not None:
                return await handler(ctx, args.strip())
        # A dialog put aside by an emergency takes no text until the user goes back to it:
        # the "1" typed after "cứu tôi với" is a choice from the safety reply, not a value.
        if dialog is None or not dialog.state.suspended:
            for hook in self.dialog_hooks:
                claimed = await hook(ctx, text)
                if claimed is not None:
                    return claimed
        if ctx.numbered and text.isdigit() and len(text) <= 2:
            options = await self.store.get_menu(inc.address)
            index = int(text) - 1
            if 0 <= index < len(options):
                return await self.press(ctx, options[index])
        for hook in self.text_hooks:
            claimed = await hook(ctx, text)
            if claimed is not None:
                return claimed
        return await self.fallback(ctx, text)

    async def dialog(self, ctx: Context) -> OpenDialog | None:
        """The sender's dialog in progress, if its state can be read (read once per message)."""
        if "dialog" not in ctx.extra:
            ctx.extra["dialog"] = await self._read_dialog(ctx)
        found = ctx.extra["dialog"]
        return found if isinstance(found, OpenDialog) else None

    async def _read_dialog(self, ctx: Context) -> OpenDialog | None:
        row = await self.store.get_dialog(ctx.address, ctx.now)
        reader = self.dialog_states.get(row.kind) if row is not None else None
        if row is None or reader is None:
            return None
        state = read_state(row, row.kind, reader)
        return OpenDialog(row.kind, state, row.expires_at) if state is not None else None

    async def _suspend(self, ctx: Context, dialog: OpenDialog) -> Reply:
        """Put a dialog aside after an emergency; a button brings the user back to it."""
        state = dialog.state.with_suspended(True).to_state()
        await ctx.save_dialog(dialog.kind, state, dialog.expires_at)
        return Reply(
            _("Your unfinished report is kept. When you are ready, come back to it:"),
            buttons=[[button(_("Back to my report"), "dialog:resume")]],
        )

    async def resume_dialog(self, ctx: Context, rest: str) -> list[Reply]:
        """The "back to my report" button: the dialog takes text again, from where it was."""
        dialog = await self.dialog(ctx)
        if dialog is None:
            return [Reply(_("Nothing is waiting: that report has expired or was finished."))]
        state = dialog.state.with_suspended(False).to_state()
        await ctx.save_dialog(dialog.kind, state, dialog.expires_at)
        resumer = self.dialog_resumers.get(dialog.kind)
        if resumer is not None:
            return await resumer(ctx, rest)
        return [Reply(_("Back to your report: send the next value."))]

    async def press(self, ctx: Context, data: str) -> list[Reply]:
        """Run the handler of a pressed button (or a stale-button answer)."""
        prefix, _sep, rest = data.partition(":")
        handler = self.buttons.get(prefix)
        if handler is None:
            return await self.stale_button(ctx, data)
        return await handler(ctx, rest)

    async def sent(
        self,
        inc: Incoming,
        chat_key: str,
        message_ids: list[int],
        book: Bookkeeping | None = None,
        *,
        keep_ids: bool = True,
    ) -> None:
        """The replies to `inc` were sent: run the delivery hooks, then write what is kept of
        the exchange (`book` from `respond(hold=True)`, and the message ids for 48 h so /xoa
        can delete them) in one transaction."""
        for hook in self.delivered_hooks:
            await hook(inc)
        book = book or Bookkeeping(inc.address, self.clock.now())
        if keep_ids and inc.channel in DELETING_CHANNELS:
            book.chat_key = chat_key
            book.message_ids = list(message_ids)
            if inc.message_id is not None:
                book.message_ids.append(inc.message_id)
        # After the reply: best effort, bounded; an overrun ends before the sender's next event.
        await self.store.within(
            self.store.record_exchange(book), None, "bookkeeping", key=inc.address
        )


class RecentLanguages:
    """The language each sender wrote in last, for the events that carry no text.

    Kept in memory, bounded, and forgotten by /xoa: it is not the language a user chose, so
    it is not stored with the user.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._langs: OrderedDict[str, str] = OrderedDict()

    def remember(self, address: str, lang: str) -> None:
        """Note the language of `address`'s message."""
        self._langs[address] = lang
        self._langs.move_to_end(address)
        while len(self._langs) > self._size:
            self._langs.popitem(last=False)

    def get(self, address: str) -> str | None:
        """The language of `address`'s last message, if known."""
        return self._langs.get(address)

    def forget(self, address: str) -> None:
        """Drop what is known about `address` (/xoa)."""
        self._langs.pop(address, None)


def _options(replies: list[Reply]) -> list[str]:
    """The options of the last reply that has buttons."""
    return next((option_data(r) for r in reversed(replies) if option_data(r)), [])


def merge_options(replies: list[Reply], shown: str | None = None) -> list[Reply]:
    """One numbered list for a whole answer: every reply's options, once, after the last text.

    A safety reply followed by an FAQ answer would otherwise show two lists both starting at
    1, and the "1" typed for the nearest trusted address would open the FAQ's first option.
    The first reply's options come first: the most urgent choices keep the lowest numbers.
    `shown` (the FAQ answer these replies contain) is not offered again, nor a second option
    with the same label (the safety reply's "nearest trusted address" and the FAQ topic of
    that name are one choice to the reader).
    """
    options = [b for reply in replies for row in reply.buttons for b in row if b.kind != "url"]
    if not options:
        return replies
    seen: dict[str, Button] = {}
    labels: set[str] = set()
    for b in options:
        if b.data not in seen and b.data != shown and b.label not in labels:
            seen[b.data] = b
            labels.add(b.label)
    for reply in replies:
        reply.buttons = [[b for b in row if b.kind == "url"] for row in reply.buttons]
        reply.buttons = [row for row in reply.buttons if row]
    replies[-1].buttons = [[b] for b in seen.values()] + replies[-1].buttons
    return replies


def button(label: str, data: str) -> Button:
    """A callback button."""
    return Button(label=label, data=data)
