"""Importing the official trusted-address list: all rows valid, or nothing changes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.app import build_engine
from bot.clock import FakeClock
from bot.content import Content
from bot.content.places_import import ImportFailed, apply_imported_places, import_places
from bot.settings import Settings
from bot.storage import Store
from tests.conftest import all_text, say

HEADER = "id,name_vi,name_en,unit,address_vi,address_en,lat,lon,phone,hours_vi,hours_en,services"
GOOD = [
    "dtc-tam-thanh,Nhà tạm lánh Tam Thanh,Tam Thanh shelter,tam-thanh,Số 1 đường A,,"
    "21.853,106.761,0205 3812 345,7:00–17:00,,shelter;counseling",
    "dtc-dong-dang,Địa chỉ tin cậy Đồng Đăng,,dong-dang,Thôn B,,21.94,106.70,,,,medical",
]
NOW = datetime(2026, 11, 28, 9, 0)


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8-sig")
    return path


async def test_csv_import_replaces_the_sample(
    tmp_path: Path, store: Store, content: Content, settings: Settings
) -> None:
    result = await import_places(store, write_csv(tmp_path / "p.csv", GOOD), content, NOW)
    assert result.count == 2
    updated = await apply_imported_places(store, content)
    assert updated.places_sample is False
    assert [p.id for p in updated.places] == ["dtc-tam-thanh", "dtc-dong-dang"]
    engine = build_engine(settings, store, updated, FakeClock(NOW))
    text = all_text(await say(engine, location=(21.85, 106.76)))
    assert "0205 3812 345" in text
    assert "minh họa" not in text


async def test_xlsx_import(tmp_path: Path, store: Store, content: Content) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append(["x1", "Nhà tạm lánh", None, "that-khe", "Thôn C", None, 22.25, 106.47,
               "0912345678", None, None, "shelter"])  # fmt: skip
    path = tmp_path / "p.xlsx"
    wb.save(path)
    result = await import_places(store, path, content, NOW)
    assert result.count == 1


async def test_bad_rows_are_all_listed_and_nothing_changes(
    tmp_path: Path, store: Store, content: Content
) -> None:
    await import_places(store, write_csv(tmp_path / "ok.csv", GOOD), content, NOW)
    bad = [
        GOOD[0],
        "b1,Tên,,khong-co-xa,Địa chỉ,,21.8,106.7,,,,shelter",  # unknown unit
        "b2,Tên,,tam-thanh,Địa chỉ,,106.7,21.8,,,,",  # lat/lon swapped
        "b3,Tên,,tam-thanh,Địa chỉ,,21.8,106.7,12ab,,,",  # phone
        "dtc-tam-thanh,Tên,,tam-thanh,Địa chỉ,,21.8,106.7,,,,",  # duplicate id
        "b5,,,tam-thanh,,,21.8,106.7,,,,flying",  # empty name and address, bad service
    ]
    with pytest.raises(ImportFailed) as err:
        await import_places(store, write_csv(tmp_path / "bad.csv", bad), content, NOW)
    problems = "\n".join(err.value.problems)
    for row in (3, 4, 5, 6, 7):
        assert f"row {row}:" in problems
    assert "khong-co-xa" in problems and "outside Viet Nam" in problems
    assert "flying" in problems
    # the earlier import is intact
    assert len(await store.places.imported()) == 2


async def test_missing_columns_and_wrong_type(
    tmp_path: Path, store: Store, content: Content
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="missing column"):
        await import_places(store, path, content, NOW)
    other = tmp_path / "p.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"csv or \.xlsx"):
        await import_places(store, other, content, NOW)


async def test_every_problem_of_a_row_in_one_run(
    tmp_path: Path, store: Store, content: Content
) -> None:
    # One row that once needed three runs: coordinates, then the unit, then the phone.
    bad = ["b1,Tên,,khong-co-xa,Địa chỉ,,106.7,21.8,12ab,,,flying"]
    with pytest.raises(ImportFailed) as err:
        await import_places(store, write_csv(tmp_path / "bad.csv", bad), content, NOW)
    problems = err.value.problems
    assert all(p.startswith("row 2:") for p in problems)
    text = "\n".join(problems)
    assert "outside Viet Nam" in text and "swapped" in text
    assert "khong-co-xa" in text
    assert "12ab" in text
    assert "flying" in text
    assert await store.places.imported() == []


async def test_unit_names_and_dropped_leading_zero(
    tmp_path: Path, store: Store, content: Content
) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    # Excel turns 0912345678 into the number 912345678; the unit is written by name.
    ws.append(["x1", "Nhà tạm lánh", None, "xã Tam Thanh", "Thôn C", None, 21.85, 106.76,
               912345678, None, None, "shelter"])  # fmt: skip
    ws.append(["x2", "Nhà 2", None, "Dong Dang", "Thôn D", None, 21.94, 106.70,
               "0205 3812 345", None, None, "medical"])  # fmt: skip
    path = tmp_path / "p.xlsx"
    wb.save(path)
    result = await import_places(store, path, content, NOW)
    assert result.count == 2
    assert [(r.row, r.place_id, r.phone) for r in result.restored] == [(2, "x1", "0912345678")]
    stored = {e["id"]: e for e in await store.places.imported()}
    assert stored["x1"]["unit"] == "tam-thanh" and stored["x1"]["phone"] == "0912345678"
    assert stored["x2"]["unit"] == "dong-dang" and stored["x2"]["phone"] == "0205 3812 345"


async def test_ambiguous_short_phone_gets_a_hint_not_a_guess(
    tmp_path: Path, store: Store, content: Content
) -> None:
    bad = [
        "b1,Tên,,tam-thanh,Địa chỉ,,21.8,106.7,2053812345,,,",  # landline without its 0
        "b2,Tên,,tam-thanh,Địa chỉ,,21.8,106.7,12345,,,",
    ]
    with pytest.raises(ImportFailed) as err:
        await import_places(store, write_csv(tmp_path / "bad.csv", bad), content, NOW)
    text = "\n".join(err.value.problems)
    assert "row 2:" in text and "02053812345" in text and "Excel" in text
    assert "row 3:" in text and "text" in text
