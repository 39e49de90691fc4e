"""Subscriber matching at 1k, 10k and 100k subscribers with 3 watches each: the memory the
watch index holds, the time to find the chats of 1,000 offers, and the time for one ``/watch``
to take effect (stored, and seen by the next match). Matching goes the way a delivery does:
the chats are what a Telegram notifier with ``subscribers = true`` answers to ``recipients``
(the list the outbox is filled from), through the chat store and the watch index
(``storage.subscribers.matching``); turning them into (notifier, chat) pairs
(``runner.bot.route``) is timed apart, from a fresh index again. Each size runs in a process
of its own, so one size's index cannot weigh on the next.

    .venv/bin/python bench/matching.py [--sizes 1000,10000,100000] [--offers 1000]

Targets at 100k subscribers: index at most 300 MB, one /watch in at most 50 ms, 1,000 offers
matched in at most 1 s; and 10x the subscribers at most 12x the time and memory. Times are the
process's CPU time, so a busy neighbour on the machine does not count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils  # noqa: E402
from _common import Row, emit
from pipeline import raw_offers

from chat.store import SqliteSubscribers  # noqa: E402
from notifiers.telegram import TelegramNotifier  # noqa: E402
from offers.model import Event, make_offer  # noqa: E402
from offers.places import try_resolve  # noqa: E402
from runner.bot import route  # noqa: E402
from settings.config import NotifierConfig  # noqa: E402
from storage import subscribers  # noqa: E402
from storage.db import connect, transaction  # noqa: E402

TARGET = "telegram"
WATCHES = 3
PLACES = ["JFK", "LAX", "SFO", "ORD", "LHR", "CDG", "NRT", "SIN", "London", "Paris",
          "New York", "Japan", "United States", "France", "Europe", "Asia", "North America",
          "Oceania"]  # fmt: skip
CABINS = ["economy", "premium_economy", "business", "first"]
GOALS = {"index_mb": 300, "watch_ms": 50, "match_s": 1.0}
GROWTH = 12


def random_watch(rng: random.Random, year: int) -> subscribers.Watch:
    """A watch as people write them: a place or two, maybe a cabin, a price, a month."""
    return subscribers.Watch(
        origins=rng.sample(PLACES, rng.choice([0, 1, 1, 2])),
        destinations=rng.sample(PLACES, rng.choice([1, 1, 2])),
        cabins=rng.sample(CABINS, rng.choice([0, 1, 2])),
        max_miles=rng.choice([None, 40_000, 60_000, 90_000]),
        months=[f"{year}-{m:02d}" for m in rng.sample(range(1, 13), rng.choice([0, 0, 1, 2]))],
    )


def populate(db: sqlite_utils.Database, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    year = datetime.now(UTC).year + 1
    with transaction(db):
        for number in range(count):
            chat = str(1_000_000 + number)
            subscribers.subscribe(db, TARGET, chat, f"user {number}")
            for _ in range(WATCHES):
                subscribers.add_watch(db, TARGET, chat, random_watch(rng, year))


def telegram(db: sqlite_utils.Database) -> TelegramNotifier:
    """The notifier as a bot serving subscribers has it (never started: nothing is sent)."""
    os.environ.setdefault("AW_BENCH_TELEGRAM_TOKEN", "123456:bench")
    config = NotifierConfig(name=TARGET, type="telegram", token_env="AW_BENCH_TELEGRAM_TOKEN",
                            subscribers=True)  # fmt: skip
    notifier = TelegramNotifier(config)
    notifier.attach(SqliteSubscribers(db, TARGET, "telegram"))
    return notifier


def one_size(count: int, offers: int) -> dict[str, Any]:
    """Populate ``count`` subscribers, then measure the index, matching and one /watch."""
    rows = list(raw_offers(max(offers, 5000), datetime.now(UTC).date()))
    sample = [make_offer(row) for row in random.Random(3).sample(rows, offers)]
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as folder:
        db = connect(Path(folder) / "subscribers.db")
        populate(db, count)
        for offer in sample:  # place data loads once per process: not the index's memory
            try_resolve(offer.origin), try_resolve(offer.destination)
        subscribers.matching(db, TARGET, sample[0])  # builds the index, loads place data
        subscribers.forget(db)  # the next match builds the index afresh
        tracemalloc.start()  # what the rebuild holds: only allocations from here on count
        subscribers.matching(db, TARGET, sample[0])
        index_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        notifier = telegram(db)
        events = [Event(id=n, kind="new", offer=offer, rules=[]) for n, offer in enumerate(sample)]
        began = time.process_time()
        found = sum(len(notifier.recipients(event)) for event in events)
        match_s = time.process_time() - began
        subscribers.forget(db)  # no answer kept from the pass above
        subscribers.matching(db, TARGET, sample[0])
        began = time.process_time()
        for event in events:
            route([notifier], event)
        route_s = time.process_time() - began
        watch = random_watch(random.Random(11), datetime.now(UTC).year + 1)
        began = time.process_time()
        subscribers.add_watch(db, TARGET, "1000000", watch)
        subscribers.matching(db, TARGET, sample[0])  # the next match sees the new watch
        watch_ms = (time.process_time() - began) * 1000
    return {"count": count, "index_mb": index_bytes / 1e6, "match_s": match_s,
            "route_s": route_s, "watch_ms": watch_ms,
            "per_offer": found / len(sample)}  # fmt: skip


def measure(sizes: list[int], offers: int) -> list[Row]:
    found = []
    for count in sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--one", str(count), "--offers", str(offers)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        figures = json.loads(output.splitlines()[-1])
        print(f"   {count:,} subscribers: index {figures['index_mb']:,.1f} MB, "
              f"{offers:,} offers matched in {figures['match_s']:.2f} s "
              f"({figures['per_offer']:.1f} subscribers an offer; as (notifier, chat) pairs "
              f"{figures['route_s']:.2f} s), one /watch in "
              f"{figures['watch_ms']:,.1f} ms", flush=True)  # fmt: skip
        found.append(figures)
    return rows(found, offers)


def rows(found: list[dict[str, Any]], offers: int) -> list[Row]:
    table = []
    for figures in found:
        largest = figures is found[-1] and figures["count"] >= 100_000
        name = f"{figures['count']:,} subscribers x {WATCHES} watches"
        for key, what, unit, fmt in (("index_mb", "index memory", "MB", ",.1f"),
                                     ("match_s", f"{offers:,} offers matched to chats", "s", ".2f"),
                                     ("watch_ms", "one /watch applied", "ms", ",.1f")):  # fmt: skip
            goal = GOALS[key]
            met = figures[key] <= goal if largest else None
            table.append(Row(f"{name}: {what}", f"{figures[key]:{fmt}} {unit}",
                             f"<= {goal:g} {unit} at 100k" if largest else "-", met))  # fmt: skip
    for small, large in zip(found, found[1:], strict=False):
        limit = GROWTH * large["count"] / small["count"] / 10
        growth = max(large["match_s"] / small["match_s"], large["index_mb"] / small["index_mb"])
        table.append(Row(f"{small['count']:,} -> {large['count']:,} subscribers: time, memory",
                         f"{large['match_s'] / small['match_s']:.1f}x time, "
                         f"{large['index_mb'] / small['index_mb']:.1f}x memory",
                         f"<= {limit:g}x", growth <= limit))  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--offers", type=int, default=1000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.offers)))
        return
    for row in measure([int(size) for size in args.sizes.split(",")], args.offers):
        emit(row)


if __name__ == "__main__":
    main()
