"""What a citizen can do: welcome and menu, FAQ answers, hotlines, nearest trusted address,
the emergency response, language, opt-in to campaign news, and erasing the conversation."""

from __future__ import annotations

import re

from bot.content import Content, Hotline, Topic
from bot.core.engine import DELETING_CHANNELS, Context, Engine, button
from bot.core.handlers.officer import cancel_dialog
from bot.core.handlers.places import place_prompt
from bot.core.matcher import ANSWER_THRESHOLD, SUGGEST_THRESHOLD
from bot.core.safety import Assessment
from bot.core.safety_reply import emergency_line, safety_replies
from bot.i18n import LANGUAGES, N_, _, set_language
from bot.messages import Button, Reply
from bot.text import fold

#: After the safety reply, an FAQ answer follows only for a question this clearly on a topic
#: (the matcher's own answering threshold, chosen by cross-validation).
EMERGENCY_FOLLOW_UP_SCORE = ANSWER_THRESHOLD
#: Folded words that make a disclosure also a question ("..., em phải làm sao").
ASKING = re.compile(
    r"\?|\b(?:lam sao|lam gi|the nao|ntn|o dau|bao ai|goi ai|tim ai|giup|co nen|nen khong|"
    r"duoc khong|co duoc|what|how|where|who|should|can i|help me|is it)\b"
)
#: Words that make a greeting a thanks (folded).
THANKS_WORDS = frozenset({"thanks", "thank", "thx", "tks", "camon", "cmon", "ty"})

# The menu of /start: label, button data. Topic ids are content contracts.
MENU = (
    (N_("Gender equality"), "faq:gender_equality"),
    (N_("Domestic / gender-based violence"), "faq:domestic_violence"),
    (N_("Hotlines"), "hot"),
    (N_("Trusted address near me"), "place:start"),
    (N_("Rights and the law"), "faq:victim_rights"),
    (N_("Action Month"), "faq:action_month"),
    (N_("Ngôn ngữ / Language"), "lang"),
)


def register(engine: Engine) -> None:
    """Register the citizen features on `engine`."""
    engine.add_command(start, "start", "batdau")
    engine.add_command(menu, "menu")  # /help and /trogiup: bot.core.handlers.help
    engine.add_command(hotlines, "duongdaynong", "hotlines", "hotline")
    engine.add_command(language, "ngonngu", "lang", "language")
    engine.add_command(erase, "xoa", "delete")
    engine.add_command(subscribe, "dangky", "subscribe")
    engine.add_command(unsubscribe, "ngungtin", "stopnews", "huy", "unsubscribe")
    engine.add_button("faq", faq_button)
    engine.add_button("menu", menu)
    engine.add_button("hot", hotlines)
    engine.add_button("lang", language_button)
    engine.on_emergency = emergency
    engine.fallback = answer_question
    engine.stale_button = stale_button


# --- building blocks ------------------------------------------------------------------------


def menu_buttons() -> list[list[Button]]:
    """The main menu, two buttons a row."""
    buttons = [button(_(label), data) for label, data in MENU]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def hotline_line(h: Hotline, lang: str) -> str:
    """'📞 111 – Child protection hotline (24/7, free of charge)'."""
    details = [h.hours.get(lang)] if h.hours else []
    if h.free:
        details.append(_("free of charge"))
    line = f"📞 {h.number} – {h.name.get(lang)}"
    if details:
        line += f" ({', '.join(d for d in details if d)})"
    if h.note:
        line += f". {h.note.get(lang)}"
    return line


def topic_reply(ctx: Context, topic: Topic) -> list[Reply]:
    """The answer to one topic: short text, its source, related topics as buttons."""
    # What `ask --json` reports as the topic: the one whose answer the reply contains.
    ctx.extra["answer_topic"] = topic.id
    lang = ctx.lang
    answer = topic.answer.get(lang)
    if topic.id == "action_month":
        # A year's theme is claimed only in that year (ctx.now is in the bot's time zone).
        theme = ctx.content.action_month_theme(ctx.now.year)
        if theme is not None:
            answer += "\n" + _('The {year} theme: "{theme}"').format(
                year=ctx.now.year, theme=theme.get(lang)
            )
    text = f"{topic.title.get(lang)}\n\n{answer}\n\n" + _("Source: {source}").format(
        source=topic.source
    )
    related = [
        button(ctx.content.topics[r].title.get(lang), f"faq:{r}")
        for r in topic.related
        if r in ctx.content.topics
    ]
    rows = [[b] for b in related] + [[button(_("Main menu"), "menu")]]
    replies = [Reply(text, buttons=rows)]
    if topic.action == "hotlines":
        replies[0] = Reply(text + "\n\n" + hotline_list(ctx.content, lang), buttons=rows)
    elif topic.action == "find_place":
        replies[0].buttons = []
        replies.append(place_prompt(ctx))
    return replies


