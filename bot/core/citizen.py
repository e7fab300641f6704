"""What a citizen can do: welcome and menu, FAQ answers, hotlines, nearest trusted address,
the emergency response, language, opt-in to campaign news, and erasing the conversation."""

from __future__ import annotations

from bot.content import Content, Hotline, Topic
from bot.core.engine import DELETING_CHANNELS, Context, Engine, button
from bot.core.invites import INVITE_RE
from bot.core.matcher import SUGGEST_THRESHOLD
from bot.core.places import Nearby, distance_km, map_link, nearest
from bot.core.safety import Assessment
from bot.core.types import Button, Reply
from bot.i18n import LANGUAGES, N_, _, set_language
from bot.text import fold

UNITS_PER_PAGE = 10
#: After the safety reply, an FAQ answer follows only for a question this clearly on a topic.
EMERGENCY_FOLLOW_UP_SCORE = 85.0
PLACES_SHOWN = 3

SERVICE_LABELS = {
    "shelter": N_("temporary shelter"),
    "medical": N_("medical care"),
    "counseling": N_("counselling"),
    "legal": N_("legal advice"),
    "referral": N_("referral to other services"),
    "essentials": N_("essential needs"),
}

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
    engine.add_command(menu, "menu", "help", "trogiup")
    engine.add_command(hotlines, "duongdaynong", "hotlines", "hotline")
    engine.add_command(language, "ngonngu", "lang", "language")
    engine.add_command(erase, "xoa", "delete")
    engine.add_command(subscribe, "dangky", "subscribe")
    engine.add_command(unsubscribe, "huy", "unsubscribe")
    engine.add_command(places_command, "diachi", "places")
    engine.add_button("faq", faq_button)
    engine.add_button("menu", menu)
    engine.add_button("hot", hotlines)
    engine.add_button("lang", language_button)
    engine.add_button("place", place_button)
    engine.on_location = location
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


def _tagged(content: Content, tag: str) -> Hotline | None:
    return next((h for h in content.all_hotlines() if tag in h.tags), None)


def emergency_line(content: Content) -> str:
    """One line with the numbers to call now (113, and 111 for children)."""
    police = _tagged(content, "emergency")
    child = _tagged(content, "child")
    parts = []
    if police:
        parts.append(_("police {number}").format(number=police.number))
    if child:
        parts.append(_("child protection {number}").format(number=child.number))
    return _("In danger? Call {numbers}.").format(numbers=", ".join(parts))


def topic_reply(ctx: Context, topic: Topic) -> list[Reply]:
    """The answer to one topic: short text, its source, related topics as buttons."""
    lang = ctx.lang
    text = f"{topic.title.get(lang)}\n\n{topic.answer.get(lang)}\n\n" + _(
        "Source: {source}"
    ).format(source=topic.source)
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


def place_prompt(ctx: Context) -> Reply:
    """Ask for a location or a commune."""
    if ctx.inc.channel == "telegram":
        how = _("Tap “Send my location”, or choose your commune or ward.")
    elif ctx.inc.channel == "zalo":
        how = _(
            "Send your location (the + button, then Location), or choose your commune or ward."
        )
    else:
        how = _("Type: location <latitude> <longitude>, or choose your commune or ward.")
    return Reply(
        _("To find the trusted addresses (safe places) nearest to you:") + "\n" + how,
        buttons=[
            [Button(_("📍 Send my location"), "place:location", kind="location")],
            [button(_("Choose commune / ward"), "place:units:0")],
        ],
    )


