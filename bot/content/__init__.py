"""Load and validate the editable content in `content/` (YAML).

Errors name the file, the entry and the field, so an editor can fix a typo without reading
code. Everything citizen-facing carries `vi` and `en` text and a `source`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES
from bot.settings import DEFAULT_CONTENT_DIR

SERVICE_CODES = ("shelter", "medical", "counseling", "legal", "referral", "essentials")
UNIT_KINDS = ("tinh", "huyen", "thanhpho", "thixa", "xa", "phuong", "thitran")
#: Kinds whose units file reports (the commune level).
REPORTING_KINDS = frozenset({"xa", "phuong", "thitran"})
HOTLINE_TAGS = frozenset({"emergency", "child", "injury", "fire", "disaster", "shelter", "local"})
TOPIC_ACTIONS = frozenset({"find_place", "hotlines"})
_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class ContentError(ValueError):
    """A content file is missing, malformed or incomplete."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """A latitude/longitude box."""

    lat: tuple[float, float]
    lon: tuple[float, float]

    def contains(self, lat: float, lon: float) -> bool:
        """Whether (lat, lon) lies inside the box (edges included)."""
        return self.lat[0] <= lat <= self.lat[1] and self.lon[0] <= lon <= self.lon[1]


#: Mainland Viet Nam and its near islands, roughly: THE bounds every coordinate check uses
#: (imported places, shared locations). A point outside is swapped, mistyped or abroad.
VIET_NAM = Bounds(lat=(8.0, 23.5), lon=(102.0, 110.0))


@dataclass(frozen=True, slots=True)
class Localized:
    """A text in every supported language."""

    vi: str
    en: str

    def get(self, lang: str) -> str:
        """The text in `lang`, falling back to Vietnamese when that one is empty."""
        text = self.en if lang == "en" else self.vi
        return text or self.vi

    def __bool__(self) -> bool:
        return bool(self.vi or self.en)


@dataclass(frozen=True, slots=True)
class Topic:
    """One FAQ topic; its `id` is a contract with the department's statistics."""

    id: str
    title: Localized
    answer: Localized
    source: str
    questions: Mapping[str, tuple[str, ...]]
    keywords: Mapping[str, tuple[str, ...]]
    related: tuple[str, ...] = ()
    action: str | None = None


@dataclass(frozen=True, slots=True)
class Hotline:
    """A phone line the bot may give out."""

    id: str
    number: str
    name: Localized
    hours: Localized
    free: bool
    source: str
    tags: frozenset[str] = frozenset()
    note: Localized = Localized("", "")


