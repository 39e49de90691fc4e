"""The analysts' spreadsheet: worksheets Offers (every event, newest last), Current (live
offers) and Runs. The local XLSX file is the embedded default; the Google Sheet has the same
columns (storage/sheets.py). Text is always stored as text, never as a formula."""

from __future__ import annotations

import glob
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from storage import xlsx
from storage.events import each_current

OFFER_FIELDS = [
    "program", "airline", "origin", "destination", "region", "depart_date", "travel_start",
    "travel_end", "cabin", "miles", "trip", "taxes", "currency", "discount_pct", "promo",
    "promo_reason", "book_by", "seats", "title", "url",
]  # fmt: skip
OFFERS_COLUMNS = ["event_id", "event", "at", "source", *OFFER_FIELDS, "previous_miles", "rules"]
CURRENT_COLUMNS = ["key", "source", *OFFER_FIELDS, "first_seen", "last_seen", "best_miles"]
RUNS_COLUMNS = [
    "run_id", "source", "started", "finished", "status", "items", "offers", "events",
    "rejected", "errors", "message",
]  # fmt: skip
DATE_COLUMNS = {"depart_date", "travel_start", "travel_end", "book_by"}
TIME_COLUMNS = {"at", "started", "finished", "first_seen", "last_seen"}
NUMBER_COLUMNS = {"miles", "previous_miles", "taxes", "discount_pct", "seats", "best_miles",
                  "event_id", "run_id", "items", "offers", "events", "errors"}  # fmt: skip
WORKSHEETS = {"Offers": OFFERS_COLUMNS, "Current": CURRENT_COLUMNS, "Runs": RUNS_COLUMNS}
#: Runs the Runs worksheet shows by default: the latest ones (every run stays in the database).
RUNS_KEPT = 1000


def event_row(event: dict[str, Any]) -> dict[str, Any]:
    """One Offers row from an ``events`` table row."""
    offer = json.loads(event["offer"])
    from offers.places import region_of

    return {
        "event_id": event["id"],
        "event": event["kind"],
        "at": event["at"],
        "source": event["source"],
        **{f: offer.get(f) for f in OFFER_FIELDS},
        "region": region_of(offer.get("destination")),
        "previous_miles": event["previous_miles"],
        "rules": ", ".join(json.loads(event["rules"] or "[]")),
    }


def current_row(offer: dict[str, Any]) -> dict[str, Any]:
    return {c: offer.get(c) for c in CURRENT_COLUMNS}


def run_row(run: dict[str, Any]) -> dict[str, Any]:
    row = {c: run.get(c) for c in RUNS_COLUMNS}
    row["run_id"] = run["id"]
    rejected = json.loads(run.get("rejected") or "{}")
    row["rejected"] = ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items()))
    return row


def typed(column: str, value: Any) -> Any:
    """A cell value: dates as dates, times as times, numbers as numbers, the rest as text."""
    if value is None or value == "":
        return None
    if column in DATE_COLUMNS and isinstance(value, str):
        return date.fromisoformat(value)
    if column in TIME_COLUMNS and isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=None)
    if column in NUMBER_COLUMNS:
        return value
    if column == "promo":
        return bool(value)
    return str(value)


class LocalSpreadsheet:
    """The spreadsheet as an XLSX file, rewritten whole (atomically) from the database, in
    time linear in its rows. A half-written temporary file left by a killed process is
    removed when the next one starts."""

    name = "spreadsheet"

    def __init__(self, path: Path, runs_kept: int = RUNS_KEPT) -> None:
        self.path = Path(path)
        self.runs_kept = runs_kept
        self.remove_leftovers()

    @property
    def _temporary_prefix(self) -> str:
        return f".{self.path.name}."

    def remove_leftovers(self) -> None:
        """Delete temporary files an interrupted write left beside the spreadsheet."""
        if not self.path.parent.is_dir():
            return
        for leftover in self.path.parent.glob(f"{glob.escape(self._temporary_prefix)}*.tmp"):
            leftover.unlink(missing_ok=True)

    def write(self, db: sqlite_utils.Database) -> int:
        """Write the workbook row by row from the database (openpyxl's write-only mode keeps
        no sheet in memory); the Runs sheet shows the latest ``runs_kept`` runs."""
        book = Workbook(write_only=True)
        offers = 0
        for title, columns in WORKSHEETS.items():
            # the history's newest events keep their links, where Excel's cap cuts
            skip = 0
            if title == "Offers":
                skip = db.execute("SELECT count(*) FROM events").fetchone()[0] - MAX_LINKS
            count = _stream(xlsx.add_sheet(book, title), columns, self._rows(db, title), skip)
            offers = count if title == "Offers" else offers
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=self._temporary_prefix, suffix=".tmp"
        )
        os.close(handle)
        try:
            xlsx.save(book, temporary)
            os.replace(temporary, self.path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return offers

    def _rows(self, db: sqlite_utils.Database, title: str) -> Iterator[dict[str, Any]]:
        if title == "Offers":
            return (event_row(e) for e in db.query("SELECT * FROM events ORDER BY id"))
        if title == "Current":
            return (current_row(o) for o in each_current(db))
        latest = "SELECT * FROM (SELECT * FROM runs ORDER BY id DESC LIMIT ?) ORDER BY id"
        return (run_row(r) for r in db.query(latest, [self.runs_kept]))


def _stream(
    sheet: Any, columns: list[str], rows: Iterable[dict[str, Any]], unlinked: int = 0
) -> int:
    """Append a header and ``rows`` to a write-only sheet, the first ``unlinked`` rows and
    those past ``MAX_LINKS`` links without links; return how many rows."""
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = links = 0
    for count, row in enumerate(rows, start=1):  # noqa: B007 (the count is the result)
        cells = []
        for column in columns:
            cell = WriteOnlyCell(sheet)
            links += _set(cell, column, row.get(column), count > unlinked and links < MAX_LINKS)
            cells.append(cell)
        sheet.append(cells)
    return count


#: Hyperlinks one worksheet may hold: Excel opens no sheet with more. Past them a link stays
#: a plain URL. Each sheet keeps its links until the file is saved, about 100 bytes each
#: (storage/xlsx.py).
MAX_LINKS = 65_530


def _set(cell: Any, column: str, value: Any, link: bool = True) -> bool:
    """Fill ``cell``; True when it became a hyperlink (only when ``link``)."""
    value = typed(column, value)
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"  # text stays text: "=IMPORTXML(…)" must not become a formula
        if link and column == "url" and value.startswith(("http://", "https://")):
            cell.hyperlink = cell.value
            return True
        return False
    cell.value = value
    if isinstance(value, date | datetime):
        cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "yyyy-mm-dd"
    return False
