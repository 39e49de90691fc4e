"""Seconds to write the local spreadsheet (``storage.spreadsheet.LocalSpreadsheet``) for 1,000
and for 10,000 events recorded by the real pipeline: the cost must grow with the rows, not
with their square.

    .venv/bin/python bench/spreadsheet.py [--events 10000]

Target: ten times the events in at most twelve times the time, and the larger sheet written
in seconds (under 30 s).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from _common import Figure, report, timed
from pipeline import raw_offers

from offers.model import make_offer  # noqa: E402
from runner.crawl import CrawlResult  # noqa: E402
from runner.pipeline import record  # noqa: E402
from settings.config import Config  # noqa: E402
from storage.db import connect  # noqa: E402
from storage.spreadsheet import LocalSpreadsheet  # noqa: E402


def seconds_for(events: int, folder: Path) -> float:
    """Record ``events`` new offers, then time one write of the spreadsheet."""
    db = connect(folder / f"bench-{events}.db")
    now = datetime.now(UTC)
    result = CrawlResult("bench", started=now, responses=1)
    result.offers = [make_offer(row) for row in raw_offers(events, now.date())]
    record(db, Config(), result, lambda event: [], now)
    sheet = LocalSpreadsheet(folder / f"offers-{events}.xlsx")
    with timed() as elapsed:
        written = sheet.write(db)
    assert written == events, written
    return elapsed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    small = args.events // 10
    with tempfile.TemporaryDirectory(prefix="bench-spreadsheet-") as folder:
        seconds_for(small, Path(folder))  # warm up imports and caches
        few = seconds_for(small, Path(folder))
        many = seconds_for(args.events, Path(folder))
    ratio = many / few
    report(
        f"spreadsheet, {small:,} then {args.events:,} events",
        Figure(f"write {args.events:,} events", many, "s"),
        Figure(f"write {small:,} events", few, "s"),
        target="10x the events in at most 12x the time, the larger in under 30 s",
        ratio=ratio,
        met=ratio <= 12 and many < 30,
    )


if __name__ == "__main__":
    main()