def places_text(ctx: Context, found: list[Nearby], heading: str) -> str:
    """Describe a few places: distance, address, phone, hours, services, map link."""
    lang = ctx.lang
    lines = [heading]
    for i, item in enumerate(found, 1):
        p = item.place
        lines.append("")
        lines.append(f"{i}. {p.name.get(lang)} — {item.km:.1f} km")
        lines.append(f"   {p.address.get(lang)}")
        if p.phone:
            lines.append("   ☎ " + p.phone)
        else:
            lines.append("   ☎ " + _("No phone listed: in an emergency call 113 (children: 111)."))
        hours = p.hours.get(lang) if p.hours else _("ask the commune People's Committee")
        lines.append("   " + _("Hours: {hours}").format(hours=hours))
        if p.services:
            services = ", ".join(_(SERVICE_LABELS[s]) for s in p.services)
            lines.append("   " + _("Services: {services}").format(services=services))
        lines.append("   " + _("Map: {link}").format(link=map_link(p.lat, p.lon)))
    if ctx.content.places_sample:
        lines.append("")
        lines.append(
            _(
                "⚠ This list is illustrative sample data, not yet the official list. "
                "Please confirm with your commune People's Committee before you go."
            )
        )
    lines.append(emergency_line(ctx.content))
    return "\n".join(lines)


# --- commands ------------------------------------------------------------------------------


async def start(ctx: Context, args: str) -> list[Reply]:
    """Welcome the user and show the menu (an invite code is handled by the officer feature)."""
    # Only an invite code goes to registration; any other deep-link parameter (a campaign
    # poster's link, say) gets the ordinary welcome.
    if args and ctx.engine.start_with_code is not None and INVITE_RE.match(args):
        return await ctx.engine.start_with_code(ctx, args)
    ctx.topic = "_start"
    province = ctx.content.deployment.province.get(ctx.lang)
    lines = [
        _("Hello! I answer questions about gender equality and domestic and gender-based violence")
        + (_(" in {province}").format(province=province) if province else "")
        + ".",
        _("• Nothing you type is stored. Type /xoa at any time to erase this chat."),
        "• " + emergency_line(ctx.content),
        _("Ask in your own words, with or without accents, or choose a topic:"),
    ]
    return [Reply("\n".join(lines), buttons=menu_buttons())]


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
                "Type /huy to stop at any time."
            )
        )
    ]


async def unsubscribe(ctx: Context, args: str) -> list[Reply]:
    """Opt out of campaign news, at once."""
    await ctx.store.set_subscribed(ctx.address, False, ctx.now)
    ctx.topic = "_unsubscribe"
    return [Reply(_("You will not receive campaign news any more. Type /dangky to opt in again."))]


async def places_command(ctx: Context, args: str) -> list[Reply]:
    """Start the nearest-place flow."""
    ctx.topic = "_places"
    return [place_prompt(ctx)]


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


async def place_button(ctx: Context, rest: str) -> list[Reply]:
    """`place:start`, `place:location`, `place:units:<page>`, `place:unit:<code>`."""
    action, _sep, arg = rest.partition(":")
    ctx.topic = "_places"
    if action == "start":
        return [place_prompt(ctx)]
    if action == "location":
        # Only reached where the platform could not ask for the location itself.
        return [place_prompt(ctx)]
    if action == "units":
        return [unit_picker(ctx, int(arg) if arg.isdigit() else 0)]
    if action == "unit" and arg in ctx.content.units:
        return [unit_places(ctx, arg)]
    return await stale_button(ctx, rest)


