"""Packed hyperlinks: the workbook is the one openpyxl writes, link for link, in a fraction of
the memory."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from storage import xlsx

URLS = [
    "https://www.united.com/award/1?from=SFO&to=NRT",
    'https://example.org/q?name="first"&x=<y>',
    "https://example.org/café/✈/straße",
    "http://example.org/plain",
]


def fill(book: Workbook, sheet_of: Any, urls: list[str]) -> None:
    for title in ("Offers", "Current"):
        sheet = sheet_of(book, title)
        sheet.append(["title", "url"])
        for number, url in enumerate(urls):
            cell = WriteOnlyCell(sheet, value=url)
            cell.hyperlink = url
            sheet.append([f"row {number}", cell])


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if "worksheets" in name}


def test_the_file_is_the_one_openpyxl_writes(tmp_path):
    theirs, ours = tmp_path / "theirs.xlsx", tmp_path / "ours.xlsx"
    book = Workbook(write_only=True)
    fill(book, lambda b, title: b.create_sheet(title), URLS)
    book.save(theirs)
    book = Workbook(write_only=True)
    fill(book, xlsx.add_sheet, URLS)

    xlsx.save(book, str(ours))

    assert parts(ours) == parts(theirs)
    opened = load_workbook(ours)
    for title in ("Offers", "Current"):
        links = [row[1].hyperlink.target for row in opened[title].iter_rows(min_row=2)]
        assert links == URLS


def test_a_sheet_without_links_has_no_relationships(tmp_path):
    book = Workbook(write_only=True)
    xlsx.add_sheet(book, "Runs").append(["run_id", 1])

    xlsx.save(book, str(tmp_path / "runs.xlsx"))

    assert list(parts(tmp_path / "runs.xlsx")) == ["xl/worksheets/sheet1.xml"]
    assert load_workbook(tmp_path / "runs.xlsx")["Runs"]["B1"].value == 1


def test_links_take_a_fraction_of_the_memory_openpyxl_gives_them(tmp_path):
    urls = [f"https://www.united.com/award/{number}" for number in range(4_000)]
    book = Workbook(write_only=True)
    tracemalloc.start()
    try:
        fill(book, xlsx.add_sheet, urls)
        xlsx.save(book, str(tmp_path / "big.xlsx"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    # openpyxl's own objects for these 8,000 links reach 5.7 MB; packed, under 1 MB
    assert peak < 2.5 * 2**20
    relationships = parts(tmp_path / "big.xlsx")["xl/worksheets/_rels/sheet2.xml.rels"]
    assert relationships.count(b"<Relationship ") == 4_000
    assert f'Target="{urls[-1]}" TargetMode="External" Id="rId4000"'.encode() in relationships