@dataclass(frozen=True, slots=True)
class Unit:
    """An administrative unit (province, district, commune or ward)."""

    code: str
    name: str
    kind: str
    parent: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def reports(self) -> bool:
        """Whether this unit files activity reports (commune level)."""
        return self.kind in REPORTING_KINDS

    def full_name(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """'Xã Thất Khê' / 'Thất Khê commune'."""
        vi_prefix = {
            "tinh": "Tỉnh",
            "huyen": "Huyện",
            "thanhpho": "Thành phố",
            "thixa": "Thị xã",
            "xa": "Xã",
            "phuong": "Phường",
            "thitran": "Thị trấn",
        }
        en_suffix = {
            "tinh": "province",
            "huyen": "district",
            "thanhpho": "city",
            "thixa": "town",
            "xa": "commune",
            "phuong": "ward",
            "thitran": "township",
        }
        if lang == "en":
            return f"{self.name} {en_suffix[self.kind]}"
        return f"{vi_prefix[self.kind]} {self.name}"


@dataclass(frozen=True, slots=True)
class Place:
    """A trusted address (Địa chỉ tin cậy – nhà tạm lánh)."""

    id: str
    name: Localized
    unit: str
    address: Localized
    lat: float
    lon: float
    phone: str | None = None
    hours: Localized | None = None
    services: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deployment:
    """Per-deployment settings an editor fills in (agency name, local hotlines)."""

    province: Localized
    agency: Localized
    local_hotlines: tuple[Hotline, ...] = ()


@dataclass(frozen=True, slots=True)
class ActionMonthTheme:
    """The Action Month's theme of one year (campaigns.yaml, `action_month_themes`)."""

    year: int
    text: Localized
    source: str


@dataclass(frozen=True, slots=True)
class Content:
    """Everything loaded from the content directory."""

    topics: dict[str, Topic]
    hotlines: tuple[Hotline, ...]
    units: dict[str, Unit]
    places: tuple[Place, ...]
    places_sample: bool
    deployment: Deployment
    directory: Path = field(default=DEFAULT_CONTENT_DIR)
    #: Example questions per class (a topic id, `_greeting` or `_offtopic`) and language,
    #: from `examples/*.yaml`: what the FAQ classifier learns from besides `faq.yaml`.
    examples: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    #: The Action Month's theme per year. A theme is claimed only for its own year: themes
    #: change (or are announced late), so last year's must never read as the current one.
    action_month_themes: Mapping[int, ActionMonthTheme] = field(default_factory=dict)
    #: Words and phrases the FAQ classifier treats as one concept, per language
    #: (`concepts.yaml`): concept -> language -> phrases.
    concepts: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def action_month_theme(self, year: int) -> Localized | None:
        """The Action Month theme of `year` (the caller's local year), or None if it has none."""
        theme = self.action_month_themes.get(year)
        return theme.text if theme is not None else None

    def all_hotlines(self) -> tuple[Hotline, ...]:
        """National hotlines followed by the deployment's local ones."""
        return self.hotlines + self.deployment.local_hotlines

    def hotline(self, hotline_id: str) -> Hotline | None:
        """The hotline with that id, if any."""
        return next((h for h in self.all_hotlines() if h.id == hotline_id), None)

    def tagged_hotline(self, tag: str) -> Hotline | None:
        """The first hotline carrying `tag` (`emergency` is 113, `child` 111, `injury` 115)."""
        return next((h for h in self.all_hotlines() if tag in h.tags), None)

    def reporting_units(self) -> list[Unit]:
        """Units that file reports, in file order."""
        return [u for u in self.units.values() if u.reports]

    def with_places(self, places: Iterable[Place], *, sample: bool) -> Content:
        """A copy with another place list (the imported official one)."""
        return dataclasses.replace(self, places=tuple(places), places_sample=sample)


# --- reading helpers -------------------------------------------------------------------------


class Where:
    """Names a place in a content file for error messages."""

    def __init__(self, path: Path, entry: str = "") -> None:
        self.path = path
        self.entry = entry

    def at(self, entry: str) -> Where:
        return Where(self.path, entry)

    def error(self, field_name: str, problem: str) -> ContentError:
        where = f"{self.path.name}"
        if self.entry:
            where += f", entry {self.entry}"
        if field_name:
            where += f", field '{field_name}'"
        return ContentError(f"{where}: {problem}")


class FileLoader:
    """Base of the content loaders: errors that name the file, the entry and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, entry: str, field_name: str, problem: str) -> ContentError:
        """A ContentError saying where in the file the problem is."""
        return Where(self.path, entry).error(field_name, problem)

    def mapping(self, value: Any, entry: str, field_name: str) -> Mapping[str, Any]:
        """`value` if it is a mapping, else a ContentError."""
        if not isinstance(value, Mapping):
            raise self.error(entry, field_name, "must be a mapping")
        return value


def read_yaml(path: Path) -> Any:
    """Parse one YAML file, turning every failure into a ContentError naming the file."""
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise ContentError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        # Notepad's "Unicode" is UTF-16: a byte-order mark the UTF-8 decoder refuses.
        raise ContentError(
            f"{path.name}: not UTF-8 text (UTF-16, Notepad's “Unicode”?); save it as UTF-8"
        ) from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: not valid YAML ({exc})") from exc


def _mapping(value: Any, where: Where, field_name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error(field_name, "must be a mapping")
    return value


def _list(value: Any, where: Where, field_name: str) -> list[Any]:
    if not isinstance(value, list):
        raise where.error(field_name, "must be a list")
    return value


def _str(entry: Mapping[str, Any], key: str, where: Where, *, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str | int) or (required and not str(value).strip()):
        raise where.error(key, "must be a non-empty text")
    return str(value).strip()


def _localized(
    entry: Mapping[str, Any], key: str, where: Where, *, required: bool = True
) -> Localized:
    raw = entry.get(key)
    if raw is None and not required:
        return Localized("", "")
    texts = _mapping(raw, where, key)
    values = {}
    for lang in LANGUAGES:
        text = texts.get(lang)
        if text is None and not required:
            text = ""
        if not isinstance(text, str) or (required and not text.strip()):
            raise where.error(f"{key}.{lang}", "must be a non-empty text")
        values[lang] = text.strip()
    return Localized(**values)


def _phrases(
    entry: Mapping[str, Any], key: str, where: Where, minimum: int
) -> dict[str, tuple[str, ...]]:
    raw = _mapping(entry.get(key) or {}, where, key)
    out: dict[str, tuple[str, ...]] = {}
    for lang in LANGUAGES:
        items = _list(raw.get(lang) or [], where, f"{key}.{lang}")
        if not all(isinstance(i, str) and i.strip() for i in items):
            raise where.error(f"{key}.{lang}", "every item must be a non-empty text")
        if len(items) < minimum:
            raise where.error(f"{key}.{lang}", f"needs at least {minimum} entries")
        out[lang] = tuple(i.strip() for i in items)
    return out


def _coordinate(entry: Mapping[str, Any], key: str, where: Where, lo: float, hi: float) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise where.error(key, "must be a number")
    if not lo <= float(value) <= hi:
        raise where.error(key, f"{value} is outside {lo}..{hi}")
    return float(value)


# --- the files ---------------------------------------------------------------------------------


def load_topics(path: Path) -> dict[str, Topic]:
    """Read `faq.yaml`."""
    where = Where(path)
    data = _mapping(read_yaml(path), where, "")
    topics: dict[str, Topic] = {}
    for index, raw in enumerate(_list(data.get("topics"), where, "topics")):
        entry = _mapping(raw, where.at(f"#{index + 1}"), "")
        topic_id = _str(entry, "id", where.at(f"#{index + 1}"))
        w = where.at(topic_id)
        if topic_id in topics:
            raise w.error("id", "duplicate topic id")
        action = entry.get("action")
        if action is not None and action not in TOPIC_ACTIONS:
            raise w.error("action", f"must be one of {sorted(TOPIC_ACTIONS)}")
        related = tuple(_list(entry.get("related") or [], w, "related"))
        topics[topic_id] = Topic(
            id=topic_id,
            title=_localized(entry, "title", w),
            answer=_localized(entry, "answer", w),
            source=_str(entry, "source", w),
            questions=_phrases(entry, "questions", w, minimum=1),
            keywords=_phrases(entry, "keywords", w, minimum=0),
            related=tuple(str(r) for r in related),
            action=action,
        )
    for topic in topics.values():
        for rel in topic.related:
            if rel not in topics:
                raise where.at(topic.id).error("related", f"unknown topic id '{rel}'")
    return topics


#: Classifier classes that are not topics: small talk gets a friendly word, off-topic the menu.
NON_TOPIC_CLASSES = ("_greeting", "_offtopic")


def load_examples(
    directory: Path, topics: Mapping[str, Topic]
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Read every `examples/*.yaml`: class id -> language -> example questions."""
    examples: dict[str, dict[str, list[str]]] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else ():
        where = Where(path)
        data = read_yaml(path) or {}
        for class_id, raw in _mapping(data, where, "").items():
            w = where.at(str(class_id))
            if class_id not in topics and class_id not in NON_TOPIC_CLASSES:
                raise w.error("", "unknown topic id (see faq.yaml) or class")
            by_lang = _mapping(raw, w, "")
            for lang, phrases in by_lang.items():
                if lang not in LANGUAGES:
                    raise w.error(str(lang), f"language must be one of {list(LANGUAGES)}")
                for phrase in _list(phrases, w, str(lang)):
                    if not isinstance(phrase, str) or not phrase.strip():
                        raise w.error(str(lang), "every example must be non-empty text")
                    examples.setdefault(class_id, {}).setdefault(lang, []).append(phrase)
    return {c: {lang: tuple(p) for lang, p in by.items()} for c, by in examples.items()}


def load_concepts(path: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """Read `concepts.yaml` (optional): concept -> language -> phrases."""
    if not path.exists():
        return {}
    where = Where(path)
    concepts: dict[str, dict[str, tuple[str, ...]]] = {}
    for concept, raw in _mapping(read_yaml(path) or {}, where, "").items():
        w = where.at(str(concept))
        by_lang: dict[str, tuple[str, ...]] = {}
        for lang, phrases in _mapping(raw, w, "").items():
            # Any language key: one for Tày or Nùng is added here before the bot speaks it.
            items = _list(phrases, w, str(lang))
            # A bare number ("113") is read by YAML as an int; it is still a phrase.
            texts = [str(p) for p in items if isinstance(p, (str, int)) and str(p).strip()]
            if len(texts) != len(items):
                raise w.error(str(lang), "every phrase must be a word or words")
            by_lang[str(lang)] = tuple(texts)
        concepts[str(concept)] = by_lang
    return concepts


def parse_hotline(entry: Mapping[str, Any], where: Where) -> Hotline:
    """Validate one hotline entry."""
    hotline_id = _str(entry, "id", where)
    w = where.at(hotline_id)
    number = _str(entry, "number", w)
    if not all(ch.isdigit() or ch in " .+-" for ch in number):
        raise w.error("number", "may contain only digits, spaces, '.', '+' and '-'")
    tags = frozenset(str(t) for t in _list(entry.get("tags") or [], w, "tags"))
    if unknown := tags - HOTLINE_TAGS:
        raise w.error("tags", f"unknown tags {sorted(unknown)}; use {sorted(HOTLINE_TAGS)}")
    free = entry.get("free")
    if not isinstance(free, bool):
        raise w.error("free", "must be true or false")
    return Hotline(
        id=hotline_id,
        number=number,
        name=_localized(entry, "name", w),
        hours=_localized(entry, "hours", w),
        free=free,
        source=_str(entry, "source", w),
        tags=tags,
        note=_localized(entry, "note", w, required=False),
    )


def load_hotlines(path: Path) -> tuple[Hotline, ...]:
    """Read `hotlines.yaml`."""
    where = Where(path)
    data = _mapping(read_yaml(path), where, "")
    items = [
        parse_hotline(_mapping(raw, where, "hotlines"), where)
        for raw in _list(data.get("hotlines"), where, "hotlines")
    ]
    _unique((h.id for h in items), where, "id")
    return tuple(items)


def load_units(path: Path) -> dict[str, Unit]:
    """Read `units.yaml`; parents must exist and the hierarchy must have no cycle."""
    where = Where(path)
    data = _mapping(read_yaml(path), where, "")
    units: dict[str, Unit] = {}
    for raw in _list(data.get("units"), where, "units"):
        entry = _mapping(raw, where, "units")
        code = _str(entry, "code", where)
        w = where.at(code)
        if code in units:
            raise w.error("code", "duplicate unit code")
        if (
            not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in code)
            or code != code.lower()
        ):
            raise w.error("code", "must be lower-case ASCII letters, digits and '-'")
        kind = _str(entry, "kind", w)
        if kind not in UNIT_KINDS:
            raise w.error("kind", f"must be one of {list(UNIT_KINDS)}")
        lat = lon = None
        if entry.get("lat") is not None or entry.get("lon") is not None:
            lat = _coordinate(entry, "lat", w, *VIET_NAM.lat)
            lon = _coordinate(entry, "lon", w, *VIET_NAM.lon)
        parent = entry.get("parent")
        units[code] = Unit(
            code=code,
            name=_str(entry, "name", w),
            kind=kind,
            parent=str(parent) if parent else None,
            lat=lat,
            lon=lon,
        )
    for unit in units.values():
        seen = {unit.code}
        parent = unit.parent
        while parent:
            if parent not in units:
                raise where.at(unit.code).error("parent", f"unknown unit code '{parent}'")
            if parent in seen:
                raise where.at(unit.code).error("parent", "the hierarchy has a cycle")
            seen.add(parent)
            parent = units[parent].parent
    return units


def parse_place(entry: Mapping[str, Any], where: Where, units: Mapping[str, Unit]) -> Place:
    """Validate one trusted address (shared by places.yaml and the importer)."""
    place_id = _str(entry, "id", where)
    w = where.at(place_id)
    unit = _str(entry, "unit", w)
    if unit not in units:
        raise w.error("unit", f"unknown unit code '{unit}' (see units.yaml)")
    phone = entry.get("phone")
    if phone is not None:
        phone = str(phone).strip()
        if not valid_phone(phone):
            raise w.error("phone", f"'{phone}' is not a Vietnamese phone number")
    services = tuple(str(s) for s in _list(entry.get("services") or [], w, "services"))
    if unknown := set(services) - set(SERVICE_CODES):
        raise w.error("services", f"unknown {sorted(unknown)}; use {list(SERVICE_CODES)}")
    hours = _localized(entry, "hours", w, required=False) if entry.get("hours") else None
    return Place(
        id=place_id,
        name=_localized(entry, "name", w),
        unit=unit,
        address=_localized(entry, "address", w),
        lat=_coordinate(entry, "lat", w, *VIET_NAM.lat),
        lon=_coordinate(entry, "lon", w, *VIET_NAM.lon),
        phone=phone or None,
        hours=hours or None,
        services=services,
    )


def valid_phone(phone: str) -> bool:
    """A Vietnamese number: 3-digit short codes, 1800/1900 lines, or 9–11 digit numbers."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if any(not (ch.isdigit() or ch in " .+-()") for ch in phone):
        return False
    if phone.strip().startswith("+"):
        return digits.startswith("84") and 10 <= len(digits) <= 12
    if len(digits) == 3:
        return True
    if digits.startswith(("1800", "1900")):
        return 8 <= len(digits) <= 10
    return digits.startswith("0") and 10 <= len(digits) <= 11


def load_places(path: Path, units: Mapping[str, Unit]) -> tuple[tuple[Place, ...], bool]:
    """Read `places.yaml`: the places and whether they are sample data."""
    where = Where(path)
    data = _mapping(read_yaml(path), where, "")
    sample = data.get("sample", False)
    if not isinstance(sample, bool):
        raise where.error("sample", "must be true or false")
    places = tuple(
        parse_place(_mapping(raw, where, "places"), where, units)
        for raw in _list(data.get("places") or [], where, "places")
    )
    _unique((p.id for p in places), where, "id")
    return places, sample


def load_deployment(path: Path) -> Deployment:
    """Read `deployment.yaml` (optional; empty agency and no local hotline by default)."""
    where = Where(path)
    if not path.exists():
        return Deployment(province=Localized("", ""), agency=Localized("", ""))
    data = _mapping(read_yaml(path) or {}, where, "")
    local = tuple(
        parse_hotline(_mapping(raw, where, "local_hotlines"), where)
        for raw in _list(data.get("local_hotlines") or [], where, "local_hotlines")
    )
    return Deployment(
        province=_localized(data, "province", where, required=False),
        agency=_localized(data, "agency", where, required=False),
        local_hotlines=local,
    )


#: Years an Action Month theme may be given for (the month has been held since 2016).
THEME_YEARS = range(2016, 2101)
#: A theme is one line of an answer.
MAX_THEME_CHARS = 300


def load_action_month_themes(path: Path) -> dict[int, ActionMonthTheme]:
    """Read `action_month_themes` (year -> vi, en, source) from `campaigns.yaml`."""
    where = Where(path)
    if not path.exists():
        return {}
    data = _mapping(read_yaml(path) or {}, where, "")
    raw = _mapping(data.get("action_month_themes") or {}, where, "action_month_themes")
    themes: dict[int, ActionMonthTheme] = {}
    for key, value in raw.items():
        w = where.at(f"action_month_themes {key}")
        # YAML reads `2025:` as a number; accept a quoted "2025" too, nothing else.
        text_key = str(key).strip()
        if isinstance(key, bool) or not text_key.isdigit() or int(text_key) not in THEME_YEARS:
            raise w.error("", f"the key must be a year {THEME_YEARS[0]}..{THEME_YEARS[-1]}")
        year = int(text_key)
        if year in themes:
            raise w.error("", "duplicate year")
        entry = _mapping(value, w, "")
        if unknown := sorted(str(k) for k in entry if k not in {*LANGUAGES, "source"}):
            raise w.error(unknown[0], "unknown field; use vi, en and source")
        texts = {}
        for lang in LANGUAGES:
            text = _str(entry, lang, w)
            if len(text) > MAX_THEME_CHARS:
                raise w.error(lang, f"is over {MAX_THEME_CHARS} characters")
            texts[lang] = text
        themes[year] = ActionMonthTheme(year, Localized(**texts), _str(entry, "source", w))
    return themes


def _unique(ids: Iterable[str], where: Where, field_name: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise where.at(item).error(field_name, "duplicate id")
        seen.add(item)


def load_content(directory: Path = DEFAULT_CONTENT_DIR) -> Content:
    """Load and cross-check every content file in `directory`."""
    units = load_units(directory / "units.yaml")
    places, sample = load_places(directory / "places.yaml", units)
    topics = load_topics(directory / "faq.yaml")
    return Content(
        topics=topics,
        hotlines=load_hotlines(directory / "hotlines.yaml"),
        units=units,
        places=places,
        places_sample=sample,
        deployment=load_deployment(directory / "deployment.yaml"),
        directory=directory,
        examples=load_examples(directory / "examples", topics),
        action_month_themes=load_action_month_themes(directory / "campaigns.yaml"),
        concepts=load_concepts(directory / "concepts.yaml"),
    )
