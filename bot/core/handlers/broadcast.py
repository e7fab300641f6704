"""Admins in chat: `/guitin` composes a broadcast (text → preview with audience size → confirm),
`/trangthai [ID]` shows what the outbox did with each broadcast.

The draft lives in the `dialogs` table (staff text, never a citizen's), so it survives a
restart and works the same on Telegram, Zalo and the console.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Self

from bot.content import Localized
from bot.core.engine import Context, Engine, button
from bot.i18n import _
from bot.messages import Reply
from bot.proactive.broadcasts import (
    AUDIENCES,
    MAX_BROADCAST_TEXT,
    AudienceError,
    Broadcasts,
    BroadcastStatus,
    audience_label,
    parse_audience,
)
from bot.text import normalize

__all__ = ["BroadcastDraft", "register"]

DIALOG_KIND = "broadcast"
DIALOG_TTL = timedelta(minutes=30)
CANCEL_WORDS = frozenset({"huy", "cancel", "huy bo"})  # compared folded: "hủy", "/hủy"
RECENT = 5
#: "text": waiting for the text; "confirm": the preview shown, waiting for "send".
Step = Literal["text", "confirm"]
STEPS: tuple[Step, ...] = ("text", "confirm")


@dataclass(frozen=True, slots=True)
class BroadcastDraft:
    """An admin's broadcast being composed (dialog kind "broadcast").

    Read tolerantly, so a draft saved before an upgrade still loads: a missing key takes its
    default, an unknown key is ignored; a state that cannot be a draft raises ValueError
    naming the key, never the value (the text is the admin's message).
    """

    step: Step = "text"
    #: Who gets it: "subscribers", "officers", "admins" or "unit:<code>".
    audience: str = AUDIENCES[0]
    text: str = ""
    #: The token of the latest preview's "send" button: an older preview's no longer sends.
    nonce: str | None = None
    #: Put aside by an emergency (the engine's `_suspend`): it takes no text until resumed.
    suspended: bool = False

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        """Read a stored state (any version's); ValueError when it cannot be a draft."""
        if not isinstance(state, Mapping):
            raise ValueError("broadcast draft: not a JSON object")
        step = state.get("step", "text")
        if step not in STEPS:
            raise ValueError("step: not text or confirm")
        nonce = state.get("nonce")
        if nonce is not None and not isinstance(nonce, str):
            raise ValueError("nonce: not text")
        return cls(
            step=step,
            audience=_text(state, "audience") or AUDIENCES[0],
            text=_text(state, "text"),
            nonce=nonce,
            suspended=bool(state.get("suspended", False)),
        )

    def to_state(self) -> dict[str, Any]:
        """The JSON object to store (the keys the previous versions wrote and read)."""
        state: dict[str, Any] = {"step": self.step, "audience": self.audience, "text": self.text}
        if self.nonce is not None:
            state["nonce"] = self.nonce
        if self.suspended:
            state["suspended"] = True
        return state

    def with_suspended(self, suspended: bool) -> BroadcastDraft:
        """The same draft, put aside by an emergency or taken up again."""
        return replace(self, suspended=suspended)


def _text(state: Mapping[str, Any], key: str) -> str:
    value = state.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key}: not text")
    return value


def register(engine: Engine, service: Broadcasts) -> None:
    """Register /guitin, /trangthai, their buttons and the draft dialog on `engine`."""
    commands = BroadcastCommands(service)
    engine.add_command(commands.compose, "guitin", "broadcast")
    engine.add_command(commands.status, "trangthai", "status")
    engine.add_button("bc", commands.pressed)
    engine.dialog_hooks.append(commands.draft_text)
    engine.dialog_states[DIALOG_KIND] = BroadcastDraft.from_state


def _admins_only() -> list[Reply]:
    return [Reply(_("This command is for the department's administrators only."))]


def status_line(s: BroadcastStatus, ctx: Context) -> str:
    """One broadcast's counts, in the current language."""
    b = s.broadcast
    when = datetime.fromtimestamp(b.created_at, ctx.engine.clock.tz).strftime("%d/%m %H:%M")
    if b.created_by == "campaign":
        origin = _("campaign")
    elif b.created_by.startswith(("telegram:", "zalo:", "console:")):
        origin = _("chat")
    else:
        origin = "CLI"
    return _(
        "#{id} · {when} · {origin} · to {audience}: {sent}/{total} sent, {queued} waiting, "
        "{failed} failed, {blocked} blocked the bot, {undeliverable} outside Zalo's window, "
        "{skipped} skipped (opted out or expired)"
    ).format(
        id=b.id,
        when=when,
        origin=origin,
        audience=audience_label(b.audience, ctx.content.units, ctx.lang),
        sent=s.count("sent"),
        total=b.recipients,
        queued=s.queued,
        failed=s.count("failed"),
        blocked=s.count("blocked"),
        undeliverable=s.count("undeliverable"),
        skipped=s.count("skipped"),
    )


class BroadcastCommands:
    """The broadcast commands over one `Broadcasts` service (built once with the runtime)."""

    def __init__(self, service: Broadcasts) -> None:
        self.service = service

    async def compose(self, ctx: Context, args: str) -> list[Reply]:
        """Start a broadcast draft: ask for the text (optionally for a given audience)."""
        if not ctx.is_admin:
            return _admins_only()
        ctx.topic = "_broadcast"
        audience = "subscribers"
        if args.strip():
            try:
                audience = parse_audience(args, ctx.content.units)
            except AudienceError:
                return [
                    Reply(
                        _(
                            "«{audience}» is not an audience. Type /guitin alone for people who "
                            "opted in, or /guitin officers, /guitin admins, /guitin unit:<code> "
                            "(codes: bdg-bot units list)."
                        ).format(audience=args.strip()[:40])
                    )
                ]
        draft = BroadcastDraft(audience=audience, nonce=secrets.token_hex(4))
        await self._save(ctx, draft)
        label = audience_label(audience, ctx.content.units, ctx.lang)
        return [
            Reply(
                _(
                    "New broadcast to {audience}. Send the text of the message now (up to {max} "
                    "characters). You will see a preview before anything is sent."
                ).format(audience=label, max=MAX_BROADCAST_TEXT),
                buttons=[[button(_("Cancel"), "bc:cancel")]],
            )
        ]

    async def draft_text(self, ctx: Context, text: str) -> list[Reply] | None:
        """Take the admin's next message as the broadcast text (or a new audience) and preview."""
        draft = await self._draft(ctx)
        if draft is None or not ctx.is_admin:
            return None
        if text.isdigit() and len(text) <= 2:
            return None  # a number picks one of the offered options (Zalo, console)
        if normalize(text) in CANCEL_WORDS:
            return await self.cancel(ctx)
        ctx.topic = "_broadcast"
        candidate = text.strip().lower()
        if draft.step == "confirm" and (candidate in AUDIENCES or candidate.startswith("unit:")):
            try:
                audience = parse_audience(candidate, ctx.content.units)
            except AudienceError:
                return [Reply(_("Unknown unit code. See the codes with: bdg-bot units list"))]
            return await self.preview(ctx, replace(draft, audience=audience))
        if len(text) > MAX_BROADCAST_TEXT:
            return [
                Reply(
                    _(
                        "The message is {length} characters long; the limit is {max}. Shorten it "
                        "and send it again."
                    ).format(length=len(text), max=MAX_BROADCAST_TEXT)
                )
            ]
        return await self.preview(ctx, replace(draft, text=text, step="confirm"))

    async def _draft(self, ctx: Context) -> BroadcastDraft | None:
        """The sender's broadcast draft, if one is open and readable (read once per message)."""
        found = await ctx.engine.dialog(ctx)
        if found is None or not isinstance(found.state, BroadcastDraft):
            return None
        return found.state

    async def _save(self, ctx: Context, draft: BroadcastDraft) -> None:
        await ctx.save_dialog(DIALOG_KIND, draft.to_state(), ctx.now + DIALOG_TTL)

    async def preview(self, ctx: Context, draft: BroadcastDraft) -> list[Reply]:
        """Show the draft with who will get it, and ask to confirm."""
        # A new nonce: an older preview's "send" button no longer works.
        draft = replace(draft, nonce=secrets.token_hex(4))
        await self._save(ctx, draft)
        audience = draft.audience
        size = len(await self.service.recipients(audience))
        label = audience_label(audience, ctx.content.units, ctx.lang)
        lines = [
            _("Preview. To: {audience} ({count} people now).").format(audience=label, count=size),
            "────────",
            draft.text,
            "────────",
        ]
        if size == 0:
            lines.append(_("Nobody is in this audience yet: choose another one or cancel."))
            send = []
        else:
            lines.append(_("Send it? To correct the text, just send the new text."))
            send = [button(_("Send to {count}").format(count=size), f"bc:send:{draft.nonce}")]
        who = [
            button(_("People who opted in"), "bc:aud:subscribers"),
            button(_("Officers"), "bc:aud:officers"),
            button(_("Administrators"), "bc:aud:admins"),
        ]
        return [
            Reply(
                "\n".join(lines),
                buttons=[row for row in (send, who, [button(_("Cancel"), "bc:cancel")]) if row],
            )
        ]

    async def cancel(self, ctx: Context) -> list[Reply]:
        """Drop the draft."""
        await ctx.clear_dialog()
        return [Reply(_("Broadcast cancelled: nothing was sent."))]

    async def pressed(self, ctx: Context, rest: str) -> list[Reply]:
        """The broadcast buttons: send:<nonce>, aud:<audience>, cancel."""
        if not ctx.is_admin:
            return _admins_only()
        action, _sep, arg = rest.partition(":")
        draft = await self._draft(ctx)
        if action == "cancel":
            return await self.cancel(ctx) if draft else [Reply(_("There is no broadcast draft."))]
        if draft is None:
            return [
                Reply(_("This draft is no longer open. Type /guitin to start a new broadcast."))
            ]
        if action == "aud":
            try:
                draft = replace(draft, audience=parse_audience(arg, ctx.content.units))
            except AudienceError:
                return [Reply(_("Unknown unit code. See the codes with: bdg-bot units list"))]
            if draft.step != "confirm":
                await self._save(ctx, draft)
                label = audience_label(draft.audience, ctx.content.units, ctx.lang)
                return [Reply(_("To: {audience}. Now send the text.").format(audience=label))]
            return await self.preview(ctx, draft)
        if action == "send":
            if draft.step != "confirm" or draft.nonce != arg:
                # A double tap, or the button of an older preview: never send twice.
                return [Reply(_("This preview is out of date; use the latest one."))]
            await ctx.clear_dialog()
            service = self.service
            broadcast, created = await service.create(
                audience=draft.audience,
                text=Localized(vi=draft.text, en=draft.text),
                created_by=ctx.address,
            )
            if not created:
                return [
                    Reply(
                        _(
                            "The same message to the same audience was already queued today "
                            "(broadcast #{id}): nothing was queued again. "
                            "/trangthai {id} shows it."
                        ).format(id=broadcast.id)
                    )
                ]
            return [
                Reply(
                    _(
                        "Broadcast #{id} queued for {count} people. It goes out at the platforms' "
                        "speed limit; /trangthai {id} shows the progress."
                    ).format(id=broadcast.id, count=broadcast.recipients)
                )
            ]
        return [Reply(_("That button is no longer valid. Type /guitin to start a new broadcast."))]

    async def status(self, ctx: Context, args: str) -> list[Reply]:
        """Show queued / sent / failed per broadcast (the latest ones, or broadcast ID)."""
        if not ctx.is_admin:
            return _admins_only()
        ctx.topic = "_broadcast_status"
        service = self.service
        arg = args.strip().lstrip("#")
        if arg:
            # A broadcast id is small; a long number is a typo, not a row (and overflows SQLite).
            found = await service.status(int(arg)) if arg.isdigit() and len(arg) <= 12 else None
            if found is None:
                return [
                    Reply(
                        _(
                            "There is no broadcast #{id}. Type /trangthai for the latest ones."
                        ).format(id=arg[:12])
                    )
                ]
            return [Reply(status_line(found, ctx))]
        recent = await service.recent(RECENT)
        counts = await ctx.store.outbox.counts()
        waiting = counts.get("queued", 0) + counts.get("sending", 0)
        lines = [_("Outbox: {count} messages waiting to be sent.").format(count=waiting)]
        if not recent:
            lines.append(_("No broadcasts yet. Type /guitin to send one."))
        else:
            lines.append(_("Latest broadcasts:"))
            lines += [status_line(s, ctx) for s in recent]
        return [Reply("\n".join(lines))]
