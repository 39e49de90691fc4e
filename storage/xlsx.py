"""openpyxl's write-only workbook with hyperlinks that cost little memory.

openpyxl keeps every hyperlink of a sheet as objects until the file is saved (a ``Hyperlink``,
then a ``Relationship`` and two XML elements each: about 2 KB a link, 300 MB for two sheets of
Excel's 65,530), and builds each sheet's list of links as one XML tree. Here a sheet keeps a
link as its cell reference and URL packed in a byte buffer (about 100 bytes), and both the
sheet's ``<hyperlinks>`` and its relationships file are written one link at a time. The file
is the one openpyxl would write, link for link."""

from __future__ import annotations

import datetime
from array import array
from collections.abc import Iterator
from typing import IO, Any
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.packaging.relationship import get_rels_path
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml.constants import PKG_REL_NS, REL_NS
from openpyxl.xml.functions import Element

_RELATION_ID = f"{{{REL_NS}}}id"
_HYPERLINK = f"{REL_NS}/hyperlink"
_ATTRIBUTE = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


class Links:
    """A sheet's hyperlinks, in the order openpyxl hands them over: (cell, URL) pairs packed
    in one buffer of UTF-8 text and one array of where each piece ends."""

    def __init__(self) -> None:
        self._text = bytearray()
        self._ends = array("Q")

    def append(self, link: Any) -> None:
        """Keep an openpyxl ``Hyperlink``'s cell and target (a URL; internal links are not
        written by this project)."""
        for piece in (link.ref, link.target or ""):
            self._text += piece.encode()
            self._ends.append(len(self._text))

    def __len__(self) -> int:
        return len(self._ends) // 2

    def __iter__(self) -> Iterator[tuple[str, str]]:
        start = 0
        pieces = iter(self._ends)
        for ref_end, target_end in zip(pieces, pieces, strict=True):
            ref = self._text[start:ref_end].decode()
            yield ref, self._text[ref_end:target_end].decode()
            start = target_end


class _SheetWriter(WorksheetWriter):  # type: ignore[misc]
    def __init__(self, ws: Any, out: Any = None) -> None:
        super().__init__(ws, out)
        ws._hyperlinks = Links()

    def write_hyperlinks(self) -> None:
        """``<hyperlinks>``, one element at a time; relationship ``rIdN`` is the Nth link
        (written by ``_BookWriter``: these sheets have no other relationships)."""
        links = self.ws._hyperlinks
        if not links:
            return
        xf = self.xf.send(True)
        with xf.element("hyperlinks"):
            for number, (ref, _) in enumerate(links, start=1):
                xf.write(Element("hyperlink", {"ref": ref, _RELATION_ID: f"rId{number}"}))
        self.xf.send(None)


class LinkedSheet(WriteOnlyWorksheet):  # type: ignore[misc]
    """A write-only worksheet whose hyperlinks are kept as ``Links``. Rows, styles and
    frozen panes only: no images, charts, tables or comments."""

    _writer: Any = None

    def _get_writer(self) -> None:
        if self._writer is None:
            self._writer = _SheetWriter(self)
            self._writer.write_top()


def add_sheet(book: Workbook, title: str) -> LinkedSheet:
    """A new ``LinkedSheet`` at the end of the write-only ``book``."""
    sheet = LinkedSheet(parent=book, title=title)
    book._add_sheet(sheet)
    return sheet


def _write_relationships(out: IO[bytes], links: Links) -> None:
    out.write(f'<Relationships xmlns="{PKG_REL_NS}">'.encode())
    for number, (_, target) in enumerate(links, start=1):
        out.write(
            f'<Relationship Type="{_HYPERLINK}" Target="{escape(target, _ATTRIBUTE)}"'
            f' TargetMode="External" Id="rId{number}"/>'.encode()
        )
    out.write(b"</Relationships>")


class _BookWriter(ExcelWriter):  # type: ignore[misc]
    def write_worksheet(self, ws: Any) -> None:
        super().write_worksheet(ws)
        links = getattr(ws, "_hyperlinks", None)
        if isinstance(links, Links) and links:
            with self._archive.open(get_rels_path(ws.path)[1:], "w") as out:
                _write_relationships(out, links)
            ws._hyperlinks = Links()  # written: free them before the next sheet


def save(book: Workbook, path: str) -> None:
    """Save the write-only ``book`` (as ``Workbook.save``), its sheets' links written from
    their ``Links``."""
    book.properties.modified = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    archive = ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True)
    _BookWriter(book, archive).save()
