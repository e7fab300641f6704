"""Trusted addresses in the chat: a shared location, a commune picked from the list, or a
commune or ward named in a message ("xã Lộc Bình", "nhà tạm lánh ở Loc Binh ở đâu")."""

from __future__ import annotations

from babel.numbers import format_decimal

from bot.content import Place, Unit
from bot.content.places_import import LivePlaces
from bot.core.engine import Context, Engine, button
from bot.core.places import (
    FAR_KM,
    Nearby,
    distance_km,
    find_unit,
    map_link,
    nearest,
    point_problem,
)
from bot.core.safety_reply import emergency_line
from bot.i18n import N_, _
from bot.messages import Button, Reply
from bot.text import fold

UNITS_PER_PAGE = 10
PLACES_SHOWN = 3

SERVICE_LABELS = {
    "shelter": N_("temporary shelter"),
    "medical": N_("medical care"),
    "counseling": N_("counselling"),
    "legal": N_("legal advice"),
    "referral": N_("referral to other services"),
    "essentials": N_("essential needs"),
}


def register(engine: Engine) -> None:
    """Register the trusted-address features on `engine`."""
    chat = PlaceChat()
    engine.add_command(chat.command, "diachi", "places")
    engine.add_button("place", chat.button)
    engine.on_location = chat.location
    engine.text_hooks.append(chat.named_unit)


# --- building blocks ------------------------------------------------------------------------


def place_prompt(ctx: Context) -> Reply:
    """Ask for a location or a commune."""
    if ctx.inc.channel == "telegram":
        how = _("Tap “Send my location”, or type or choose your commune or ward.")
    elif ctx.inc.channel == "zalo":
        how = _(
            "Send your location (the + button, then Location), or type or choose your commune "
            "or ward."
        )
    else:
        how = _("Type: location <latitude> <longitude>, or type or choose your commune or ward.")
    return Reply(
        _("To find the trusted addresses (safe places) nearest to you:") + "\n" + how,
        buttons=[
            [Button(_("📍 Send my location"), "place:location", kind="location")],
            [button(_("Choose commune / ward"), "place:units:0")],
        ],
    )


def km_text(km: float, lang: str) -> str:
    """'2,5 km' in Vietnamese, '2.5 km' in English."""
    return format_decimal(km, "#,##0.0", locale=lang) + " km"


def place_lines(p: Place, number: int, km: float | None, lang: str) -> list[str]:
    """One place: name — distance, then address, phone, hours, services, map link."""
    title = f"{number}. {p.name.get(lang)}"
    lines = [title + (f" — {km_text(km, lang)}" if km is not None else "")]
    lines.append("   " + p.address.get(lang))
    if p.phone:
        lines.append("   ☎ " + p.phone)
    if p.hours:
        lines.append("   " + _("Hours: {hours}").format(hours=p.hours.get(lang)))
    if p.services:
        services = ", ".join(_(SERVICE_LABELS[s]) for s in p.services)
        lines.append("   " + _("Services: {services}").format(services=services))
    lines.append("   " + _("Map: {link}").format(link=map_link(p.lat, p.lon)))
    return lines


def places_text(ctx: Context, found: list[Nearby], heading: str, *, distances: bool = True) -> str:
    """A short list of places and, once per reply, what is missing and whom to call.

    `distances=False` for the places of a commune the user named: a distance from the
    commune's approximate centre would only look precise.
    """
    lang = ctx.lang
    lines = []
    if found and found[0].km > FAR_KM:
        lines.append(
            _("The nearest listed trusted address is {km} away.").format(
                km=km_text(found[0].km, lang)
            )
        )
        lines.append(
            _(
                "In an emergency call 113 now (children: 111), or go to the People's Committee "
                "or the police of the commune where you are."
            )
        )
        lines.append("")
    lines.append(heading)
    for i, item in enumerate(found, 1):
        lines.append("")
        lines.extend(place_lines(item.place, i, item.km if distances else None, lang))
    lines.append("")
    places = [item.place for item in found]
    no_phone = [p for p in places if not p.phone]
    if no_phone and len(no_phone) == len(places):
        lines.append(
            _(
                "No phone number is listed for these places: in an emergency call 113 "
                "(children: 111)."
            )
        )
    elif no_phone:
        lines.append(
            _(
                "No phone number is listed for some of these places: in an emergency call 113 "
                "(children: 111)."
            )
        )
    if ctx.content.places_sample:
        lines.append(
            _(
                "⚠ This list is illustrative sample data, not yet the official list. "
                "Please confirm with your commune People's Committee before you go."
            )
        )
    elif any(not p.hours for p in places):
        lines.append(_("Opening hours not listed: ask the commune People's Committee."))
    if not no_phone:
        lines.append(emergency_line(ctx.content))
    return "\n".join(lines)


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
    text = _("Choose your commune or ward (page {page}/{pages}), or type its name:").format(
        page=page + 1, pages=pages
    )
    return Reply(text, buttons=rows)


