"""Import the official trusted-address list from CSV or XLSX: all rows valid, or nothing changes.

Columns (first row, any order, case-insensitive): id, name_vi, name_en, unit, address_vi,
address_en, lat, lon, phone, hours_vi, hours_en, services. Required: id, name_vi, unit,
address_vi, lat, lon. English columns fall back to the Vietnamese text. `services` is a list of
codes separated by ';' or ','. `unit` is a code or a commune name (with or without accents, as
`/moi` takes it). Every problem of every row is reported in one run; a 9-digit phone whose
leading 0 Excel dropped is restored (and listed in the summary).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.content import (
    SERVICE_CODES,
    VIET_NAM,
    Content,
    ContentError,
    Place,
    Unit,
    Where,
    parse_place,
    valid_phone,
)
from bot.content.units import UnitError, resolve_unit
from bot.storage import Store

logger = logging.getLogger(__name__)

REQUIRED = ("id", "name_vi", "unit", "address_vi", "lat", "lon")
OPTIONAL = ("name_en", "address_en", "phone", "hours_vi", "hours_en", "services")
#: Viet Nam's bounding box: a point outside is a swapped or mistyped coordinate.
LAT_RANGE = VIET_NAM.lat
LON_RANGE = VIET_NAM.lon


class ImportFailed(Exception):
    """The file was rejected; `problems` lists every bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import loaded."""

    count: int
    source: str
    #: Phones whose leading 0 (dropped by Excel) was put back.
    restored: tuple[RestoredPhone, ...] = ()


def read_table(path: Path) -> list[dict[str, str]]:
    """Read a CSV (UTF-8, with or without BOM; ',' or ';') or XLSX file into rows of text."""
    if not path.exists():
        raise ImportFailed([f"{path}: file not found"])
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise ImportFailed([f"{path.name}: use a .csv or .xlsx file"])


def _read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed([f"{path.name}: not UTF-8 text; save the CSV as UTF-8"]) from None
    # Excel in a Vietnamese locale saves CSV with ';': take whichever the header uses.
    header = text.splitlines()[0] if text else ""
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    return [
        {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        for row in reader
    ]


def _read_xlsx(path: Path) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFailed([f"{path.name}: not a readable .xlsx file ({exc})"]) from None
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    workbook.close()
    if not rows:
        return []
    header = [str(h or "").strip().lower() for h in rows[0]]
    out = []
    for row in rows[1:]:
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        out.append({header[i]: _cell(v) for i, v in enumerate(row) if i < len(header)})
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) > 1000:
        return str(int(value))  # a phone number Excel stored as a number
    return str(value).strip()


@dataclass(frozen=True, slots=True)
class RestoredPhone:
    """A phone number whose leading 0 Excel dropped, put back by the import."""

    row: int
    place_id: str
    given: str
    phone: str


@dataclass(slots=True)
class Validated:
    """The entries of a valid file and what the import changed on the way."""

    entries: list[dict[str, Any]]
    restored: list[RestoredPhone]


def validate_rows(rows: list[dict[str, str]], units: Mapping[str, Unit]) -> list[dict[str, Any]]:
    """Turn rows into places.yaml-shaped entries, or raise ImportFailed listing every problem."""
    return check_rows(rows, units).entries


def check_rows(rows: list[dict[str, str]], units: Mapping[str, Unit]) -> Validated:
    """Every problem of every row at once (ImportFailed), or the entries and restored phones."""
    if not rows:
        raise ImportFailed(["the file has no data rows"])
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise ImportFailed(
            [f"missing column(s): {', '.join(missing)}; required: {', '.join(REQUIRED)}"]
        )
    problems: list[str] = []
    entries: list[dict[str, Any]] = []
    restored: list[RestoredPhone] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        entry, row_problems, phone = _entry(row, units)
        place_id = row.get("id", "")
        if place_id and place_id in seen:
            row_problems.append(f"id '{place_id}' repeats row {seen[place_id]}")
        if place_id:
            seen.setdefault(place_id, number)
        problems.extend(f"row {number}: {p}" for p in row_problems)
        if entry is not None and not row_problems:
            entries.append(entry)
            if phone is not None:
                restored.append(RestoredPhone(number, place_id, row.get("phone", ""), phone))
    if problems:
        raise ImportFailed(problems)
    return Validated(entries, restored)


def _unit_code(raw: str, units: Mapping[str, Unit]) -> tuple[str | None, str | None]:
    """The unit code for a cell holding a code or a name (as `/moi` takes it); or a problem."""
    if raw in units:
        return raw, None
    try:
        return resolve_unit(units, raw).code, None
    except UnitError as exc:
        if exc.unit is not None:  # a district or the province: a place may belong to one
            return exc.unit.code, None
        hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        return None, (
            f"unknown unit '{raw}': use a code or a commune name from units.yaml "
            f"(bdg-bot units list){hint}"
        )


def _phone(raw: str) -> tuple[str | None, bool, str | None]:
    """The phone to store, whether its leading 0 was restored, and a problem if any."""
    if not raw:
        return None, False, None
    if valid_phone(raw):
        return raw, False, None
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.isdigit() and len(digits) == 9 and valid_phone("0" + digits):
        # Excel stores 0912345678 as the number 912345678: nine digits that only make a
        # Vietnamese number with the 0 back cannot mean anything else.
        return "0" + digits, True, None
    if raw.isdigit() and len(digits) == 10 and valid_phone("0" + digits):
        return (
            None,
            False,
            (
                f"phone '{raw}' is not a Vietnamese phone number: it looks like a landline whose "
                f"leading 0 was dropped by Excel; write it as 0{digits} in a text cell"
            ),
        )
    return (
        None,
        False,
        (
            f"phone '{raw}' is not a Vietnamese phone number (10–11 digits starting with 0, a "
            "1800/1900 line or a 3-digit hotline); in Excel, format the column as text so the "
            "leading 0 stays"
        ),
    )


def _entry(
    row: dict[str, str], units: Mapping[str, Unit]
) -> tuple[dict[str, Any] | None, list[str], str | None]:
    """The entry of one row, every problem found in it, and a restored phone (if one was)."""
    problems = [f"'{c}' is empty" for c in REQUIRED if not row.get(c)]
    coords: dict[str, float] = {}
    for key, (lo, hi) in (("lat", LAT_RANGE), ("lon", LON_RANGE)):
        raw = row.get(key, "").replace(",", ".")
        if not raw:
            continue
        try:
            coords[key] = float(raw)
        except ValueError:
            problems.append(f"{key} '{row.get(key)}' is not a number")
            continue
        if not lo <= coords[key] <= hi:
            problems.append(f"{key} {raw} is outside Viet Nam ({lo}–{hi})")
    lat, lon = coords.get("lat"), coords.get("lon")
    if (
        lat is not None
        and lon is not None
        and not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1])
        and LAT_RANGE[0] <= lon <= LAT_RANGE[1]
        and LON_RANGE[0] <= lat <= LON_RANGE[1]
    ):
        problems.append("lat and lon look swapped: lat is about 8–23.5, lon about 102–110")
    unit = None
    if row.get("unit"):
        unit, unit_problem = _unit_code(row["unit"], units)
        if unit_problem:
            problems.append(unit_problem)
    phone, was_restored, phone_problem = _phone(row.get("phone", ""))
    if phone_problem:
        problems.append(phone_problem)
    services = [s.strip().lower() for s in row.get("services", "").replace(",", ";").split(";")]
    services = [s for s in services if s]
    if unknown := [s for s in services if s not in SERVICE_CODES]:
        problems.append(f"unknown service(s) {', '.join(unknown)}; use {', '.join(SERVICE_CODES)}")
    if problems:
        return None, problems, None
    name_vi, address_vi = row["name_vi"], row["address_vi"]
    hours_vi = row.get("hours_vi", "")
    entry: dict[str, Any] = {
        "id": row["id"],
        "name": {"vi": name_vi, "en": row.get("name_en") or name_vi},
        "unit": unit,
        "address": {"vi": address_vi, "en": row.get("address_en") or address_vi},
        "lat": coords["lat"],
        "lon": coords["lon"],
        "phone": phone,
        "hours": {"vi": hours_vi, "en": row.get("hours_en") or hours_vi} if hours_vi else None,
        "services": services,
    }
    try:
        # The checks above cover every field; this catches a rule added to parse_place later.
        parse_place(entry, Where(Path("import")), units)
    except ContentError as exc:
        # "import, entry X, field 'phone': ..." -> keep the part after the entry name.
        return None, [str(exc).split(", ", 1)[-1]], None
    return entry, [], phone if was_restored else None


async def import_places(store: Store, path: Path, content: Content, now: datetime) -> ImportResult:
    """Validate the whole file, then replace the imported list in one transaction."""
    checked = check_rows(read_table(path), content.units)
    await store.places.replace(checked.entries, path.name, now)
    return ImportResult(len(checked.entries), path.name, tuple(checked.restored))


def places_from_entries(entries: list[dict[str, Any]], units: Mapping[str, Unit]) -> list[Place]:
    """Parse the stored entries (raises ContentError when one no longer fits units.yaml)."""
    where = Where(Path("database places"))
    return [parse_place(e, where, units) for e in entries]


async def apply_imported_places(store: Store, content: Content) -> Content:
    """Use the imported official list instead of the sample when there is one."""
    entries = await store.places.imported()
    if not entries:
        return content
    return content.with_places(places_from_entries(entries, content.units), sample=False)


class LivePlaces:
    """Keeps a running bot's places in step with imports made by another process.

    Before a place is shown, one small aggregate over the places table (how many rows, when
    imported, how many bytes) says whether the list changed; only then is it read and parsed
    again. Other messages never touch the table. (SQLite's `PRAGMA data_version` looked
    cheaper, but after another connection checkpoints, it changes on this connection's own
    writes too.)
    """

    def __init__(self) -> None:
        self._signature: tuple[Any, ...] | None = None

    async def refresh(self, store: Store, content: Content) -> Content:
        """`content` with the database's current imported list (unchanged when no news)."""
        signature = await store.places.signature()
        if signature == self._signature:
            return content
        entries = await store.places.imported()
        if not entries:
            self._signature = signature
            return content
        try:
            places = places_from_entries(entries, content.units)
        except ContentError as exc:  # keep serving the current list rather than failing
            logger.error("imported places not reloaded: %s", exc)
            places = None
        # Remembered even after an error: the same rows are not parsed (and logged) again.
        self._signature = signature
        if places is None:
            return content
        logger.info("trusted addresses reloaded: %d imported", len(places))
        return content.with_places(places, sample=False)
