"""Trusted addresses: a unit named in a message, sane coordinates, short replies, live imports."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.clock import FakeClock
from bot.content import VIET_NAM, Content, Localized, Place, Unit
from bot.content.places_import import LAT_RANGE, LON_RANGE, import_places
from bot.core.engine import Engine
from bot.core.handlers.places import km_text
from bot.core.places import find_unit, point_problem
from bot.settings import Settings
from bot.storage import Store
from tests.conftest import all_text, button_data, say

NOW = datetime(2026, 11, 28, 9, 0)
LOC_BINH_FORMS = (
    "Lộc Bình",
    "xã Lộc Bình",
    "tôi ở Lộc Bình",
    "nhà tạm lánh ở Lộc Bình ở đâu",
    "dia chi tin cay xa loc binh",
    "LOC BINH?",
    "em o loc binh",
    "Có địa chỉ tin cậy nào ở xã Lộc Bình không ạ?",
    "I live in Loc Binh",
    "shelter in Loc Binh commune",
    "huyện Lộc Bình",
)
UNRELATED = (
    "vợ chồng không thống nhất được cách dạy con thì sao",
    "Thống Nhất ý kiến trong gia đình thế nào",
    "tinh thần đoàn kết trong gia đình",
    "kháng chiến chống bạo lực gia đình",
    "hội phụ nữ xã Lộc Bình làm những gì",
    "bạo lực gia đình ở Văn Quan có nhiều không",
    "quê tôi ở Thái Bình",
    "chị Lan ở đâu",  # one letter from "Chi Lăng", but a person
    "bc 11/2026 xa loc binh tt=3",
)


def _place_names(content: Content, unit: str) -> list[str]:
    return [p.name.vi for p in content.places if p.unit == unit]


# --- finding the unit ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", LOC_BINH_FORMS)
def test_the_forms_of_a_commune_name_find_it(content: Content, text: str) -> None:
    unit = find_unit(content, text)
    assert unit is not None and unit.code == "loc-binh"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hoàng Văn Thu", "hoang-van-thu"),  # one letter wrong in a long name
        ("dia chi tin cay o khang chen", "khang-chien"),
        ("phường Tam Thanh", "tam-thanh"),
        ("xã Tân Thành", "tan-thanh"),  # exact beats the one-letter neighbour Tam Thanh
        ("Thống Nhất", "thong-nhat"),  # just the name is the name
        ("nơi tạm lánh gần Đồng Đăng", "dong-dang"),
    ],
)
def test_typos_and_other_units(content: Content, text: str, code: str) -> None:
    unit = find_unit(content, text)
    assert unit is not None and unit.code == code


@pytest.mark.parametrize("text", UNRELATED)
def test_a_name_that_is_also_a_word_in_a_sentence_is_not_a_place(
    content: Content, text: str
) -> None:
    assert find_unit(content, text) is None


def test_no_faq_question_is_taken_for_a_place_request(content: Content) -> None:
    caught = [
        q
        for topic in content.topics.values()
        if topic.action != "find_place"
        for lang in ("vi", "en")
        for q in topic.questions[lang]
        if find_unit(content, q) is not None
    ]
    assert caught == []


def test_a_commune_wins_over_the_former_district_of_the_same_name(content: Content) -> None:
    district = Unit("huyen-loc-binh", "Lộc Bình", "huyen", parent="lang-son", lat=21.7, lon=106.9)
    units = {"huyen-loc-binh": district, **content.units}
    with_district = dataclasses.replace(content, units=units)
    for text in ("Lộc Bình", "huyện Lộc Bình", "nhà tạm lánh ở Lộc Bình"):
        unit = find_unit(with_district, text)
        assert unit is not None and unit.code == "loc-binh", text


@pytest.mark.parametrize("text", LOC_BINH_FORMS[:5])
async def test_a_named_commune_gets_its_places(
    engine: Engine, content: Content, text: str
) -> None:
    replies = await say(engine, text)
    body = all_text(replies)
    names = _place_names(content, "loc-binh")
    assert names and all(n in body for n in names)
    assert "maps.google.com" in body


async def test_diachi_with_a_name_lists_the_places(engine: Engine, content: Content) -> None:
    body = all_text(await say(engine, "/diachi Lộc Bình"))
    assert _place_names(content, "loc-binh")[0] in body


async def test_unrelated_sentence_gets_no_place_list(engine: Engine) -> None:
    body = all_text(await say(engine, "vợ chồng không thống nhất được cách dạy con thì sao"))
    assert "maps.google.com" not in body


async def test_unit_without_a_place_says_so_without_implying_every_commune_has_one(
    engine: Engine, content: Content
) -> None:
    empty = next(u for u in content.reporting_units() if not _place_names(content, u.code))
    body = all_text(await say(engine, button=f"place:unit:{empty.code}", lang="en"))
    assert "not every commune has one" in body
    assert "People's Committee" in body
    assert "maps.google.com" in body  # the nearest ones to its centre follow


# --- coordinates ---------------------------------------------------------------------------------


def test_one_bounds_constant_for_imports_and_locations() -> None:
    assert (VIET_NAM.lat, VIET_NAM.lon) == (LAT_RANGE, LON_RANGE)
    assert point_problem(21.85, 106.76) is None
    assert point_problem(math.inf, 0) == "invalid"
    assert point_problem(48.85, 2.35) == "outside"


@pytest.mark.parametrize(
    ("lat", "lon", "what"),
    [
        (200.0, 300.0, "not a valid point"),
        (math.nan, math.nan, "not a valid point"),
        (21.0, math.inf, "not a valid point"),
        (48.85, 2.35, "outside Viet Nam"),  # Paris
    ],
)
async def test_unusable_location_gets_a_clear_message(
    engine: Engine, lat: float, lon: float, what: str
) -> None:
    replies = await say(engine, location=(lat, lon), lang="en")
    body = all_text(replies)
    assert what in body
    assert "113" in body and "111" in body
    assert " km" not in body and "maps.google.com" not in body
    assert "place:units:0" in button_data(replies)


async def test_far_point_in_viet_nam_leads_with_113_and_the_commune(engine: Engine) -> None:
    body = all_text(await say(engine, location=(9.18, 105.15), lang="en"))  # Cà Mau
    first_place = body.index("\n1. ")
    assert "away" in body[:first_place]
    assert "113" in body[:first_place] and "People's Committee" in body[:first_place]


async def test_near_point_has_no_far_notice(engine: Engine) -> None:
    body = all_text(await say(engine, location=(21.85, 106.76), lang="en"))
    assert "away" not in body
    assert body.startswith("The listed trusted addresses nearest to you")


# --- the reply -----------------------------------------------------------------------------------


def test_distance_uses_the_language_number_format() -> None:
    assert km_text(2.5, "vi") == "2,5 km"
    assert km_text(2.5, "en") == "2.5 km"
    assert km_text(4827.04, "vi") == "4.827,0 km"


async def test_distances_in_vietnamese_and_english(engine: Engine) -> None:
    # Đông Kinh's sample place is 2.5 km from Tam Thanh's centre.
    vi = all_text(await say(engine, location=(21.85, 106.76), user="vi"))
    en = all_text(await say(engine, location=(21.85, 106.76), user="en", lang="en"))
    assert "— 2,5 km" in vi and "2.5 km" not in vi
    assert "— 2.5 km" in en


async def test_one_no_phone_line_per_reply_and_short(engine: Engine) -> None:
    body = all_text(await say(engine, location=(21.85, 106.76), lang="en"))
    assert body.count("No phone number is listed") == 1
    assert body.count("\n1. ") == 1 and body.count("\n3. ") == 1
    assert body.count("illustrative sample data") == 1
    assert len(body) < 1500


async def test_some_without_phone_say_so_once_and_the_phone_is_shown(
    settings: Settings, store: Store, content: Content, clock: FakeClock
) -> None:
    def place(pid: str, lat: float, phone: str | None) -> Place:
        name = Localized(f"Nhà {pid}", f"House {pid}")
        return Place(pid, name, "tam-thanh", Localized("Số 1", "No 1"), lat, 106.76, phone)

    places = [place("a", 21.85, "0205 3812 345"), place("b", 21.86, None), place("c", 21.87, None)]
    engine = build_engine(settings, store, content.with_places(places, sample=False), clock)
    body = all_text(await say(engine, location=(21.85, 106.76), lang="en"))
    assert body.count("No phone number is listed for some of these places") == 1
    assert body.count("☎") == 1 and "0205 3812 345" in body
    assert body.count("Opening hours not listed") == 1


# --- an import made while the bot runs -----------------------------------------------------------

HEADER = "id,name_vi,name_en,unit,address_vi,address_en,lat,lon,phone,hours_vi,hours_en,services"
ROW = (
    "dtc-tam-thanh,Nhà tạm lánh Tam Thanh,Tam Thanh shelter,tam-thanh,Số 1 đường A,,"
    "21.853,106.761,0205 3812 345,7:00–17:00,,shelter;counseling"
)


async def test_an_import_by_another_process_reaches_the_running_bot(
    tmp_path: Path,
    database: Path | str,
    engine: Engine,
    store: Store,
    content: Content,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = all_text(await say(engine, location=(21.85, 106.76)))
    assert "minh họa" in before
    # `bdg-bot places import` in another process: its own connection to the same file.
    csv = tmp_path / "official.csv"
    csv.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    other = await Store.open(database)
    try:
        await import_places(other, csv, content, NOW)
    finally:
        await other.close()
    after = all_text(await say(engine, location=(21.85, 106.76)))
    assert "0205 3812 345" in after and "minh họa" not in after
    # No further import: the next place request does not read the list again.
    reads = 0
    original = store.places.imported

    async def counting() -> list[dict[str, object]]:
        nonlocal reads
        reads += 1
        return await original()

    monkeypatch.setattr(store.places, "imported", counting)
    again = all_text(await say(engine, button="place:unit:tam-thanh"))
    assert "0205 3812 345" in again
    assert reads == 0
