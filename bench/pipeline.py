"""Offers per second through the road after the parser — normalize (each row validated as a
spider does it, ``scrapers.pipelines.validated`` with its fetch time, fast dates only), filter
(two rules), dedupe and outbox (``runner.pipeline.record``, routed to one target) — beside
two plain inserts of the same raw rows into a fresh table: ``sqlite3.executemany`` and
sqlite-utils ``insert_all``, on a database set up as the bot's own (WAL, ``synchronous =
NORMAL``), so neither side waits for a disk flush the other skips.

    .venv/bin/python bench/pipeline.py [--offers 100000] [--rounds 5]

Each round runs the three on fresh databases, in a rotating order; the figures are the median
of the per-round rate ratios. Targets: at least 0.5x ``insert_all``, at least 0.12x
``executemany``.
"""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import statistics
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils
from _common import Ratios, Row, emit, timed

from offers.dates import fast_only  # noqa: E402
from offers.model import Event, Offer  # noqa: E402
from offers.rules import Rule  # noqa: E402
from runner.crawl import CrawlResult  # noqa: E402
from runner.pipeline import record  # noqa: E402
from scrapers.pipelines import validated  # noqa: E402
from settings.config import Config  # noqa: E402
from storage.db import connect  # noqa: E402

AIRPORTS = ["JFK", "LAX", "SFO", "ORD", "LHR", "CDG", "FRA", "NRT", "SIN", "DXB", "GRU", "SYD"]
CABINS = ["Economy", "Premium Economy", "Business", "First"]
PROGRAMS = ["delta", "united", "american", "flyingblue", "aeroplan"]
GOALS = {"sqlite-utils insert_all": 0.5, "sqlite3 executemany": 0.12}


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


def crawled(rows: list[dict[str, Any]], fetched: datetime) -> list[Offer]:
    """The offers a spider yields for ``rows`` (``SourceSpider.rows`` and ``read``): each row
    with its fetch time, validated on the spot, common dates only."""
    offers = []
    for row in rows:
        with fast_only():
            offer = validated({**row, "source": "bench", "seen_at": fetched}, None)
        if offer is not None:
            offers.append(offer)
    return offers


def ours(rows: list[dict[str, Any]], folder: Path) -> float:
    """Seconds for the whole road: normalize, filter, dedupe and queue, one run."""
    now = datetime.now(UTC)
    db = connect(folder / "ours.db")
    settings = config(folder / "ours.db")

    def route(event: Event) -> list[tuple[str, str]]:
        return [("telegram", "-100")]

    with timed() as elapsed:
        result = CrawlResult("bench", started=now, items=len(rows), responses=1)
        result.offers = crawled(rows, now)
        record(db, settings, result, route, now)
        seconds = elapsed()
    db.close()
    return seconds


def insert_all(rows: list[dict[str, Any]], folder: Path) -> float:
    """Seconds for sqlite-utils to insert the same raw rows into a fresh table."""
    db = sqlite_utils.Database(folder / "insert_all.db")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")  # as storage.db.connect sets the bot's
    with timed() as elapsed:
        db["t"].insert_all(rows)
        seconds = elapsed()
    db.close()
    return seconds


def executemany(rows: list[dict[str, Any]], folder: Path) -> float:
    """Seconds for the standard library to insert the same raw rows into a fresh table."""
    db = sqlite3.connect(folder / "executemany.db")
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous = NORMAL")
    columns = list(rows[0])
    with timed() as elapsed:
        with db:
            db.execute(f"CREATE TABLE t ({', '.join(columns)})")
            db.executemany(
                f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})",
                [tuple(row[c] for c in columns) for row in rows],
            )
        seconds = elapsed()
    db.close()
    return seconds


Way = Callable[[list[dict[str, Any]], Path], float]


def measure(count: int, rounds: int) -> list[Row]:
    rows = list(raw_offers(count, datetime.now(UTC).date()))
    ways: dict[str, Way] = {"ours": ours, "sqlite-utils insert_all": insert_all,
                            "sqlite3 executemany": executemany}  # fmt: skip
    ratios: dict[str, list[float]] = {name: [] for name in GOALS}
    rates: list[float] = []
    for number in range(rounds):
        names = list(ways)
        names = names[number % 3 :] + names[: number % 3]
        seconds = {}
        for name in names:
            with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as folder:
                seconds[name] = ways[name](rows, Path(folder))
        for name in GOALS:
            ratios[name].append(seconds[name] / seconds["ours"])
        rates.append(len(rows) / seconds["ours"])
        print(
            f"   round {number + 1}: "
            + ", ".join(f"{name} {len(rows) / s:,.0f} rows/s" for name, s in seconds.items()),
            flush=True,
        )
    found = [Row(f"recording {len(rows):,} offers vs {name} of the same rows",
                 f"{Ratios(ratios[name])} the rate", f">= {goal}x",
                 statistics.median(ratios[name]) >= goal)
             for name, goal in GOALS.items()]  # fmt: skip
    found.append(Row("recording rate", f"{statistics.median(rates):,.0f} offers/s", "-", None))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for row in measure(args.offers, args.rounds):
        emit(row)


if __name__ == "__main__":
    main()