def unit_places(ctx: Context, unit: Unit) -> Reply:
    """The places listed in a unit, or the nearest ones to its centre when it has none."""
    name = unit.full_name(ctx.lang)
    centre = (unit.lat, unit.lon) if unit.lat is not None and unit.lon is not None else None
    own = [p for p in ctx.content.places if p.unit == unit.code]
    menu = [[button(_("Main menu"), "menu")]]
    if own:
        found = [
            Nearby(p, distance_km(centre[0], centre[1], p.lat, p.lon) if centre else 0.0)
            for p in own
        ]
        found.sort(key=lambda n: n.km)
        heading = _("Trusted addresses listed in {unit}:").format(unit=name)
        text = places_text(ctx, found[:PLACES_SHOWN], heading, distances=False)
        return Reply(text, buttons=menu)
    none_here = _(
        "No trusted address is listed for {unit} (not every commune has one yet). You can ask "
        "the People's Committee of {unit}."
    ).format(unit=name)
    if centre is None or not ctx.content.places:
        return Reply(none_here + "\n" + emergency_line(ctx.content), buttons=menu)
    found = nearest(ctx.content.places, centre[0], centre[1], PLACES_SHOWN)
    heading = (
        none_here
        + "\n"
        + _("The nearest listed ones (from the centre of {unit}):").format(unit=name)
    )
    return Reply(places_text(ctx, found, heading), buttons=menu)


def bad_location(ctx: Context, problem: str) -> Reply:
    """A location that cannot be used: say what was wrong and what to do instead."""
    if problem == "invalid":
        what = _(
            "That location is not a valid point: latitude must be between -90 and 90, "
            "longitude between -180 and 180."
        )
    else:
        what = _("That location is outside Viet Nam, so I cannot find a trusted address near it.")
    todo = _(
        "Choose your commune or ward from the list instead, or type its name. In an emergency "
        "call 113 (children: 111)."
    )
    return Reply(
        what + "\n" + todo,
        buttons=[
            [button(_("Choose commune / ward"), "place:units:0")],
            [button(_("Main menu"), "menu")],
        ],
    )


# --- handlers ----------------------------------------------------------------------------------


class PlaceChat:
    """The handlers, sharing the check for a list imported while the bot runs."""

    def __init__(self) -> None:
        self.live = LivePlaces()

    async def _refresh(self, ctx: Context) -> None:
        # Only before showing places: other messages never touch the database for this.
        ctx.engine.content = await self.live.refresh(ctx.store, ctx.engine.content)

    async def command(self, ctx: Context, args: str) -> list[Reply]:
        """`/diachi [commune]`: the places of the commune named, or the nearest-place flow."""
        ctx.topic = "_places"
        unit = find_unit(ctx.content, args) if args else None
        if unit is not None:
            await self._refresh(ctx)
            return [unit_places(ctx, unit)]
        return [place_prompt(ctx)]

    async def button(self, ctx: Context, rest: str) -> list[Reply]:
        """`place:start`, `place:location`, `place:units:<page>`, `place:unit:<code>`."""
        action, _sep, arg = rest.partition(":")
        ctx.topic = "_places"
        if action in ("start", "location"):
            # "location" is only reached where the platform could not ask for it itself.
            return [place_prompt(ctx)]
        if action == "units":
            return [unit_picker(ctx, int(arg) if arg.isdigit() else 0)]
        if action == "unit" and arg in ctx.content.units:
            await self._refresh(ctx)
            return [unit_places(ctx, ctx.content.units[arg])]
        return await ctx.engine.stale_button(ctx, rest)

    async def location(self, ctx: Context) -> list[Reply]:
        """The nearest trusted addresses to a shared location."""
        ctx.topic = "_places"
        loc = ctx.inc.location
        assert loc is not None  # the engine only calls this for locations
        problem = point_problem(loc.lat, loc.lon)
        if problem is not None:
            return [bad_location(ctx, problem)]
        await self._refresh(ctx)
        found = nearest(ctx.content.places, loc.lat, loc.lon, PLACES_SHOWN)
        if not found:
            text = _("No trusted address is listed yet.") + "\n" + emergency_line(ctx.content)
            return [Reply(text, buttons=[[button(_("Main menu"), "menu")]])]
        heading = _("The listed trusted addresses nearest to you:")
        return [
            Reply(places_text(ctx, found, heading), buttons=[[button(_("Main menu"), "menu")]])
        ]

    async def named_unit(self, ctx: Context, text: str) -> list[Reply] | None:
        """A message naming a commune or ward gets that unit's places."""
        unit = find_unit(ctx.content, text)
        if unit is None:
            return None
        ctx.topic = "_places"
        await self._refresh(ctx)
        return [unit_places(ctx, unit)]
