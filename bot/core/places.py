"""Trusted addresses: distances over the (small) list, sane coordinates, units named in a message.

The list is a few hundred places at most, so a plain scan is fast enough; no index needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from bot.content import VIET_NAM, Bounds, Content, Place, Unit
from bot.text import normalize

EARTH_RADIUS_KM = 6371.0088
#: Beyond this the nearest place is "far": the reply leads with 113 / 111 / the commune.
FAR_KM = 50.0


_EARTH = Bounds(lat=(-90.0, 90.0), lon=(-180.0, 180.0))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Nearby:
    """A place and how far it is."""

    place: Place
    km: float


def nearest(places: Iterable[Place], lat: float, lon: float, k: int = 3) -> list[Nearby]:
    """The `k` places closest to (lat, lon), nearest first."""
    ranked = sorted(
        (Nearby(p, distance_km(lat, lon, p.lat, p.lon)) for p in places), key=lambda n: n.km
    )
    return ranked[:k]


def map_link(lat: float, lon: float) -> str:
    """A link that opens the point in the phone's map app."""
    return f"https://maps.google.com/?q={lat:.5f},{lon:.5f}"


def point_problem(lat: float, lon: float) -> str | None:
    """`"invalid"` (not a point on Earth), `"outside"` (not in Viet Nam), or None when usable."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or not _EARTH.contains(lat, lon):
        return "invalid"
    if not VIET_NAM.contains(lat, lon):
        return "outside"
    return None


# --- a unit named in a message ---------------------------------------------------------------

# Everything below is compared folded (no diacritics, lower case), as token tuples.
#: Words that say the message is about a trusted address, whatever else it says.
PLACE_WORDS = (
    ("dia", "chi", "tin", "cay"),
    ("tam", "lanh"),  # nhà / nơi / chỗ / điểm tạm lánh
    ("cho", "tron"),
    ("nha", "an", "toan"),
    ("noi", "an", "toan"),
    ("cho", "an", "toan"),
    ("trusted", "address"),
    ("trusted", "addresses"),
    ("safe", "house"),
    ("safe", "houses"),
    ("safe", "place"),
    ("shelter",),
    ("shelters",),
)
#: Weaker words: a place question only when the rest of the message is small talk.
NEAR_WORDS = (("o", "dau"), ("gan",), ("near",), ("nearest",), ("nearby",), ("where",))
#: "xã X", "phường X", "thị trấn X", "huyện X" (and the abbreviations "x.", "p.", "tt.").
UNIT_BEFORE = (("xa",), ("phuong",), ("thi", "tran"), ("huyen",), ("x",), ("p",), ("tt",))
#: "X commune", "X ward".
UNIT_AFTER = (("commune",), ("ward",), ("township",), ("district",))
#: A word right before the name (or before its unit word) that puts the place there.
LOCATIVES = frozenset({"o", "tai", "gan", "thuoc", "in", "at", "near", "around"})
#: What may surround a bare name: "tôi ở X", "em sống ở X", "I live in X".
SELF_WORDS = frozenset(
    "toi em minh tui t e mk mik anh chi con ban nha o tai song dang hien thuoc "
    "i im m am live living in at from my we our".split()
)
#: Small talk around a place question: "có ... nào ở X không ạ?", "cho em hỏi ...".
FILLER_WORDS = SELF_WORDS | frozenset(
    "co khong ko k hong nao gi dau la cua cho hoi xin giup voi oi a ah nhe nhi vay z "
    "tim kiem biet muon can di den duoc dc nhat day nay va hay the nhu sao "
    "is are there any a an the where which find please help me need want to go get list "
    "of for what near nearest".split()
)
#: Names at least this long (folded, spaces included) also match with one letter wrong.
FUZZY_MIN_CHARS = 9


@dataclass(frozen=True, slots=True)
class _Hit:
    unit: Unit
    start: int
    end: int
    exact: bool


@lru_cache(maxsize=1024)
def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(normalize(name, expand=False).split())


def _has(tokens: Sequence[str], phrase: tuple[str, ...], at: int | None = None) -> bool:
    """Whether `phrase` occurs in `tokens` (starting exactly at `at` when given)."""
    n = len(phrase)
    starts = [at] if at is not None else range(len(tokens) - n + 1)
    return any(i >= 0 and tuple(tokens[i : i + n]) == phrase for i in starts)


def _strip(tokens: list[str], phrases: Iterable[tuple[str, ...]]) -> list[str]:
    """`tokens` without every occurrence of `phrases`."""
    out = list(tokens)
    for phrase in sorted(phrases, key=len, reverse=True):
        n, i = len(phrase), 0
        while i <= len(out) - n:
            if tuple(out[i : i + n]) == phrase:
                del out[i : i + n]
            else:
                i += 1
    return out


def _hits(units: Iterable[Unit], tokens: list[str]) -> list[_Hit]:
    hits = []
    for unit in units:
        name = _name_tokens(unit.name)
        n = len(name)
        joined = " ".join(name)
        fuzzy = len(joined) >= FUZZY_MIN_CHARS
        for i in range(len(tokens) - n + 1):
            window = tokens[i : i + n]
            if tuple(window) == name:
                hits.append(_Hit(unit, i, i + n, exact=True))
            elif fuzzy and Levenshtein.distance(" ".join(window), joined, score_cutoff=1) <= 1:
                hits.append(_Hit(unit, i, i + n, exact=False))
        if fuzzy and n > 1:  # "locbinh": the space left out
            for i in range(len(tokens) - n + 2):
                window = tokens[i : i + n - 1]
                if Levenshtein.distance(" ".join(window), joined, score_cutoff=1) <= 1:
                    hits.append(_Hit(unit, i, i + n - 1, exact=False))
    return hits


def _best(hits: list[_Hit]) -> _Hit | None:
    """The exact hit of the longest name, else the only name a typo can be; a commune wins
    over a district of the same name. None when typos leave two names possible."""
    exact = [h for h in hits if h.exact]
    if exact:
        return min(exact, key=lambda h: (-(h.end - h.start), not h.unit.reports, h.start))
    if len({_name_tokens(h.unit.name) for h in hits}) != 1:
        return None
    return min(hits, key=lambda h: (not h.unit.reports, h.start))


def find_unit(content: Content, text: str) -> Unit | None:
    """The commune or ward a message asks about ("xã Lộc Bình", "tôi ở Loc Binh", ...), if any.

    Many names are also ordinary words ("Thống Nhất", "Đoàn Kết"), so a name counts only when
    the message is about a place: a trusted-address word, a unit word next to the name, or
    nothing around the name but "tôi ở" / "I live in" and small talk.
    """
    tokens = normalize(text[:300], expand=False).split()
    if not tokens or len(tokens) > 40:
        return None
    units = [u for u in content.units.values() if u.kind != "tinh"]
    hit = _best(_hits(units, tokens))
    if hit is None:
        return None
    before, after = tokens[: hit.start], tokens[hit.end :]
    unit_before = next((w for w in UNIT_BEFORE if _has(before, w, at=len(before) - len(w))), None)
    unit_after = any(_has(after, w, at=0) for w in UNIT_AFTER)
    lead = before[: len(before) - len(unit_before)] if unit_before else before
    locative = bool(lead) and lead[-1] in LOCATIVES
    rest = _strip(before + after, PLACE_WORDS + NEAR_WORDS + UNIT_BEFORE + UNIT_AFTER)
    place_word = any(_has(tokens, w) for w in PLACE_WORDS)
    near_word = any(_has(before + after, w) for w in NEAR_WORDS)
    small_talk = all(t in FILLER_WORDS for t in rest)
    if place_word and (locative or unit_before or unit_after or small_talk):
        return hit.unit
    if small_talk and (near_word or unit_before or unit_after):
        return hit.unit
    if all(t in SELF_WORDS for t in rest) and not (place_word or near_word):
        return hit.unit
    return None