def unit_picker(ctx: Context, page: int) -> Reply:
    """A page of communes and wards to choose from."""
    units = sorted(ctx.content.reporting_units(), key=lambda u: fold(u.name))
    pages = max(1, -(-len(units) // UNITS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    chunk = units[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    rows = [[button(u.full_name(ctx.lang), f"place:unit:{u.code}")] for u in chunk]
    nav = []
    if page > 0:
        nav.append(button(_("◀ Previous"), f"place:units:{page - 1}"))
    if page + 1 < pages:
        nav.append(button(_("Next ▶"), f"place:units:{page + 1}"))
    if nav:
        rows.append(nav)
    text = _("Choose your commune or ward (page {page}/{pages}):").format(
        page=page + 1, pages=pages
    )
    return Reply(text, buttons=rows)


def unit_places(ctx: Context, code: str) -> Reply:
    """The places of a commune, or the nearest ones to its centre when it has none."""
    unit = ctx.content.units[code]
    name = unit.full_name(ctx.lang)
    own = [p for p in ctx.content.places if p.unit == code]
    if own:
        origin = (unit.lat, unit.lon) if unit.lat is not None and unit.lon is not None else None
        found = [
            Nearby(p, distance_km(origin[0], origin[1], p.lat, p.lon) if origin else 0.0)
            for p in own
        ][:PLACES_SHOWN]
        heading = _("Trusted addresses in {unit}:").format(unit=name)
    elif unit.lat is not None and unit.lon is not None:
        found = nearest(ctx.content.places, unit.lat, unit.lon, PLACES_SHOWN)
        heading = _("No trusted address is listed in {unit} yet. The nearest ones:").format(
            unit=name
        )
    else:
        found = []
        heading = _("No trusted address is listed in {unit} yet.").format(unit=name)
    return Reply(places_text(ctx, found, heading), buttons=[[button(_("Main menu"), "menu")]])


async def location(ctx: Context) -> list[Reply]:
    """The nearest trusted addresses to a shared location."""
    ctx.topic = "_places"
    loc = ctx.inc.location
    assert loc is not None  # the engine only calls this for locations
    found = nearest(ctx.content.places, loc.lat, loc.lon, PLACES_SHOWN)
    if not found:
        return [Reply(_("No trusted address is listed yet.") + "\n" + emergency_line(ctx.content))]
    heading = _("The trusted addresses nearest to you:")
    return [Reply(places_text(ctx, found, heading), buttons=[[button(_("Main menu"), "menu")]])]


# --- safety and free text --------------------------------------------------------------------


async def emergency(ctx: Context, found: Assessment, text: str) -> list[Reply]:
    """The first reply to someone in danger: numbers, one line of advice, a safe place."""
    content = ctx.content
    police = _tagged(content, "emergency")
    lines = [
        _("🚨 If you are in danger now, call {number} (police).").format(
            number=police.number if police else "113"
        )
    ]
    child = _tagged(content, "child")
    injury = _tagged(content, "injury")
    if found.child and child:
        lines.append(
            _("A child at risk: call {number} (child protection, free, 24/7).").format(
                number=child.number
            )
        )
    if (found.injury or found.self_harm) and injury:
        lines.append(
            _("Someone hurt: call {number} (medical emergency).").format(number=injury.number)
        )
    if found.self_harm:
        lines.append(
            _(
                "If you are thinking of harming yourself: you are not alone. Please call now "
                "and stay with someone you trust."
            )
        )
    if found.trafficking:
        lines.append(
            _(
                "Tricked, sold or forced into marriage across the border: call 113 or go to the "
                "nearest police or border guard post."
            )
        )
    lines.append(
        _(
            "Get to a safe place away from the person hurting you, keep your phone with you, "
            "and ask someone you trust for help."
        )
    )
    replies = [
        Reply(
            "\n".join(lines),
            buttons=[
                [button(_("Find the nearest trusted address"), "place:start")],
                [button(_("Hotlines"), "hot")],
            ],
        )
    ]
    # "bị bạo lực gia đình nên làm gì" is both a possible disclosure and a question: the
    # safety reply comes first, the answer after it.
    # Only a clear match: "chồng đang đánh tôi" must not be followed by a loosely related topic.
    match = ctx.engine.matcher.match(text)
    if match.topic is not None and match.score >= EMERGENCY_FOLLOW_UP_SCORE:
        replies.extend(topic_reply(ctx, ctx.content.topics[match.topic]))
    return replies


async def answer_question(ctx: Context, text: str) -> list[Reply]:
    """Answer free text from the FAQ, or offer the closest topics — never a dead end."""
    match = ctx.engine.matcher.match(text)
    if match.topic is not None:
        ctx.topic = match.topic
        return topic_reply(ctx, ctx.content.topics[match.topic])
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
