"""Import the official trusted-address list from CSV or XLSX: all rows valid, or nothing changes.

Columns (first row, any order, case-insensitive): id, name_vi, name_en, unit, address_vi,
address_en, lat, lon, phone, hours_vi, hours_en, services. Required: id, name_vi, unit,
address_vi, lat, lon. English columns fall back to the Vietnamese text. `services` is a list of
codes separated by ';' or ','.
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
)
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


def validate_rows(rows: list[dict[str, str]], units: Mapping[str, Unit]) -> list[dict[str, Any]]:
    """Turn rows into places.yaml-shaped entries, or raise ImportFailed listing every problem."""
    if not rows:
        raise ImportFailed(["the file has no data rows"])
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise ImportFailed(
            [f"missing column(s): {', '.join(missing)}; required: {', '.join(REQUIRED)}"]
        )
    problems: list[str] = []
    entries: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        entry, row_problems = _entry(row, units)
        if entry and entry["id"] in seen:
            row_problems.append(f"id '{entry['id']}' repeats row {seen[entry['id']]}")
        if entry:
            seen.setdefault(entry["id"], number)
        problems.extend(f"row {number}: {p}" for p in row_problems)
        if entry and not row_problems:
            entries.append(entry)
    if problems:
        raise ImportFailed(problems)
    return entries


def _entry(
    row: dict[str, str], units: Mapping[str, Unit]
) -> tuple[dict[str, Any] | None, list[str]]:
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
    services = [s.strip().lower() for s in row.get("services", "").replace(",", ";").split(";")]
    services = [s for s in services if s]
    if unknown := [s for s in services if s not in SERVICE_CODES]:
        problems.append(f"unknown service(s) {', '.join(unknown)}; use {', '.join(SERVICE_CODES)}")
    if problems:
        return ({"id": row.get("id", "")} if row.get("id") else None), problems
    name_vi, address_vi = row["name_vi"], row["address_vi"]
    hours_vi = row.get("hours_vi", "")
    entry: dict[str, Any] = {
        "id": row["id"],
        "name": {"vi": name_vi, "en": row.get("name_en") or name_vi},
        "unit": row["unit"],
        "address": {"vi": address_vi, "en": row.get("address_en") or address_vi},
        "lat": coords["lat"],
        "lon": coords["lon"],
        "phone": row.get("phone") or None,
        "hours": {"vi": hours_vi, "en": row.get("hours_en") or hours_vi} if hours_vi else None,
        "services": services,
    }
    try:
        parse_place(entry, Where(Path("import")), units)
    except ContentError as exc:
        # "import, entry X, field 'phone': ..." -> keep the part after the entry name.
        return entry, [str(exc).split(", ", 1)[-1]]
    return entry, []


async def import_places(store: Store, path: Path, content: Content, now: datetime) -> ImportResult:
    """Validate the whole file, then replace the imported list in one transaction."""
    entries = validate_rows(read_table(path), content.units)
    await store.replace_places(entries, path.name, now)
    return ImportResult(len(entries), path.name)


def places_from_entries(entries: list[dict[str, Any]], units: Mapping[str, Unit]) -> list[Place]:
    """Parse the stored entries (raises ContentError when one no longer fits units.yaml)."""
    where = Where(Path("database places"))
    return [parse_place(e, where, units) for e in entries]


async def apply_imported_places(store: Store, content: Content) -> Content:
    """Use the imported official list instead of the sample when there is one."""
    entries = await store.imported_places()
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
        row = await store.fetchone(
            "SELECT count(*), max(imported_at), total(length(data)) FROM places"
        )
        signature = tuple(row) if row else None
        if signature == self._signature:
            return content
        entries = await store.imported_places()
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
