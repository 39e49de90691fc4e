"""Offers per second through the road after the crawl — normalize (``make_offer``), filter
(two rules), dedupe and outbox (``runner.pipeline.record``, routed to one target) — beside
a plain sqlite-utils ``insert_all`` of the same raw rows, in the same run.

    .venv/bin/python bench/pipeline.py [--offers 100000]

Target: at least half the plain insert's speed.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils
from _common import Figure, report, timed

from offers.model import (
    Event,  # noqa: E402
    make_offer,  # noqa: E402
)
from offers.rules import Rule  # noqa: E402
from runner.crawl import CrawlResult  # noqa: E402
from runner.pipeline import record  # noqa: E402
from settings.config import Config  # noqa: E402
from storage.db import connect  # noqa: E402

AIRPORTS = ["JFK", "LAX", "SFO", "ORD", "LHR", "CDG", "FRA", "NRT", "SIN", "DXB", "GRU", "SYD"]
CABINS = ["Economy", "Premium Economy", "Business", "First"]
PROGRAMS = ["delta", "united", "american", "flyingblue", "aeroplan"]


def raw_offers(count: int, today: date) -> Iterator[dict[str, Any]]:
    """Distinct offers as a page parser hands them over: loose text, one identity each."""
    routes = [(a, b) for a in AIRPORTS for b in AIRPORTS if a != b]
    combos = itertools.product(range(1, 400), routes, CABINS, PROGRAMS)
    for number, (day, (origin, destination), cabin, program) in enumerate(combos):
        if number == count:
            return
        yield {
            "source": "bench", "program": program, "origin": origin, "destination": destination,
            "cabin": cabin, "miles": f"{20_000 + (number * 37) % 90_000:,}",
            "depart_date": (today + timedelta(days=day)).isoformat(), "taxes": "$5.60",
            "currency": "USD", "promo": "yes" if number % 3 else "no",
            "url": f"https://example.org/book/{number}",
        }  # fmt: skip


def config(database: Path) -> Config:
    return Config(
        bot={"database": database},
        rules=[
            Rule(name="cheap", max_miles=60_000),
            Rule(name="promo-business", promo_only=True, cabins=["business", "first"]),
        ],
    )


def ours(rows: list[dict[str, Any]], folder: Path) -> float:
    """Seconds for the whole road: normalize, filter, dedupe and queue, one run."""
    now = datetime.now(UTC)
    db = connect(folder / "ours.db")
    settings = config(folder / "ours.db")

    def route(event: Event) -> list[tuple[str, str]]:
        return [("telegram", "-100")]

    with timed() as elapsed:
        result = CrawlResult("bench", started=now, items=len(rows), responses=1)
        result.offers = [make_offer(row) for row in rows]
        summary = record(db, settings, result, route, now)
        seconds = elapsed()
    queued = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    print(f"   ours: {summary.offers:,} offers passed the filter, {len(summary.events):,} events,"
          f" {queued:,} deliveries queued")  # fmt: skip
    return seconds


def plain(rows: list[dict[str, Any]], folder: Path) -> float:
    """Seconds for sqlite-utils to insert the same raw rows into a fresh table."""
    db = sqlite_utils.Database(folder / "plain.db")
    db.enable_wal()
    with timed() as elapsed:
        db["t"].insert_all(rows)
        return elapsed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    args = parser.parse_args()
    rows = list(raw_offers(args.offers, datetime.now(UTC).date()))
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as folder:
        baseline = len(rows) / plain(rows, Path(folder))
        rate = len(rows) / ours(rows, Path(folder))
    ratio = rate / baseline
    report(
        f"pipeline, {len(rows):,} offers",
        Figure("normalize+filter+dedupe+outbox", rate, "offers/s"),
        Figure("sqlite-utils insert_all", baseline, "rows/s"),
        target="at least 0.5 of the plain insert",
        ratio=ratio,
        met=ratio >= 0.5,
    )


if __name__ == "__main__":
    main()
