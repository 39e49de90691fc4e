"""Time to find the subscribers whose watches match each offer (``storage.subscribers.
matching``, what the Telegram notifier's ``recipients`` calls per event) for 1,000 and for
10,000 subscribers over the same offers. The 1,000-subscriber time is the baseline.

    .venv/bin/python bench/matching.py [--offers 5000] [--sample 100] [--small 1000] [--large 10000]

The default matches a sample of the offers (the same sample for both sizes) and scales the
time to all of them; ``--sample 0`` matches every offer. Target: 10× the subscribers cost
under 3× the time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils  # noqa: E402
from _common import Figure, report
from pipeline import raw_offers

from offers.model import Offer, make_offer  # noqa: E402
from storage import subscribers  # noqa: E402
from storage.db import connect, transaction  # noqa: E402

TARGET = "telegram"
PLACES = ["JFK", "LAX", "SFO", "ORD", "LHR", "CDG", "NRT", "SIN", "London", "Paris",
          "New York", "Japan", "United States", "France", "Europe", "Asia", "North America",
          "Oceania"]  # fmt: skip
CABINS = ["economy", "premium_economy", "business", "first"]


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
            for _ in range(rng.choice([1, 1, 2, 3])):
                subscribers.add_watch(db, TARGET, chat, random_watch(rng, year))


def match_all(db: sqlite_utils.Database, offers: list[Offer]) -> tuple[float, int]:
    began = time.perf_counter()
    found = sum(len(subscribers.matching(db, TARGET, offer)) for offer in offers)
    return time.perf_counter() - began, found


def measure(folder: Path, count: int, offers: list[Offer], total: int) -> float:
    db = connect(folder / f"subscribers-{count}.db")
    populate(db, count)
    seconds, found = match_all(db, offers)
    scaled = seconds * total / len(offers)
    print(f"   {count:,} subscribers: {len(offers):,} offers matched in {seconds:.1f} s "
          f"({found / len(offers):.1f} subscribers an offer); {total:,} offers: {scaled:.1f} s",
          flush=True)  # fmt: skip
    return scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=0, help="offers matched; 0 = all")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    args = parser.parse_args()
    everything = [make_offer(row) for row in raw_offers(args.offers, datetime.now(UTC).date())]
    sample = everything
    if args.sample and args.sample < len(everything):
        sample = random.Random(3).sample(everything, args.sample)
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as folder:
        small = measure(Path(folder), args.small, sample, len(everything))
        large = measure(Path(folder), args.large, sample, len(everything))
    ratio = large / small
    times = args.large / args.small
    report(
        f"matching, {len(everything):,} offers",
        Figure(f"{args.large:,} subscribers", large, "s"),
        Figure(f"{args.small:,} subscribers (baseline)", small, "s"),
        target=f"{times:g}x the subscribers under 3x the time",
        ratio=ratio,
        met=ratio < 3,
    )


if __name__ == "__main__":
    main()