def hotline_list(content: Content, lang: str) -> str:
    """Every hotline, one a line."""
    lines = [hotline_line(h, lang) for h in content.all_hotlines()]
    agency = content.deployment.agency.get(lang)
    if agency:
        lines.append(_("Programme run by: {agency}").format(agency=agency))
    return "\n".join(lines)


# --- commands ------------------------------------------------------------------------------


async def start(ctx: Context, args: str) -> list[Reply]:
    """Welcome the user and show the menu (an invite code is handled by the officer feature)."""
    # Only an invite code goes to registration; any other deep-link parameter (a campaign
    # poster's link, say) gets the ordinary welcome.
    handler = ctx.engine.start_handler(args) if args else None
    if handler is not None:
        return await handler(ctx, args)
    ctx.topic = "_start"
    province = ctx.content.deployment.province.get(ctx.lang)
    lines = [
        _("Hello! I answer questions about gender equality and domestic and gender-based violence")
        + (_(" in {province}").format(province=province) if province else "")
        + ".",
        "• " + erase_hint(ctx),
        "• " + emergency_line(ctx.content),
        _("Ask in your own words, with or without accents, or choose a topic:"),
    ]
    return [Reply("\n".join(lines), buttons=menu_buttons())]


def erase_hint(ctx: Context) -> str:
    """What /xoa does on this channel, said accurately (Zalo can't delete messages)."""
    if ctx.inc.channel in DELETING_CHANNELS:
        return _("Nothing you type is stored. Type /xoa at any time to erase this chat.")
    if ctx.inc.channel == "zalo":
        return _(
            "Nothing you type is stored. Type /xoa to erase what the bot keeps about you; "
            "to remove the messages from your phone, delete this chat in Zalo."
        )
    return _("Nothing you type is stored. Type /xoa to erase what the bot keeps about you.")


async def menu(ctx: Context, args: str) -> list[Reply]:
    """Show the main menu."""
    ctx.topic = "_menu"
    return [Reply(_("Choose a topic, or ask your question:"), buttons=menu_buttons())]


async def hotlines(ctx: Context, args: str) -> list[Reply]:
    """List the hotlines."""
    ctx.topic = "_hotlines"
    text = _("Hotlines:") + "\n" + hotline_list(ctx.content, ctx.lang)
    return [Reply(text, buttons=[[button(_("Trusted address near me"), "place:start")]])]


async def language(ctx: Context, args: str) -> list[Reply]:
    """Switch between Vietnamese and English (or to the one named)."""
    wanted = args.strip().lower()[:2]
    if wanted not in LANGUAGES:
        wanted = "en" if ctx.lang == "vi" else "vi"
    await ctx.store.set_language(ctx.address, wanted, ctx.now)
    ctx.lang = wanted
    set_language(wanted)
    ctx.topic = "_language"
    return [Reply(_("Language: English"), buttons=menu_buttons())]


async def language_button(ctx: Context, rest: str) -> list[Reply]:
    """The language button toggles, `lang:vi` / `lang:en` pick one."""
    return await language(ctx, rest)


async def erase(ctx: Context, args: str) -> list[Reply]:
    """Delete everything kept about the user, and the chat's messages where possible."""
    messages = await ctx.store.forget_user(ctx.address)
    ctx.engine.recent_languages.forget(ctx.address)
    ctx.topic = "_erase"
    if ctx.inc.channel in DELETING_CHANNELS:
        ids = [mid for _chat, mid in messages]
        if ctx.inc.message_id is not None:
            ids.append(ctx.inc.message_id)
        return [Reply(_("Deleted."), delete_after=5, delete_messages=ids, track=False)]
    if ctx.inc.channel == "zalo":
        return [
            Reply(
                _(
                    "Deleted: we keep nothing more about you. Zalo does not let us delete the "
                    "messages themselves; you can delete this chat in the Zalo app."
                ),
                track=False,
            )
        ]
    return [Reply(_("Deleted."), track=False)]


