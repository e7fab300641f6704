"""The first reply to someone in danger: short, never blaming, fitted to the situation.

One message, in this order: the number to call now (113 for the police, or the caring line
first for self-harm), the extra numbers the situation needs (111 for a child, 115 for an
injury or a sexual assault), one line of advice for the writer's place in it (victim,
witness, someone who hurts and wants to stop, someone thinking of self-harm), what the bot
cannot do, and how to erase the chat on this channel. Numbers come from the content's
hotlines by tag, never from this module; the buttons lead to the nearest trusted address,
the matching FAQ topic and the hotlines.
"""

from __future__ import annotations

from bot.content import Content
from bot.core.engine import Context, button
from bot.core.safety import Assessment
from bot.i18n import _
from bot.messages import Button, Reply

__all__ = ["emergency_line", "safety_replies"]


def _number(content: Content, tag: str) -> str | None:
    found = content.tagged_hotline(tag)
    return found.number if found else None


def _lead(found: Assessment, police: str, medical: str | None, caring: bool) -> list[str]:
    """The first lines: who to call now (after a caring line for self-harm)."""
    lines = []
    if found.self_harm:
        lines.append(_("💛 You are not alone, and what you feel matters. Please reach out now."))
    if caring:
        if medical:
            lines.append(
                _("Call {medical} (medical emergency) or {police} (police) now.").format(
                    medical=medical, police=police
                )
            )
        else:
            lines.append(_("Call {police} (police) now.").format(police=police))
        return lines
    if found.abuser:
        lead = _("🚨 If someone may be hurt, call {number} (police) now.")
    elif found.bystander:
        lead = _("🚨 If someone is in danger now, call {number} (police).")
    else:
        lead = _("🚨 If you are in danger now, call {number} (police).")
    return [*lines, lead.format(number=police)]


def _advice(found: Assessment, caring: bool) -> list[str]:
    """One line for the writer's place in what is happening."""
    if found.abuser:
        return [
            _(
                "Step away now: leave the room until you are calm, and do not touch anyone. "
                "Wanting to stop matters, and counselling can help you change."
            )
        ]
    if found.bystander:
        return [
            _(
                "Do not put yourself in danger and do not confront the abuser alone. Listen "
                "without blaming and show the person the way to a trusted address."
            )
        ]
    if caring:
        return [_("Stay with someone you trust, and tell them how you feel.")]
    return [
        _(
            "Get to a safe place away from the person hurting you, keep your phone with you, "
            "and ask someone you trust for help."
        ),
        _("It is not your fault."),
    ]


def emergency_line(content: Content) -> str:
    """One line with the numbers to call now (113, and 111 for children)."""
    police = content.tagged_hotline("emergency")
    child = content.tagged_hotline("child")
    parts = []
    if police:
        parts.append(_("police {number}").format(number=police.number))
    if child:
        parts.append(_("child protection {number}").format(number=child.number))
    return _("In danger? Call {numbers}.").format(numbers=", ".join(parts))


def _limits(ctx: Context) -> str:
    """What the bot cannot do, and how to erase the chat on this channel."""
    cannot = _("This bot cannot call or alert anyone for you.")
    if ctx.inc.channel == "telegram":
        erase = _("/xoa deletes this chat's messages.")
    elif ctx.inc.channel == "zalo":
        erase = _(
            "/xoa erases what the bot keeps; delete the chat in the Zalo app to remove the "
            "messages."
        )
    else:
        erase = _("/xoa erases what the bot keeps.")
    return f"{cannot} {erase}"


def _topic_button(ctx: Context, topic_id: str, *fallbacks: str) -> list[Button]:
    """A button to the first of these FAQ topics the content has (none if it has none)."""
    for tid in (topic_id, *fallbacks):
        topic = ctx.content.topics.get(tid)
        if topic is not None:
            return [button(topic.title.get(ctx.lang), f"faq:{tid}")]
    return []


def _buttons(ctx: Context, found: Assessment, caring: bool) -> list[list[Button]]:
    """Trusted address (not for self-harm alone or an abuser), the fitting topic, hotlines."""
    rows: list[list[Button]] = []
    if not caring and not found.abuser:
        rows.append([button(_("Find the nearest trusted address"), "place:start")])
    if found.abuser:
        topic = _topic_button(ctx, "abuser_help", "counseling")
    elif found.self_harm:
        topic = _topic_button(ctx, "counseling")
    elif found.sexual_assault:
        topic = _topic_button(ctx, "sexual_assault", "what_to_do")
    elif found.bystander:
        topic = _topic_button(ctx, "help_others")
    else:
        topic = _topic_button(ctx, "what_to_do")
    if topic:
        rows.append(topic)
    rows.append([button(_("Hotlines"), "hot")])
    return rows


def safety_replies(ctx: Context, found: Assessment) -> list[Reply]:
    """The safety reply to an emergency, in the context's language."""
    content = ctx.content
    police = _number(content, "emergency") or "113"
    child = _number(content, "child")
    medical = _number(content, "injury")
    # Self-harm with no one else hurting the writer: care first, no victim advice, no shelter.
    caring = found.self_harm and not found.violence
    lines = _lead(found, police, medical, caring)
    if found.child and child:
        lines.append(
            _("A child at risk: call {number} (child protection, free, 24/7).").format(
                number=child
            )
        )
    if found.sexual_assault and medical and found.bystander:
        lines.append(
            _(
                "Call {number} or take the person to a health station: they have the right to "
                "medical care."
            ).format(number=medical)
        )
    elif found.sexual_assault and medical:
        lines.append(
            _(
                "Call {number} or go to a health station: you have the right to medical care."
            ).format(number=medical)
        )
    elif (found.injury or found.self_harm) and medical and not caring:
        lines.append(_("Someone hurt: call {number} (medical emergency).").format(number=medical))
    if found.trafficking:
        lines.append(
            _(
                "Tricked, sold or forced into marriage across the border: call 113 or go to the "
                "nearest police or border guard post."
            )
        )
    lines.extend(_advice(found, caring))
    lines.append(_limits(ctx))
    return [Reply("\n".join(lines), buttons=_buttons(ctx, found, caring))]