async def subscribe(ctx: Context, args: str) -> list[Reply]:
    """Opt in to campaign news."""
    await ctx.store.set_subscribed(ctx.address, True, ctx.now)
    ctx.topic = "_subscribe"
    return [
        Reply(
            _(
                "You will receive the programme's campaign news (a few messages a year). "
                "Type /ngungtin to stop at any time."
            )
        )
    ]


async def unsubscribe(ctx: Context, args: str) -> list[Reply]:
    """Opt out of campaign news, at once (`/huy` inside a dialog cancels the dialog instead)."""
    if (cancelled := await cancel_dialog(ctx)) is not None:
        return cancelled
    await ctx.store.set_subscribed(ctx.address, False, ctx.now)
    ctx.topic = "_unsubscribe"
    return [Reply(_("You will not receive campaign news any more. Type /dangky to opt in again."))]


# --- buttons -------------------------------------------------------------------------------


async def faq_button(ctx: Context, topic_id: str) -> list[Reply]:
    """Answer the topic of a pressed button."""
    topic = ctx.content.topics.get(topic_id)
    if topic is None:
        return await stale_button(ctx, topic_id)
    ctx.topic = topic.id
    return topic_reply(ctx, topic)


async def stale_button(ctx: Context, data: str) -> list[Reply]:
    """A button from an old message that no longer means anything."""
    return [
        Reply(_("That button is no longer valid. Here is the main menu:"), buttons=menu_buttons())
    ]


# --- safety and free text --------------------------------------------------------------------


async def emergency(ctx: Context, found: Assessment, text: str) -> list[Reply]:
    """The first reply to someone in danger: numbers, one line of advice, a safe place."""
    replies = safety_replies(ctx, found)
    # "chồng em hay đánh em, em phải làm sao" is both a disclosure and a question: the
    # safety reply comes first, the answer asked for after it. Only a clear match: "chồng
    # đang đánh tôi" must not be followed by a loosely related topic.
    match = ctx.engine.matcher.match(text)
    ctx.extra["score"] = match.score
    asks = ASKING.search(fold(text)) is not None
    if asks and match.topic is not None and match.score >= EMERGENCY_FOLLOW_UP_SCORE:
        replies.extend(topic_reply(ctx, ctx.content.topics[match.topic]))
    return replies


def small_talk(text: str) -> Reply:
    """A short friendly word for a greeting or a thanks, and the way on."""
    words = set(fold(text).replace("!", " ").replace(".", " ").split())
    if words & THANKS_WORDS or "cam on" in fold(text):
        intro = _("You're welcome! I'm here whenever you need me.")
    else:
        intro = _("Hello! I'm here to help.")
    return Reply(
        intro + " " + _("Ask your question in your own words, or choose a topic:"),
        buttons=menu_buttons(),
    )


async def answer_question(ctx: Context, text: str) -> list[Reply]:
    """Answer free text from the FAQ, or offer the closest topics — never a dead end."""
    match = ctx.engine.matcher.match(text)
    ctx.extra["score"] = match.score
    if match.topic is not None:
        ctx.topic = match.topic
        return topic_reply(ctx, ctx.content.topics[match.topic])
    if match.small_talk:
        ctx.topic = "_greeting"
        return [small_talk(text)]
    ctx.topic = "_unmatched"
    suggestions = [t for t, score in match.candidates if score >= SUGGEST_THRESHOLD]
    if suggestions:
        intro = _("I'm not sure what you mean. Did you mean:")
    else:
        intro = _("Sorry, I did not understand. You can ask in other words, or choose a topic:")
    # Always three choices: the closest topics, topped up from the main menu.
    for _label, data in MENU:
        if len(suggestions) >= 3:
            break
        topic_id = data.removeprefix("faq:")
        if data.startswith("faq:") and topic_id not in suggestions:
            suggestions.append(topic_id)
    rows = [
        [button(ctx.content.topics[t].title.get(ctx.lang), f"faq:{t}")]
        for t in suggestions[:3]
        if t in ctx.content.topics
    ]
    rows.append([button(_("Main menu"), "menu")])
    return [Reply(intro + "\n\n" + emergency_line(ctx.content), buttons=rows)]
